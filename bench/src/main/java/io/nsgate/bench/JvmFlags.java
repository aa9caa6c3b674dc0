// The JVM flags every benchmark fork runs with: those of a production nsgate (see the ./nsgate launcher).
package io.nsgate.bench;

/** Constants for {@code @Fork(jvmArgsAppend = ...)}; keep them in line with the launcher. */
public final class JvmFlags {
    private JvmFlags() {
    }

    /** Agrona reads jdk.internal.misc. */
    public static final String AGRONA_EXPORTS = "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED";
    /**
     * Production runs without Agrona's per-access bounds checks: every offset the data plane derives from a frame
     * is checked by the parser, and table offsets are computed from validated ids. Tests keep the checks on.
     */
    public static final String NO_BOUNDS_CHECKS = "-Dagrona.disable.bounds.checks=true";
}
