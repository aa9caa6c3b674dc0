// What build this is: the version the build stamped into the jar, for --version and the metrics.
package io.nsgate.control;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The build's version ({@code /io/nsgate/control/version.properties}, written by Maven), "unknown" without it. */
public final class BuildInfo {
    private static final String VERSION = read();

    private BuildInfo() {
    }

    public static String version() {
        return VERSION;
    }

    private static String read() {
        try (InputStream in = BuildInfo.class.getResourceAsStream("/io/nsgate/control/version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
