package io.nsgate.control.api.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import io.nsgate.control.daemon.LocalAccess;
import io.nsgate.dataplane.nat.ForwardRule;

/** Connections of the host's own clients, as `ctl flows` lists, filters and counts them. */
class LocalFlowsTest {
    private static LocalAccess.Connection connection(String client, String reached, String from, String backend)
        throws Exception {
        ForwardRule f = ForwardRule.parse(backend.contains(":") ? "tcp:80=[" + backend + "]:80" : "tcp:80=" + backend
            + ":80");
        return new LocalAccess.Connection(7, f, new InetSocketAddress(InetAddress.getByName(client), 40000),
            new InetSocketAddress(InetAddress.getByName(reached), 80), new InetSocketAddress(InetAddress.getByName(from),
            51000), new InetSocketAddress(InetAddress.getByName(backend), 80), System.nanoTime(), new EmbeddedChannel());
    }

    private static FlowFilter filter(String src, Integer dport) {
        FlowFilter.Args a = new FlowFilter.Args();
        a.src = src;
        a.dport = dport;
        return FlowFilter.of(a, false);
    }

    @Test
    void anIpv4LocalConnectionIsAFlowOfItsOwnKindThatFiltersLikeAnyOther() throws Exception {
        LocalAccess.Connection c = connection("127.0.0.1", "127.0.0.1", "192.168.15.5", "192.168.15.2");
        ObjectNode json = FlowOps.localJson(c);
        assertEquals("local", json.path("nat").asText());
        assertEquals("local-7", json.path("id").asText());
        assertEquals("127.0.0.1", json.path("orig").path("src").asText());
        assertEquals(80, json.path("orig").path("dport").asInt());
        assertEquals("192.168.15.2", json.path("reply").path("src").asText());
        assertEquals("192.168.15.5", json.path("reply").path("dst").asText());
        assertEquals("tcp:80=192.168.15.2:80", json.path("forward").asText());
        assertTrue(FlowOps.matches(filter("127.0.0.0/8", 80), c));
        assertFalse(FlowOps.matches(filter("10.0.0.0/8", null), c));
        assertFalse(FlowOps.matches(filter(null, 443), c));
    }

    @Test
    void anIpv6OneCarriesItsAddressesForTheFilter() throws Exception {
        LocalAccess.Connection c = connection("::1", "::1", "fd15::5", "fd15::2");
        assertTrue(FlowOps.matches(filter("::1/128", 80), c));
        assertFalse(FlowOps.matches(filter("127.0.0.0/8", null), c));
        assertEquals("fd15::2", FlowOps.localJson(c).path("reply").path("src").asText());
    }
}
