// Checks what GuardSpec takes from a RuleSet and how it lays a config slot out for the program.
package io.nsgate.dataplane.io.ebpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.PortRange;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.testsupport.Frames;
import io.nsgate.linux.net.Ipv4Address;
import io.nsgate.linux.net.Ipv4Prefix;

class GuardSpecTest {
    private static int ip(String text) {
        return Ipv4Address.parse(text);
    }

    @Test
    void takesAddressesBroadcastsNatRangeAndForwardsFromTheRules() {
        GuardSpec spec = GuardSpec.from(GuardLab.rules(), List.of());
        assertEquals(List.of(new GuardSpec.Address(ip("192.168.1.2"), true),
            new GuardSpec.Address(ip("192.168.15.5"), false)), spec.addresses());
        assertEquals(List.of(ip("192.168.1.255"), ip("192.168.15.255")), spec.broadcasts());
        assertEquals(new PortRange(61000, 65535), spec.natPorts());
        assertEquals(List.of(new GuardSpec.Forward(6, 0, PortRange.single(80))), spec.forwards());
    }

    @Test
    void addsLingeringForwardsAfterTheCurrentOnesWithoutDuplicates() {
        ForwardRule dns = GuardLab.forward(17, ip("192.168.1.2"), PortRange.single(53), GuardLab.BLUE,
            PortRange.single(53));
        GuardSpec spec = GuardSpec.from(GuardLab.rules(), List.of(dns, GuardLab.HTTP_TO_BLUE));
        assertEquals(List.of(new GuardSpec.Forward(6, 0, PortRange.single(80)),
            new GuardSpec.Forward(17, ip("192.168.1.2"), PortRange.single(53))), spec.forwards());
    }

    @Test
    void pointToPointSubnetsHaveNoDirectedBroadcast() {
        RuleSet rules = GuardLab.base()
            .iface("p2p", GatewayInterface.Role.INSIDE, Ipv4Prefix.parse("10.99.0.0/31"), 1500)
            .iface("host", GatewayInterface.Role.INSIDE, Ipv4Prefix.parse("10.98.0.1/32"), 1500)
            .iface("small", GatewayInterface.Role.INSIDE, Ipv4Prefix.parse("10.97.0.1/30"), 1500)
            .build();
        assertEquals(List.of(ip("192.168.1.255"), ip("192.168.15.255"), ip("10.97.0.3")),
            GuardSpec.from(rules, List.of()).broadcasts());
    }

    @Test
    void encodesCountsAndPortsInHostOrderAndAddressesInNetworkOrder() {
        GuardSpec spec = GuardSpec.builder()
            .address(ip("10.9.0.1"), true).address(ip("10.8.0.1"), false)
            .broadcast(ip("10.9.0.255"))
            .natPorts(new PortRange(40000, 40999))
            .forward(17, ip("10.8.0.1"), new PortRange(5000, 5010))
            .build();
        UnsafeBuffer slot = new UnsafeBuffer(new byte[GuardSpec.ENCODED_SIZE + 8]);
        slot.setMemory(0, slot.capacity(), (byte) 0x5A);
        spec.encode(slot, 4);
        ByteOrder host = ByteOrder.nativeOrder();
        assertEquals(0x5A, slot.getByte(3), "nothing written before the slot");
        assertEquals(0x5A, slot.getByte(4 + GuardSpec.ENCODED_SIZE), "nothing written after the slot");
        assertEquals(2, slot.getInt(4 + 0, host));
        assertEquals(1, slot.getInt(4 + 4, host));
        assertEquals(1, slot.getInt(4 + 8, host));
        assertEquals(40000, slot.getInt(4 + 12, host));
        assertEquals(40999, slot.getInt(4 + 16, host));
        assertEquals(0, slot.getInt(4 + 20, host), "generation is KernelGuard's");
        byte[] bytes = new byte[GuardSpec.ENCODED_SIZE];
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
        for (int i = 808; i < GuardSpec.ENCODED_SIZE; i++) {
            assertEquals(0, bytes[i], "unused entries are zero, offset " + i);
        }
        assertEquals(1816, GuardSpec.ENCODED_SIZE);
        assertEquals(spec, GuardSpec.decode(slot, 4));
    }

    @Test
    void refusesMoreEntriesThanTheProgramScans() {
        RuleSet.Builder rules = GuardLab.base();
        for (int i = 0; i < GuardSpec.MAX_FORWARDS; i++) {
            rules.forward(GuardLab.forward(17, 0, PortRange.single(1000 + i), GuardLab.BLUE, PortRange.single(1)));
        }
        RuleSet full = rules.build();
        assertEquals(GuardSpec.MAX_FORWARDS, GuardSpec.from(full, List.of()).forwards().size());
        List<ForwardRule> lingering = new ArrayList<>();
        lingering.add(GuardLab.HTTP_TO_BLUE);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> GuardSpec.from(full, lingering));
        assertTrue(e.getMessage().contains("65 forward entries (current and lingering forwards together), at most 64"),
            e.getMessage());
    }
}
