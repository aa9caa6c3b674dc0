// What the kernel guard drops, as data: the gateway's addresses, the NAT port range and the forwarded ports.
package io.nsgate.dataplane.io.ebpf;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.linux.net.Ipv4Address;

/**
 * An immutable description of the frames the data plane owns, in the terms {@link GuardProgram} decides with,
 * and its encoding into one config slot of the guard's BPF array map.
 *
 * <p>It mirrors the ownership decisions of {@code nat.Translator#newFlow}: limited and directed broadcast and
 * multicast are the kernel's; a frame to one of the gateway's {@link #addresses()} is the data plane's when it
 * is TCP or UDP to a port of the {@link #natPorts()} or to a port a {@link #forwards()} entry serves on that
 * address (an entry without an address serves every LAN address, as {@link ForwardRule#matches} does); anything
 * else to the gateway is the host's; anything to another address is transit, the data plane's. Forward entries
 * include <em>lingering</em> ones: forwards already removed from the rules whose flows are still alive in the
 * data plane, so their packets must still be kept from the kernel.
 *
 * <h2>Encoding (one config slot, {@link #ENCODED_SIZE} bytes)</h2>
 * Counts and ports are u32 in host byte order (the program compares them as numbers); addresses are u32 in
 * network byte order, the bytes as they appear in the IPv4 header, so the program compares them with a packet's
 * address without swapping. Entries past a count are zero and never read.
 * <pre>
 *  offset  size  field
 *       0     4  address count (0..64)
 *       4     4  directed broadcast count (0..64)
 *       8     4  forward entry count (0..64)
 *      12     4  NAT range first port
 *      16     4  NAT range last port
 *      20     4  generation (written by KernelGuard for diagnostics; the program ignores it)
 *      24   512  64 x address:   { u32 address, u32 lan (1: a LAN interface's address, else 0) }
 *     536   256  64 x directed broadcast address
 *     792  1024  64 x forward:   { u32 protocol (6, 17), u32 first port, u32 last port,
 *                                  u32 address (0: every LAN address) }
 *    1816        end
 * </pre>
 */
public final class GuardSpec {
    /** Addresses (and directed broadcasts): one per interface, as many as a RuleSet may have. */
    public static final int MAX_ADDRESSES = RuleSet.MAX_INTERFACES;
    /** Forward entries, current and lingering together. */
    public static final int MAX_FORWARDS = 64;

    public static final int ADDRESS_COUNT_OFFSET = 0;
    public static final int BROADCAST_COUNT_OFFSET = 4;
    public static final int FORWARD_COUNT_OFFSET = 8;
    public static final int NAT_FIRST_OFFSET = 12;
    public static final int NAT_LAST_OFFSET = 16;
    public static final int GENERATION_OFFSET = 20;
    public static final int ADDRESSES_OFFSET = 24;
    public static final int ADDRESS_ENTRY_SIZE = 8;
    public static final int ADDRESS_LAN_OFFSET = 4;
    public static final int BROADCASTS_OFFSET = ADDRESSES_OFFSET + MAX_ADDRESSES * ADDRESS_ENTRY_SIZE;
    public static final int BROADCAST_ENTRY_SIZE = 4;
    public static final int FORWARDS_OFFSET = BROADCASTS_OFFSET + MAX_ADDRESSES * BROADCAST_ENTRY_SIZE;
    public static final int FORWARD_ENTRY_SIZE = 16;
    public static final int FORWARD_PROTO_OFFSET = 0;
    public static final int FORWARD_FIRST_OFFSET = 4;
    public static final int FORWARD_LAST_OFFSET = 8;
    public static final int FORWARD_ADDRESS_OFFSET = 12;
    public static final int ENCODED_SIZE = FORWARDS_OFFSET + MAX_FORWARDS * FORWARD_ENTRY_SIZE;

    private static final ByteOrder HOST = ByteOrder.nativeOrder();
    private static final ByteOrder NETWORK = ByteOrder.BIG_ENDIAN;

    /** One of the gateway's own addresses; {@code lan} when it belongs to a LAN interface. */
    public record Address(int ip, boolean lan) {
        @Override
        public String toString() {
            return Ipv4Address.format(ip) + (lan ? " (lan)" : "");
        }
    }

    /**
     * Frames of protocol {@code proto} to {@code ports} on {@code address} (0: on every LAN address) are owned.
     */
    public record Forward(int proto, int address, PortRange ports) {
        public Forward {
            if (proto != 6 && proto != 17) {
                throw new IllegalArgumentException("guard forward: protocol " + proto + " is not tcp (6) or udp (17)");
            }
            Objects.requireNonNull(ports, "ports");
        }

        /** The entry guarding what {@code rule} serves. */
        public static Forward of(ForwardRule rule) {
            return new Forward(rule.proto(), rule.externalAddress(), rule.externalPorts());
        }

        @Override
        public String toString() {
            return ForwardRule.protoName(proto) + ":" + (address != 0 ? Ipv4Address.format(address) + ":" : "") + ports;
        }
    }

    private final List<Address> addresses;
    private final List<Integer> broadcasts;
    private final PortRange natPorts;
    private final List<Forward> forwards;

    private GuardSpec(List<Address> addresses, List<Integer> broadcasts, PortRange natPorts, List<Forward> forwards) {
        this.addresses = List.copyOf(addresses);
        this.broadcasts = List.copyOf(broadcasts);
        this.natPorts = Objects.requireNonNull(natPorts, "natPorts");
        this.forwards = List.copyOf(forwards);
        if (this.addresses.size() > MAX_ADDRESSES) {
            throw new IllegalArgumentException("guard: " + this.addresses.size() + " gateway addresses, at most "
                + MAX_ADDRESSES);
        }
        if (this.broadcasts.size() > MAX_ADDRESSES) {
            throw new IllegalArgumentException("guard: " + this.broadcasts.size() + " directed broadcasts, at most "
                + MAX_ADDRESSES);
        }
        if (this.forwards.size() > MAX_FORWARDS) {
            throw new IllegalArgumentException("guard: " + this.forwards.size()
                + " forward entries (current and lingering forwards together), at most " + MAX_FORWARDS);
        }
    }

    /**
     * The guard for {@code rules}: every interface's address (LAN ones marked), the directed broadcast of every
     * subnet that has one (prefix length 30 or less, as {@link RuleSet#isBroadcastOrMulticast} counts them), the
     * NAT range, and one entry per forward rule and per lingering forward (duplicates merged).
     *
     * @param lingering forwards removed from {@code rules} whose flows may still be alive; empty when none
     * @throws IllegalArgumentException when the entries exceed {@link #MAX_FORWARDS}
     */
    public static GuardSpec from(RuleSet rules, List<ForwardRule> lingering) {
        Builder b = builder().natPorts(rules.natPorts());
        for (GatewayInterface i : rules.interfaces()) {
            b.address(i.ip(), i.role() == GatewayInterface.Role.LAN);
            if (i.address().hasBroadcast()) {
                b.broadcast(i.address().broadcast());
            }
        }
        for (ForwardRule f : rules.forwards()) {
            b.forward(Forward.of(f));
        }
        for (ForwardRule f : lingering) {
            b.forward(Forward.of(f));
        }
        return b.build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public List<Address> addresses() {
        return addresses;
    }

    /** Directed broadcast addresses of the gateway's subnets. */
    public List<Integer> broadcasts() {
        return broadcasts;
    }

    public PortRange natPorts() {
        return natPorts;
    }

    /** Forward entries: the rules' forwards, then lingering ones. */
    public List<Forward> forwards() {
        return forwards;
    }

    // ---------------------------------------------------------------- encoding

    /** Writes the {@link #ENCODED_SIZE}-byte slot at {@code offset} (generation 0); see the class comment. */
    public void encode(MutableDirectBuffer out, int offset) {
        out.setMemory(offset, ENCODED_SIZE, (byte) 0);
        out.putInt(offset + ADDRESS_COUNT_OFFSET, addresses.size(), HOST);
        out.putInt(offset + BROADCAST_COUNT_OFFSET, broadcasts.size(), HOST);
        out.putInt(offset + FORWARD_COUNT_OFFSET, forwards.size(), HOST);
        out.putInt(offset + NAT_FIRST_OFFSET, natPorts.first(), HOST);
        out.putInt(offset + NAT_LAST_OFFSET, natPorts.last(), HOST);
        for (int i = 0; i < addresses.size(); i++) {
            int at = offset + ADDRESSES_OFFSET + i * ADDRESS_ENTRY_SIZE;
            out.putInt(at, addresses.get(i).ip(), NETWORK);
            out.putInt(at + ADDRESS_LAN_OFFSET, addresses.get(i).lan() ? 1 : 0, HOST);
        }
        for (int i = 0; i < broadcasts.size(); i++) {
            out.putInt(offset + BROADCASTS_OFFSET + i * BROADCAST_ENTRY_SIZE, broadcasts.get(i), NETWORK);
        }
        for (int i = 0; i < forwards.size(); i++) {
            Forward f = forwards.get(i);
            int at = offset + FORWARDS_OFFSET + i * FORWARD_ENTRY_SIZE;
            out.putInt(at + FORWARD_PROTO_OFFSET, f.proto(), HOST);
            out.putInt(at + FORWARD_FIRST_OFFSET, f.ports().first(), HOST);
            out.putInt(at + FORWARD_LAST_OFFSET, f.ports().last(), HOST);
            out.putInt(at + FORWARD_ADDRESS_OFFSET, f.address(), NETWORK);
        }
    }

    /** Reads a slot back (e.g. from the kernel's map, to show what the guard enforces). */
    public static GuardSpec decode(DirectBuffer in, int offset) {
        Builder b = builder().natPorts(new PortRange(in.getInt(offset + NAT_FIRST_OFFSET, HOST),
            in.getInt(offset + NAT_LAST_OFFSET, HOST)));
        int addressCount = count(in, offset + ADDRESS_COUNT_OFFSET, MAX_ADDRESSES, "address");
        for (int i = 0; i < addressCount; i++) {
            int at = offset + ADDRESSES_OFFSET + i * ADDRESS_ENTRY_SIZE;
            b.address(in.getInt(at, NETWORK), in.getInt(at + ADDRESS_LAN_OFFSET, HOST) != 0);
        }
        int broadcastCount = count(in, offset + BROADCAST_COUNT_OFFSET, MAX_ADDRESSES, "broadcast");
        for (int i = 0; i < broadcastCount; i++) {
            b.broadcast(in.getInt(offset + BROADCASTS_OFFSET + i * BROADCAST_ENTRY_SIZE, NETWORK));
        }
        int forwardCount = count(in, offset + FORWARD_COUNT_OFFSET, MAX_FORWARDS, "forward");
        for (int i = 0; i < forwardCount; i++) {
            int at = offset + FORWARDS_OFFSET + i * FORWARD_ENTRY_SIZE;
            b.forward(new Forward(in.getInt(at + FORWARD_PROTO_OFFSET, HOST), in.getInt(at + FORWARD_ADDRESS_OFFSET,
                NETWORK), new PortRange(in.getInt(at + FORWARD_FIRST_OFFSET, HOST), in.getInt(at + FORWARD_LAST_OFFSET,
                HOST))));
        }
        return b.build();
    }

    private static int count(DirectBuffer in, int at, int max, String what) {
        int n = in.getInt(at, HOST);
        if (n < 0 || n > max) {
            throw new IllegalArgumentException("guard slot: " + what + " count " + n + " is not within 0.." + max);
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GuardSpec s && addresses.equals(s.addresses) && broadcasts.equals(s.broadcasts)
            && natPorts.equals(s.natPorts) && forwards.equals(s.forwards);
    }

    @Override
    public int hashCode() {
        return Objects.hash(addresses, broadcasts, natPorts, forwards);
    }

    @Override
    public String toString() {
        List<String> bcast = new ArrayList<>();
        for (int b : broadcasts) {
            bcast.add(Ipv4Address.format(b));
        }
        return "guard addresses " + addresses + ", broadcasts " + bcast + ", nat ports " + natPorts
            + ", forwards " + forwards;
    }

    /** Collects a spec by hand (tests, tools); {@link #from} is the usual way. Not thread-safe. */
    public static final class Builder {
        private final List<Address> addresses = new ArrayList<>();
        private final Set<Integer> broadcasts = new LinkedHashSet<>();
        private final Set<Forward> forwards = new LinkedHashSet<>();
        private PortRange natPorts = PortRange.DEFAULT_NAT;

        private Builder() {
        }

        public Builder address(int ip, boolean lan) {
            addresses.add(new Address(ip, lan));
            return this;
        }

        public Builder broadcast(int ip) {
            broadcasts.add(ip);
            return this;
        }

        public Builder natPorts(PortRange range) {
            natPorts = range;
            return this;
        }

        /** Adds an entry; an entry equal to one already present is merged with it. */
        public Builder forward(Forward forward) {
            forwards.add(forward);
            return this;
        }

        public Builder forward(int proto, int address, PortRange ports) {
            return forward(new Forward(proto, address, ports));
        }

        /** @throws IllegalArgumentException when a list exceeds its maximum */
        public GuardSpec build() {
            return new GuardSpec(addresses, new ArrayList<>(broadcasts), natPorts, new ArrayList<>(forwards));
        }
    }
}
