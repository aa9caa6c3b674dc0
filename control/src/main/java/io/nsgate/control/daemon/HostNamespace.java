// The network namespace a gateway runs in (a named one, or the one nsgate was started in) and what it asks of it.
package io.nsgate.control.daemon;

import java.util.concurrent.Callable;
import java.util.function.Function;

import io.nsgate.control.netlink.RtNetlink;
import io.nsgate.control.netns.NetNs;

/**
 * Sockets keep the namespace they were created in, so everything a gateway opens (AF_PACKET ports, tcx links, the
 * rtnetlink socket) is opened through here: on the named namespace's dedicated thread, or on the calling thread when
 * the gateway runs where it was started ({@code ip netns exec edge nsgate run ...}). Sysctls are read and written
 * in the same namespace.
 */
final class HostNamespace implements AutoCloseable {
    private final NetNs netns;

    private HostNamespace(NetNs netns) {
        this.netns = netns;
    }

    /**
     * The named namespace {@code name}, or the current one when null.
     *
     * @throws GatewayException when the named namespace does not exist
     */
    static HostNamespace open(String name) {
        if (name == null) {
            return new HostNamespace(null);
        }
        if (!NetNs.exists(name)) {
            throw new GatewayException("network namespace " + name + " does not exist "
                + "(ip netns list; nsgate topology apply creates the seed lab's)");
        }
        return new HostNamespace(NetNs.open(name));
    }

    /** The namespace's name, or null for the current one. */
    String name() {
        return netns == null ? null : netns.name();
    }

    /** For messages: "network namespace edge" or "the current network namespace". */
    String describe() {
        return netns == null ? "the current network namespace" : "network namespace " + netns.name();
    }

    /** Runs {@code task} inside the namespace; checked exceptions become GatewayExceptions. */
    <T> T call(Callable<T> task) {
        try {
            return netns == null ? task.call() : netns.call(task);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new GatewayException(e.getMessage(), e);
        }
    }

    /**
     * Runs {@code query} on an rtnetlink socket of the namespace (the named namespace's stays open, for reuse).
     * Synchronized: the link watcher and the maintenance thread both ask, and an RtNetlink is not thread-safe (one
     * message writer, one receive buffer).
     */
    synchronized <T> T rtnetlink(Function<RtNetlink, T> query) {
        if (netns != null) {
            return query.apply(netns.rtnetlink());
        }
        try (RtNetlink rt = RtNetlink.open("current namespace")) {
            return query.apply(rt);
        }
    }

    /**
     * Moves the calling thread into the namespace for good (a thread of the gateway's own, e.g. an event loop whose
     * sockets must be the namespace's); nothing for the current namespace.
     */
    void enterOnThisThread() {
        if (netns != null) {
            io.nsgate.linux.sys.Syscalls.setns(netns.fd(), io.nsgate.linux.sys.Linux.CLONE_NEWNET,
                "network namespace " + netns.name());
        }
    }

    String sysctl(String key) {
        return netns != null ? netns.sysctl(key) : NetNs.readSysctl(key);
    }

    void setSysctl(String key, String value) {
        if (netns != null) {
            netns.setSysctl(key, value);
        } else {
            NetNs.writeSysctl(key, value);
        }
    }

    @Override
    public void close() {
        if (netns != null) {
            netns.close();
        }
    }
}
