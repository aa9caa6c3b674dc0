// Large zeroed off-heap regions for the data plane's tables, backed by transparent huge pages when possible.
package io.nsgate.linux.sys;

import org.agrona.UnsafeApi;

/**
 * An anonymous private mapping, zero-filled by the kernel, advised MADV_HUGEPAGE so that a table of millions
 * of flows is covered by 2 MiB pages: random lookups then miss the TLB far less often (on this machine kind THP
 * runs in "madvise" mode, so without the advice every flow lookup also pays a page walk). Falls back to
 * {@code Unsafe.allocateMemory} (and zeroes it) when native calls are unavailable.
 */
public final class OffHeapMemory implements AutoCloseable {
    private static final long HUGE_PAGE = 2L * 1024 * 1024;

    private final long address;
    private final long length;
    private final boolean mapped;
    private final boolean hugePages;
    private final boolean borrowed;
    private boolean closed;

    private OffHeapMemory(long address, long length, boolean mapped, boolean hugePages) {
        this(address, length, mapped, hugePages, false);
    }

    private OffHeapMemory(long address, long length, boolean mapped, boolean hugePages, boolean borrowed) {
        this.address = address;
        this.length = length;
        this.mapped = mapped;
        this.hugePages = hugePages;
        this.borrowed = borrowed;
    }

    /**
     * {@code length} bytes at {@code offset} (64-byte aligned) of a shared file's mapping: its contents are the
     * file's, and closing the region leaves the mapping to the file's owner.
     */
    public static OffHeapMemory within(SharedMemoryFile file, long offset, long length) {
        if (offset < 0 || (offset & 63) != 0 || length <= 0 || offset + length > file.length()) {
            throw new IllegalArgumentException(file.path() + ": region " + offset + "+" + length + " outside "
                + file.length() + " bytes or not 64-byte aligned");
        }
        return new OffHeapMemory(file.address() + offset, length, true, false, true);
    }

    /**
     * Allocates {@code bytes} zeroed bytes, 64-byte aligned (page aligned when mapped).
     *
     * @param purpose names the region in errors, e.g. "flow table records"
     */
    public static OffHeapMemory allocate(long bytes, String purpose) {
        if (bytes <= 0) {
            throw new IllegalArgumentException(purpose + ": size " + bytes);
        }
        if (Syscalls.isAvailable()) {
            long length = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
            long address = Syscalls.mmap(length, Linux.PROT_READ | Linux.PROT_WRITE,
                Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS, -1, 0, purpose);
            boolean huge = length >= HUGE_PAGE && Syscalls.madvise(address, length, Linux.MADV_HUGEPAGE) == 0;
            return new OffHeapMemory(address, length, true, huge);
        }
        long raw = UnsafeApi.allocateMemory(bytes + 64);
        UnsafeApi.setMemory(null, raw, bytes + 64, (byte) 0);
        return new OffHeapMemory(raw, bytes + 64, false, false);
    }

    /** Start of the region, 64-byte aligned. */
    public long address() {
        return mapped ? address : (address + 63) & ~63L;
    }

    /** True when the kernel accepted the huge page advice. */
    public boolean hugePages() {
        return hugePages;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (borrowed) {
            return;
        }
        if (mapped) {
            Syscalls.munmap(address, length, "off-heap region");
        } else {
            UnsafeApi.freeMemory(address);
        }
    }
}
