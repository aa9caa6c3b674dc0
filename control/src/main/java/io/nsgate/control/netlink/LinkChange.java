// What to set on a link, at creation or later: name, MTU, up/down, master, alias, namespace.
package io.nsgate.control.netlink;

/**
 * A set of optional link settings; unset fields are left as they are. Build with the fluent setters:
 * {@code LinkChange.set().up(true).master(bridgeIndex).mtu(9000)}.
 */
public final class LinkChange {
    String name;
    Integer mtu;
    Boolean up;
    Integer master;
    String alias;
    Integer netnsFd;

    private LinkChange() {
    }

    /** An empty change. */
    public static LinkChange set() {
        return new LinkChange();
    }

    /** Renames the link (the kernel requires it to be down). */
    public LinkChange name(String newName) {
        this.name = newName;
        return this;
    }

    public LinkChange mtu(int bytes) {
        this.mtu = bytes;
        return this;
    }

    public LinkChange up(boolean isUp) {
        this.up = isUp;
        return this;
    }

    /** Enslaves to the bridge with this ifindex. */
    public LinkChange master(int bridgeIndex) {
        this.master = bridgeIndex;
        return this;
    }

    /** Releases from its bridge. */
    public LinkChange noMaster() {
        this.master = 0;
        return this;
    }

    /** Sets IFLA_IFALIAS; the empty string clears it. */
    public LinkChange alias(String text) {
        if (text.length() > Rtnl.IFALIAS_MAX) {
            throw new IllegalArgumentException("alias longer than " + Rtnl.IFALIAS_MAX + " bytes");
        }
        this.alias = text;
        return this;
    }

    /** Moves the link into the namespace this descriptor refers to. */
    public LinkChange netnsFd(int fd) {
        this.netnsFd = fd;
        return this;
    }

    public Integer mtu() {
        return mtu;
    }

    public Boolean up() {
        return up;
    }

    public Integer master() {
        return master;
    }

    public String alias() {
        return alias;
    }

    boolean isEmpty() {
        return name == null && mtu == null && up == null && master == null && alias == null && netnsFd == null;
    }

    /** Writes the flag word, change mask and attributes this change needs (no alias: see callers). */
    void writeIfinfomsg(NetlinkMessageWriter w, int index) {
        int flags = up != null && up ? Rtnl.IFF_UP : 0;
        int change = up != null ? Rtnl.IFF_UP : 0;
        w.ifinfomsg(io.nsgate.linux.sys.Linux.AF_UNSPEC, 0, index, flags, change);
    }

    void writeAttributes(NetlinkMessageWriter w, boolean includeAlias) {
        if (name != null) {
            w.attrString(Rtnl.IFLA_IFNAME, name);
        }
        if (mtu != null) {
            w.attrU32(Rtnl.IFLA_MTU, mtu);
        }
        if (master != null) {
            w.attrU32(Rtnl.IFLA_MASTER, master);
        }
        if (netnsFd != null) {
            w.attrU32(Rtnl.IFLA_NET_NS_FD, netnsFd);
        }
        if (includeAlias && alias != null) {
            w.attrStringNoNul(Rtnl.IFLA_IFALIAS, alias);
        }
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        if (name != null) {
            b.append(" name ").append(name);
        }
        if (mtu != null) {
            b.append(" mtu ").append(mtu);
        }
        if (up != null) {
            b.append(up ? " up" : " down");
        }
        if (master != null) {
            b.append(master == 0 ? " nomaster" : " master " + master);
        }
        if (alias != null) {
            b.append(" alias \"").append(alias).append('"');
        }
        if (netnsFd != null) {
            b.append(" netns fd ").append(netnsFd);
        }
        return b.length() == 0 ? "(nothing)" : b.substring(1);
    }
}
