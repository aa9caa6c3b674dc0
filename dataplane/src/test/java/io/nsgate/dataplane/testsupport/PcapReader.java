// Reads classic pcap files of Ethernet frames (the golden fixtures) into byte arrays, one per frame.
package io.nsgate.dataplane.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A reader for the classic libpcap format (what {@code tcpdump -w} writes): a 24-byte global header, then per
 * frame a 16-byte record header (seconds, micro- or nanoseconds, captured length, original length) and the
 * captured bytes. Both byte orders and both timestamp resolutions are accepted; the link type must be Ethernet
 * (1), and a frame cut short by the snapshot length is an error (a fixture must hold whole frames).
 *
 * <pre>
 *   List&lt;byte[]&gt; frames = PcapReader.readResource("golden/tcp.pcap");
 * </pre>
 */
public final class PcapReader {
    /** LINKTYPE_ETHERNET. */
    public static final int LINKTYPE_ETHERNET = 1;

    private static final int MAGIC_MICROS = 0xA1B2C3D4;
    private static final int MAGIC_NANOS = 0xA1B23C4D;
    private static final int GLOBAL_HEADER_LENGTH = 24;
    private static final int RECORD_HEADER_LENGTH = 16;

    private PcapReader() {
    }

    /** Reads a class-path resource such as {@code "golden/tcp.pcap"} (from src/test/resources). */
    public static List<byte[]> readResource(final String resourceName) {
        try (InputStream in = PcapReader.class.getClassLoader().getResourceAsStream(resourceName)) {
            if (in == null) {
                throw new IllegalArgumentException(
                    resourceName + ": no such test resource (expected under dataplane/src/test/resources)");
            }
            return parse(in.readAllBytes(), resourceName);
        } catch (final IOException e) {
            throw new UncheckedIOException(resourceName + ": cannot read", e);
        }
    }

    /** Reads a pcap file from disk. */
    public static List<byte[]> read(final Path file) throws IOException {
        return parse(Files.readAllBytes(file), file.toString());
    }

    /**
     * Parses the bytes of a whole pcap file.
     *
     * @param name used in error messages only
     * @throws IllegalArgumentException naming the file and frame when the bytes are not a pcap of whole
     *                                  Ethernet frames
     */
    public static List<byte[]> parse(final byte[] pcap, final String name) {
        if (pcap.length < GLOBAL_HEADER_LENGTH) {
            throw new IllegalArgumentException(name + ": " + pcap.length + " bytes, shorter than a pcap header");
        }
        final ByteBuffer in = ByteBuffer.wrap(pcap).order(ByteOrder.LITTLE_ENDIAN);
        int magic = in.getInt(0);
        if (magic != MAGIC_MICROS && magic != MAGIC_NANOS) {
            in.order(ByteOrder.BIG_ENDIAN);
            magic = in.getInt(0);
            if (magic != MAGIC_MICROS && magic != MAGIC_NANOS) {
                throw new IllegalArgumentException(
                    name + ": magic 0x" + Integer.toHexString(magic) + " is not classic pcap (pcapng is not read)");
            }
        }
        final int linkType = in.getInt(20) & 0x0FFF_FFFF; // top bits carry FCS info in newer writers
        if (linkType != LINKTYPE_ETHERNET) {
            throw new IllegalArgumentException(name + ": link type " + linkType + ", expected Ethernet (1)");
        }
        final List<byte[]> frames = new ArrayList<>();
        int at = GLOBAL_HEADER_LENGTH;
        while (at < pcap.length) {
            if (pcap.length - at < RECORD_HEADER_LENGTH) {
                throw new IllegalArgumentException(name + ": frame " + frames.size() + " record header cut short");
            }
            final int capturedLength = in.getInt(at + 8);
            final int originalLength = in.getInt(at + 12);
            at += RECORD_HEADER_LENGTH;
            if (capturedLength < 0 || capturedLength > pcap.length - at) {
                throw new IllegalArgumentException(
                    name + ": frame " + frames.size() + " claims " + capturedLength + " bytes, file has "
                        + (pcap.length - at) + " left");
            }
            if (capturedLength != originalLength) {
                throw new IllegalArgumentException(
                    name + ": frame " + frames.size() + " was cut to " + capturedLength + " of " + originalLength
                        + " bytes by the snapshot length; capture with -s 0");
            }
            final byte[] frame = new byte[capturedLength];
            System.arraycopy(pcap, at, frame, 0, capturedLength);
            frames.add(frame);
            at += capturedLength;
        }
        return frames;
    }
}
