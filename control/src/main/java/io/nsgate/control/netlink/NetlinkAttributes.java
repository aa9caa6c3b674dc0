// Reads the attributes of one received netlink message (or of a nest) by type, without copying.
package io.nsgate.control.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * An index over a run of netlink attributes: for each type (up to {@link #MAX_TYPE}) the offset of its payload
 * in the buffer, last one wins like the kernel's nla_parse. Readers return a default when an attribute is absent.
 * Every length is checked against the run's end: a malformed attribute ends the parse instead of reading past.
 */
public final class NetlinkAttributes {
    public static final int MAX_TYPE = 63;

    private final ByteBuffer buf;
    private final int[] offset = new int[MAX_TYPE + 1];
    private final int[] length = new int[MAX_TYPE + 1];

    /** Parses the attributes in {@code [start, end)} of {@code buf}, a buffer in native byte order. */
    public NetlinkAttributes(ByteBuffer buf, int start, int end) {
        this.buf = buf;
        Arrays.fill(offset, -1);
        int pos = start;
        while (pos + Rtnl.NLA_HDRLEN <= end) {
            int len = Short.toUnsignedInt(buf.getShort(pos));
            int type = Short.toUnsignedInt(buf.getShort(pos + 2)) & Rtnl.NLA_TYPE_MASK;
            if (len < Rtnl.NLA_HDRLEN || pos + len > end) {
                break;
            }
            if (type <= MAX_TYPE) {
                offset[type] = pos + Rtnl.NLA_HDRLEN;
                length[type] = len - Rtnl.NLA_HDRLEN;
            }
            pos += Rtnl.align(len);
        }
    }

    public boolean has(int type) {
        return type <= MAX_TYPE && offset[type] >= 0;
    }

    public int u32(int type, int absent) {
        return has(type) && length[type] >= 4 ? buf.getInt(offset[type]) : absent;
    }

    /** A 4-byte network-order IPv4 address as an int, or {@code absent}. */
    public int ipv4(int type, int absent) {
        if (!has(type) || length[type] != 4) {
            return absent;
        }
        int raw = buf.getInt(offset[type]);
        return buf.order() == ByteOrder.BIG_ENDIAN ? raw : Integer.reverseBytes(raw);
    }

    /** A string attribute, stopping at the first NUL; null when absent. */
    public String string(int type) {
        if (!has(type)) {
            return null;
        }
        int n = 0;
        while (n < length[type] && buf.get(offset[type] + n) != 0) {
            n++;
        }
        byte[] bytes = new byte[n];
        buf.get(offset[type], bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    public byte[] bytes(int type) {
        if (!has(type)) {
            return null;
        }
        byte[] bytes = new byte[length[type]];
        buf.get(offset[type], bytes);
        return bytes;
    }

    /** The attributes nested inside {@code type}, or null when absent. */
    public NetlinkAttributes nested(int type) {
        return has(type) ? new NetlinkAttributes(buf, offset[type], offset[type] + length[type]) : null;
    }
}
