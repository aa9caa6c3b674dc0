// FILE and --prefix, as every topology command takes them: nsgate topology and nsgate ctl topology.
package io.nsgate.control.cli;

import java.nio.file.Path;

import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** A picocli mixin: which topology (a file, or the embedded seed lab) and the prefix for its namespaces. */
final class TopologyFileOptions {
    @Parameters(index = "0", arity = "0..1", paramLabel = "FILE",
        description = "Topology file (YAML); default: the embedded seed lab.")
    Path file;

    @Option(names = "--prefix", paramLabel = "P", defaultValue = "",
        description = "Prefix for every namespace name, so that several copies can live side by side (default: none).")
    String prefix;

    /** The file's name, or what stands for the seed lab, for messages. */
    String source() {
        return file == null ? "seed lab (embedded)" : file.toString();
    }
}
