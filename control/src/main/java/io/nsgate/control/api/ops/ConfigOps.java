// The configuration operations: the running configuration shown, and saved to the daemon's file.
package io.nsgate.control.api.ops;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.nsgate.control.api.ControlException;
import io.nsgate.control.api.ErrorCode;
import io.nsgate.control.api.Protocol;
import io.nsgate.control.api.Request;
import io.nsgate.control.daemon.ConfigFile;

/** config.show (the running configuration as YAML) and config.save (written atomically to the --config file). */
final class ConfigOps {
    private final ControlTarget target;

    ConfigOps(ControlTarget target) {
        this.target = target;
    }

    void register(Operations ops) {
        ops.inline("config.show", "the running configuration as YAML", this::configShow);
        ops.change("config.save", "write the running configuration to the daemon's --config file, atomically",
            this::configSave);
    }

    private Object configShow(Request r, Peer peer) {
        r.args(Operations.NoArgs.class);
        ObjectNode n = Protocol.JSON.createObjectNode();
        Path file = target.configFile();
        n.put("file", file == null ? null : file.toString());
        n.put("yaml", target.config().toYaml());
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
