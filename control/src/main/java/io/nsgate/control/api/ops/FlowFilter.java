// Which flows a flows.list, flows.count or flows.flush request means: protocol, addresses, ports, state.
package io.nsgate.control.api.ops;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.nsgate.control.api.ControlException;
import io.nsgate.control.api.ErrorCode;
import io.nsgate.dataplane.conntrack.FlowSnapshot;
import io.nsgate.dataplane.conntrack.TcpState;
import io.nsgate.dataplane.packet.IpProtocol;
import io.nsgate.linux.net.IpPrefix;
import io.nsgate.linux.net.Ipv4Prefix;
import io.nsgate.linux.net.Ipv6Prefix;

/**
 * The filter of the flow operations. Addresses and ports are matched the way an operator thinks of a connection,
 * not of one tuple:
 * <ul>
 *   <li>{@code src} (an address or a prefix) and {@code sport}: the source as the client sent it (the original
 *       tuple's source);</li>
 *   <li>{@code dst} and {@code dport}: the destination as the client addressed it (the original tuple's
 *       destination) <em>or</em> as nsgate translated it (the reply tuple's source): {@code dst 192.168.15.3}
 *       finds the flows a port forward sent to backend 192.168.15.3, {@code dport 80} the flows to the forward's
 *       port 80 and the masqueraded ones to port 80 outside;</li>
 *   <li>{@code proto}: tcp, udp or icmp; {@code state}: a TCP state (ESTABLISHED, TIME_WAIT...) or, for UDP and
 *       ICMP, UNREPLIED or REPLIED.</li>
 * </ul>
 * Every given field must match. Mapping records (the endpoint-independent UDP/ICMP port mappings, which live and
 * die with their flows) are left out unless asked for; flush never deletes them directly.
 */
public final class FlowFilter {
    /** The wire form, {@code args.filter}. */
    public static final class Args {
        public String proto;
        public String src;
        public String dst;
        public Integer sport;
        public Integer dport;
        public String state;
    }

    /** Everything. */
    public static final FlowFilter ALL = new FlowFilter(-1, null, null, -1, -1, null, false);

    private final int proto;
    private final IpPrefix src;
    private final IpPrefix dst;
    private final int sport;
    private final int dport;
    private final String state;
    private final boolean mappings;

    private FlowFilter(int proto, IpPrefix src, IpPrefix dst, int sport, int dport, String state,
                       boolean mappings) {
        this.proto = proto;
        this.src = src;
        this.dst = dst;
        this.sport = sport;
        this.dport = dport;
        this.state = state;
        this.mappings = mappings;
    }

    /**
     * Checks every field (all problems at once) and builds the filter.
     *
     * @throws ControlException bad_request naming each offending field and value
     */
    public static FlowFilter of(Args args, boolean withMappings) {
        if (args == null) {
            return withMappings ? new FlowFilter(-1, null, null, -1, -1, null, true) : ALL;
        }
        List<String> problems = new ArrayList<>();
        int p = -1;
        if (args.proto != null) {
            p = IpProtocol.byName(args.proto);
            if (p < 0) {
                problems.add("args.filter.proto \"" + args.proto + "\": not tcp, udp, icmp or icmpv6");
            }
        }
        IpPrefix s = prefix("src", args.src, problems);
        IpPrefix d = prefix("dst", args.dst, problems);
        int sp = port("sport", args.sport, problems);
        int dp = port("dport", args.dport, problems);
        String st = null;
        if (args.state != null) {
            st = args.state.toUpperCase(Locale.ROOT);
            if (TcpState.byName(st) < 0 && !st.equals("UNREPLIED") && !st.equals("REPLIED")
                && !(withMappings && st.equals("MAPPING"))) {
                problems.add("args.filter.state \"" + args.state + "\": not a state (TCP: SYN_SENT, SYN_RECV, "
                    + "ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2; UDP and ICMP: "
                    + "UNREPLIED, REPLIED)");
            }
        }
        if (!problems.isEmpty()) {
            throw new ControlException(ErrorCode.BAD_REQUEST, String.join("; ", problems),
                problems.size() > 1 ? problems : List.of());
        }
        return new FlowFilter(p, s, d, sp, dp, st, withMappings);
    }

    private static IpPrefix prefix(String field, String text, List<String> problems) {
        if (text == null) {
            return null;
        }
        try {
            return IpPrefix.parse(text);
        } catch (IllegalArgumentException e) {
            problems.add("args.filter." + field + " \"" + text + "\": " + e.getMessage());
            return null;
        }
    }

    private static int port(String field, Integer port, List<String> problems) {
        if (port == null) {
            return -1;
        }
        if (port < 0 || port > 65535) {
            problems.add("args.filter." + field + " " + port + ": not a port 0..65535");
            return -1;
        }
        return port;
    }

    /** Whether an IPv4 flow copied from the table is one of those meant. */
    public boolean matches(FlowSnapshot f) {
        return matches(f, null);
    }

    /**
     * Whether a flow copied from the table is one of those meant; an IPv6 flow's addresses are {@code v6}
     * ({@code FlowTable6.addresses}), null for an IPv4 flow. A prefix of one family matches no flow of the other.
     */
    public boolean matches(FlowSnapshot f, long[] v6) {
        if (f.mapping && !mappings) {
            return false;
        }
        if (proto >= 0 && f.proto != proto) {
            return false;
        }
        if (src != null && !contains(src, f.origSrcIp, v6, 0)) {
            return false;
        }
        if (dst != null && !contains(dst, f.origDstIp, v6, 2) && !contains(dst, f.replySrcIp, v6, 4)) {
            return false;
        }
        if (sport >= 0 && f.origSrcPort != sport) {
            return false;
        }
        if (dport >= 0 && f.origDstPort != dport && f.replySrcPort != dport) {
            return false;
        }
        return state == null || state.equals(f.stateName());
    }

    private static boolean contains(IpPrefix prefix, int ip, long[] v6, int at) {
        if (v6 == null) {
            return prefix instanceof Ipv4Prefix p && p.contains(ip);
        }
        if (v6[at] == 0 && (v6[at + 1] >>> 32) == 0xFFFFL) {
            // an IPv4 address in an IPv6 flow (the backend side of a translated flow), IPv4-mapped
            return prefix instanceof Ipv4Prefix p && p.contains((int) v6[at + 1]);
        }
        return prefix instanceof Ipv6Prefix p && p.contains(v6[at], v6[at + 1]);
    }

    /** True when it matches every flow. */
    public boolean isEmpty() {
        return proto < 0 && src == null && dst == null && sport < 0 && dport < 0 && state == null;
    }
}
