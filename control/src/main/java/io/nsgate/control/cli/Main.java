// The nsgate command line: the entry point of the runnable jar and the root of every subcommand.
package io.nsgate.control.cli;

import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.util.Properties;

import picocli.CommandLine.Command;
import picocli.CommandLine;

@Command(
    name = "nsgate",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = {
        "NAT and port-forward gateway for services in Linux network namespaces.",
        "Creates namespaces, bridges and veth pairs over rtnetlink and forwards between them and the LAN",
        "in user space (AF_PACKET rings): MASQUERADE and DNAT with its own connection tracking."
    },
    subcommands = {CommandLine.HelpCommand.class, LabCommand.class, RunCommand.class, TopologyCommand.class,
        CtlCommand.class, StateCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** True when this JVM is the nsgate command itself (not tests or a benchmark calling commands in process). */
    private static volatile boolean standalone;

    public static void main(String[] args) {
        standalone = true;
        JournalPriorities.installIfJournal();
        CommandLine cl = commandLine();
        cl.setOut(stdout());
        System.exit(cl.execute(args));
    }

    /**
     * Standard output that reports a closed pipe. Picocli's default writer goes through System.out, a PrintStream
     * that swallows EPIPE in its own error flag: the writer's checkError() would never see `nsgate ctl flows | head`
     * end. Autoflush as picocli's: lines reach a pager as they come.
     */
    private static PrintWriter stdout() {
        Charset charset = Charset.defaultCharset();
        String encoding = System.getProperty("sun.stdout.encoding"); // what System.out uses on a terminal
        try {
            if (encoding != null && Charset.isSupported(encoding)) {
                charset = Charset.forName(encoding);
            }
        } catch (IllegalArgumentException e) {
            // not a charset name: keep the default, as System.out does
        }
        return new PrintWriter(new BufferedWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.out),
            charset)), true);
    }

    /** Whether commands may change process-wide things (the CLI's own CPU priority, say). */
    static boolean standalone() {
        return standalone;
    }

    /** The configured command tree; tests call {@code execute} on it directly. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        // a bad value or an unknown option: the problem and where the help is, not the whole usage text again
        cl.setParameterExceptionHandler((e, args) -> {
            CommandLine c = e.getCommandLine();
            PrintWriter err = c.getErr();
            String command = c.getCommandSpec().qualifiedName();
            err.println(command + ": " + e.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
            err.println("(`" + command + " --help` lists its options)");
            return ExitCode.BAD_INPUT;
        });
        // one width everywhere: wide enough for ctl's commented examples, and no CIDR or URL broken across lines
        cl.setUsageHelpWidth(120);
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
        System.out.println();
        System.out.println("nsgate " + version());
    }

    /** The version the build stamped into the jar. */
    public static String version() {
        return io.nsgate.control.BuildInfo.version();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"nsgate " + version()};
        }
    }
}
