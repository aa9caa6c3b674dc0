// Ring options: the defaults, and refusals that name the field, the value and what would be valid.
package io.nsgate.dataplane.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;

class AfPacketOptionsTest {
    private static final int MIN = AfPacketOptions.MIN_RX_FRAME_SIZE;

    @Test
    void defaultsFitSuperFramesInBothRings() {
        AfPacketOptions d = AfPacketOptions.defaults();
        assertEquals(AfPacketOptions.RxVersion.V2, d.rxVersion());
        assertEquals(65_680, d.rxFrameSize());
        assertEquals(960, d.rxFrameCount());
        assertEquals(1 << 20, d.rxFrameBlockSize());
        assertEquals(15, d.rxFramesPerBlock());
        assertEquals(64L << 20, d.rxRingBytes(), "64 blocks of 1 MiB");
        assertEquals(1 << 20, d.rxBlockSize());
        assertEquals(32, d.rxBlockCount());
        assertEquals(1, d.rxBlockTimeoutMs());
        assertEquals(128 * 1024, d.txFrameSize());
        assertEquals(256, d.txFrameCount());
        assertFalse(d.fanout());
        assertEquals(AfPacketOptions.NO_FANOUT, d.fanoutGroup());
        assertEquals(32L << 20, d.txRingBytes());
        assertEquals(128 * 1024 - 42, d.maxTransmitLength(), "V2 TX slots: 32-byte header, 10-byte virtio-net header");
        assertTrue(d.maxTransmitLength() > 65535 + 14 + 4, "an IPv4 GSO super-frame, VLAN-tagged");
        assertTrue(d.rxFrameSize() - Tpacket2.ETHERNET_MAC > 65535 + 40 + 14, "an IPv6 GSO super-frame");
    }

    @Test
    void theRingsDependOnTheVersion() {
        AfPacketOptions v3 = AfPacketOptions.builder().rxVersion(AfPacketOptions.RxVersion.V3).build();
        assertEquals(32L << 20, v3.rxRingBytes());
        assertEquals(128 * 1024 - 58, v3.maxTransmitLength());
        AfPacketOptions v2 = AfPacketOptions.builder().rxFrameSize(128 * 1024).rxFrameCount(24).build();
        assertEquals(8, v2.rxFramesPerBlock());
        assertEquals(3L << 20, v2.rxRingBytes(), "3 blocks of 8 slots");
        assertEquals("AfPacketOptions{rx V2 24 x 131072 B slots; tx 256 x 131072 B slots; no fanout}", v2.toString());
        AfPacketOptions huge = AfPacketOptions.builder().rxFrameSize(1024 * 1024 + 16).rxFrameCount(3).build();
        assertEquals(2 << 20, huge.rxFrameBlockSize(), "a slot above 1 MiB gets a block of its own");
        assertEquals(6L << 20, huge.rxRingBytes());
        int superFrame = Tpacket2.ETHERNET_MAC + 65535 + 40 + 14 + 4; // headers, an IPv6 GSO super-frame, a tag
        assertTrue(MIN % 16 == 0 && MIN >= superFrame && MIN - 16 < superFrame,
            "the smallest slot is the first multiple of 16 that holds a super-frame");
    }

    @Test
    void toBuilderKeepsEverySetting() {
        AfPacketOptions o = AfPacketOptions.builder().rxVersion(AfPacketOptions.RxVersion.V3).rxFrameSize(MIN + 16)
            .rxFrameCount(30).rxBlockSize(256 * 1024).rxBlockCount(4).rxBlockTimeoutMs(7)
            .txFrameSize(8192).txFrameCount(16).fanoutGroup(99).build();
        AfPacketOptions copy = o.toBuilder().build();
        assertEquals(o.toString(), copy.toString());
        assertEquals(99, copy.fanoutGroup());
        assertTrue(copy.fanout());
        assertEquals(MIN + 16, copy.rxFrameSize());
        assertEquals(30, copy.rxFrameCount());
        assertEquals("AfPacketOptions{rx V3 4 x 262144 B blocks, retire after 7 ms; tx 16 x 8192 B slots; fanout group"
            + " 99 (hash)}", copy.toString());
    }

    @Test
    void invalidValuesAreRefusedNamingTheField() {
        refused(b -> b.rxVersion(null), "rxVersion null: must be V2 or V3");
        refused(b -> b.rxFrameSize(65536), "rxFrameSize 65536: must be a multiple of 16 from 65680 to 4194304 bytes;"
            + " a slot holds 76 bytes of headers and a whole frame");
        refused(b -> b.rxFrameSize(MIN + 8), "rxFrameSize 65688: must be a multiple of 16");
        refused(b -> b.rxFrameSize(8 << 20), "rxFrameSize 8388608:");
        refused(b -> b.rxFrameCount(1000), "rxFrameCount 1000: must be at least 2 and a whole number of blocks: a"
            + " multiple of 15 (the 65680-byte slots a 1048576-byte block holds), e.g. 990 or 1005");
        refused(b -> b.rxFrameCount(7), "rxFrameCount 7: must be at least 2 and a whole number of blocks: a multiple"
            + " of 15 (the 65680-byte slots a 1048576-byte block holds), e.g. 15");
        refused(b -> b.rxFrameSize(4 << 20).rxFrameCount(1), "rxFrameCount 1: must be at least 2");
        refused(b -> b.rxFrameSize(4 << 20).rxFrameCount(257), "rxFrameCount 257: must be at most 256 slots");
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
