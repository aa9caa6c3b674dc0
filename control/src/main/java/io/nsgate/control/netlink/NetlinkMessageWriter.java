// Builds netlink request messages (header, family header, attributes, nests) into a reusable direct buffer.
package io.nsgate.control.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Writes one or more netlink messages back to back, in host byte order, each padded to 4 bytes. Usage:
 * {@code begin(type, flags)}, a fixed family header ({@link #ifinfomsg} ...), attributes, {@link #end()};
 * nests are {@code int n = beginNest(type); ...; endNest(n)}. The sequence number is filled in by
 * {@link NetlinkSocket} when it sends. {@link #buffer()} is positioned over everything written so far.
 *
 * <pre>
 *  0               4       6       8              12             16
 *  +---------------+-------+-------+--------------+--------------+---------------+-------+-------+-----
 *  | nlmsg_len     | type  | flags | seq          | pid          | family header | len   | type  | ...
 *  +---------------+-------+-------+--------------+--------------+---------------+-------+-------+-----
 * </pre>
 */
public final class NetlinkMessageWriter {
    private ByteBuffer buf;
    private int messageStart = -1;

    public NetlinkMessageWriter() {
        this(4096);
    }

    public NetlinkMessageWriter(int initialCapacity) {
        buf = ByteBuffer.allocateDirect(initialCapacity).order(ByteOrder.nativeOrder());
    }

    /** Forgets everything written. */
    public NetlinkMessageWriter reset() {
        buf.clear();
        messageStart = -1;
        return this;
    }

    /** Starts a message; its length is fixed by {@link #end()}. */
    public NetlinkMessageWriter begin(int type, int flags) {
        if (messageStart >= 0) {
            throw new IllegalStateException("previous message not ended");
        }
        ensure(Rtnl.NLMSG_HDRLEN);
        messageStart = buf.position();
        buf.putInt(0).putShort((short) type).putShort((short) (flags | Rtnl.NLM_F_REQUEST)).putInt(0).putInt(0);
        return this;
    }

    /** Ends the current message: writes nlmsg_len and pads to 4 bytes. */
    public NetlinkMessageWriter end() {
        buf.putInt(messageStart, buf.position() - messageStart);
        pad();
        messageStart = -1;
        return this;
    }

    /** struct ifinfomsg. */
    public NetlinkMessageWriter ifinfomsg(int family, int type, int index, int flags, int change) {
        ensure(Rtnl.IFINFOMSG_LEN);
        buf.put((byte) family).put((byte) 0).putShort((short) type).putInt(index).putInt(flags).putInt(change);
        return this;
    }

    /** struct ifaddrmsg. */
    public NetlinkMessageWriter ifaddrmsg(int family, int prefixLength, int flags, int scope, int index) {
        ensure(Rtnl.IFADDRMSG_LEN);
        buf.put((byte) family).put((byte) prefixLength).put((byte) flags).put((byte) scope).putInt(index);
        return this;
    }

    /** struct rtmsg. */
    public NetlinkMessageWriter rtmsg(int family, int dstLength, int table, int protocol, int scope, int type) {
        ensure(Rtnl.RTMSG_LEN);
        buf.put((byte) family).put((byte) dstLength).put((byte) 0).put((byte) 0)
            .put((byte) table).put((byte) protocol).put((byte) scope).put((byte) type).putInt(0);
        return this;
    }

    /** struct ndmsg. */
    public NetlinkMessageWriter ndmsg(int family, int ifindex) {
        ensure(Rtnl.NDMSG_LEN);
        buf.put((byte) family).put((byte) 0).putShort((short) 0).putInt(ifindex).putShort((short) 0)
            .put((byte) 0).put((byte) 0);
        return this;
    }

    public NetlinkMessageWriter attrU32(int type, int value) {
        attrHeader(type, 4);
        buf.putInt(value);
        return this;
    }

    /** An IPv4 address attribute: 4 bytes in network byte order. */
    public NetlinkMessageWriter attrIpv4(int type, int address) {
        attrHeader(type, 4);
        buf.putInt(ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN ? address : Integer.reverseBytes(address));
        return this;
    }

    /** An attribute of raw bytes (an IPv6 address: 16 bytes in network order). */
    public NetlinkMessageWriter attrBytes(int type, byte[] bytes) {
        attrHeader(type, bytes.length);
        buf.put(bytes);
        pad();
        return this;
    }

    /** A NUL-terminated string attribute. */
    public NetlinkMessageWriter attrString(int type, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        attrHeader(type, bytes.length + 1);
        buf.put(bytes).put((byte) 0);
        pad();
        return this;
    }

    /** A string attribute without terminating NUL (IFLA_IFALIAS is length-delimited). */
    public NetlinkMessageWriter attrStringNoNul(int type, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        attrHeader(type, bytes.length);
        buf.put(bytes);
        pad();
        return this;
    }

    /**
     * Opens a nested attribute; returns the token for {@link #endNest}. Like iproute2's addattr_nest it does not
     * set NLA_F_NESTED: some nests (VETH_INFO_PEER) carry a struct before their attributes.
     */
    public int beginNest(int type) {
        int start = buf.position();
        attrHeader(type, 0);
        return start;
    }

    public NetlinkMessageWriter endNest(int token) {
        buf.putShort(token, (short) (buf.position() - token));
        return this;
    }

    /** The bytes written so far, as a duplicate positioned at 0 with the written length as limit. */
    public ByteBuffer buffer() {
        if (messageStart >= 0) {
            throw new IllegalStateException("message not ended");
        }
        ByteBuffer view = buf.duplicate().order(ByteOrder.nativeOrder());
        view.flip();
        return view;
    }

    /** How many bytes are written. */
    public int length() {
        return buf.position();
    }

    private void attrHeader(int type, int payloadLength) {
        ensure(Rtnl.NLA_HDRLEN + payloadLength + 3);
        buf.putShort((short) (Rtnl.NLA_HDRLEN + payloadLength)).putShort((short) type);
    }

    private void pad() {
        int aligned = Rtnl.align(buf.position());
        ensure(aligned - buf.position());
        while (buf.position() < aligned) {
            buf.put((byte) 0);
        }
    }

    private void ensure(int more) {
        if (buf.remaining() < more) {
            ByteBuffer bigger = ByteBuffer.allocateDirect(Math.max(buf.capacity() * 2, buf.position() + more + 64))
                .order(ByteOrder.nativeOrder());
            buf.flip();
            bigger.put(buf);
            buf = bigger;
        }
    }
}
