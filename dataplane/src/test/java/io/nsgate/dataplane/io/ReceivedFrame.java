// A copy of one frame taken out of an RxBatch, with its virtio-net header, for assertions after the batch is gone.
package io.nsgate.dataplane.io;

import java.nio.ByteBuffer;

import org.agrona.DirectBuffer;

import io.nsgate.dataplane.packet.VirtioNetHeader;

/** What a test keeps of a received frame: its bytes, its virtio-net header (10 bytes, or null) and decoded fields. */
record ReceivedFrame(byte[] bytes, byte[] vnet, int vnetFlags, int gsoType, int gsoSize) {

    static ReceivedFrame copy(RxBatch batch, int i) {
        DirectBuffer b = batch.buffer;
        byte[] frame = new byte[batch.frameLength[i]];
        b.getBytes(batch.frameOffset[i], frame);
        byte[] vnet = null;
        if (batch.vnetOffset[i] >= 0) {
            vnet = new byte[VirtioNetHeader.LENGTH];
            b.getBytes(batch.vnetOffset[i], vnet);
        }
        return new ReceivedFrame(frame, vnet, batch.vnetFlags[i], batch.gsoType[i], batch.gsoSize[i]);
    }

    int length() {
        return bytes.length;
    }

    int etherType() {
        return ((bytes[12] & 0xFF) << 8) | (bytes[13] & 0xFF);
    }

    long destinationMac() {
        return ByteBuffer.wrap(bytes).getLong(0) >>> 16;
    }

    long sourceMac() {
        return ByteBuffer.wrap(bytes).getLong(6) >>> 16;
    }

    /** IPv4 protocol, or -1 when not IPv4. */
    int ipProtocol() {
        return etherType() == 0x0800 && bytes.length > 23 ? bytes[23] & 0xFF : -1;
    }

    int ipSource() {
        return ByteBuffer.wrap(bytes).getInt(26);
    }

    int ipDestination() {
        return ByteBuffer.wrap(bytes).getInt(30);
    }

    /** Offset of the L4 header for IPv4 (no VLAN tag). */
    int l4Offset() {
        return 14 + (bytes[14] & 0x0F) * 4;
    }

    int sourcePort() {
        return ByteBuffer.wrap(bytes).getShort(l4Offset()) & 0xFFFF;
    }

    int destinationPort() {
        return ByteBuffer.wrap(bytes).getShort(l4Offset() + 2) & 0xFFFF;
    }

    /** The virtio-net header's hdr_len / csum_start / csum_offset (little-endian). */
    int vnetShort(int offset) {
        return (vnet[offset] & 0xFF) | (vnet[offset + 1] & 0xFF) << 8;
    }
}
