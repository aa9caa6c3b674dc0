// Ring options: the defaults, and refusals that name the field, the value and what would be valid.
package io.nsgate.dataplane.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;

class AfPacketOptionsTest {

    @Test
    void defaultsFitSuperFramesInBothRings() {
        AfPacketOptions d = AfPacketOptions.defaults();
        assertEquals(1 << 20, d.rxBlockSize());
        assertEquals(32, d.rxBlockCount());
        assertEquals(1, d.rxBlockTimeoutMs());
        assertEquals(128 * 1024, d.txFrameSize());
        assertEquals(256, d.txFrameCount());
        assertFalse(d.fanout());
        assertEquals(AfPacketOptions.NO_FANOUT, d.fanoutGroup());
        assertEquals(32L << 20, d.rxRingBytes());
        assertEquals(32L << 20, d.txRingBytes());
        assertEquals(128 * 1024 - 58, d.maxTransmitLength());
        assertTrue(d.maxTransmitLength() > 65535 + 14 + 4, "an IPv4 GSO super-frame, VLAN-tagged");
    }

    @Test
    void toBuilderKeepsEverySetting() {
        AfPacketOptions o = AfPacketOptions.builder().rxBlockSize(256 * 1024).rxBlockCount(4).rxBlockTimeoutMs(7)
            .txFrameSize(8192).txFrameCount(16).fanoutGroup(99).build();
        AfPacketOptions copy = o.toBuilder().build();
        assertEquals(o.toString(), copy.toString());
        assertEquals(99, copy.fanoutGroup());
        assertTrue(copy.fanout());
        assertEquals("AfPacketOptions{rx 4 x 262144 B blocks, retire after 7 ms; tx 16 x 8192 B slots; fanout group"
            + " 99 (hash)}", copy.toString());
    }

    @Test
    void invalidValuesAreRefusedNamingTheField() {
        refused(b -> b.rxBlockSize(65536), "rxBlockSize 65536: must be a multiple of the page size (4096) from"
            + " 131072");
        refused(b -> b.rxBlockSize(200_000), "rxBlockSize 200000: must be a multiple of the page size");
        refused(b -> b.rxBlockCount(1), "rxBlockCount 1: must be at least 2");
        refused(b -> b.rxBlockSize(64 << 20).rxBlockCount(17), "rxBlockCount 17: must be at most 16 blocks");
        refused(b -> b.rxBlockTimeoutMs(0), "rxBlockTimeoutMs 0: must be 1 to 60000 milliseconds");
        refused(b -> b.txFrameSize(1000), "txFrameSize 1000: must be a multiple of the page size");
        refused(b -> b.txFrameSize(6000), "txFrameSize 6000:");
        refused(b -> b.txFrameCount(0), "txFrameCount 0: must be at least 1");
        refused(b -> b.txFrameCount(1 << 20), "txFrameCount 1048576: must be at most 8192 slots");
        refused(b -> b.fanoutGroup(65536), "fanoutGroup 65536: must be 0 to 65535, or -1 for none");
        refused(b -> b.fanoutGroup(-2), "fanoutGroup -2:");
    }

    private static void refused(UnaryOperator<AfPacketOptions.Builder> change, String messageStart) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> change.apply(AfPacketOptions.builder()).build());
        assertTrue(e.getMessage().startsWith(messageStart), e.getMessage());
    }
}
