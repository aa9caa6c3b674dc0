// Flows put straight into a flow table, as the data plane would have created them (listing and flush tests).
package io.nsgate.control.api.ops;

import io.nsgate.dataplane.conntrack.FlowDraft;
import io.nsgate.dataplane.conntrack.FlowRecord;
import io.nsgate.dataplane.conntrack.FlowTable;
import io.nsgate.dataplane.conntrack.FlowView;
import io.nsgate.dataplane.conntrack.TcpState;
import io.nsgate.linux.net.Ipv4Address;

/** Established TCP flows from LAN clients to the seed lab's tcp:80 forward (DNAT to blue 192.168.15.2:80). */
public final class SyntheticFlows {
    private static final int GATEWAY = Ipv4Address.parse("192.168.1.2");
    private static final int BLUE = Ipv4Address.parse("192.168.15.2");

    private SyntheticFlows() {
    }

    /**
     * Inserts {@code n} flows from clients {@code firstClient}, {@code firstClient + 1}, ... (50,000 source ports
     * each) to 192.168.1.2:80.
     */
    public static void insertDnat(FlowTable table, int n, int firstClient) {
        FlowDraft d = new FlowDraft();
        FlowView v = new FlowView();
        long now = System.nanoTime();
        for (int i = 0; i < n; i++) {
            int client = firstClient + i / 50000;
            int port = 10000 + i % 50000;
            d.original(6, client, GATEWAY, port, 80).reply(BLUE, client, 80, port).route(1, BLUE, 0, client);
            d.natFlags = FlowRecord.NAT_DNAT;
            d.protoState = TcpState.ESTABLISHED;
            long h = table.insert(d, now, v);
            if (h < 0) {
                throw new IllegalStateException("insert of synthetic flow " + i + " refused: " + h);
            }
        }
    }
}
