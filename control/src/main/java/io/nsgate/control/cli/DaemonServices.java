// What `nsgate run` and `nsgate lab` serve beside the gateway: the control socket and the metrics port.
package io.nsgate.control.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

import io.nsgate.control.api.ops.ControlTarget;
import io.nsgate.control.api.server.ControlServer;
import io.nsgate.control.api.server.SocketFile;
import io.nsgate.control.metrics.MetricsServer;
import io.nsgate.control.metrics.PrometheusText;

/**
 * Started after the gateway and stopped before it (so no request reaches a closing data plane). {@link #check}
 * runs before the gateway starts, so a live daemon on the same socket or an unknown group stops `nsgate run`
 * before it attaches to anything.
 */
final class DaemonServices implements AutoCloseable {
    /** Could not start (the message says what to do); {@code badInput} means exit code 2. */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;
        final boolean badInput;

        Failure(String message, boolean badInput) {
            super(message);
            this.badInput = badInput;
        }
    }

    private ControlServer control;
    private MetricsServer metrics;

    /** Refuses early: an unknown group (bad input), or a socket path another daemon serves. */
    static void check(ControlServer.Settings settings, Consumer<String> log) throws Failure {
        if (settings == null) {
            return;
        }
        if (settings.group() != null && SocketFile.group(settings.group()) == null) {
            throw new Failure("--control-group " + settings.group() + ": no such group (getent group "
                + settings.group() + ")", true);
        }
        try {
            String removed = SocketFile.claim(settings.socket());
            if (removed != null) {
                log.accept(removed);
            }
        } catch (SocketFile.Unusable e) {
            throw new Failure(e.getMessage(), false);
        }
    }

    /**
     * @param settings    the control socket, or null for none
     * @param metricsPort 127.0.0.1 port for Prometheus, or null for none
     */
    static DaemonServices start(ControlServer.Settings settings, Integer metricsPort, ControlTarget target,
                                Consumer<String> log) throws Failure {
        DaemonServices s = new DaemonServices();
        try {
            if (settings != null) {
                s.control = ControlServer.start(settings, target, log);
            }
            if (metricsPort != null) {
                ControlServer control = s.control;
                try {
                    s.metrics = MetricsServer.start(metricsPort, () -> PrometheusText.render(target, control));
                } catch (IOException e) {
                    throw new Failure("--metrics-port " + metricsPort + ": cannot listen on 127.0.0.1:" + metricsPort
                        + ": " + e.getMessage(), false);
                }
                log.accept("metrics on http://127.0.0.1:" + s.metrics.port() + "/metrics (Prometheus text format)");
            }
            return s;
        } catch (ControlServer.StartException e) {
            s.close();
            throw new Failure(e.getMessage(), e.badInput());
        } catch (Failure e) {
            s.close();
            throw e;
        }
    }

    Path socket() {
        return control == null ? null : control.socket();
    }

    @Override
    public synchronized void close() {
        if (metrics != null) {
            metrics.close();
            metrics = null;
        }
        if (control != null) {
            control.close();
            control = null;
        }
    }
}
