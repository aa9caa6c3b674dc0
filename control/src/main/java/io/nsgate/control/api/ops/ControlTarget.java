// What the control socket operates on: the running gateway's data plane, rules and configuration.
package io.nsgate.control.api.ops;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

import io.nsgate.control.daemon.Gateway;
import io.nsgate.control.daemon.GatewayConfig;
import io.nsgate.control.daemon.GatewayConfigException;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.pipeline.DataPlane;
import io.nsgate.linux.net.IpPrefix;

/**
 * The daemon as the control socket sees it. {@link #of(Gateway, Path)} adapts a running {@link Gateway}; tests
 * supply a data plane over in-memory ports. Rule changes go through the data plane's command queue (workers apply
 * them between batches), so existing flows are never dropped by them.
 */
public interface ControlTarget {
    DataPlane dataPlane();

    /** Connections of the gateway host's own clients to the forwards, proxied ({@code LocalAccess}); none here. */
    default List<io.nsgate.control.daemon.LocalAccess.Connection> localConnections() {
        return List.of();
    }

    RuleSet rules();

    /** The running configuration (with the live rule changes). */
    GatewayConfig config();

    /** The named network namespace the gateway runs in, or null for the namespace it was started in. */
    String namespace();

    long uptimeNs();

    void addForward(ForwardRule forward);

    boolean removeForward(ForwardRule forward);

    void addMasquerade(IpPrefix source);

    boolean removeMasquerade(IpPrefix source);

    /** The file the daemon loaded its configuration from ({@code --config}): where config.save writes; or null. */
    Path configFile();

    /**
     * Reads the configuration file again (with the flags the daemon was started with on top) and applies the
     * difference live.
     *
     * @return what changed, one line each (empty: nothing did)
     * @throws GatewayConfigException when the file is unreadable, invalid, or changes what takes a restart (nothing
     *     changed then)
     * @throws IllegalStateException when the daemon has no file to read (started without --config)
     */
    List<String> reloadConfig();

    /** A running gateway, its configuration read again by {@link GatewayConfig#load} of {@code configFile}. */
    static ControlTarget of(Gateway gateway, Path configFile) {
        return of(gateway, configFile, configFile == null ? null : () -> GatewayConfig.load(configFile));
    }

    /** A running gateway; {@code reread} reads its configuration again (null: it has none to read). */
    static ControlTarget of(Gateway gateway, Path configFile, Supplier<GatewayConfig> reread) {
        return new ControlTarget() {
            @Override
            public DataPlane dataPlane() {
                return gateway.dataPlane();
            }

            @Override
            public List<io.nsgate.control.daemon.LocalAccess.Connection> localConnections() {
                return gateway.localConnections();
            }

            @Override
            public RuleSet rules() {
                return gateway.rules();
            }

            @Override
            public GatewayConfig config() {
                return gateway.config();
            }

            @Override
            public String namespace() {
                return gateway.namespace();
            }

            @Override
            public long uptimeNs() {
                return gateway.uptimeNs();
            }

            @Override
            public void addForward(ForwardRule forward) {
                gateway.addForward(forward);
            }

            @Override
            public boolean removeForward(ForwardRule forward) {
                return gateway.removeForward(forward);
            }

            @Override
            public void addMasquerade(IpPrefix source) {
                gateway.addMasquerade(source);
            }

            @Override
            public boolean removeMasquerade(IpPrefix source) {
                return gateway.removeMasquerade(source);
            }

            @Override
            public Path configFile() {
                return configFile == null ? null : configFile.toAbsolutePath();
            }

            @Override
            public List<String> reloadConfig() {
                if (reread == null) {
                    throw new IllegalStateException("this daemon was started without --config: there is no file to"
                        + " read again");
                }
                return gateway.reload(reread.get());
            }
        };
    }
}
