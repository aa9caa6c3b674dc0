// rtnetlink and netlink protocol numbers, from linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h, neighbour.h, veth.h.
package io.nsgate.control.netlink;

/** Wire constants of netlink and rtnetlink; the uapi header of each group is named above it. */
public final class Rtnl {
    private Rtnl() {
    }

    // linux/netlink.h: struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }
    public static final int NLMSG_HDRLEN = 16;
    public static final int NLMSG_NOOP = 1;
    public static final int NLMSG_ERROR = 2;
    public static final int NLMSG_DONE = 3;
    public static final int NLMSG_OVERRUN = 4;
    public static final int NLM_F_REQUEST = 0x01;
    public static final int NLM_F_MULTI = 0x02;
    public static final int NLM_F_ACK = 0x04;
    public static final int NLM_F_DUMP_INTR = 0x10;
    public static final int NLM_F_ROOT = 0x100;
    public static final int NLM_F_MATCH = 0x200;
    public static final int NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
    public static final int NLM_F_REPLACE = 0x100;
    public static final int NLM_F_EXCL = 0x200;
    public static final int NLM_F_CREATE = 0x400;
    // flags of an NLMSG_ERROR ack
    public static final int NLM_F_CAPPED = 0x100;
    public static final int NLM_F_ACK_TLVS = 0x200;
    // enum nlmsgerr_attrs
    public static final int NLMSGERR_ATTR_MSG = 1;
    public static final int NLMSGERR_ATTR_OFFS = 2;
    // struct nlattr { u16 len; u16 type; }
    public static final int NLA_HDRLEN = 4;
    public static final int NLA_F_NESTED = 0x8000;
    public static final int NLA_F_NET_BYTEORDER = 0x4000;
    public static final int NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

    // linux/rtnetlink.h: message types
    public static final int RTM_NEWLINK = 16;
    public static final int RTM_DELLINK = 17;
    public static final int RTM_GETLINK = 18;
    public static final int RTM_SETLINK = 19;
    public static final int RTM_NEWADDR = 20;
    public static final int RTM_DELADDR = 21;
    public static final int RTM_GETADDR = 22;
    public static final int RTM_NEWROUTE = 24;
    public static final int RTM_DELROUTE = 25;
    public static final int RTM_GETROUTE = 26;
    public static final int RTM_NEWNEIGH = 28;
    public static final int RTM_DELNEIGH = 29;
    public static final int RTM_GETNEIGH = 30;

    // struct ifinfomsg { u8 family; u8 pad; u16 type; s32 index; u32 flags; u32 change; } = 16 bytes
    public static final int IFINFOMSG_LEN = 16;
    // linux/if.h
    public static final int IFF_UP = 0x1;
    public static final int IFF_LOOPBACK = 0x8;
    public static final int IFF_RUNNING = 0x40;
    public static final int IFF_LOWER_UP = 0x10000;
    public static final int IFNAMSIZ = 16;
    /** linux/if_link.h attribute types (enum IFLA_*). */
    public static final int IFLA_ADDRESS = 1;
    public static final int IFLA_BROADCAST = 2;
    public static final int IFLA_IFNAME = 3;
    public static final int IFLA_MTU = 4;
    public static final int IFLA_LINK = 5;
    public static final int IFLA_MASTER = 10;
    public static final int IFLA_TXQLEN = 13;
    public static final int IFLA_OPERSTATE = 16;
    public static final int IFLA_LINKINFO = 18;
    public static final int IFLA_IFALIAS = 20;
    public static final int IFLA_NET_NS_FD = 28;
    public static final int IFLA_EXT_MASK = 29;
    public static final int IFLA_LINK_NETNSID = 37;
    public static final int IFLA_INFO_KIND = 1;
    public static final int IFLA_INFO_DATA = 2;
    public static final int IFLA_INFO_SLAVE_KIND = 4;
    /** linux/veth.h */
    public static final int VETH_INFO_PEER = 1;
    /** RTEXT_FILTER_SKIP_STATS: leave the statistics out of link dumps. */
    public static final int RTEXT_FILTER_SKIP_STATS = 1 << 3;
    /** Maximum length of an interface alias (IFALIASZ - 1). */
    public static final int IFALIAS_MAX = 255;

    // linux/if_addr.h: struct ifaddrmsg { u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index; } = 8 bytes
    public static final int IFADDRMSG_LEN = 8;
    public static final int IFA_ADDRESS = 1;
    public static final int IFA_LOCAL = 2;
    public static final int IFA_LABEL = 3;
    public static final int IFA_BROADCAST = 4;
    public static final int IFA_FLAGS = 8;

    // struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags; } = 12 bytes
    public static final int RTMSG_LEN = 12;
    public static final int RTA_DST = 1;
    public static final int RTA_OIF = 4;
    public static final int RTA_GATEWAY = 5;
    public static final int RTA_PRIORITY = 6;
    public static final int RTA_PREFSRC = 7;
    public static final int RTA_TABLE = 15;
    public static final int RT_TABLE_MAIN = 254;
    public static final int RT_TABLE_LOCAL = 255;
    public static final int RTPROT_KERNEL = 2;
    public static final int RTPROT_BOOT = 3;
    public static final int RTPROT_STATIC = 4;
    /** Routes learnt from IPv6 router advertisements. */
    public static final int RTPROT_RA = 9;
    /** ifa_flags: no duplicate address detection (the address is usable at once). */
    public static final int IFA_F_NODAD = 0x02;
    /** ifa_flags: configured (ip addr add), not learnt from router advertisements (SLAAC, temporary addresses). */
    public static final int IFA_F_PERMANENT = 0x80;
    public static final int RT_SCOPE_UNIVERSE = 0;
    public static final int RT_SCOPE_LINK = 253;
    public static final int RT_SCOPE_HOST = 254;
    public static final int RTN_UNICAST = 1;
    public static final int RTN_LOCAL = 2;

    // linux/neighbour.h: struct ndmsg { u8 family; u8 pad1; u16 pad2; s32 ifindex; u16 state; u8 flags; u8 type; }
    public static final int NDMSG_LEN = 12;
    public static final int NDA_DST = 1;
    public static final int NDA_LLADDR = 2;

    /** The name of a message type, for error messages. */
    public static String typeName(int type) {
        switch (type) {
            case RTM_NEWLINK: return "RTM_NEWLINK";
            case RTM_DELLINK: return "RTM_DELLINK";
            case RTM_GETLINK: return "RTM_GETLINK";
            case RTM_SETLINK: return "RTM_SETLINK";
            case RTM_NEWADDR: return "RTM_NEWADDR";
            case RTM_DELADDR: return "RTM_DELADDR";
            case RTM_GETADDR: return "RTM_GETADDR";
            case RTM_NEWROUTE: return "RTM_NEWROUTE";
            case RTM_DELROUTE: return "RTM_DELROUTE";
            case RTM_GETROUTE: return "RTM_GETROUTE";
            case RTM_GETNEIGH: return "RTM_GETNEIGH";
            default: return "netlink type " + type;
        }
    }

    /** Rounds a length up to netlink's 4-byte alignment (NLMSG_ALIGN, NLA_ALIGN). */
    public static int align(int length) {
        return (length + 3) & ~3;
    }
}
