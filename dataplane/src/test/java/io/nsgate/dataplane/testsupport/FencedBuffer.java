// A test buffer that fails on any read outside a window, to prove the parser stays inside the frame it was given.
package io.nsgate.dataplane.testsupport;

import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteOrder;

/**
 * An {@link UnsafeBuffer} over a byte array that throws {@link AssertionError} when a read touches a byte outside
 * the fence {@code [from, to)}, even though the array (and Agrona's own bounds check) extends further. Put a frame
 * in the middle of the array, fence it, parse: any read of a neighbouring byte fails the test with its index.
 * Only reads are fenced (the parser never writes). Every read method a parser or checksum could use is covered.
 */
public final class FencedBuffer extends UnsafeBuffer {
    private int from;
    private int to;

    public FencedBuffer(final byte[] array) {
        super(array);
        fence(0, array.length);
    }

    /** Allows reads of {@code [from, to)} only. */
    public FencedBuffer fence(final int from, final int to) {
        this.from = from;
        this.to = to;
        return this;
    }

    private void check(final int index, final int size) {
        if (index < from || index + size > to || index + size < index) {
            throw new AssertionError(
                "read of " + size + " bytes at " + index + " outside the fence [" + from + ", " + to + ")");
        }
    }

    @Override
    public byte getByte(final int index) {
        check(index, 1);
        return super.getByte(index);
    }

    @Override
    public short getShort(final int index) {
        check(index, 2);
        return super.getShort(index);
    }

    @Override
    public short getShort(final int index, final ByteOrder byteOrder) {
        check(index, 2);
        return super.getShort(index, byteOrder);
    }

    @Override
    public char getChar(final int index) {
        check(index, 2);
        return super.getChar(index);
    }

    @Override
    public char getChar(final int index, final ByteOrder byteOrder) {
        check(index, 2);
        return super.getChar(index, byteOrder);
    }

    @Override
    public int getInt(final int index) {
        check(index, 4);
        return super.getInt(index);
    }

    @Override
    public int getInt(final int index, final ByteOrder byteOrder) {
        check(index, 4);
        return super.getInt(index, byteOrder);
    }

    @Override
    public long getLong(final int index) {
        check(index, 8);
        return super.getLong(index);
    }

    @Override
    public long getLong(final int index, final ByteOrder byteOrder) {
        check(index, 8);
        return super.getLong(index, byteOrder);
    }

    @Override
    public void getBytes(final int index, final byte[] dst) {
        check(index, dst.length);
        super.getBytes(index, dst);
    }

    @Override
    public void getBytes(final int index, final byte[] dst, final int offset, final int length) {
        check(index, length);
        super.getBytes(index, dst, offset, length);
    }
}
