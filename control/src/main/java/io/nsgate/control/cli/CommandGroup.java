// A command that only gathers subcommands: run without one, it prints its usage.
package io.nsgate.control.cli;

import picocli.CommandLine;

/** Base of {@code nsgate topology}, {@code nsgate ctl} and ctl's groups (forward, masquerade, config, topology). */
abstract class CommandGroup implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
