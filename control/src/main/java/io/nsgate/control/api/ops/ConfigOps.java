// The configuration operations: the running configuration shown, and saved to the daemon's file.
package io.nsgate.control.api.ops;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.nsgate.control.api.ControlException;
import io.nsgate.control.api.ErrorCode;
import io.nsgate.control.api.Protocol;
import io.nsgate.control.api.Request;
import io.nsgate.control.daemon.ConfigFile;
import io.nsgate.control.daemon.GatewayConfigException;

/**
 * config.show (the running configuration as YAML), config.save (written atomically to the --config file) and
 * config.reload (the file read again, its difference applied live, or refused whole).
 */
final class ConfigOps {
    private final ControlTarget target;

    ConfigOps(ControlTarget target) {
        this.target = target;
    }

    void register(Operations ops) {
        ops.inline("config.show", "the running configuration as YAML", this::configShow);
        ops.change("config.save", "write the running configuration to the daemon's --config file, atomically",
            this::configSave);
        ops.change("config.reload", "read the daemon's --config file again and apply the difference live (refused "
            + "whole when invalid)", this::configReload);
    }

    private Object configShow(Request r, Peer peer) {
        r.args(Operations.NoArgs.class);
        ObjectNode n = Protocol.JSON.createObjectNode();
        Path file = target.configFile();
        n.put("file", file == null ? null : file.toString());
        n.put("yaml", target.config().toYaml());
        return n;
    }

    private Object configReload(Request r, Peer peer) {
        r.args(Operations.NoArgs.class);
        List<String> changed;
        try {
            changed = target.reloadConfig();
        } catch (GatewayConfigException e) {
            throw new ControlException(ErrorCode.BAD_REQUEST, "config reload refused, nothing changed: "
                + String.join("; ", e.problems()), e.problems());
        } catch (IllegalStateException e) {
            throw new ControlException(ErrorCode.FAILED, "config reload: " + e.getMessage());
        }
        ObjectNode n = Protocol.JSON.createObjectNode();
        Path file = target.configFile();
        n.put("file", file == null ? null : file.toString());
        ArrayNode list = n.putArray("changed");
        changed.forEach(list::add);
        return n;
    }

    private Object configSave(Request r, Peer peer) {
        r.args(Operations.NoArgs.class);
        Path file = target.configFile();
        if (file == null) {
            throw new ControlException(ErrorCode.FAILED, "config save: this daemon was started without --config, "
                + "so there is no file to save to (start it with --config FILE; `nsgate ctl config show` prints "
                + "the running configuration)");
        }
        int bytes;
        // a change op: taken and written while no other change or save runs, so a save that started earlier cannot
        // overwrite a later one's newer rules
        String yaml = "# nsgate configuration, saved by `nsgate ctl config save` at " + Instant.now() + "\n"
            + target.config().toYaml();
        try {
            bytes = ConfigFile.writeAtomically(file, yaml);
        } catch (IOException e) {
            throw new ControlException(ErrorCode.FAILED, "config save: cannot write " + file + ": "
                + e.getMessage() + " (the file is unchanged)");
        }
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("file", file.toString());
        n.put("bytes", bytes);
        return n;
    }
}
