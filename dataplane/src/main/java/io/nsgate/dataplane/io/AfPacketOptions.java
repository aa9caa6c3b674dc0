// How an AF_PACKET port sizes its rings and whether it joins a fanout group: immutable, built and checked once.
package io.nsgate.dataplane.io;

import io.nsgate.dataplane.packet.VirtioNetHeader;

/**
 * Settings of {@link AfPacketPort#open}. {@link #defaults()} suits a gateway forwarding TCP with GSO on veths:
 *
 * <table>
 *   <caption>Options and defaults</caption>
 *   <tr><th>option</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>rxBlockSize</td><td>1 MiB</td><td>bytes per RX block; a frame must fit whole in one block, so blocks
 *       are well above a 64 KiB GSO super-frame (at least {@value #MIN_RX_BLOCK_SIZE})</td></tr>
 *   <tr><td>rxBlockCount</td><td>32</td><td>RX blocks: what the ring absorbs while the worker is busy</td></tr>
 *   <tr><td>rxBlockTimeoutMs</td><td>{@value #DEFAULT_RX_BLOCK_TIMEOUT_MS}</td><td>the kernel hands over a block
 *       that is not full after this long: the latency added in each direction unless traffic fills blocks (a 1 MiB
 *       block takes ~8000 small frames). Measured through a two-port bridge on this machine kind: ping RTT
 *       ~1.0 ms at 1, 1.7-2.3 ms at 2, 4.3 at 4, 9.7 at 10; single-stream TCP 10-19.5 Gbit/s at 1, 7-15 at 2,
 *       4 at 4, 2 at 10 (ACKs wait in blocks too)</td></tr>
 *   <tr><td>txFrameSize</td><td>128 KiB</td><td>bytes per TX slot: frame header (48) + virtio-net header (10) +
 *       the frame; a 64 KiB super-frame fits. A power of two wastes nothing: the kernel allocates each slot's
 *       block in a power of two of pages (69632 bytes would take 128 KiB all the same)</td></tr>
 *   <tr><td>txFrameCount</td><td>256</td><td>TX slots: frames queued or still in the kernel's hands</td></tr>
 *   <tr><td>fanoutGroup</td><td>none</td><td>PACKET_FANOUT group id (0..65535), mode HASH: the ports of one
 *       interface with the same id share its frames, one flow always on the same port</td></tr>
 * </table>
 *
 * <p>Ring memory is kernel memory, locked: rxBlockSize x rxBlockCount + txFrameSize x txFrameCount per port
 * (64 MiB by default). Invalid values are refused by {@link Builder#build()} with a message naming the field, the
 * value and what would be valid.
 */
public final class AfPacketOptions {
    /** Page size the ring blocks must be multiples of (x86_64 and the arm64 kernels nsgate runs on). */
    public static final int PAGE_SIZE = 4096;
    /** Smallest RX block: a 64 KiB + Ethernet + VLAN super-frame, its headers and the block header fit whole. */
    public static final int MIN_RX_BLOCK_SIZE = 128 * 1024;
    public static final int MAX_RX_BLOCK_SIZE = 64 * 1024 * 1024;
    public static final int DEFAULT_RX_BLOCK_SIZE = 1024 * 1024;
    public static final int DEFAULT_RX_BLOCK_COUNT = 32;
    public static final int DEFAULT_RX_BLOCK_TIMEOUT_MS = 1;
    public static final int MAX_RX_BLOCK_TIMEOUT_MS = 60_000;
    public static final int DEFAULT_TX_FRAME_SIZE = 128 * 1024;
    public static final int MAX_TX_FRAME_SIZE = 4 * 1024 * 1024;
    public static final int DEFAULT_TX_FRAME_COUNT = 256;
    /** Largest total of either ring: offsets into the mapping are ints. */
    public static final long MAX_RING_BYTES = 1L << 30;
    /** No fanout group. */
    public static final int NO_FANOUT = -1;
    public static final int MAX_FANOUT_GROUP = 0xFFFF;

    private static final AfPacketOptions DEFAULTS = builder().build();

    private final int rxBlockSize;
    private final int rxBlockCount;
    private final int rxBlockTimeoutMs;
    private final int txFrameSize;
    private final int txFrameCount;
    private final int fanoutGroup;

    private AfPacketOptions(Builder b) {
        this.rxBlockSize = b.rxBlockSize;
        this.rxBlockCount = b.rxBlockCount;
        this.rxBlockTimeoutMs = b.rxBlockTimeoutMs;
        this.txFrameSize = b.txFrameSize;
        this.txFrameCount = b.txFrameCount;
        this.fanoutGroup = b.fanoutGroup;
    }

    public static AfPacketOptions defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these settings. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.rxBlockSize = rxBlockSize;
        b.rxBlockCount = rxBlockCount;
        b.rxBlockTimeoutMs = rxBlockTimeoutMs;
        b.txFrameSize = txFrameSize;
        b.txFrameCount = txFrameCount;
        b.fanoutGroup = fanoutGroup;
        return b;
    }

    public int rxBlockSize() {
        return rxBlockSize;
    }

    public int rxBlockCount() {
        return rxBlockCount;
    }

    public int rxBlockTimeoutMs() {
        return rxBlockTimeoutMs;
    }

    public int txFrameSize() {
        return txFrameSize;
    }

    public int txFrameCount() {
        return txFrameCount;
    }

    /** The fanout group id, or {@link #NO_FANOUT}. */
    public int fanoutGroup() {
        return fanoutGroup;
    }

    public boolean fanout() {
        return fanoutGroup != NO_FANOUT;
    }

    /** Bytes of the RX ring. */
    public long rxRingBytes() {
        return (long) rxBlockSize * rxBlockCount;
    }

    /** Bytes of the TX ring. */
    public long txRingBytes() {
        return (long) txFrameSize * txFrameCount;
    }

    /** The longest frame (Ethernet header included) a TX slot holds. */
    public int maxTransmitLength() {
        return txFrameSize - Tpacket3.TX_FRAME;
    }

    @Override
    public String toString() {
        return "AfPacketOptions{rx " + rxBlockCount + " x " + rxBlockSize + " B blocks, retire after "
            + rxBlockTimeoutMs + " ms; tx " + txFrameCount + " x " + txFrameSize + " B slots; "
            + (fanout() ? "fanout group " + fanoutGroup + " (hash)" : "no fanout") + "}";
    }

    /** Collects settings; {@link #build()} checks them all. */
    public static final class Builder {
        private int rxBlockSize = DEFAULT_RX_BLOCK_SIZE;
        private int rxBlockCount = DEFAULT_RX_BLOCK_COUNT;
        private int rxBlockTimeoutMs = DEFAULT_RX_BLOCK_TIMEOUT_MS;
        private int txFrameSize = DEFAULT_TX_FRAME_SIZE;
        private int txFrameCount = DEFAULT_TX_FRAME_COUNT;
        private int fanoutGroup = NO_FANOUT;

        private Builder() {
        }

        public Builder rxBlockSize(int bytes) {
            this.rxBlockSize = bytes;
            return this;
        }

        public Builder rxBlockCount(int blocks) {
            this.rxBlockCount = blocks;
            return this;
        }

        public Builder rxBlockTimeoutMs(int milliseconds) {
            this.rxBlockTimeoutMs = milliseconds;
            return this;
        }

        public Builder txFrameSize(int bytes) {
            this.txFrameSize = bytes;
            return this;
        }

        public Builder txFrameCount(int frames) {
            this.txFrameCount = frames;
            return this;
        }

        /** Joins PACKET_FANOUT group {@code id} (0..65535) in HASH mode; {@link #NO_FANOUT} for none. */
        public Builder fanoutGroup(int id) {
            this.fanoutGroup = id;
            return this;
        }

        /**
         * @throws IllegalArgumentException naming the first invalid field, its value and what would be valid
         */
        public AfPacketOptions build() {
            if (rxBlockSize < MIN_RX_BLOCK_SIZE || rxBlockSize > MAX_RX_BLOCK_SIZE || rxBlockSize % PAGE_SIZE != 0) {
                throw invalid("rxBlockSize", rxBlockSize, "a multiple of the page size (" + PAGE_SIZE + ") from "
                    + MIN_RX_BLOCK_SIZE + " to " + MAX_RX_BLOCK_SIZE + " bytes; a block holds whole frames, so it must"
                    + " be well above a 64 KiB GSO super-frame");
            }
            if (rxBlockCount < 2) {
                throw invalid("rxBlockCount", rxBlockCount, "at least 2 (the kernel fills one while the worker reads"
                    + " another)");
            }
            if ((long) rxBlockSize * rxBlockCount > MAX_RING_BYTES) {
                throw invalid("rxBlockCount", rxBlockCount, "at most " + MAX_RING_BYTES / rxBlockSize + " blocks of "
                    + rxBlockSize + " bytes (an RX ring of at most " + MAX_RING_BYTES + " bytes)");
            }
            if (rxBlockTimeoutMs < 1 || rxBlockTimeoutMs > MAX_RX_BLOCK_TIMEOUT_MS) {
                throw invalid("rxBlockTimeoutMs", rxBlockTimeoutMs, "1 to " + MAX_RX_BLOCK_TIMEOUT_MS
                    + " milliseconds");
            }
            final int smallestSlot = Tpacket3.TX_FRAME + 1514 + 4;
            if (txFrameSize < smallestSlot || txFrameSize > MAX_TX_FRAME_SIZE || txFrameSize % PAGE_SIZE != 0) {
                throw invalid("txFrameSize", txFrameSize, "a multiple of the page size (" + PAGE_SIZE + ") up to "
                    + MAX_TX_FRAME_SIZE + " bytes; a slot holds a " + Tpacket3.HEADER_LENGTH + "-byte header, the "
                    + VirtioNetHeader.LENGTH + "-byte virtio-net header and the frame: " + DEFAULT_TX_FRAME_SIZE
                    + " fits a 64 KiB GSO super-frame, 4096 an MTU-sized frame");
            }
            if (txFrameCount < 1) {
                throw invalid("txFrameCount", txFrameCount, "at least 1");
            }
            if ((long) txFrameSize * txFrameCount > MAX_RING_BYTES) {
                throw invalid("txFrameCount", txFrameCount, "at most " + MAX_RING_BYTES / txFrameSize + " slots of "
                    + txFrameSize + " bytes (a TX ring of at most " + MAX_RING_BYTES + " bytes)");
            }
            if (fanoutGroup != NO_FANOUT && (fanoutGroup < 0 || fanoutGroup > MAX_FANOUT_GROUP)) {
                throw invalid("fanoutGroup", fanoutGroup, "0 to " + MAX_FANOUT_GROUP + ", or " + NO_FANOUT
                    + " for none");
            }
            return new AfPacketOptions(this);
        }

        private static IllegalArgumentException invalid(String field, long value, String valid) {
            return new IllegalArgumentException(field + " " + value + ": must be " + valid);
        }
    }
}
