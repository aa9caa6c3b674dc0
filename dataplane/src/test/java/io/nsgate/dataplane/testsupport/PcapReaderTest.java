// PcapReader on hand-made pcap bytes: both byte orders, and the errors a broken fixture must produce.
package io.nsgate.dataplane.testsupport;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PcapReaderTest {
    private static byte[] pcap(final ByteOrder order, final int magic, final int linkType, final int[] captured,
        final int[] original) {
        int size = 24;
        for (final int c : captured) {
            size += 16 + c;
        }
        final ByteBuffer b = ByteBuffer.allocate(size).order(order);
        b.putInt(magic).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0).putInt(65535).putInt(linkType);
        for (int i = 0; i < captured.length; i++) {
            b.putInt(1).putInt(2).putInt(captured[i]).putInt(original[i]);
            for (int j = 0; j < captured[i]; j++) {
                b.put((byte) (i + j));
            }
        }
        return b.array();
    }

    @Test
    void readsFramesInEitherByteOrderAndTimestampResolution() {
        for (final ByteOrder order : new ByteOrder[] {ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN}) {
            for (final int magic : new int[] {0xA1B2C3D4, 0xA1B23C4D}) {
                final List<byte[]> frames = PcapReader.parse(
                    pcap(order, magic, 1, new int[] {3, 0, 2}, new int[] {3, 0, 2}), "test.pcap");
                assertEquals(3, frames.size());
                assertArrayEquals(new byte[] {0, 1, 2}, frames.get(0));
                assertArrayEquals(new byte[0], frames.get(1));
                assertArrayEquals(new byte[] {2, 3}, frames.get(2));
            }
        }
    }

    @Test
    void readsTheGoldenFixtures() {
        assertEquals(12, PcapReader.readResource("golden/tcp.pcap").size());
    }

    @Test
    void refusesWhatIsNotAPcapOfWholeEthernetFrames() {
        assertFails("shorter than a pcap header", new byte[10]);
        assertFails("is not classic pcap", pcap(ByteOrder.LITTLE_ENDIAN, 0x0A0D0D0A, 1, new int[0], new int[0]));
        assertFails("link type 113", pcap(ByteOrder.LITTLE_ENDIAN, 0xA1B2C3D4, 113, new int[0], new int[0]));
        assertFails("cut to 4 of 60 bytes",
            pcap(ByteOrder.LITTLE_ENDIAN, 0xA1B2C3D4, 1, new int[] {4}, new int[] {60}));
        final byte[] cut = pcap(ByteOrder.LITTLE_ENDIAN, 0xA1B2C3D4, 1, new int[] {4}, new int[] {4});
        assertFails("claims 4 bytes", java.util.Arrays.copyOf(cut, cut.length - 1));
        assertFails("record header cut short", java.util.Arrays.copyOf(cut, 24 + 8));
        assertThrows(IllegalArgumentException.class, () -> PcapReader.readResource("golden/missing.pcap"));
    }

    private static void assertFails(final String message, final byte[] pcap) {
        final IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> PcapReader.parse(pcap, "broken.pcap"));
        assertTrue(e.getMessage().startsWith("broken.pcap: ") && e.getMessage().contains(message), e.getMessage());
    }
}
