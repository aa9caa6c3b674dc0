// A frame as the kernel puts it into a receive ring, for the ring tests' fake kernels (V2 and V3 alike).
package io.nsgate.dataplane.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.testsupport.Frames;

/** The frame's bytes, the virtio-net header written before it, and the frame header's fields the kernel sets. */
final class RingFrame {
    final byte[] bytes;
    final byte[] vnet = new byte[VirtioNetHeader.LENGTH];
    /** tp_snaplen when the kernel clamped the frame, -1 for all of it. */
    int snaplen = -1;
    /** tp_status bits besides TP_STATUS_USER (VLAN_VALID ...). */
    int status;
    int tci;
    int tpid;

    RingFrame(byte[] bytes) {
        this.bytes = bytes;
    }

    /** A small UDP frame telling itself apart by {@code id}. */
    static RingFrame udp(int id) {
        return new RingFrame(Frames.udp().ipId(id).payload("frame " + id).build());
    }

    RingFrame vnet(int flags, int gsoType, int hdrLen, int gsoSize, int csumStart, int csumOffset) {
        System.arraycopy(vnetHeader(flags, gsoType, hdrLen, gsoSize, csumStart, csumOffset), 0, vnet, 0, vnet.length);
        return this;
    }

    /**
     * A struct virtio_net_hdr as the kernel writes it, little-endian (written here field by field, not with the
     * production flyweight, so the tests check the reader against the layout itself).
     */
    static byte[] vnetHeader(int flags, int gsoType, int hdrLen, int gsoSize, int csumStart, int csumOffset) {
        byte[] header = new byte[VirtioNetHeader.LENGTH];
        ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).put(0, (byte) flags).put(1, (byte) gsoType)
            .putShort(2, (short) hdrLen).putShort(4, (short) gsoSize).putShort(6, (short) csumStart)
            .putShort(8, (short) csumOffset);
        return header;
    }

    /** The bytes of frame {@code i} of a received batch. */
    static byte[] bytes(RxBatch batch, int i) {
        byte[] b = new byte[batch.frameLength[i]];
        batch.buffer.getBytes(batch.frameOffset[i], b);
        return b;
    }

    /** The batch's first frames are {@code udp(ids[0])}, {@code udp(ids[1])} ... in that order. */
    static void assertUdps(RxBatch batch, int... ids) {
        for (int j = 0; j < ids.length; j++) {
            assertArrayEquals(udp(ids[j]).bytes, bytes(batch, j), "frame " + j);
        }
    }
}
