// The capabilities this process holds, read from /proc: what nsgate needs instead of "euid 0".
package io.nsgate.linux.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The effective capability set of the process ({@code CapEff:} of {@code /proc/self/status}). nsgate checks for the
 * capabilities it uses, not for root: a service user given them ({@code AmbientCapabilities=} in a systemd unit)
 * runs the gateway as well as root does.
 */
public final class Capabilities {
    public static final int CAP_CHOWN = 0;
    public static final int CAP_DAC_READ_SEARCH = 2;
    public static final int CAP_NET_ADMIN = 12;
    public static final int CAP_NET_RAW = 13;
    public static final int CAP_SYS_ADMIN = 21;
    public static final int CAP_BPF = 39;

    private Capabilities() {
    }

    /** The effective set as a bit mask (bit n: capability n); 0 when /proc cannot tell. */
    public static long effective() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    return Long.parseUnsignedLong(line.substring("CapEff:".length()).strip(), 16);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }

    /** The names of those of {@code wanted} this process lacks, e.g. ["CAP_NET_ADMIN"]; empty when it has them all. */
    public static List<String> missing(int... wanted) {
        long have = effective();
        List<String> missing = new ArrayList<>();
        for (int cap : wanted) {
            if ((have & (1L << cap)) == 0) {
                missing.add(name(cap));
            }
        }
        return missing;
    }

    public static String name(int cap) {
        return switch (cap) {
            case CAP_CHOWN -> "CAP_CHOWN";
            case CAP_DAC_READ_SEARCH -> "CAP_DAC_READ_SEARCH";
            case CAP_NET_ADMIN -> "CAP_NET_ADMIN";
            case CAP_NET_RAW -> "CAP_NET_RAW";
            case CAP_SYS_ADMIN -> "CAP_SYS_ADMIN";
            case CAP_BPF -> "CAP_BPF";
            default -> "capability " + cap;
        };
    }
}
