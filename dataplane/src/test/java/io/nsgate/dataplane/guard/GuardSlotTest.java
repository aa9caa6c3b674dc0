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
        assertEquals(2848, GuardSlot.ENCODED_SIZE);
        assertEquals(ownership, GuardSlot.decode(slot, 4));
    }
}
