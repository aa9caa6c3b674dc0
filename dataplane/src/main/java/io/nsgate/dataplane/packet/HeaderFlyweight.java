// What every header flyweight is: a view of one header in a buffer, moved from frame to frame without allocating.
package io.nsgate.dataplane.packet;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;

/**
 * The buffer and offset a header flyweight reads and writes at (Agrona's flyweight pattern): a worker creates each
 * flyweight once and points it at every frame's header in turn, so the fast path allocates nothing. Each subclass
 * adds its header's fields, at offsets relative to {@link #offset()}, and its own {@code wrap} returning itself.
 * Nothing here checks bounds: the parser has checked the frame's lengths before a flyweight is pointed into it.
 */
public abstract class HeaderFlyweight {
    /** Network byte order, in which every header but the virtio-net one is written. */
    protected static final ByteOrder BIG = ByteOrder.BIG_ENDIAN;

    protected MutableDirectBuffer buffer;
    protected int offset;

    /** Points this flyweight at the header at {@code offset} in {@code buffer}. */
    protected final void point(final MutableDirectBuffer buffer, final int offset) {
        this.buffer = buffer;
        this.offset = offset;
    }

    public final MutableDirectBuffer buffer() {
        return buffer;
    }

    public final int offset() {
        return offset;
    }
}
