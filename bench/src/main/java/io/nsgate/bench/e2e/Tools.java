// The programs the end-to-end benchmark drives, found before anything is built, with what to do when one is missing.
package io.nsgate.bench.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

final class Tools {
    private Tools() {
    }

    /** Command → Debian package that brings it (scripts/ensure-deps bench installs them all). */
    private static final Map<String, String> PACKAGE_OF = new LinkedHashMap<>();

    static {
        PACKAGE_OF.put("ip", "iproute2");
        PACKAGE_OF.put("ss", "iproute2");
        PACKAGE_OF.put("iptables", "iptables");
        PACKAGE_OF.put("nft", "nftables");
        PACKAGE_OF.put("iperf3", "iperf3");
        PACKAGE_OF.put("wrk", "wrk");
        PACKAGE_OF.put("trafgen", "netsniff-ng");
        PACKAGE_OF.put("nginx", "nginx");
        PACKAGE_OF.put("ping", "iputils-ping");
        PACKAGE_OF.put("curl", "curl");
    }

    /** Throws with one line per missing command and the fix, or returns when everything is there. */
    static void require() {
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, String> e : PACKAGE_OF.entrySet()) {
            if (find(e.getKey()) == null) {
                missing.add(e.getKey() + " (Debian package " + e.getValue() + ")");
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalStateException("not installed: " + String.join(", ", missing)
                + "; run scripts/ensure-deps bench (as root) and try again");
        }
    }

    /** The absolute path of {@code command} on PATH or in the sbin directories, or null. */
    static String find(String command) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/local/sbin", "/usr/sbin", "/sbin"));
        for (String d : dirs) {
            if (d.isEmpty()) {
                continue;
            }
            Path p = Path.of(d, command);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }

    /** The CPU's model name from /proc/cpuinfo ("AMD EPYC ..."): ratios to the kernel differ between CPUs. */
    static String cpuModel() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (java.io.IOException e) {
            // below
        }
        return "?";
    }
}
