// One data-plane worker: an Agrona agent that receives, translates and transmits frames on its own sockets.
package io.nsgate.dataplane.pipeline;

import java.util.concurrent.CountDownLatch;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;

import io.nsgate.dataplane.conntrack.ExpirySweeper;
import io.nsgate.dataplane.io.PacketPort;
import io.nsgate.dataplane.io.RxBatch;
import io.nsgate.dataplane.nat.GatewayInterface;
import io.nsgate.dataplane.nat.RuleSet;
import io.nsgate.dataplane.nat.Translator;
import io.nsgate.dataplane.nat.Verdict;
import io.nsgate.dataplane.packet.ArpPacket;
import io.nsgate.dataplane.packet.EthernetHeader;
import io.nsgate.dataplane.packet.NeighbourSolicitation;
import io.nsgate.dataplane.packet.VirtioNetHeader;
import io.nsgate.dataplane.stats.Counter;
import io.nsgate.dataplane.stats.DropReason;
import io.nsgate.dataplane.stats.WorkerCounters;
import org.agrona.DirectBuffer;

/**
 * A worker owns one {@link PacketPort} per interface (its member of each interface's fanout group) and runs, in
 * every duty cycle ({@link #doWork}):
 * <ol>
 *   <li>a bounded number of control-plane commands (rule changes arrive this way, between batches);</li>
 *   <li>for each port, received batches up to a frame budget (the established rings first, then, with a small budget,
 *       the opening rings of a steered fanout group, where bare SYNs go): each frame goes through the
 *       {@link Translator},
 *       then, by verdict, is transmitted on the egress port with the next hop's MAC, held while ARP resolves that
 *       MAC, answered with an ICMP error, or learnt from (ARP);</li>
 *   <li>one transmit kick per port that has frames queued (the only system calls of the cycle);</li>
 *   <li>held frames whose neighbour answered (or gave up);</li>
 *   <li>a bounded slice of flow expiry ({@link ExpirySweeper}).</li>
 * </ol>
 * It returns the work done; when nothing happened the runner's idle strategy blocks in poll() briefly instead of
 * spinning (two cores: a spinning worker would steal the other's CPU).
 */
public final class Worker implements Agent {
    /** Frames taken from one port per duty cycle before the other ports get their turn. */
    static final int RX_BUDGET_PER_PORT = 256;
    /**
     * Frames taken from one opening ring (bare SYNs) per duty cycle, after every established ring had its turn: a
     * flood of new connections gets this much of the worker's time per cycle and no more.
     */
    static final int OPENING_BUDGET_PER_PORT = RxBatch.CAPACITY;
    /** Blocks smaller than this are processed without the flow-table prefetch pass (nothing to overlap). */
    static final int PREFETCH_MIN_FRAMES = 4;
    static final int COMMANDS_PER_CYCLE = 8;
    /**
     * Frames at least this long are sent from the receive slot (PacketPort.sendInPlace) rather than copied into the
     * transmit ring: {@code -Dnsgate.inPlaceMinLength}.
     */
    static final int IN_PLACE_MIN_LENGTH = Integer.getInteger("nsgate.inPlaceMinLength", 1024);

    private final int index;
    private final PacketPort[] ports;
    /** Per interface, the port of a steered fanout group's opening ring, or null (all frames come by ports[]). */
    private final PacketPort[] openingPorts;
    private final Translator translator;
    private final WorkerCounters counters;
    private final ExpirySweeper sweeper;
    private final NeighbourTable neighbours;
    /** IPv6 flows' expiry and next hops; null when the worker translates IPv4 only. */
    private final ExpirySweeper sweeper6;
    private final NeighbourTable neighbours6;
    private final NanoClock clock;
    private final ManyToOneConcurrentArrayQueue<WorkerCommand> commands = new ManyToOneConcurrentArrayQueue<>(64);
    private final RxBatch batch = new RxBatch();
    private final Verdict verdict = new Verdict();
    private final boolean[] queued;
    /** Per egress port: frames queued by sendInPlace, to send before the receive slots go back. */
    private final boolean[] inPlaceQueued;
    private final PendingFrames pending = new PendingFrames();
    private final UnsafeBuffer arpFrame = new UnsafeBuffer(new byte[EthernetHeader.LENGTH + ArpPacket.LENGTH]);
    private final UnsafeBuffer solicitation = new UnsafeBuffer(new byte[NeighbourSolicitation.LENGTH]);
    private final EthernetHeader eth = new EthernetHeader();
    private final ArpPacket arp = new ArpPacket();
    private final java.util.function.Consumer<WorkerCommand> runCommand = command -> command.run(this);
    /** The rules the translator uses too (the interfaces' addresses, for ARP requests); swapped by commands. */
    private RuleSet rules;

    /**
     * @param ports by data-plane interface index (RuleSet's), one per interface this worker serves
     */
    public Worker(int index, PacketPort[] ports, PacketPort[] openingPorts, Translator translator, RuleSet rules,
                  WorkerCounters counters, ExpirySweeper sweeper, NeighbourTable neighbours, NanoClock clock) {
        this(index, ports, openingPorts, translator, rules, counters, sweeper, neighbours, null, null, clock);
    }

    /**
     * @param sweeper6    this worker's slice of the IPv6 table's expiry, or null (IPv4 only)
     * @param neighbours6 the IPv6 neighbours, or null (IPv4 only)
     */
    public Worker(int index, PacketPort[] ports, PacketPort[] openingPorts, Translator translator, RuleSet rules,
                  WorkerCounters counters, ExpirySweeper sweeper, NeighbourTable neighbours, ExpirySweeper sweeper6,
                  NeighbourTable neighbours6, NanoClock clock) {
        this.index = index;
        this.sweeper6 = sweeper6;
        this.neighbours6 = neighbours6;
        this.rules = rules;
        this.ports = ports.clone();
        this.openingPorts = openingPorts == null ? new PacketPort[ports.length] : openingPorts.clone();
        this.translator = translator;
        this.counters = counters;
        this.sweeper = sweeper;
        this.neighbours = neighbours;
        this.clock = clock;
        this.queued = new boolean[ports.length];
        this.inPlaceQueued = new boolean[ports.length];
    }

    @Override
    public String roleName() {
        return "nsgate-worker-" + index;
    }

    public int index() {
        return index;
    }

    public WorkerCounters counters() {
        return counters;
    }

    /** Swaps the rule set; only from a {@link WorkerCommand} (the worker's thread). */
    void rules(RuleSet rules) {
        this.rules = rules;
        translator.rules(rules);
    }

    /** Queues a command; false when the queue is full (the caller retries). */
    boolean offer(WorkerCommand command) {
        return commands.offer(command);
    }

    /**
     * Duty cycles run so far (any thread). Counted in the worker's own padded counter block: a field of its own per
     * worker shared a cache line with the other worker's and cost keep-alive traffic 10-20 % in A/B runs (false
     * sharing).
     */
    long cycles() {
        return counters.get(Counter.DUTY_CYCLES);
    }

    @Override
    public int doWork() {
        counters.increment(Counter.DUTY_CYCLES);
        int work = commands.drain(runCommand, COMMANDS_PER_CYCLE);
        final long now = clock.nanoTime();
        for (int p = 0; p < ports.length; p++) {
            if (ports[p] != null) {
                work += receive(ports[p], p, RX_BUDGET_PER_PORT, now);
            }
        }
        // established traffic first; then what would open flows, within its budget
        for (int p = 0; p < openingPorts.length; p++) {
            if (openingPorts[p] != null) {
                work += receive(openingPorts[p], p, OPENING_BUDGET_PER_PORT, now);
            }
        }
        if (pending.count > 0) {
            work += retryPending(now);
        }
        flush();
        final int expired = sweeper.sweep(now) + (sweeper6 != null ? sweeper6.sweep(now) : 0);
        if (expired > 0) {
            counters.add(Counter.FLOWS_EXPIRED, expired);
            work++;
        }
        return work;
    }

    private int receive(PacketPort port, int ingress, int budget, long now) {
        int frames = 0;
        while (frames < budget) {
            final int n = port.receive(batch);
            if (n == 0) {
                break;
            }
            counters.increment(Counter.RX_BATCHES);
            counters.add(Counter.FRAMES_RECEIVED, n);
            final MutableDirectBuffer buffer = batch.buffer;
            if (n >= PREFETCH_MIN_FRAMES) {
                translator.prefetch(buffer, batch.frameOffset, batch.frameLength, n, now);
            }
            for (int i = 0; i < n; i++) {
                handle(ingress, buffer, batch.vnetOffset[i], batch.frameOffset[i], batch.frameLength[i],
                    batch.packetType[i], batch.vnetFlags[i], batch.gsoType[i], batch.gsoSize[i], now);
            }
            flushInPlace(); // before the next receive hands this batch's slots back to the kernel
            frames += n;
        }
        return frames;
    }

    private void handle(int ingress, MutableDirectBuffer buffer, int vnetOffset, int frameOffset, int frameLength,
                        int packetType, int vnetFlags, int gsoType, int gsoSize, long now) {
        switch (translator.process(buffer, frameOffset, frameLength, ingress, packetType, vnetFlags, gsoType, gsoSize,
            now, verdict)) {
            case Verdict.FORWARD:
                if (verdict.frameShift != 0) {
                    // translated between IPv4 and IPv6: the frame starts elsewhere, its virtio-net header in front
                    frameOffset += verdict.frameShift;
                    frameLength -= verdict.frameShift;
                    vnetOffset = vnetOffset >= 0 ? frameOffset - VirtioNetHeader.LENGTH : -1;
                }
                if (verdict.ipv6) {
                    send6(buffer, vnetOffset, frameOffset, frameLength, verdict.egressInterface, verdict.nextHop6High,
                        verdict.nextHop6Low, now);
                } else {
                    send(buffer, vnetOffset, frameOffset, frameLength, verdict.egressInterface, verdict.nextHopIp, now);
                }
                break;
            case Verdict.EMIT:
                transmit(verdict.egressInterface, verdict.emitBuffer, -1, 0, verdict.emitLength);
                break;
            case Verdict.ARP:
                if (verdict.neighbourIp != 0) {
                    neighbours.learn(ingress, verdict.neighbourIp, verdict.neighbourMac, now,
                        verdict.neighbourCreate);
                } else if (verdict.neighbour6 && neighbours6 != null) {
                    neighbours6.learn(ingress, verdict.neighbour6High, verdict.neighbour6Low, verdict.neighbourMac, now,
                        verdict.neighbourCreate);
                }
                break;
            default:
                break; // LOCAL: the kernel has its own copy; DROP: counted by the translator
        }
    }

    /** Transmits a translated frame towards {@code nextHop}, or holds it while the neighbour is resolved. */
    private void send(MutableDirectBuffer buffer, int vnetOffset, int frameOffset, int frameLength, int egress,
                      int nextHop, long now) {
        final PacketPort port = egress < ports.length ? ports[egress] : null;
        if (port == null) {
            counters.drop(DropReason.NO_ROUTE);
            return;
        }
        long mac = neighbours.lookup(egress, nextHop, now);
        if (mac == NeighbourTable.UNKNOWN) {
            if (!pending.hold(buffer, vnetOffset, frameOffset, frameLength, egress, nextHop, now)) {
                counters.drop(DropReason.NO_NEIGHBOUR);
            }
            requestMac(egress, nextHop, now);
            return;
        }
        if ((mac & NeighbourTable.STALE_BIT) != 0) {
            mac &= ~NeighbourTable.STALE_BIT;
            requestMac(egress, nextHop, now); // refresh, while still using what we know
        }
        sendTo(port, buffer, vnetOffset, frameOffset, frameLength, egress, mac);
    }

    /** As {@link #send} for an IPv6 frame: the next hop's MAC by neighbour discovery. */
    private void send6(MutableDirectBuffer buffer, int vnetOffset, int frameOffset, int frameLength, int egress,
                       long high, long low, long now) {
        final PacketPort port = egress < ports.length ? ports[egress] : null;
        if (port == null || neighbours6 == null) {
            counters.drop(DropReason.NO_ROUTE);
            return;
        }
        long mac = neighbours6.lookup(egress, high, low, now);
        if (mac == NeighbourTable.UNKNOWN) {
            if (!pending.hold6(buffer, vnetOffset, frameOffset, frameLength, egress, high, low, now)) {
                counters.drop(DropReason.NO_NEIGHBOUR);
            }
            solicit(egress, high, low, now);
            return;
        }
        if ((mac & NeighbourTable.STALE_BIT) != 0) {
            mac &= ~NeighbourTable.STALE_BIT;
            solicit(egress, high, low, now);
        }
        sendTo(port, buffer, vnetOffset, frameOffset, frameLength, egress, mac);
    }

    private void sendTo(PacketPort port, MutableDirectBuffer buffer, int vnetOffset, int frameOffset, int frameLength,
                        int egress, long mac) {
        EthernetHeader.putMac(buffer, frameOffset + EthernetHeader.DESTINATION_MAC_OFFSET, mac);
        EthernetHeader.putMac(buffer, frameOffset + EthernetHeader.SOURCE_MAC_OFFSET, port.mac());
        // Large frames leave from the receive slot (no Java copy), small ones through the transmit ring. A port's two
        // queues keep the frames' order: a ring frame after in-place ones sends those first (rare: sizes alternate),
        // and ring frames before in-place ones are kicked before them at the batch's end.
        if (vnetOffset >= 0 && frameLength >= IN_PLACE_MIN_LENGTH
            && port.sendInPlace(buffer, vnetOffset, frameOffset, frameLength)) {
            inPlaceQueued[egress] = true;
            counters.increment(Counter.TX_FRAMES);
            return;
        }
        if (inPlaceQueued[egress]) {
            flushInPlace(egress);
        }
        transmit(egress, buffer, vnetOffset, frameOffset, frameLength);
    }

    /**
     * Sends what the batch queued in place, while the receive slots it points into are still the worker's; ring frames
     * queued before them go first.
     */
    private void flushInPlace() {
        for (int p = 0; p < inPlaceQueued.length; p++) {
            if (inPlaceQueued[p]) {
                flushInPlace(p);
            }
        }
    }

    /** Port {@code p}'s ring frames (all queued before its in-place ones), then its in-place frames. */
    private void flushInPlace(int p) {
        inPlaceQueued[p] = false;
        if (queued[p]) {
            queued[p] = false;
            ports[p].flush();
            counters.increment(Counter.TX_BATCHES);
        }
        ports[p].flushInPlace();
        counters.increment(Counter.TX_BATCHES);
    }

    private void transmit(int egress, DirectBuffer buffer, int vnetOffset, int frameOffset, int frameLength) {
        final PacketPort port = egress < ports.length ? ports[egress] : null;
        if (port == null) {
            counters.drop(DropReason.NO_ROUTE);
        } else if (port.transmit(buffer, vnetOffset, frameOffset, frameLength)) {
            queued[egress] = true;
            counters.increment(Counter.TX_FRAMES);
        } else {
            counters.drop(DropReason.TX_RING_FULL);
        }
    }

    private void flush() {
        for (int p = 0; p < queued.length; p++) {
            if (queued[p] || (ports[p] != null && ports[p].flushOwed())) {
                queued[p] = false;
                ports[p].flush(); // a kick the kernel refused (EAGAIN, ENOBUFS) is owed and retried next cycle
                counters.increment(Counter.TX_BATCHES);
            }
        }
    }

    private int retryPending(long now) {
        int sent = 0;
        for (int s = 0; s < PendingFrames.SLOTS; s++) {
            if (!pending.used[s]) {
                continue;
            }
            final int egress = pending.egress[s];
            final boolean v6 = pending.ipv6[s];
            final long mac = v6 ? neighbours6.lookup(egress, pending.nextHop6High[s], pending.nextHop6Low[s], now)
                : neighbours.lookup(egress, pending.nextHop[s], now);
            if (mac != NeighbourTable.UNKNOWN) {
                final int frame = pending.frameOffset(s);
                EthernetHeader.putMac(pending.data, frame + EthernetHeader.DESTINATION_MAC_OFFSET,
                    mac & ~NeighbourTable.STALE_BIT);
                EthernetHeader.putMac(pending.data, frame + EthernetHeader.SOURCE_MAC_OFFSET, ports[egress].mac());
                transmit(egress, pending.data, pending.vnetOffset(s), frame, pending.length[s]);
                pending.release(s);
                sent++;
            } else if (now - pending.since[s] > PendingFrames.HOLD_NS) {
                pending.release(s);
                counters.drop(DropReason.NO_NEIGHBOUR);
            } else if (v6) {
                solicit(egress, pending.nextHop6High[s], pending.nextHop6Low[s], now);
            } else {
                requestMac(egress, pending.nextHop[s], now);
            }
        }
        return sent;
    }

    /**
     * The interface's MAC changed: this worker's port sends with {@code mac} from now on, and, when
     * {@code announce}, a gratuitous ARP tells the link (as the kernel does on NETDEV_CHANGEADDR), so that no
     * neighbour keeps the old MAC. Only from a {@link WorkerCommand}.
     */
    void interfaceMac(int iface, long mac, boolean announce) {
        final PacketPort port = iface < ports.length ? ports[iface] : null;
        if (port == null) {
            return;
        }
        port.mac(mac);
        final GatewayInterface gi = rules.iface(iface);
        if (announce && gi != null) {
            sendArp(iface, ArpPacket.OP_REQUEST, gi.ip()); // sender and target: the interface's own address
            flush();
        }
    }

    /** Broadcasts an ARP request for {@code ip} on {@code egress}, at most once a second per neighbour. */
    private void requestMac(int egress, int ip, long now) {
        if (!neighbours.shouldRequest(egress, ip, now)) {
            return;
        }
        sendArp(egress, ArpPacket.OP_REQUEST, ip);
    }

    /** Broadcasts an ARP {@code operation} from the interface's address and MAC about {@code targetIp}. */
    private void sendArp(int egress, int operation, int targetIp) {
        final GatewayInterface iface = rules.iface(egress);
        final PacketPort port = ports[egress];
        if (iface == null || port == null) {
            return;
        }
        eth.wrap(arpFrame, 0);
        eth.destinationMac(EthernetHeader.BROADCAST_MAC);
        eth.sourceMac(port.mac());
        eth.etherType(EthernetHeader.ETHERTYPE_ARP);
        arp.wrap(arpFrame, EthernetHeader.LENGTH);
        arp.hardwareType(ArpPacket.HARDWARE_TYPE_ETHERNET);
        arp.protocolType(EthernetHeader.ETHERTYPE_IPV4);
        arp.hardwareLength(ArpPacket.HARDWARE_LENGTH_ETHERNET);
        arp.protocolLength(ArpPacket.PROTOCOL_LENGTH_IPV4);
        arp.operation(operation);
        arp.senderMac(port.mac());
        arp.senderIp(iface.ip());
        arp.targetMac(0);
        arp.targetIp(targetIp);
        transmit(egress, arpFrame, -1, 0, EthernetHeader.LENGTH + ArpPacket.LENGTH);
    }

    /**
     * Sends a neighbour solicitation for {@code (high, low)} on {@code egress} (RFC 4861 7.2.2), at most once a second
     * per neighbour, from the interface's first IPv6 address.
     */
    private void solicit(int egress, long high, long low, long now) {
        final GatewayInterface iface = rules.iface(egress);
        final PacketPort port = egress < ports.length ? ports[egress] : null;
        if (iface == null || port == null || iface.ipv6().isEmpty() || !neighbours6.shouldRequest(egress, high, low,
            now)) {
            return;
        }
        final io.nsgate.linux.net.Ipv6Address from = iface.ipv6Address();
        final int length = NeighbourSolicitation.write(solicitation, port.mac(), from.high(), from.low(), high, low);
        transmit(egress, solicitation, -1, 0, length);
    }

    /** Sends {@code command} and returns a latch counted down once applied. */
    static CountDownLatch send(Worker worker, WorkerCommand command) {
        while (!worker.offer(command)) {
            Thread.onSpinWait();
        }
        return command.done();
    }

    @Override
    public void onClose() {
        for (PacketPort[] set : new PacketPort[][] {ports, openingPorts}) {
            for (PacketPort port : set) {
                if (port != null) {
                    port.close();
                }
            }
        }
    }
}
