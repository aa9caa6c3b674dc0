// The bad-input suite against a control socket over an in-memory data plane.
package io.nsgate.control.api;

import io.nsgate.control.api.ops.ControlTarget;
import io.nsgate.control.api.ops.InMemoryGateway;

class BadInputInMemoryTest extends BadInputContract {
    private InMemoryGateway gateway;
    private int nextClient = 0x0A200000;

    @Override
    ControlTarget startGateway() {
        gateway = new InMemoryGateway(1 << 16, null);
        return gateway;
    }

    @Override
    void stopGateway() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Override
    void insertFlows(int n) {
        gateway.insertDnatFlows(n, nextClient);
        nextClient += 0x100;
    }
}
