// What the control socket operates on: the running gateway's data plane, rules and configuration.
package io.nsgate.control.api.ops;

import java.nio.file.Path;

import io.nsgate.control.daemon.Gateway;
import io.nsgate.control.daemon.GatewayConfig;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.pipeline.DataPlane;
import io.nsgate.linux.net.IpPrefix;
import io.nsgate.linux.net.Ipv4Prefix;

/**
 * The daemon as the control socket sees it. {@link #of(Gateway, Path)} adapts a running {@link Gateway}; tests
 * supply a data plane over in-memory ports. Rule changes go through the data plane's command queue (workers apply
 * them between batches), so existing flows are never dropped by them.
 */
public interface ControlTarget {
    DataPlane dataPlane();

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

    /** A running gateway. */
    static ControlTarget of(Gateway gateway, Path configFile) {
        return new ControlTarget() {
            @Override
            public DataPlane dataPlane() {
                return gateway.dataPlane();
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
        };
    }
}
