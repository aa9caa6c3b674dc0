// The rule operations: port forwards and masquerade added, removed and listed, live.
package io.nsgate.control.api.ops;

import java.util.List;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.nsgate.control.api.ControlException;
import io.nsgate.control.api.ErrorCode;
import io.nsgate.control.api.Protocol;
import io.nsgate.control.api.Request;
import io.nsgate.control.daemon.GatewayConfigException;
import io.nsgate.dataplane.nat.ForwardRule;
import io.nsgate.dataplane.nat.MasqueradeRule;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.linux.net.IpPrefix;
import io.nsgate.linux.net.Ipv4Prefix;

/**
 * forward.add/del/list and masquerade.add/del/list. A change is checked whole first (a duplicate or an unknown rule
 * is refused with the rules there are), then handed to the gateway, which orders it between the kernel guard and
 * the workers; a removed forward's flows keep working until they end.
 */
final class RuleOps {
    public static final class ForwardArgs {
        /** PROTO:[ADDRESS:]PORT[-PORT]=IP:PORT[-PORT][,...]; for forward.del the part before "=" is enough. */
        public String spec;
    }

    public static final class MasqueradeArgs {
        /** A source prefix, e.g. 10.0.0.0/24. */
        public String source;
    }

    private final ControlTarget target;

    RuleOps(ControlTarget target) {
        this.target = target;
    }

    void register(Operations ops) {
        ops.change("forward.add", "add a port forward (spec)", this::forwardAdd);
        ops.change("forward.del", "remove a port forward (spec); its flows keep working until they end",
            this::forwardDel);
        ops.inline("forward.list", "the port forwards, and removed ones whose flows still live", this::forwardList);
        ops.change("masquerade.add", "masquerade a source prefix out of the LAN interface (source)",
            this::masqueradeAdd);
        ops.change("masquerade.del", "stop masquerading a source prefix (source)", this::masqueradeDel);
        ops.inline("masquerade.list", "the masqueraded source prefixes", this::masqueradeList);
    }

    private Object forwardAdd(Request r, Peer peer) {
        String spec = Operations.required(r.args(ForwardArgs.class).spec, "spec", "tcp:8080=192.168.15.2:80");
        ForwardRule rule = parseForward(spec);
        for (ForwardRule f : target.rules().forwards()) {
            if (f.equals(rule)) {
                throw new ControlException(ErrorCode.CONFLICT, "forward " + rule + " already exists");
            }
        }
        try {
            target.addForward(rule);
        } catch (GatewayConfigException e) {
            String problem = String.join("; ", e.problems());
            throw new ControlException(problem.contains("overlap") ? ErrorCode.CONFLICT : ErrorCode.BAD_REQUEST,
                problem);
        } catch (IllegalStateException e) {
            throw new ControlException(ErrorCode.FAILED, "forward " + rule + ": " + e.getMessage());
        }
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("added", rule.toString());
        forwards(n);
        return n;
    }

    /** Backends appended to a forward's external side alone, to parse it (never shown). */
    private static final String PROBE = "=0.0.0.0:1";
    private static final String PROBE6 = "=[2001:db8::1]:1";

    private Object forwardDel(Request r, Peer peer) {
        String spec = Operations.required(r.args(ForwardArgs.class).spec, "spec",
            "tcp:8080 or tcp:8080=192.168.15.2:80");
        ForwardRule rule = null;
        List<ForwardRule> current = target.rules().forwards();
        if (spec.indexOf('=') < 0) {
            // the external side alone names the forward, like `ip route del PREFIX`; an IPv6 one is written with its
            // address in brackets ("tcp:[::]:80": the IPv6 forward on every LAN address)
            ForwardRule probe = parseForward(spec + (spec.contains("[") ? PROBE6 : PROBE));
            for (ForwardRule f : current) {
                if (f.external().equals(probe.external())) {
                    rule = f;
                }
            }
        } else {
            ForwardRule parsed = parseForward(spec);
            rule = current.contains(parsed) ? parsed : null;
        }
        if (rule == null) {
            throw new ControlException(ErrorCode.NOT_FOUND, "no forward " + spec + " (forwards: "
                + (current.isEmpty() ? "none" : String.join(", ", current.stream().map(ForwardRule::toString)
                .toList())) + ")");
        }
        try {
            if (!target.removeForward(rule)) {
                throw new ControlException(ErrorCode.NOT_FOUND, "no forward " + rule);
            }
        } catch (IllegalStateException e) {
            throw new ControlException(ErrorCode.FAILED, "forward " + rule + ": " + e.getMessage());
        }
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("removed", rule.toString());
        forwards(n);
        return n;
    }

    private Object forwardList(Request r, Peer peer) {
        r.args(Operations.NoArgs.class);
        ObjectNode n = Protocol.JSON.createObjectNode();
        forwards(n);
        return n;
    }

    private void forwards(ObjectNode n) {
        RuleSet rules = target.rules();
        ArrayNode list = n.putArray("forwards");
        rules.forwards().forEach(f -> list.add(f.toString()));
        ArrayNode lingering = n.putArray("lingering");
        rules.lingeringForwards().forEach(f -> lingering.add(f.toString()));
    }

    private static ForwardRule parseForward(String spec) {
        try {
            return ForwardRule.parse(spec);
        } catch (IllegalArgumentException e) {
            throw ControlException.badRequest(e.getMessage().replace(PROBE, "").replace(PROBE6, ""));
        }
    }

    private Object masqueradeAdd(Request r, Peer peer) {
        IpPrefix source = parsePrefix(Operations.required(r.args(MasqueradeArgs.class).source, "source",
            "10.0.0.0/24"));
        for (MasqueradeRule m : target.rules().masquerade()) {
            if (m.source().sameNetwork(source)) {
                throw new ControlException(ErrorCode.CONFLICT, "masquerade " + m.source() + " already exists");
            }
        }
        try {
            target.addMasquerade(source);
        } catch (GatewayConfigException e) {
            throw ControlException.badRequest(String.join("; ", e.problems()));
        } catch (IllegalStateException e) {
            throw new ControlException(ErrorCode.FAILED, "masquerade " + source + ": " + e.getMessage());
        }
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("added", source.toString());
        masquerade(n);
        return n;
    }

    private Object masqueradeDel(Request r, Peer peer) {
        IpPrefix source = parsePrefix(Operations.required(r.args(MasqueradeArgs.class).source, "source",
            "10.0.0.0/24"));
        IpPrefix existing = null;
        for (MasqueradeRule m : target.rules().masquerade()) {
            if (m.source().sameNetwork(source)) {
                existing = m.source();
            }
        }
        if (existing == null || !removeMasquerade(existing)) {
            throw new ControlException(ErrorCode.NOT_FOUND, "no masquerade " + source + " (masquerade: "
                + (target.rules().masquerade().isEmpty() ? "none" : String.join(", ",
                target.rules().masquerade().stream().map(m -> m.source().toString()).toList())) + ")");
        }
        ObjectNode n = Protocol.JSON.createObjectNode();
        n.put("removed", existing.toString());
        masquerade(n);
        return n;
    }

    private boolean removeMasquerade(IpPrefix existing) {
        try {
            return target.removeMasquerade(existing);
        } catch (IllegalStateException e) {
            throw new ControlException(ErrorCode.FAILED, "masquerade " + existing + ": " + e.getMessage());
        }
    }

    private Object masqueradeList(Request r, Peer peer) {
        r.args(Operations.NoArgs.class);
        ObjectNode n = Protocol.JSON.createObjectNode();
        masquerade(n);
        return n;
    }

    private void masquerade(ObjectNode n) {
        ArrayNode list = n.putArray("masquerade");
        for (MasqueradeRule m : target.rules().masquerade()) {
            ObjectNode o = list.addObject();
            o.put("source", m.source().toString());
            o.put("out", m.egressInterface());
        }
    }

    private static IpPrefix parsePrefix(String text) {
        try {
            return IpPrefix.parse(text);
        } catch (IllegalArgumentException e) {
            throw ControlException.badRequest("masquerade \"" + text + "\": " + e.getMessage());
        }
    }
}
