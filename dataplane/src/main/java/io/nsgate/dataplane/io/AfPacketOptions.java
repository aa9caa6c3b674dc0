// How an AF_PACKET port sizes its rings and whether it joins a fanout group: immutable, built and checked once.
package io.nsgate.dataplane.io;

import io.nsgate.dataplane.packet.VirtioNetHeader;

/**
 * Settings of {@link AfPacketPort#open}. {@link #defaults()} suits a gateway forwarding TCP with GSO on veths:
 *
 * <table>
 *   <caption>Options and defaults</caption>
 *   <tr><th>option</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>rxVersion</td><td>V2</td><td>the socket's PACKET_VERSION, which shapes the RX ring (and the TX slots'
 *       header: see {@link RxVersion}). {@link RxVersion#V2 V2}: one status word per frame slot, the kernel hands
 *       each frame over and wakes the worker as soon as it is written. {@link RxVersion#V3 V3}: frames packed into
 *       blocks handed over when full or when {@code rxBlockTimeoutMs} passes, so under light or request/response
 *       traffic each frame waits up to that timeout in each direction. See {@link RxVersion} for what was
 *       measured</td></tr>
 *   <tr><td>rxFrameSize</td><td>{@value #DEFAULT_RX_FRAME_SIZE}</td><td>V2: bytes per RX frame slot, a multiple of
 *       16 of at least {@value #MIN_RX_FRAME_SIZE}: the 76 bytes of headers before the frame (frame header,
 *       sockaddr_ll, virtio-net header) and a 64 KiB IPv6 GSO super-frame. Every frame takes a whole slot, a
 *       60-byte ACK as much as a super-frame</td></tr>
 *   <tr><td>rxFrameCount</td><td>{@value #DEFAULT_RX_FRAME_COUNT}</td><td>V2: RX frame slots, a whole number of
 *       {@link #rxFrameBlockSize() blocks} (15 slots of the default size per 1 MiB block): frames the ring absorbs
 *       while the worker is busy or waking up (a batch holds up to 32 of them until the next receive). Measured under
 *       a small-frame flood on 2 shared vCPUs: 256 slots dropped up to half the frames, 960 dropped 1-3%, and 1920 or
 *       3840 did no measurably better amid the noise</td></tr>
 *   <tr><td>rxBlockSize</td><td>1 MiB</td><td>V3: bytes per RX block; a frame must fit whole in one block, so blocks
 *       are well above a 64 KiB GSO super-frame (at least {@value #MIN_RX_BLOCK_SIZE})</td></tr>
 *   <tr><td>rxBlockCount</td><td>32</td><td>V3: RX blocks: what the ring absorbs while the worker is busy</td></tr>
 *   <tr><td>rxBlockTimeoutMs</td><td>{@value #DEFAULT_RX_BLOCK_TIMEOUT_MS}</td><td>V3: the kernel hands over a block
 *       that is not full after this long: the latency added in each direction unless traffic fills blocks (a 1 MiB
 *       block takes ~8000 small frames). Measured through a two-port bridge on this machine kind: ping RTT
 *       ~1.0 ms at 1, 1.7-2.3 ms at 2, 4.3 at 4, 9.7 at 10; single-stream TCP 10-19.5 Gbit/s at 1, 7-15 at 2,
 *       4 at 4, 2 at 10 (ACKs wait in blocks too)</td></tr>
 *   <tr><td>txFrameSize</td><td>128 KiB</td><td>bytes per TX slot: frame header (48 in V3, 32 in V2) + virtio-net
 *       header (10) + the frame; a 64 KiB super-frame fits. A power of two wastes nothing: the kernel allocates each
 *       slot's block in a power of two of pages (69632 bytes would take 128 KiB all the same)</td></tr>
 *   <tr><td>txFrameCount</td><td>256</td><td>TX slots: frames queued or still in the kernel's hands</td></tr>
 *   <tr><td>fanoutGroup</td><td>none</td><td>PACKET_FANOUT group id (0..65535), mode HASH: the ports of one
 *       interface with the same id share its frames, one flow always on the same port</td></tr>
 * </table>
 *
 * <p>Ring memory is kernel memory, locked: {@link #rxRingBytes()} (V2: rxFrameCount / slots per block x 1 MiB
 * blocks, 64 MiB by default; V3: rxBlockSize x rxBlockCount, 32 MiB by default) + txFrameSize x txFrameCount
 * (32 MiB) per port. Invalid values are refused by {@link Builder#build()} with a message naming the field, the
 * value and what would be valid.
 */
public final class AfPacketOptions {
    /**
     * The TPACKET version of a port's socket. It is chosen for the RX ring, whose behaviour it decides, but the
     * kernel applies it to both rings: the TX slots of a V2 port have a 32-byte {@code tpacket2_hdr} (data at 32),
     * those of a V3 port a 48-byte {@code tpacket3_hdr} (data at 48). nsgate handles both the same way otherwise.
     *
     * <p>Measured through a two-port user-space bridge (AfPacketForwardingTest) on this machine kind (2 vCPUs shared
     * by the bridge, the traffic tools and the kernel's softirqs; 5 runs of the defaults, V2 and V3 at 1 ms back to
     * back in each): ping RTT median 0.09-0.16 ms against 0.29-1.9 ms; HTTP keep-alive (wrk, 32 connections, nginx)
     * 69-75k requests/s with p99 0.6-0.8 ms when the machine was quiet (26-28k when it was not) against 16-32k with
     * p99 1.1-3 ms; single-stream TCP 6.6-14.3 Gbit/s against 3.3-16.9 (no loss); an 18-byte UDP flood 146-226k
     * frames/s forwarded against 174-268k, about 10% less, with 1-3% of the frames dropped by the kernel for want
     * of a free slot against none. V2 wakes the worker per frame and kicks per smaller batch (5-14 frames per round
     * against 30), so it spends more per frame when the worker keeps up, and its slots (one per frame, whatever its
     * size) absorb fewer frames than V3's packed blocks when it does not. V2 is the default because request/response
     * latency and rate are what the gateway is held to; V3 remains for floods of small frames.
     */
    public enum RxVersion {
        /** Fixed frame slots, one status word each: every frame handed over and the socket woken as it arrives. */
        V2,
        /** Blocks of frames, handed over when full or when the block's retire timer fires. */
        V3
    }

    /** Page size the ring blocks must be multiples of (x86_64 and the arm64 kernels nsgate runs on). */
    public static final int PAGE_SIZE = 4096;
    public static final RxVersion DEFAULT_RX_VERSION = RxVersion.V2;
    /**
     * Smallest V2 RX slot: tp_mac (76: frame header 32, sockaddr_ll 20, alignment, virtio-net header 10) plus a 64 KiB
     * IPv6 GSO super-frame (65535 + 40 + 14 bytes) and an inner VLAN tag the kernel leaves in it (4), rounded up to
     * TPACKET_ALIGNMENT (16).
     */
    public static final int MIN_RX_FRAME_SIZE = 65_680;
    public static final int MAX_RX_FRAME_SIZE = 4 * 1024 * 1024;
    public static final int DEFAULT_RX_FRAME_SIZE = MIN_RX_FRAME_SIZE;
    /** 64 blocks of 1 MiB, 15 slots each. */
    public static final int DEFAULT_RX_FRAME_COUNT = 960;
    /**
     * The kernel block V2 slots are grouped in: the kernel allocates a block as a power of two of pages, so slots
     * are packed into 1 MiB blocks (15 of 65680 bytes, where one 65680-byte block would take 128 KiB); a slot larger
     * than that gets a block of its own, rounded up to a power of two.
     */
    public static final int RX_FRAME_BLOCK_SIZE = 1024 * 1024;
    /** V2 slot sizes are multiples of this (TPACKET_ALIGNMENT). */
    public static final int RX_FRAME_ALIGNMENT = 16;
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
    /** Whether ports send forwarded frames from the receive ring by default: {@code -Dnsgate.inPlaceSend}. */
    public static final boolean DEFAULT_IN_PLACE_SEND = Boolean.parseBoolean(
        System.getProperty("nsgate.inPlaceSend", "true"));
    /** No fanout group. */
    public static final int NO_FANOUT = -1;
    public static final int MAX_FANOUT_GROUP = 0xFFFF;

    private static final AfPacketOptions DEFAULTS = builder().build();

    private final RxVersion rxVersion;
    private final int rxFrameSize;
    private final int rxFrameCount;
    private final int rxBlockSize;
    private final int rxBlockCount;
    private final int rxBlockTimeoutMs;
    private final int txFrameSize;
    private final int txFrameCount;
    private final int fanoutGroup;
    private final int steeredWorkers;
    private final boolean inPlaceSend;

    private AfPacketOptions(Builder b) {
        this.rxVersion = b.rxVersion;
        this.rxFrameSize = b.rxFrameSize;
        this.rxFrameCount = b.rxFrameCount;
        this.rxBlockSize = b.rxBlockSize;
        this.rxBlockCount = b.rxBlockCount;
        this.rxBlockTimeoutMs = b.rxBlockTimeoutMs;
        this.txFrameSize = b.txFrameSize;
        this.txFrameCount = b.txFrameCount;
        this.fanoutGroup = b.fanoutGroup;
        this.steeredWorkers = b.steeredWorkers;
        this.inPlaceSend = b.inPlaceSend;
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
        b.rxVersion = rxVersion;
        b.rxFrameSize = rxFrameSize;
        b.rxFrameCount = rxFrameCount;
        b.rxBlockSize = rxBlockSize;
        b.rxBlockCount = rxBlockCount;
        b.rxBlockTimeoutMs = rxBlockTimeoutMs;
        b.txFrameSize = txFrameSize;
        b.txFrameCount = txFrameCount;
        b.fanoutGroup = fanoutGroup;
        b.steeredWorkers = steeredWorkers;
        b.inPlaceSend = inPlaceSend;
        return b;
    }

    public RxVersion rxVersion() {
        return rxVersion;
    }

    /** V2: bytes per RX frame slot. */
    public int rxFrameSize() {
        return rxFrameSize;
    }

    /** V2: RX frame slots. */
    public int rxFrameCount() {
        return rxFrameCount;
    }

    /** V2: the kernel block the RX slots are grouped in ({@link #RX_FRAME_BLOCK_SIZE}, or more for a larger slot). */
    public int rxFrameBlockSize() {
        return frameBlockSize(rxFrameSize);
    }

    /** V2: RX slots per block; slot {@code i} is at {@code (i / perBlock) * blockSize + (i % perBlock) * frameSize}. */
    public int rxFramesPerBlock() {
        return rxFrameBlockSize() / rxFrameSize;
    }

    private static int frameBlockSize(int frameSize) {
        int block = RX_FRAME_BLOCK_SIZE;
        while (block < frameSize) {
            block *= 2;
        }
        return block;
    }

    /** V3: bytes per RX block. */
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

    /**
     * Workers of a steered fanout group ({@link FanoutSteering}: each joins with an established and an opening
     * socket), or 0 for a HASH group.
     */
    public int steeredWorkers() {
        return steeredWorkers;
    }

    /**
     * Whether the port also opens a ring-less socket to send frames from where they lie, the receive ring
     * ({@link PacketPort#sendInPlace}): the kernel copies each once, Java not at all.
     */
    public boolean inPlaceSend() {
        return inPlaceSend;
    }

    /** Bytes of the RX ring (of the version chosen). */
    public long rxRingBytes() {
        return rxVersion == RxVersion.V2 ? (long) rxFrameBlockSize() * (rxFrameCount / rxFramesPerBlock())
            : (long) rxBlockSize * rxBlockCount;
    }

    /** Bytes of the TX ring. */
    public long txRingBytes() {
        return (long) txFrameSize * txFrameCount;
    }

    /** The longest frame (Ethernet header included) a TX slot holds. */
    public int maxTransmitLength() {
        return txFrameSize - (rxVersion == RxVersion.V2 ? Tpacket2.TX_FRAME : Tpacket3.TX_FRAME);
    }

    @Override
    public String toString() {
        final String rx = rxVersion == RxVersion.V2
            ? "rx V2 " + rxFrameCount + " x " + rxFrameSize + " B slots"
            : "rx V3 " + rxBlockCount + " x " + rxBlockSize + " B blocks, retire after " + rxBlockTimeoutMs + " ms";
        return "AfPacketOptions{" + rx + "; tx " + txFrameCount + " x " + txFrameSize + " B slots; "
            + (fanout() ? "fanout group " + fanoutGroup + (steeredWorkers > 0 ? " (steered, " + steeredWorkers
                + " workers)" : " (hash)") : "no fanout") + "}";
    }

    /** Collects settings; {@link #build()} checks them all. */
    public static final class Builder {
        private RxVersion rxVersion = DEFAULT_RX_VERSION;
        private int rxFrameSize = DEFAULT_RX_FRAME_SIZE;
        private int rxFrameCount = DEFAULT_RX_FRAME_COUNT;
        private int rxBlockSize = DEFAULT_RX_BLOCK_SIZE;
        private int rxBlockCount = DEFAULT_RX_BLOCK_COUNT;
        private int rxBlockTimeoutMs = DEFAULT_RX_BLOCK_TIMEOUT_MS;
        private int txFrameSize = DEFAULT_TX_FRAME_SIZE;
        private int txFrameCount = DEFAULT_TX_FRAME_COUNT;
        private int fanoutGroup = NO_FANOUT;
        private int steeredWorkers;
        private boolean inPlaceSend = DEFAULT_IN_PLACE_SEND;

        private Builder() {
        }

        /** The socket's TPACKET version: {@link RxVersion#V2} or {@link RxVersion#V3}. */
        public Builder rxVersion(RxVersion version) {
            this.rxVersion = version;
            return this;
        }

        /** V2: bytes per RX frame slot. */
        public Builder rxFrameSize(int bytes) {
            this.rxFrameSize = bytes;
            return this;
        }

        /** V2: RX frame slots. */
        public Builder rxFrameCount(int frames) {
            this.rxFrameCount = frames;
            return this;
        }

        /** V3: bytes per RX block. */
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
            this.steeredWorkers = 0;
            return this;
        }

        /** Opens the ring-less socket for {@link PacketPort#sendInPlace} too (or not). */
        public Builder inPlaceSend(boolean on) {
            this.inPlaceSend = on;
            return this;
        }

        /**
         * Joins PACKET_FANOUT group {@code id} steered by {@link FanoutSteering} for {@code workers} workers: the
         * sockets must join in the order worker 0 established, worker 0 opening, worker 1 established...
         */
        public Builder steeredFanoutGroup(int id, int workers) {
            this.fanoutGroup = id;
            this.steeredWorkers = workers;
            return this;
        }

        /**
         * @throws IllegalArgumentException naming the first invalid field, its value and what would be valid
         */
        public AfPacketOptions build() {
            if (rxVersion == null) {
                throw new IllegalArgumentException("rxVersion null: must be V2 or V3");
            }
            if (rxFrameSize < MIN_RX_FRAME_SIZE || rxFrameSize > MAX_RX_FRAME_SIZE
                || rxFrameSize % RX_FRAME_ALIGNMENT != 0) {
                throw invalid("rxFrameSize", rxFrameSize, "a multiple of " + RX_FRAME_ALIGNMENT + " from "
                    + MIN_RX_FRAME_SIZE + " to " + MAX_RX_FRAME_SIZE + " bytes; a slot holds " + Tpacket2.ETHERNET_MAC
                    + " bytes of headers and a whole frame, a 64 KiB GSO super-frame included");
            }
            final int block = frameBlockSize(rxFrameSize);
            final int perBlock = block / rxFrameSize;
            if (rxFrameCount < 2 || rxFrameCount % perBlock != 0) {
                final int fewer = rxFrameCount / perBlock * perBlock;
                throw invalid("rxFrameCount", rxFrameCount, "at least 2 and a whole number of blocks: a multiple of "
                    + perBlock + " (the " + rxFrameSize + "-byte slots a " + block + "-byte block holds), e.g. "
                    + (fewer >= 2 ? fewer + " or " : "") + (fewer + perBlock));
            }
            if ((long) block * (rxFrameCount / perBlock) > MAX_RING_BYTES) {
                throw invalid("rxFrameCount", rxFrameCount, "at most " + MAX_RING_BYTES / block * perBlock
                    + " slots of " + rxFrameSize + " bytes (an RX ring of at most " + MAX_RING_BYTES + " bytes)");
            }
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
            if (steeredWorkers < 0 || steeredWorkers > 128 || steeredWorkers > 0 && fanoutGroup == NO_FANOUT) {
                throw invalid("steeredWorkers", steeredWorkers, "1 to 128 workers of a fanout group (2 sockets each,"
                    + " of the group's 256), or 0 for a HASH group");
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
