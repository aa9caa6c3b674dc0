// The baseline: the kernel's own iptables NAT in edge, as a person would set it up by hand.
package io.nsgate.bench.e2e;

import java.util.ArrayList;
import java.util.List;

import io.nsgate.control.netns.NetNs;
import io.nsgate.control.testsupport.SeedLab;

/**
 * In the lab's edge namespace only: {@code net.ipv4.ip_forward=1},
 * {@code iptables -t nat -A POSTROUTING -s 192.168.15.0/24 -o lan0 -j MASQUERADE} and, per forward of
 * {@link NatRules}, {@code -A PREROUTING -d 192.168.1.2 -p PROTO --dport P -j DNAT --to 192.168.15.2:P}; the same with
 * ip6tables for fd15::/64 and [fd15::2] (IPv6 forwarding 1). No hairpin.
 * Removal flushes edge's whole ruleset (iptables here is the nft backend; nothing else lives in that namespace) and
 * sets ip_forward back to 0; the namespace itself goes with the lab.
 */
final class KernelNat implements Side {
    private final SeedLab lab;
    private boolean started;

    KernelNat(SeedLab lab) {
        this.lab = lab;
    }

    @Override
    public String name() {
        return "kernel";
    }

    @Override
    public void start() {
        started = true;
        try (NetNs edge = NetNs.open(lab.ns("edge"))) {
            edge.setSysctl("net.ipv4.ip_forward", "1");
            edge.setSysctl("net.ipv6.conf.all.forwarding", "1");
        }
        iptables("iptables", "-t", "nat", "-A", "POSTROUTING", "-s", SeedLab.INSIDE_NET, "-o", "lan0", "-j",
            "MASQUERADE");
        for (NatRules.Forward f : NatRules.FORWARDS) {
            iptables("iptables", "-t", "nat", "-A", "PREROUTING", "-d", SeedLab.GATEWAY_LAN, "-p", f.proto(), "--dport",
                String.valueOf(f.port()), "-j", "DNAT", "--to", SeedLab.BLUE + ":" + f.port());
        }
        iptables("ip6tables", "-t", "nat", "-A", "POSTROUTING", "-s", SeedLab.INSIDE_NET6, "-o", "lan0", "-j",
            "MASQUERADE");
        for (NatRules.Forward f : NatRules.FORWARDS6) {
            iptables("ip6tables", "-t", "nat", "-A", "PREROUTING", "-d", SeedLab.GATEWAY_LAN6, "-p", f.proto(),
                "--dport", String.valueOf(f.port()), "-j", "DNAT", "--to", "[" + SeedLab.BLUE6 + "]:" + f.port());
        }
    }

    /** The rules as iptables lists them (for the report). */
    String rules() {
        return lab.exec(lab.ns("edge"), "iptables", "-t", "nat", "-S");
    }

    private void iptables(String tool, String... args) {
        List<String> cmd = new ArrayList<>(List.of(tool, "-w"));
        cmd.addAll(List.of(args));
        lab.exec(lab.ns("edge"), cmd.toArray(new String[0]));
    }

    @Override
    public void checkAlive() {
        // nothing can die: the kernel forwards
    }

    @Override
    public long pid() {
        return -1;
    }

    @Override
    public void close() {
        if (!started) {
            return;
        }
        started = false;
        try {
            lab.exec(lab.ns("edge"), "nft", "flush", "ruleset");
        } catch (RuntimeException e) {
            System.err.println("e2e: removing the kernel's NAT rules in " + lab.ns("edge") + ": " + e.getMessage());
        }
        try (NetNs edge = NetNs.open(lab.ns("edge"))) {
            edge.setSysctl("net.ipv4.ip_forward", "0");
            edge.setSysctl("net.ipv6.conf.all.forwarding", "0");
        } catch (RuntimeException e) {
            System.err.println("e2e: ip_forward=0 in " + lab.ns("edge") + ": " + e.getMessage());
        }
    }
}
