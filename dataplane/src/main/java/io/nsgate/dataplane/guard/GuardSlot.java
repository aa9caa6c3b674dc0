// The guard's config slot: an Ownership laid out as the guard program reads it from its BPF array map.
package io.nsgate.dataplane.guard;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import io.nsgate.dataplane.nat.ForwardedPorts;
import io.nsgate.dataplane.nat.Ownership;
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.linux.net.Ipv6Address;

/**
 * The encoding of an {@link Ownership} (which frames the data plane owns) into one config slot of the guard's BPF
 * array map, and back. {@link GuardProgram} reads these offsets; {@link KernelGuard} writes slots.
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
 *     792  1024  64 x forward:   { u32 protocol (6, 17; | 0x100 for an IPv6 forward), u32 first port,
 *                                  u32 last port, u32 address (0: every LAN address; an IPv6 forward's: the
 *                                  1-based index of its IPv6 address below, in host order) }
 *    1816     4  IPv6 address count (0..64)
 *    1820     4  (zero)
 *    1824  1024  64 x IPv6 address: 16 bytes in network order, as in the IPv6 header
 *    2848   256  64 x u32 lan flag of the IPv6 address of the same index
 *    3104        end
 * </pre>
 */
public final class GuardSlot {
    /** Address (and directed broadcast) entries the program scans. */
    public static final int MAX_ADDRESSES = Ownership.MAX_ADDRESSES;
    /** Forward entries the program scans, current and lingering together. */
    public static final int MAX_FORWARDS = Ownership.MAX_FORWARDS;

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
    public static final int IPV6_COUNT_OFFSET = FORWARDS_OFFSET + MAX_FORWARDS * FORWARD_ENTRY_SIZE;
    public static final int IPV6_ADDRESSES_OFFSET = IPV6_COUNT_OFFSET + 8;
    public static final int IPV6_ENTRY_SIZE = 16;
    /** IPv6 addresses the program scans. */
    public static final int MAX_IPV6_ADDRESSES = Ownership.MAX_IPV6_ADDRESSES;
    public static final int IPV6_LAN_OFFSET = IPV6_ADDRESSES_OFFSET + MAX_IPV6_ADDRESSES * IPV6_ENTRY_SIZE;
    /** Or'ed into an IPv6 forward entry's protocol. */
    public static final int FORWARD_IPV6_FLAG = 0x100;
    public static final int ENCODED_SIZE = IPV6_LAN_OFFSET + MAX_IPV6_ADDRESSES * 4;

    private static final ByteOrder HOST = ByteOrder.nativeOrder();
    private static final ByteOrder NETWORK = ByteOrder.BIG_ENDIAN;

    private GuardSlot() {
    }

    /** Writes {@code ownership} as the {@link #ENCODED_SIZE}-byte slot at {@code offset} (generation 0). */
    public static void encode(Ownership ownership, MutableDirectBuffer out, int offset) {
        out.setMemory(offset, ENCODED_SIZE, (byte) 0);
        out.putInt(offset + ADDRESS_COUNT_OFFSET, ownership.addresses().size(), HOST);
        out.putInt(offset + BROADCAST_COUNT_OFFSET, ownership.broadcasts().size(), HOST);
        out.putInt(offset + FORWARD_COUNT_OFFSET, ownership.forwards().size(), HOST);
        out.putInt(offset + NAT_FIRST_OFFSET, ownership.natPorts().first(), HOST);
        out.putInt(offset + NAT_LAST_OFFSET, ownership.natPorts().last(), HOST);
        for (int i = 0; i < ownership.addresses().size(); i++) {
            Ownership.Address a = ownership.addresses().get(i);
            int at = offset + ADDRESSES_OFFSET + i * ADDRESS_ENTRY_SIZE;
            out.putInt(at, a.ip(), NETWORK);
            out.putInt(at + ADDRESS_LAN_OFFSET, a.lan() ? 1 : 0, HOST);
        }
        for (int i = 0; i < ownership.broadcasts().size(); i++) {
            out.putInt(offset + BROADCASTS_OFFSET + i * BROADCAST_ENTRY_SIZE, ownership.broadcasts().get(i), NETWORK);
        }
        for (int i = 0; i < ownership.forwards().size(); i++) {
            ForwardedPorts f = ownership.forwards().get(i);
            int at = offset + FORWARDS_OFFSET + i * FORWARD_ENTRY_SIZE;
            out.putInt(at + FORWARD_PROTO_OFFSET, f.proto() | (f.ipv6() ? FORWARD_IPV6_FLAG : 0), HOST);
            out.putInt(at + FORWARD_FIRST_OFFSET, f.ports().first(), HOST);
            out.putInt(at + FORWARD_LAST_OFFSET, f.ports().last(), HOST);
            if (f.ipv6()) {
                // an address the gateway lost is no address: a never-matching index, as the translator never
                // matches it either
                int index = f.address6() == null ? 0 : ownership.ipv6Addresses().indexOf(f.address6()) + 1;
                out.putInt(at + FORWARD_ADDRESS_OFFSET, index == 0 && f.address6() != null ? -1 : index, HOST);
            } else {
                out.putInt(at + FORWARD_ADDRESS_OFFSET, f.address(), NETWORK);
            }
        }
        out.putInt(offset + IPV6_COUNT_OFFSET, ownership.ipv6Addresses().size(), HOST);
        for (int i = 0; i < ownership.ipv6Addresses().size(); i++) {
            Ipv6Address a = ownership.ipv6Addresses().get(i);
            int at = offset + IPV6_ADDRESSES_OFFSET + i * IPV6_ENTRY_SIZE;
            out.putLong(at, a.high(), NETWORK);
            out.putLong(at + 8, a.low(), NETWORK);
            out.putInt(offset + IPV6_LAN_OFFSET + i * 4, ownership.ipv6Lan(i) ? 1 : 0, HOST);
        }
    }

    /** Reads a slot back (e.g. from the kernel's map, to show what the guard enforces). */
    public static Ownership decode(DirectBuffer in, int offset) {
        Ownership.Builder b = Ownership.builder().natPorts(new PortRange(in.getInt(offset + NAT_FIRST_OFFSET, HOST),
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
        int ipv6Count = count(in, offset + IPV6_COUNT_OFFSET, MAX_IPV6_ADDRESSES, "IPv6 address");
        java.util.List<Ipv6Address> ipv6 = new java.util.ArrayList<>();
        for (int i = 0; i < ipv6Count; i++) {
            int at = offset + IPV6_ADDRESSES_OFFSET + i * IPV6_ENTRY_SIZE;
            ipv6.add(new Ipv6Address(in.getLong(at, NETWORK), in.getLong(at + 8, NETWORK)));
            b.ipv6Address(ipv6.get(i), in.getInt(offset + IPV6_LAN_OFFSET + i * 4, HOST) != 0);
        }
        int forwardCount = count(in, offset + FORWARD_COUNT_OFFSET, MAX_FORWARDS, "forward");
        for (int i = 0; i < forwardCount; i++) {
            int at = offset + FORWARDS_OFFSET + i * FORWARD_ENTRY_SIZE;
            int proto = in.getInt(at + FORWARD_PROTO_OFFSET, HOST);
            PortRange ports = new PortRange(in.getInt(at + FORWARD_FIRST_OFFSET, HOST),
                in.getInt(at + FORWARD_LAST_OFFSET, HOST));
            if ((proto & FORWARD_IPV6_FLAG) != 0) {
                int index = in.getInt(at + FORWARD_ADDRESS_OFFSET, HOST);
                if (index < -1 || index > ipv6Count) {
                    throw new IllegalArgumentException("guard slot: forward " + i + " names IPv6 address " + index
                        + " of " + ipv6Count);
                }
                if (index >= 0) { // -1: an address the gateway no longer has (matches nothing)
                    b.forward(new ForwardedPorts(proto & 0xFF, index == 0 ? null : ipv6.get(index - 1), ports));
                }
            } else {
                b.forward(proto, in.getInt(at + FORWARD_ADDRESS_OFFSET, NETWORK), ports);
            }
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
}
