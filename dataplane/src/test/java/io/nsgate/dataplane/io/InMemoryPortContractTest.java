// The PacketPort contract on the in-memory port: frames the test queues arrive, flushed frames are kept in order.
package io.nsgate.dataplane.io;

import java.util.List;

import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.linux.net.MacAddress;

/** Delivery is {@link InMemoryPort#enqueueWithHeader}; what left is {@link InMemoryPort#takeSent}. */
class InMemoryPortContractTest extends PacketPortContract {
    private static final long MAC = MacAddress.parse("02:00:00:00:00:03");
    private InMemoryPort memory;

    @Override
    protected PacketPort open() {
        memory = new InMemoryPort("lan0", 3, MAC).txCapacity(TX_CAPACITY);
        return memory;
    }

    @Override
    protected String expectedName() {
        return "lan0";
    }

    @Override
    protected int expectedIfindex() {
        return 3;
    }

    @Override
    protected long expectedMac() {
        return MAC;
    }

    @Override
    protected boolean pollable() {
        return false;
    }

    @Override
    protected void deliver(byte[] frame, byte[] vnetHeader) {
        memory.enqueueWithHeader(frame, vnetHeader);
    }

    @Override
    protected List<ReceivedFrame> left(int count) {
        return memory.takeSent().stream().map(f -> new ReceivedFrame(f.bytes(), f.vnetHeader(), f.vnetFlags(),
            f.gsoType() & ~VirtioNetHeader.GSO_ECN, f.gsoSize())).toList();
    }

    @Override
    protected List<ReceivedFrame> leftWithoutWaiting() {
        return left(0);
    }
}
