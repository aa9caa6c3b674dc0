// A NETLINK_ROUTE socket: sends requests, matches acks and errors by sequence number, and walks multipart dumps.
package io.nsgate.control.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import io.nsgate.linux.sys.Linux;
import io.nsgate.linux.sys.SyscallException;
import io.nsgate.linux.sys.Syscalls;

/**
 * Theory of operation. A netlink socket belongs to the network namespace of the thread that created it, for
 * its whole life: open it on a thread inside namespace X (see {@code NetNs}) and it manages X from any thread.
 * Each request gets the next sequence number; the reply loop ignores messages carrying another number (left over
 * from an abandoned exchange). Requests ask for an ack (NLM_F_ACK) and complete on the NLMSG_ERROR whose error
 * is 0; a negative error becomes a {@link NetlinkException} with the kernel's extended-ack text (NETLINK_EXT_ACK).
 * Dumps (NLM_F_DUMP) complete on NLMSG_DONE and may span many datagrams; a dump the kernel flags as interrupted
 * (NLM_F_DUMP_INTR, the table changed meanwhile) is restarted. Each datagram is first peeked with MSG_TRUNC to
 * learn its size, and the receive buffer grows when one would not fit, so no reply is ever cut short.
 *
 * <p>Not thread-safe: one exchange at a time (the topology applier gives each namespace its own socket).
 */
public final class NetlinkSocket implements AutoCloseable {
    /** How a dump hands over each message: {@code buf} holds it at {@code [offset, offset+length)}. */
    @FunctionalInterface
    public interface MessageHandler {
        void onMessage(int type, ByteBuffer buf, int offset, int length);
    }

    private static final int DEFAULT_RECEIVE_BUFFER = 64 * 1024;
    private static final int SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
    private static final int MAX_DUMP_RESTARTS = 8;

    private final int fd;
    private final String label;
    private ByteBuffer rx;
    private int seq;
    private long datagrams;
    private boolean closed;
    // The walk over the datagram last received into rx (receiveMessages, then while (nextMessage())).
    private int rxEnd;
    private int msgOff;
    private int msgLen;

    private NetlinkSocket(int fd, String label, int receiveBuffer) {
        this.fd = fd;
        this.label = label;
        this.rx = ByteBuffer.allocateDirect(receiveBuffer).order(ByteOrder.nativeOrder());
        this.seq = (int) (System.nanoTime() & 0x3fffffff);
    }

    /** Opens a NETLINK_ROUTE socket in the calling thread's network namespace; {@code label} names it in errors. */
    public static NetlinkSocket openRoute(String label) {
        return openRoute(label, DEFAULT_RECEIVE_BUFFER);
    }

    /** As {@link #openRoute(String)}, with the initial receive buffer size (it grows as replies require). */
    public static NetlinkSocket openRoute(String label, int receiveBuffer) {
        int fd = Syscalls.socket(Linux.AF_NETLINK, Linux.SOCK_RAW | Linux.SOCK_CLOEXEC, Linux.NETLINK_ROUTE,
            "NETLINK_ROUTE in " + label);
        try {
            // Bigger socket buffers let a batch of requests queue its acks; FORCE needs CAP_NET_ADMIN, so fall back.
            for (int[] opt : new int[][] {{Linux.SO_RCVBUFFORCE, Linux.SO_RCVBUF}, {Linux.SO_SNDBUFFORCE, Linux.SO_SNDBUF}}) {
                try {
                    Syscalls.setsockopt(fd, Linux.SOL_SOCKET, opt[0], SOCKET_BUFFER_BYTES, label);
                } catch (SyscallException e) {
                    Syscalls.setsockopt(fd, Linux.SOL_SOCKET, opt[1], SOCKET_BUFFER_BYTES, label);
                }
            }
            Syscalls.setsockopt(fd, Linux.SOL_NETLINK, Linux.NETLINK_EXT_ACK, 1, "NETLINK_EXT_ACK in " + label);
            Syscalls.setsockopt(fd, Linux.SOL_NETLINK, Linux.NETLINK_CAP_ACK, 1, "NETLINK_CAP_ACK in " + label);
            ByteBuffer sa = ByteBuffer.allocateDirect(12).order(ByteOrder.nativeOrder());
            sa.putShort(0, (short) Linux.AF_NETLINK); // sockaddr_nl { family; pad; pid = 0 (kernel assigns); groups = 0 }
            Syscalls.bind(fd, sa, "NETLINK_ROUTE in " + label);
            return new NetlinkSocket(fd, label, Math.max(receiveBuffer, 64));
        } catch (RuntimeException e) {
            Syscalls.closeQuietly(fd);
            throw e;
        }
    }

    /** What this socket manages, e.g. the namespace name. */
    public String label() {
        return label;
    }

    /** How many datagrams this socket has received (a dump of many links spans several). */
    public long datagramsReceived() {
        return datagrams;
    }

    /** The current receive buffer size (grows when a datagram would not fit). */
    public int receiveBufferSize() {
        return rx.capacity();
    }

    /**
     * Sends the single message in {@code request} with NLM_F_ACK and waits for its ack.
     *
     * @throws NetlinkException naming {@code subject} when the kernel refuses it
     */
    public void request(NetlinkMessageWriter request, String subject) {
        NetlinkException refused = requestBatch(request, new String[] {subject})[0];
        if (refused != null) {
            throw refused;
        }
    }

    /**
     * Sends all messages in {@code requests} in one datagram, each with NLM_F_ACK, and collects every ack. The
     * kernel handles them in order and goes on after a failure, so each gets its own verdict.
     *
     * @return per message, null when it succeeded or the exception saying why not
     */
    public NetlinkException[] requestBatch(NetlinkMessageWriter requests, String[] subjects) {
        ByteBuffer msg = requests.buffer();
        int count = subjects.length;
        int[] seqs = new int[count];
        int[] types = new int[count];
        int pos = 0;
        for (int i = 0; i < count; i++) {
            if (pos >= msg.limit()) {
                throw new IllegalArgumentException(count + " subjects but only " + i + " messages");
            }
            types[i] = Short.toUnsignedInt(msg.getShort(pos + 4));
            seqs[i] = stamp(msg, pos, Rtnl.NLM_F_ACK);
            pos += Rtnl.align(msg.getInt(pos));
        }
        NetlinkException[] verdicts = new NetlinkException[count];
        if (count == 0) {
            return verdicts;
        }
        send(msg, types[0], subjects[0]);
        int firstSeq = seqs[0];
        int pending = count;
        boolean[] done = new boolean[count];
        while (pending > 0) {
            receiveMessages(types[0], subjects[0]);
            while (nextMessage()) {
                int i = msgSeq() - firstSeq;
                if (i >= 0 && i < count && !done[i] && msgType() == Rtnl.NLMSG_ERROR) {
                    verdicts[i] = refusal(Rtnl.typeName(types[i]), subjects[i]);
                    done[i] = true;
                    pending--;
                }
            }
        }
        return verdicts;
    }

    /**
     * Sends a dump request (NLM_F_DUMP is added) and hands every reply message to {@code handler}; restarts from
     * scratch when the kernel flags the dump as interrupted, so the handler must tolerate a restart (it is told by
     * {@code onRestart}).
     */
    public void dump(NetlinkMessageWriter request, String subject, MessageHandler handler, Runnable onRestart) {
        ByteBuffer msg = request.buffer();
        int type = Short.toUnsignedInt(msg.getShort(4));
        for (int attempt = 0; ; attempt++) {
            int mySeq = stamp(msg, msg.position(), Rtnl.NLM_F_DUMP);
            send(msg, type, subject);
            boolean interrupted = false;
            boolean finished = false;
            while (!finished) {
                receiveMessages(type, subject);
                while (nextMessage()) {
                    if (msgSeq() != mySeq) {
                        continue;
                    }
                    int mtype = msgType();
                    if ((msgFlags() & Rtnl.NLM_F_DUMP_INTR) != 0) {
                        interrupted = true;
                    }
                    if (mtype == Rtnl.NLMSG_DONE) {
                        finished = true;
                        int error = msgLen >= Rtnl.NLMSG_HDRLEN + 4 ? rx.getInt(msgOff + Rtnl.NLMSG_HDRLEN) : 0;
                        if (error < 0) {
                            throw new NetlinkException(Rtnl.typeName(type) + " dump", subject, -error, null);
                        }
                    } else if (mtype == Rtnl.NLMSG_ERROR) {
                        NetlinkException refused = refusal(Rtnl.typeName(type) + " dump", subject);
                        if (refused != null) {
                            throw refused;
                        }
                        finished = true;
                    } else if (!interrupted && mtype != Rtnl.NLMSG_NOOP) {
                        handler.onMessage(mtype, rx, msgOff, msgLen);
                    }
                }
            }
            if (!interrupted) {
                return;
            }
            if (attempt >= MAX_DUMP_RESTARTS) {
                throw new IllegalStateException(Rtnl.typeName(type) + " dump of " + subject
                    + " kept being interrupted by concurrent changes");
            }
            if (onRestart != null) {
                onRestart.run();
            }
        }
    }

    /**
     * Sends a request that answers with one message (e.g. RTM_GETLINK by name) and hands it to {@code handler}.
     */
    public void get(NetlinkMessageWriter request, String subject, MessageHandler handler) {
        ByteBuffer msg = request.buffer();
        int type = Short.toUnsignedInt(msg.getShort(4));
        int mySeq = stamp(msg, msg.position(), 0);
        send(msg, type, subject);
        while (true) {
            receiveMessages(type, subject);
            while (nextMessage()) {
                if (msgSeq() == mySeq) {
                    if (msgType() == Rtnl.NLMSG_ERROR) {
                        NetlinkException refused = refusal(Rtnl.typeName(type), subject);
                        throw refused != null ? refused
                            : new NetlinkException(Rtnl.typeName(type), subject, 0, "an ack instead of the reply");
                    }
                    handler.onMessage(msgType(), rx, msgOff, msgLen);
                    return;
                }
            }
        }
    }

    private int stamp(ByteBuffer msg, int offset, int extraFlags) {
        int mySeq = ++seq;
        msg.putShort(offset + 6, (short) (msg.getShort(offset + 6) | extraFlags | Rtnl.NLM_F_REQUEST));
        msg.putInt(offset + 8, mySeq);
        return mySeq;
    }

    private void send(ByteBuffer msg, int type, String subject) {
        checkOpen();
        int n = Syscalls.sendmsg(fd, msg, null, 0, Rtnl.typeName(type) + " " + subject + " in " + label);
        if (n != msg.remaining()) {
            throw new SyscallException("sendmsg", Rtnl.typeName(type) + " " + subject + " in " + label,
                io.nsgate.linux.sys.Errno.EAGAIN, "short send: " + n + " of " + msg.remaining() + " bytes");
        }
    }

    /** Receives one datagram into {@code rx} (grown to fit first); returns its length. */
    private int receive(int type, String subject) {
        checkOpen();
        while (true) {
            rx.clear();
            int size = Syscalls.recvmsg(fd, rx, null, Linux.MSG_PEEK | Linux.MSG_TRUNC,
                "reply to " + Rtnl.typeName(type) + " " + subject + " in " + label);
            if (size > rx.capacity()) {
                rx = ByteBuffer.allocateDirect(Integer.highestOneBit(size - 1) << 1).order(ByteOrder.nativeOrder());
                continue;
            }
            rx.clear();
            datagrams++;
            return Syscalls.recvmsg(fd, rx, null, 0, "reply to " + Rtnl.typeName(type) + " " + subject + " in " + label);
        }
    }

    /** Receives one datagram and starts the walk over its messages ({@link #nextMessage()}). */
    private void receiveMessages(int type, String subject) {
        rxEnd = receive(type, subject);
        msgOff = 0;
        msgLen = 0;
    }

    /** Steps to the next whole message of the datagram; false at its end or at a malformed length. */
    private boolean nextMessage() {
        msgOff += Rtnl.align(msgLen);
        if (msgOff + Rtnl.NLMSG_HDRLEN > rxEnd) {
            return false;
        }
        msgLen = rx.getInt(msgOff);
        return msgLen >= Rtnl.NLMSG_HDRLEN && msgOff + msgLen <= rxEnd;
    }

    private int msgType() {
        return Short.toUnsignedInt(rx.getShort(msgOff + 4));
    }

    private int msgFlags() {
        return Short.toUnsignedInt(rx.getShort(msgOff + 6));
    }

    private int msgSeq() {
        return rx.getInt(msgOff + 8);
    }

    /** The current message, an NLMSG_ERROR: null for an ack (error 0), else the refusal with the kernel's text. */
    private NetlinkException refusal(String operation, String subject) {
        int error = rx.getInt(msgOff + Rtnl.NLMSG_HDRLEN);
        return error == 0 ? null : new NetlinkException(operation, subject, -error, extackMessage(msgOff, msgLen));
    }

    /** The NLMSGERR_ATTR_MSG text of the NLMSG_ERROR at {@code off}, or null. */
    private String extackMessage(int off, int len) {
        int flags = Short.toUnsignedInt(rx.getShort(off + 6));
        if ((flags & Rtnl.NLM_F_ACK_TLVS) == 0) {
            return null;
        }
        int inner = off + Rtnl.NLMSG_HDRLEN + 4; // struct nlmsgerr: int error; struct nlmsghdr msg; [payload]
        int innerLen = (flags & Rtnl.NLM_F_CAPPED) != 0 ? Rtnl.NLMSG_HDRLEN : rx.getInt(inner);
        int tlvs = inner + Rtnl.align(innerLen);
        if (tlvs >= off + len) {
            return null;
        }
        String text = new NetlinkAttributes(rx, tlvs, off + len).string(Rtnl.NLMSGERR_ATTR_MSG);
        return text == null || text.isEmpty() ? null : text;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("netlink socket for " + label + " is closed");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Syscalls.closeQuietly(fd);
        }
    }
}
