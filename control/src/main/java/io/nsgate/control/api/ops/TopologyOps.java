// The topology operations: namespaces, links and addresses applied, planned or destroyed through the daemon.
package io.nsgate.control.api.ops;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.nsgate.control.api.ControlException;
import io.nsgate.control.api.ErrorCode;
import io.nsgate.control.api.Protocol;
import io.nsgate.control.api.Request;
import io.nsgate.control.topology.Topology;
import io.nsgate.control.topology.TopologyApplier;
import io.nsgate.control.topology.TopologyApplyException;
import io.nsgate.control.topology.TopologyException;
import io.nsgate.control.topology.TopologyReport;
import io.nsgate.linux.sys.Errno;

/** topology.apply/show/destroy: {@code nsgate topology} run by the daemon, from a file's text (or a root's file). */
final class TopologyOps {
    public static final class TopologyArgs {
        /** The topology file's text (what the CLI sends). */
        public String yaml;
        /** A file the daemon reads itself (root peers only). */
        public String file;
        /** The embedded seed lab (what `nsgate ctl topology apply` without a file asks for). */
        public boolean seedLab;
        /** Put in front of every namespace name: required, "" saying "no prefix" explicitly. */
        public String prefix;
    }

    void register(Operations ops) {
        register(ops, TopologyApplier.Mode.APPLY, "make the machine match a topology (yaml or file, prefix)");
        register(ops, TopologyApplier.Mode.SHOW, "what topology.apply would change");
        register(ops, TopologyApplier.Mode.DESTROY, "remove what a topology describes and nsgate created");
    }

    /** topology.apply, topology.show, topology.destroy: the operation is named after its mode, as the CLI's are. */
    private void register(Operations ops, TopologyApplier.Mode mode, String description) {
        ops.blocking("topology." + mode.id(), description, (r, p) -> topology(r, p, mode));
    }

    private Object topology(Request r, Peer peer, TopologyApplier.Mode mode) {
        TopologyArgs a = r.args(TopologyArgs.class);
        // a request changes the host: nothing is defaulted, so a bare request cannot build a lab in the root namespace
        int sources = (a.yaml != null ? 1 : 0) + (a.file != null ? 1 : 0) + (a.seedLab ? 1 : 0);
        if (sources != 1) {
            throw ControlException.badRequest("args: give exactly one of yaml (the file's text), file (root only) "
                + "or seedLab: true");
        }
        if (a.prefix == null) {
            throw ControlException.badRequest("args.prefix: missing (the namespace name prefix; \"\" for none)");
        }
        String prefix = a.prefix;
        Topology topology;
        try {
            if (a.file != null) {
                if (!peer.isRoot()) {
                    throw new ControlException(ErrorCode.FORBIDDEN, "args.file: only root may have the daemon read "
                        + "a file; send its text as args.yaml (nsgate ctl topology does)");
                }
                topology = Topology.parse(Files.readString(Path.of(a.file), StandardCharsets.UTF_8), a.file);
            } else if (a.yaml != null) {
                topology = Topology.parse(a.yaml, "args.yaml");
            } else {
                topology = Topology.seedLab();
            }
            return mode.run(topology, prefix).toJson();
        } catch (IOException e) {
            throw ControlException.badRequest("args.file \"" + a.file + "\": cannot read: " + Errno.why(e));
        } catch (TopologyException e) {
            throw new ControlException(ErrorCode.BAD_REQUEST, "topology rejected, nothing changed: "
                + String.join("; ", e.problems()), e.problems());
        } catch (TopologyApplyException e) {
            List<String> details = new ArrayList<>();
            if (!e.conflicts().isEmpty()) {
                e.conflicts().forEach(c -> details.add(c.toString()));
                throw new ControlException(ErrorCode.CONFLICT, "nothing changed: things nsgate did not create are "
                    + "in the way", details);
            }
            details.addAll(e.rollbackReport());
            throw new ControlException(ErrorCode.FAILED, e.getMessage().lines().findFirst().orElse("apply failed"),
                details);
        }
    }
}
