// The nsgate command line: the entry point of the runnable jar and the root of every subcommand.
package io.nsgate.control.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

import picocli.CommandLine;
import picocli.CommandLine.Command;

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
        CtlCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** True when this JVM is the nsgate command itself (not tests or a benchmark calling commands in process). */
    private static volatile boolean standalone;

    public static void main(String[] args) {
        standalone = true;
        System.exit(commandLine().execute(args));
    }

    /** Whether commands may change process-wide things (the CLI's own CPU priority, say). */
    static boolean standalone() {
        return standalone;
    }

    /** The configured command tree; tests call {@code execute} on it directly. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.getSubcommands().get("ctl").setUsageHelpWidth(120); // its examples carry comments: 80 columns wrap them
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
        try (InputStream in = Main.class.getResourceAsStream("/io/nsgate/control/version.properties")) {
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

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"nsgate " + version()};
        }
    }
}
