// The web server behind the port forward: nginx in blue, in the foreground, stopped by its pid.
package io.nsgate.bench.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import io.nsgate.control.testsupport.SeedLab;
import io.nsgate.testkit.Commands;
import io.nsgate.testkit.Processes;

/**
 * A fast server so that the HTTP workloads measure the path through the gateway, not the server: nginx with the
 * small configuration in {@code nginx.conf} (a 16-byte body from memory, no logging, keep-alive without a request
 * limit, one worker per CPU), its files in the run's directory. A Java server would be the bottleneck.
 */
final class NginxServer implements AutoCloseable {
    private final Processes processes;
    private final Process process;

    private NginxServer(Processes processes, Process process) {
        this.processes = processes;
        this.process = process;
    }

    static NginxServer start(SeedLab lab, String ip, int port) throws InterruptedException {
        Processes processes = lab.processes();
        Path dir = processes.dir().resolve("nginx");
        Path conf = dir.resolve("nginx.conf");
        try {
            Files.createDirectories(dir);
            Files.writeString(conf, template().replace("@DIR@", dir.toString()).replace("@LISTEN@", ip + ":" + port)
                .replace("@LISTEN6@", "[" + SeedLab.BLUE6 + "]:" + port));
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + conf + ": " + e.getMessage());
        }
        Path log = dir.resolve("nginx.log");
        Process p = processes.start(Commands.inNetns(lab.ns("blue"), "nginx", "-e", "stderr", "-p", dir.toString(),
            "-c", conf.toString()), log);
        NginxServer server = new NginxServer(processes, p);
        try {
            lab.awaitListening(lab.ns("blue"), port, p, Duration.ofSeconds(10));
        } catch (RuntimeException e) {
            server.close();
            throw new IllegalStateException("nginx did not start in " + lab.ns("blue") + ": " + e.getMessage());
        }
        return server;
    }

    private static String template() {
        try (InputStream in = NginxServer.class.getResourceAsStream("nginx.conf")) {
            if (in == null) {
                throw new IllegalStateException("nginx.conf is missing from the benchmark jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read nginx.conf: " + e.getMessage());
        }
    }

    /** The master's pid (its workers are its children). */
    long pid() {
        return process.pid();
    }

    @Override
    public void close() {
        processes.stop(process, Duration.ofSeconds(3));
    }
}
