// EthernetHeader against known bytes: MACs, ethertype, one 802.1Q tag.
package io.nsgate.dataplane.packet;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static io.nsgate.dataplane.testsupport.Frames.hex;
import static io.nsgate.dataplane.testsupport.Frames.unhex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EthernetHeaderTest {
    private static final String UNTAGGED = "ffffffffffff 020000770101 0806";
    private static final String TAGGED = "020000770102 020000770101 8100 a02a 0800";

    private final EthernetHeader ethernet = new EthernetHeader();

    @Test
    void readsAnUntaggedHeader() {
        final UnsafeBuffer buf = new UnsafeBuffer(unhex("00" + UNTAGGED));
        ethernet.wrap(buf, 1);
        assertEquals(EthernetHeader.BROADCAST_MAC, ethernet.destinationMac());
        assertEquals(0x0200_0077_0101L, ethernet.sourceMac());
        assertEquals(EthernetHeader.ETHERTYPE_ARP, ethernet.etherType());
        assertFalse(ethernet.hasVlanTag());
        assertEquals(EthernetHeader.ETHERTYPE_ARP, ethernet.payloadEtherType());
        assertEquals(14, ethernet.headerLength());
        assertEquals(15, ethernet.payloadOffset());
    }

    @Test
    void stepsOverOneVlanTag() {
        ethernet.wrap(new UnsafeBuffer(unhex(TAGGED)), 0);
        assertTrue(ethernet.hasVlanTag());
        assertEquals(EthernetHeader.ETHERTYPE_VLAN, ethernet.etherType());
        assertEquals(0xA02A, ethernet.vlanTci());
        assertEquals(0x02A, ethernet.vlanId());
        assertEquals(EthernetHeader.ETHERTYPE_IPV4, ethernet.payloadEtherType());
        assertEquals(18, ethernet.headerLength());
        assertEquals(18, ethernet.payloadOffset());
    }

    @Test
    void writesTheSameBytesItReads() {
        final UnsafeBuffer buf = new UnsafeBuffer(new byte[18]);
        ethernet.wrap(buf, 0).destinationMac(0x0200_0077_0102L).sourceMac(0x0200_0077_0101L)
            .etherType(EthernetHeader.ETHERTYPE_VLAN).vlanTci(0xA02A).payloadEtherType(EthernetHeader.ETHERTYPE_IPV4);
        assertEquals(hex(unhex(TAGGED)), hex(buf.byteArray()));

        final UnsafeBuffer untagged = new UnsafeBuffer(new byte[14]);
        ethernet.wrap(untagged, 0).destinationMac(EthernetHeader.BROADCAST_MAC).sourceMac(0x0200_0077_0101L)
            .etherType(0).payloadEtherType(EthernetHeader.ETHERTYPE_ARP);
        assertEquals(hex(unhex(UNTAGGED)), hex(untagged.byteArray()));
    }
}
