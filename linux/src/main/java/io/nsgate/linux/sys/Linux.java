// Linux ABI constants (x86_64 and aarch64 agree on all of them) used by the syscall wrappers and their callers.
package io.nsgate.linux.sys;

/** Constants from the kernel's uapi headers; the header each group comes from is named above it. */
public final class Linux {
    private Linux() {
    }

    // <sys/socket.h>, <linux/socket.h>
    public static final int AF_UNSPEC = 0;
    public static final int AF_UNIX = 1;
    public static final int AF_INET = 2;
    public static final int AF_BRIDGE = 7;
    public static final int AF_INET6 = 10;
    public static final int AF_NETLINK = 16;
    public static final int AF_PACKET = 17;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_RAW = 3;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOCK_CLOEXEC = 0x80000;
    public static final int SOL_SOCKET = 1;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    public static final int SO_SNDBUFFORCE = 32;
    public static final int SO_RCVBUFFORCE = 33;
    /** getsockopt: reads and clears the socket's pending error (what poll() reports as POLLERR). */
    public static final int SO_ERROR = 4;
    public static final int MSG_PEEK = 0x2;
    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_DONTWAIT = 0x40;

    // <linux/netlink.h>
    public static final int SOL_NETLINK = 270;
    public static final int NETLINK_ROUTE = 0;
    public static final int NETLINK_ADD_MEMBERSHIP = 1;
    public static final int NETLINK_CAP_ACK = 10;
    public static final int NETLINK_EXT_ACK = 11;
    public static final int NETLINK_GET_STRICT_CHK = 12;

    // <sched.h>
    public static final int CLONE_NEWNS = 0x00020000;
    public static final int CLONE_NEWNET = 0x40000000;

    // <sys/mount.h>
    public static final long MS_RDONLY = 1;
    public static final long MS_BIND = 4096;
    public static final long MS_REC = 16384;
    public static final long MS_PRIVATE = 1 << 18;
    public static final long MS_SLAVE = 1 << 19;
    public static final long MS_SHARED = 1 << 20;
    public static final int MNT_DETACH = 2;

    // <fcntl.h>
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_NONBLOCK = 04000;
    public static final int O_CLOEXEC = 02000000;

    // <sys/file.h>
    public static final int LOCK_EX = 2;
    public static final int LOCK_NB = 4;

    // <linux/magic.h>
    public static final long TMPFS_MAGIC = 0x01021994L;
    public static final long BPF_FS_MAGIC = 0xcafe4a11L;

    // <poll.h>
    public static final short POLLIN = 0x1;
    public static final short POLLOUT = 0x4;
    public static final short POLLERR = 0x8;
    public static final short POLLHUP = 0x10;
    public static final short POLLNVAL = 0x20;

    // <sys/mman.h>
    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_LOCKED = 0x2000;
    public static final int MAP_POPULATE = 0x8000;
    public static final long MAP_FAILED = -1L;
    /** x86_64 system call numbers for the calls made through syscall(2). */
    public static final long SYS_MMAP = 9;
    public static final long SYS_SENDTO = 44;
    public static final long SYS_RECVFROM = 45;
    public static final long SYS_BPF = 321;
    // <linux/if_ether.h>
    public static final int ETH_P_ALL = 0x0003;
    public static final int ETH_P_IP = 0x0800;
    public static final int ETH_P_ARP = 0x0806;
    public static final int ETH_P_8021Q = 0x8100;
    public static final int ETH_HLEN = 14;

    // <linux/sockios.h>, <net/if.h>
    public static final long SIOCGIFHWADDR = 0x8927;
    public static final long SIOCGIFINDEX = 0x8933;
    /** Interface names are at most IFNAMSIZ - 1 = 15 bytes (a NUL ends them in struct ifreq). */
    public static final int IFNAMSIZ = 16;
    /** sizeof(struct ifreq) on LP64: the name, then a 24-byte union (ifr_ifindex, ifr_hwaddr ...). */
    public static final int IFREQ_SIZE = 40;
    public static final int ARPHRD_ETHER = 1;

    // <linux/if_packet.h> (Debian's headers here are 6.1: the later constants are defined by hand)
    public static final int SOL_PACKET = 263;
    public static final int PACKET_RX_RING = 5;
    public static final int PACKET_STATISTICS = 6;
    public static final int PACKET_VERSION = 10;
    public static final int PACKET_HDRLEN = 11;
    public static final int PACKET_RESERVE = 12;
    public static final int PACKET_TX_RING = 13;
    public static final int PACKET_LOSS = 14;
    public static final int PACKET_VNET_HDR = 15;
    public static final int PACKET_FANOUT = 18;
    public static final int PACKET_TX_HAS_OFF = 19;
    public static final int PACKET_QDISC_BYPASS = 20;
    public static final int PACKET_IGNORE_OUTGOING = 23;
    /** Linux 6.2+: sets the virtio-net header length (10 or 12); PACKET_VNET_HDR = 1 is the same as 10. */
    public static final int PACKET_VNET_HDR_SZ = 24;
    /** sockaddr_ll.sll_pkttype: what the link-layer destination made of a received frame (linux/if_packet.h). */
    public static final int PACKET_HOST = 0;
    public static final int PACKET_BROADCAST = 1;
    public static final int PACKET_MULTICAST = 2;
    /** Unicast to another host's MAC: seen only because the interface is promiscuous. */
    public static final int PACKET_OTHERHOST = 3;
    public static final int PACKET_OUTGOING = 4;
    /** Offset of sll_pkttype in struct sockaddr_ll. */
    public static final int SOCKADDR_LL_PKTTYPE_OFFSET = 10;
    public static final int TPACKET_V1 = 0;
    public static final int TPACKET_V2 = 1;
    public static final int TPACKET_V3 = 2;
    public static final int TPACKET_ALIGNMENT = 16;
    public static final int PACKET_FANOUT_HASH = 0;
    public static final int PACKET_FANOUT_LB = 1;
    public static final int PACKET_FANOUT_CPU = 2;
    /** The group's classic BPF program (PACKET_FANOUT_DATA) returns the member's index. */
    public static final int PACKET_FANOUT_CBPF = 6;
    /** setsockopt: the program of a PACKET_FANOUT_CBPF group (struct sock_fprog). */
    public static final int PACKET_FANOUT_DATA = 22;
    public static final int PACKET_FANOUT_FLAG_ROLLOVER = 0x1000;
    public static final int PACKET_FANOUT_FLAG_UNIQUEID = 0x2000;
    /** Linux 6.2+: a fanout group's own PACKET_IGNORE_OUTGOING (the socket option does not apply to members). */
    public static final int PACKET_FANOUT_FLAG_IGNORE_OUTGOING = 0x4000;
    public static final int PACKET_FANOUT_FLAG_DEFRAG = 0x8000;
    // RX ring status bits (tpacket3_hdr.tp_status, tpacket_hdr_v1.block_status)
    public static final int TP_STATUS_KERNEL = 0;
    public static final int TP_STATUS_USER = 1;
    public static final int TP_STATUS_COPY = 1 << 1;
    public static final int TP_STATUS_LOSING = 1 << 2;
    public static final int TP_STATUS_CSUMNOTREADY = 1 << 3;
    public static final int TP_STATUS_VLAN_VALID = 1 << 4;
    public static final int TP_STATUS_BLK_TMO = 1 << 5;
    public static final int TP_STATUS_VLAN_TPID_VALID = 1 << 6;
    public static final int TP_STATUS_CSUM_VALID = 1 << 7;
    /** Linux 6.5+: the frame is a TCP GSO super-frame (with PACKET_VNET_HDR its header says so too). */
    public static final int TP_STATUS_GSO_TCP = 1 << 8;
    // TX ring status values (tpacket3_hdr.tp_status)
    public static final int TP_STATUS_AVAILABLE = 0;
    public static final int TP_STATUS_SEND_REQUEST = 1;
    public static final int TP_STATUS_SENDING = 1 << 1;
    public static final int TP_STATUS_WRONG_FORMAT = 1 << 2;

    /** madvise(2): back this range with transparent huge pages (THP in "madvise" mode needs it). */
    public static final int MADV_HUGEPAGE = 14;
}
