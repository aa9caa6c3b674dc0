// How GuardSlot lays an Ownership out for the guard program: counts, byte orders, offsets, and back again.
package io.nsgate.dataplane.guard;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteOrder;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.nat.Ownership;
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.net.Ipv4Address;

class GuardSlotTest {
    private static int ip(String text) {
        return Ipv4Address.parse(text);
    }

    @Test
    void encodesCountsAndPortsInHostOrderAndAddressesInNetworkOrder() {
        Ownership ownership = Ownership.builder()
            .address(ip("10.9.0.1"), true).address(ip("10.8.0.1"), false)
            .broadcast(ip("10.9.0.255"))
            .natPorts(new PortRange(40000, 40999))
            .forward(17, ip("10.8.0.1"), new PortRange(5000, 5010))
            .build();
        UnsafeBuffer slot = new UnsafeBuffer(new byte[GuardSlot.ENCODED_SIZE + 8]);
        slot.setMemory(0, slot.capacity(), (byte) 0x5A);
        GuardSlot.encode(ownership, slot, 4);
        ByteOrder host = ByteOrder.nativeOrder();
        assertEquals(0x5A, slot.getByte(3), "nothing written before the slot");
        assertEquals(0x5A, slot.getByte(4 + GuardSlot.ENCODED_SIZE), "nothing written after the slot");
        assertEquals(2, slot.getInt(4 + 0, host));
        assertEquals(1, slot.getInt(4 + 4, host));
        assertEquals(1, slot.getInt(4 + 8, host));
        assertEquals(40000, slot.getInt(4 + 12, host));
        assertEquals(40999, slot.getInt(4 + 16, host));
        assertEquals(0, slot.getInt(4 + 20, host), "generation is KernelGuard's");
        byte[] bytes = new byte[GuardSlot.ENCODED_SIZE];
        slot.getBytes(4, bytes);
        assertEquals("0a090001", Frames.hex(java.util.Arrays.copyOfRange(bytes, 24, 28)), "as in an IPv4 header");
        assertEquals(1, slot.getInt(4 + 28, host), "lan flag");
        assertEquals("0a080001", Frames.hex(java.util.Arrays.copyOfRange(bytes, 32, 36)));
        assertEquals(0, slot.getInt(4 + 36, host));
        assertEquals("0a0900ff", Frames.hex(java.util.Arrays.copyOfRange(bytes, 536, 540)));
        assertEquals(17, slot.getInt(4 + 792, host));
        assertEquals(5000, slot.getInt(4 + 796, host));
        assertEquals(5010, slot.getInt(4 + 800, host));
        assertEquals("0a080001", Frames.hex(java.util.Arrays.copyOfRange(bytes, 804, 808)));
        for (int i = 808; i < GuardSlot.ENCODED_SIZE; i++) {
            assertEquals(0, bytes[i], "unused entries are zero, offset " + i);
        }
        assertEquals(3104, GuardSlot.ENCODED_SIZE);
        assertEquals(ownership, GuardSlot.decode(slot, 4));
    }

    @Test
    void ipv6ForwardsNameTheirAddressByIndexAndRoundTrip() {
        io.nsgate.linux.net.Ipv6Address a = io.nsgate.linux.net.Ipv6Address.parse("fd01::2");
        io.nsgate.linux.net.Ipv6Address b = io.nsgate.linux.net.Ipv6Address.parse("fd15::5");
        Ownership ownership = Ownership.builder().ipv6Address(a, true).ipv6Address(b, false)
            .forward(new io.nsgate.dataplane.nat.ForwardedPorts(6, b, PortRange.single(8080)))
            .forward(new io.nsgate.dataplane.nat.ForwardedPorts(17, (io.nsgate.linux.net.Ipv6Address) null,
                PortRange.single(53)))
            .build();
        org.agrona.concurrent.UnsafeBuffer slot = new org.agrona.concurrent.UnsafeBuffer(
            new byte[GuardSlot.ENCODED_SIZE]);
        GuardSlot.encode(ownership, slot, 0);
        java.nio.ByteOrder host = java.nio.ByteOrder.nativeOrder();
        assertEquals(6 | GuardSlot.FORWARD_IPV6_FLAG, slot.getInt(GuardSlot.FORWARDS_OFFSET, host));
        assertEquals(2, slot.getInt(GuardSlot.FORWARDS_OFFSET + GuardSlot.FORWARD_ADDRESS_OFFSET, host),
            "the second IPv6 address");
        assertEquals(0, slot.getInt(GuardSlot.FORWARDS_OFFSET + GuardSlot.FORWARD_ENTRY_SIZE
            + GuardSlot.FORWARD_ADDRESS_OFFSET, host), "every LAN IPv6 address");
        assertEquals(1, slot.getInt(GuardSlot.IPV6_LAN_OFFSET, host));
        assertEquals(0, slot.getInt(GuardSlot.IPV6_LAN_OFFSET + 4, host));
        assertEquals(ownership, GuardSlot.decode(slot, 0));
    }
}
