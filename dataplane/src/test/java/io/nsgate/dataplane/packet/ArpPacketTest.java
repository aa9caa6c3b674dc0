// ArpPacket against the bytes of a real ARP request, and answering it in place.
package io.nsgate.dataplane.packet;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static io.nsgate.dataplane.testsupport.Frames.hex;
import static io.nsgate.dataplane.testsupport.Frames.unhex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import io.nsgate.linux.net.Ipv4Address;

class ArpPacketTest {
    /** Who has 10.77.1.2? Tell 10.77.1.1 (02:00:00:77:01:01), as in golden/tcp.pcap. */
    private static final String REQUEST = "0001 0800 06 04 0001 020000770101 0a4d0101 000000000000 0a4d0102";
    /** 10.77.1.2 is at 02:00:00:77:01:02, to 10.77.1.1. */
    private static final String REPLY = "0001 0800 06 04 0002 020000770102 0a4d0102 020000770101 0a4d0101";

    private final ArpPacket arp = new ArpPacket();

    @Test
    void readsARequest() {
        arp.wrap(new UnsafeBuffer(unhex("ffff" + REQUEST)), 2);
        assertTrue(arp.isEthernetIpv4());
        assertEquals(ArpPacket.HARDWARE_TYPE_ETHERNET, arp.hardwareType());
        assertEquals(EthernetHeader.ETHERTYPE_IPV4, arp.protocolType());
        assertEquals(6, arp.hardwareLength());
        assertEquals(4, arp.protocolLength());
        assertEquals(ArpPacket.OP_REQUEST, arp.operation());
        assertEquals(0x0200_0077_0101L, arp.senderMac());
        assertEquals(Ipv4Address.parse("10.77.1.1"), arp.senderIp());
        assertEquals(0L, arp.targetMac());
        assertEquals(Ipv4Address.parse("10.77.1.2"), arp.targetIp());
    }

    @Test
    void answersARequestInPlace() {
        final UnsafeBuffer buf = new UnsafeBuffer(unhex(REQUEST));
        arp.wrap(buf, 0);
        final long askerMac = arp.senderMac();
        final int askerIp = arp.senderIp();
        final int askedIp = arp.targetIp();
        arp.operation(ArpPacket.OP_REPLY).targetMac(askerMac).targetIp(askerIp)
            .senderMac(0x0200_0077_0102L).senderIp(askedIp);
        assertEquals(hex(unhex(REPLY)), hex(buf.byteArray()));
    }

    @Test
    void writesEveryHeaderField() {
        final UnsafeBuffer buf = new UnsafeBuffer(new byte[ArpPacket.LENGTH]);
        arp.wrap(buf, 0).hardwareType(1).protocolType(0x0800).hardwareLength(6).protocolLength(4).operation(2)
            .senderMac(0x0200_0077_0102L).senderIp(Ipv4Address.parse("10.77.1.2")).targetMac(0x0200_0077_0101L)
            .targetIp(Ipv4Address.parse("10.77.1.1"));
        assertEquals(hex(unhex(REPLY)), hex(buf.byteArray()));
        arp.hardwareType(6);
        assertFalse(arp.isEthernetIpv4());
    }
}
