// The rtnetlink client against the real kernel, checked with `ip -j` as an independent oracle.
package io.nsgate.control.netlink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.nsgate.control.netns.NetNs;
import io.nsgate.control.testsupport.RequiresNetns;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.FreshPrefix;
import org.junit.jupiter.api.extension.RegisterExtension;

@RequiresNetns
class RtNetlinkTest {
    @RegisterExtension
    final FreshPrefix prefix = FreshPrefix.perTest();
    private NetNs a;
    private NetNs b;

    @BeforeEach
    void twoNamespaces() {
        a = NetNs.create(prefix.ns("a"));
        b = NetNs.create(prefix.ns("b"));
    }

    @AfterEach
    void cleanUp() {
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
    }

    @Test
    void createsAVethPairWithEachEndInItsNamespace() {
        RtNetlink nl = a.rtnetlink();
        nl.createVeth("va", LinkChange.set().up(true).mtu(1400).alias("nsgate:test"), "vb", b.fd(),
            LinkChange.set().mtu(1400));
        assertThrows(IllegalArgumentException.class, () -> nl.createVeth("vx", LinkChange.set(), "vy", b.fd(),
            LinkChange.set().up(true)));
        b.rtnetlink().setLink("vb", LinkChange.set().up(true));
        JsonNode la = link(a.name(), "va");
        JsonNode lb = link(b.name(), "vb");
        assertEquals(1400, la.get("mtu").asInt());
        assertEquals(1400, lb.get("mtu").asInt());
        assertEquals("nsgate:test", la.get("ifalias").asText());
        assertTrue(flags(la).contains("UP"));
        assertTrue(flags(lb).contains("UP"));
        assertEquals("veth", la.get("linkinfo").get("info_kind").asText());

        Link va = nl.link("va").orElseThrow();
        Link vb = b.rtnetlink().link("vb").orElseThrow();
        assertEquals("veth", va.kind());
        assertEquals(vb.index(), va.peerIndex());
        assertEquals(va.index(), vb.peerIndex());
        assertTrue(va.peerNetnsId() >= 0, "peer is in another namespace");
        assertEquals("nsgate:test", va.alias());
        assertNull(vb.alias());
        assertTrue(va.isUp());
        // nothing leaked into the namespace of the test process
        assertTrue(Commands.tryIp("link", "show", "va").exitCode() != 0);
        assertTrue(Commands.tryIp("link", "show", "vb").exitCode() != 0);
    }

    @Test
    void bridgesTakeAndReleasePortsAndLinksChangeSettings() {
        RtNetlink nl = a.rtnetlink();
        nl.createBridge("br0", LinkChange.set().up(true));
        nl.createVeth("p0", LinkChange.set(), "p0", b.fd(), LinkChange.set());
        int br = nl.linkIndex("br0");
        int p0 = nl.linkIndex("p0");
        nl.setLink(p0, LinkChange.set().master(br).up(true).mtu(1300));
        assertEquals("br0", link(a.name(), "p0").get("master").asText());
        assertEquals(br, nl.link("p0").orElseThrow().masterIndex());
        assertEquals(1300, nl.link("p0").orElseThrow().mtu());

        nl.setLink(p0, LinkChange.set().noMaster().up(false));
        assertFalse(link(a.name(), "p0").has("master"));
        assertFalse(nl.link("p0").orElseThrow().isUp());

        nl.setLink(p0, LinkChange.set().name("renamed0"));
        assertTrue(nl.link("p0").isEmpty());
        assertEquals(p0, nl.linkIndex("renamed0"));

        nl.setLink("renamed0", LinkChange.set().alias("x"));
        assertEquals("x", nl.link("renamed0").orElseThrow().alias());
        nl.setLink("renamed0", LinkChange.set().alias(""));
        assertNull(nl.link("renamed0").orElseThrow().alias());
    }

    @Test
    void movesALinkToAnotherNamespace() {
        RtNetlink nl = a.rtnetlink();
        nl.createVeth("m0", LinkChange.set(), "m1", a.fd(), LinkChange.set());
        nl.setLink(nl.linkIndex("m1"), LinkChange.set().netnsFd(b.fd()));
        assertTrue(nl.link("m1").isEmpty());
        assertTrue(b.rtnetlink().link("m1").isPresent());
        assertEquals("m1", link(b.name(), "m1").get("ifname").asText());
    }

    @Test
    void deletesLinksAndAVethTakesItsPeerAlong() {
        RtNetlink nl = a.rtnetlink();
        nl.createVeth("d0", LinkChange.set(), "d1", b.fd(), LinkChange.set());
        nl.deleteLink("d0");
        assertTrue(nl.link("d0").isEmpty());
        assertTrue(b.rtnetlink().link("d1").isEmpty());
        nl.createBridge("brx", LinkChange.set());
        nl.deleteLink(nl.linkIndex("brx"));
        assertTrue(nl.link("brx").isEmpty());
    }

    @Test
    void addressesAreAddedDumpedAndDeleted() {
        RtNetlink nl = a.rtnetlink();
        nl.createVeth("e0", LinkChange.set().up(true), "e0", b.fd(), LinkChange.set());
        b.rtnetlink().setLink("e0", LinkChange.set().up(true));
        int idx = nl.linkIndex("e0");
        Ipv4Prefix cidr = Ipv4Prefix.parse("10.99.0.1/24");
        nl.addAddress(idx, cidr);
        nl.addAddress(idx, Ipv4Prefix.parse("10.98.0.1/16"));
        List<String> ours = nl.addresses().stream().filter(x -> x.index() == idx)
            .map(x -> x.prefix().toString()).sorted().collect(Collectors.toList());
        assertEquals(List.of("10.98.0.1/16", "10.99.0.1/24"), ours);
        JsonNode addrInfo = Commands.ipJson("-n", a.name(), "addr", "show", "dev", "e0").get(0).get("addr_info");
        assertTrue(addrInfo.toString().contains("\"local\":\"10.99.0.1\",\"prefixlen\":24"), addrInfo.toString());

        NetlinkException dup = assertThrows(NetlinkException.class, () -> nl.addAddress(idx, cidr));
        assertEquals("EEXIST", dup.errnoName());
        assertTrue(dup.getMessage().startsWith("RTM_NEWADDR(address 10.99.0.1/24 on ifindex " + idx + " in "
            + a.name() + "): EEXIST"), dup.getMessage());

        nl.deleteAddress(idx, cidr);
        assertFalse(Commands.ip("-n", a.name(), "addr", "show", "dev", "e0").contains("10.99.0.1"));
    }

    @Test
    void routesAreAddedReplacedDumpedAndDeleted() {
        RtNetlink nl = a.rtnetlink();
        nl.createVeth("r0", LinkChange.set().up(true), "r0", b.fd(), LinkChange.set());
        b.rtnetlink().setLink("r0", LinkChange.set().up(true));
        int idx = nl.linkIndex("r0");
        nl.addAddress(idx, Ipv4Prefix.parse("10.97.0.1/24"));
        nl.addRoute(new Ipv4Prefix(0, 0), Ipv4Address.parse("10.97.0.254"), 0, Rtnl.RTPROT_STATIC, false);
        nl.addRoute(Ipv4Prefix.parse("172.30.0.0/16"), Ipv4Address.parse("10.97.0.9"), idx, Rtnl.RTPROT_STATIC, false);

        JsonNode routes = Commands.ipJson("-n", a.name(), "route");
        String text = routes.toString();
        assertTrue(text.contains("{\"dst\":\"default\",\"gateway\":\"10.97.0.254\",\"dev\":\"r0\""), text);
        assertTrue(text.contains("{\"dst\":\"172.30.0.0/16\",\"gateway\":\"10.97.0.9\",\"dev\":\"r0\""), text);

        KernelRoute def = nl.routes().stream().filter(KernelRoute::isDefault).findFirst().orElseThrow();
        assertEquals(Ipv4Address.parse("10.97.0.254"), def.gateway());
        assertEquals(idx, def.outputIndex());
        assertEquals(Rtnl.RTPROT_STATIC, def.protocol());
        assertTrue(nl.routes().stream().anyMatch(r -> r.protocol() == Rtnl.RTPROT_KERNEL
            && r.destination().toString().equals("10.97.0.0/24")), "connected route is dumped too");

        nl.addRoute(new Ipv4Prefix(0, 0), Ipv4Address.parse("10.97.0.253"), 0, Rtnl.RTPROT_STATIC, true);
        assertTrue(Commands.ip("-n", a.name(), "route", "show", "default").contains("via 10.97.0.253"));

        NetlinkException unreachable = assertThrows(NetlinkException.class, () -> nl.addRoute(
            Ipv4Prefix.parse("172.31.0.0/16"), Ipv4Address.parse("192.0.2.1"), 0, Rtnl.RTPROT_STATIC, false));
        assertEquals("ENETUNREACH", unreachable.errnoName());

        for (KernelRoute r : nl.routes()) {
            if (r.protocol() == Rtnl.RTPROT_STATIC) {
                nl.deleteRoute(r);
            }
        }
        assertFalse(Commands.ip("-n", a.name(), "route").contains("via"));
    }

    @Test
    void neighboursShowWhoAnsweredArp() {
        RtNetlink nl = a.rtnetlink();
        nl.createVeth("n0", LinkChange.set().up(true), "n0", b.fd(), LinkChange.set());
        b.rtnetlink().setLink("n0", LinkChange.set().up(true));
        nl.addAddress(nl.linkIndex("n0"), Ipv4Prefix.parse("10.96.0.1/24"));
        b.rtnetlink().addAddress(b.rtnetlink().linkIndex("n0"), Ipv4Prefix.parse("10.96.0.2/24"));
        Commands.Result ping = Commands.run(Commands.inNetns(a.name(), "ping", "-c", "1", "-W", "2", "10.96.0.2"));
        assertEquals(0, ping.exitCode(), ping.stdout() + ping.stderr());
        Neighbour n = nl.neighbours().stream().filter(x -> x.address() == Ipv4Address.parse("10.96.0.2"))
            .findFirst().orElseThrow();
        assertEquals(b.rtnetlink().link("n0").orElseThrow().mac(), n.mac());
    }

    @Test
    void dumpsLargerThanTheBufferSpanManyDatagramsAndGrowIt() throws Exception {
        RtNetlink nl = a.rtnetlink();
        for (int i = 0; i < 40; i++) {
            nl.createBridge("big" + i, LinkChange.set().alias("a fairly long alias to make the dump bigger " + i));
        }
        try (RtNetlink small = a.call(() -> new RtNetlink(NetlinkSocket.openRoute(a.name(), 256)))) {
            long before = small.socket().datagramsReceived();
            List<Link> links = small.links();
            assertEquals(41, links.size());
            assertTrue(small.socket().datagramsReceived() - before > 2, "a multipart dump over several datagrams");
            assertTrue(small.socket().receiveBufferSize() > 256, "buffer grew to fit one datagram");
            assertEquals(links.stream().map(Link::name).sorted().toList(),
                nl.links().stream().map(Link::name).sorted().toList());
        }
    }

    @Test
    void kernelRefusalsNameTheRequestTheObjectAndTheErrno() {
        RtNetlink nl = a.rtnetlink();
        nl.createBridge("dup0", LinkChange.set());
        NetlinkException e = assertThrows(NetlinkException.class, () -> nl.createBridge("dup0", LinkChange.set()));
        assertEquals("EEXIST", e.errnoName());
        assertEquals("RTM_NEWLINK", e.syscall());
        assertTrue(e.getMessage().startsWith("RTM_NEWLINK(bridge dup0 in " + a.name() + "): EEXIST (File exists)"),
            e.getMessage());
        NetlinkException gone = assertThrows(NetlinkException.class, () -> nl.deleteLink("nosuch0"));
        assertEquals("ENODEV", gone.errnoName());
        assertTrue(nl.link("nosuch0").isEmpty());
    }

    @Test
    void batchesGetOneVerdictPerMessage() {
        RtNetlink nl = a.rtnetlink();
        NetlinkMessageWriter w = new NetlinkMessageWriter();
        for (String name : new String[] {"bb0", "bb1", "bb0"}) {
            w.begin(Rtnl.RTM_NEWLINK, Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL).ifinfomsg(0, 0, 0, 0, 0)
                .attrString(Rtnl.IFLA_IFNAME, name);
            int info = w.beginNest(Rtnl.IFLA_LINKINFO);
            w.attrString(Rtnl.IFLA_INFO_KIND, "bridge");
            w.endNest(info).end();
        }
        NetlinkException[] verdicts = nl.socket().requestBatch(w, new String[] {"bb0", "bb1", "bb0 again"});
        assertNull(verdicts[0]);
        assertNull(verdicts[1]);
        assertEquals("EEXIST", verdicts[2].errnoName());
        assertTrue(nl.link("bb1").isPresent());
    }

    private static JsonNode link(String ns, String name) {
        JsonNode arr = Commands.ipJson("-d", "-n", ns, "link", "show", "dev", name);
        assertEquals(1, arr.size(), arr.toString());
        return arr.get(0);
    }

    private static String flags(JsonNode link) {
        return link.get("flags").toString();
    }
}
