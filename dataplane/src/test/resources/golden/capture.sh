#!/usr/bin/env bash
# Captures the golden frames (real kernel traffic between throw-away network namespaces) the packet tests parse.
#
# Run as root from anywhere: bash dataplane/src/test/resources/golden/capture.sh [OUTPUT_DIR]
# Writes into OUTPUT_DIR (default: this script's directory):
#   tcp.pcap                    ARP, TCP handshake, HTTP GET + response, FIN exchange (client a -> server b:8080)
#   udp.pcap                    UDP request and reply (a:40001 -> b:5353 echo)
#   icmp-echo.pcap              ping a -> b, two echo requests and replies
#   icmp-port-unreachable.pcap  UDP a -> b:9 (closed) and b's ICMP 3/3 quoting it
#   icmp-frag-needed.pcap       DF UDP a -> c2:7777 and DF TCP a -> c:8080 through router b whose link to c has
#                               MTU 1280, and
#                               b's ICMP 3/4 (next-hop MTU 1280) quoting each
#   icmp-time-exceeded.pcap     UDP with TTL 1 a -> c, and router b's ICMP 11/0 quoting it
#   tcp-checksum-partial.pcap   a short TCP exchange captured with TX checksum offload ON: the TCP checksum
#                               field holds the pseudo-header sum (CHECKSUM_PARTIAL), not a checksum
#
# Topology (all in namespaces this script creates, named ngcap<pid>-{a,b,c}; nothing touches the root namespace's
# interfaces, and no traffic leaves these namespaces):
#
#   ns a  eth0 10.77.1.1/24 ──veth── eth0 10.77.1.2/24  ns b (server; router with ip_forward=1 inside b only)
#                                    eth1 10.77.2.2/24 mtu 1280 ──veth── eth1 10.77.2.1/24  ns c
#                                                                             10.77.2.3/24 (c2)
#
# Offloads (tx checksum, TSO, GSO, GRO) are off on every veth so captured frames are MTU-sized and carry complete
# checksums, except for the capture of tcp-checksum-partial.pcap. Everything created is removed on exit, even on
# failure (trap): the namespaces by name, the processes by the pids this script started.
set -euo pipefail

OUT="$(cd "${1:-$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")}" && pwd)"
P="ngcap$$-"
A="${P}a" B="${P}b" C="${P}c"
PIDS=()
WORK="$(mktemp -d)"

[[ $(id -u) == 0 ]] || { echo "capture.sh: must run as root (creates network namespaces)" >&2; exit 1; }
for tool in ip tcpdump ethtool python3 curl ping; do
  command -v "$tool" >/dev/null || PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null || {
    pkg="$tool"; [[ $tool == ping ]] && pkg=iputils-ping; [[ $tool == ip ]] && pkg=iproute2
    echo "capture.sh: installing $pkg" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg" >&2 \
      || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg" >&2; }
  }
done
PY=/usr/bin/python3; [[ -x $PY ]] || PY="$(command -v python3)"

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ns in "$A" "$B" "$C"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

nsexec() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

offload() { # offload NS DEV on|off
  nsexec "$1" ethtool -K "$2" tx "$3" tso "$3" gso "$3" gro "$3" >/dev/null 2>&1 \
    || nsexec "$1" ethtool -K "$2" tx "$3" tso "$3" gso "$3" >/dev/null
}

# --- topology ---
for ns in "$A" "$B" "$C"; do
  ip netns add "$ns"
  nsexec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  nsexec "$ns" ip link set lo up
done
ip link add "${P}ab" netns "$A" type veth peer name "${P}ba" netns "$B"
ip link add "${P}bc" netns "$B" type veth peer name "${P}cb" netns "$C"
nsexec "$A" ip link set "${P}ab" name eth0
nsexec "$B" ip link set "${P}ba" name eth0
nsexec "$B" ip link set "${P}bc" name eth1
nsexec "$C" ip link set "${P}cb" name eth1
# Fixed MACs so the fixtures are stable across captures.
nsexec "$A" ip link set eth0 address 02:00:00:77:01:01
nsexec "$B" ip link set eth0 address 02:00:00:77:01:02
nsexec "$B" ip link set eth1 address 02:00:00:77:02:02
nsexec "$C" ip link set eth1 address 02:00:00:77:02:01
nsexec "$B" ip link set eth1 mtu 1280
nsexec "$A" ip addr add 10.77.1.1/24 dev eth0
nsexec "$B" ip addr add 10.77.1.2/24 dev eth0
nsexec "$B" ip addr add 10.77.2.2/24 dev eth1
nsexec "$C" ip addr add 10.77.2.1/24 dev eth1
# A second address on c: a's kernel caches the path MTU per destination, so the UDP and the TCP frag-needed
# probes each get a destination of their own.
nsexec "$C" ip addr add 10.77.2.3/24 dev eth1
for dev in "$A eth0" "$B eth0" "$B eth1" "$C eth1"; do
  set -- $dev
  offload "$1" "$2" off
  nsexec "$1" ip link set "$2" up
done
nsexec "$A" ip route add 10.77.2.0/24 via 10.77.1.2
nsexec "$C" ip route add 10.77.1.0/24 via 10.77.2.2
nsexec "$B" sysctl -qw net.ipv4.ip_forward=1
# One ICMP error per test, never rate-limited away.
nsexec "$B" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=100000

# --- capture helpers ---
start_capture() { # start_capture FILE FILTER
  # Started with ip netns exec, not the nsexec function, so that $! is tcpdump's own pid.
  ip netns exec "$A" tcpdump -i eth0 -s 0 --immediate-mode -U -w "$WORK/$1" "$2" 2>"$WORK/$1.log" &
  PIDS+=($!)
  CAPTURE_PID=$!
  for _ in $(seq 50); do grep -q "listening on" "$WORK/$1.log" 2>/dev/null && return; sleep 0.1; done
  echo "capture.sh: tcpdump for $1 did not start: $(cat "$WORK/$1.log")" >&2; exit 1
}
stop_capture() { # stop_capture FILE
  sleep 0.5
  kill -INT "$CAPTURE_PID"
  wait "$CAPTURE_PID" || true
  cp "$WORK/$1" "$OUT/$1"
  echo "capture.sh: $1: $(grep -o '[0-9]* packets captured' "$WORK/$1.log")" >&2
}
start_server() { # start_server NS PYTHON_CODE
  ip netns exec "$1" "$PY" -c "$2" &
  PIDS+=($!)
  sleep 0.5
}

# A one-shot HTTP server on b:8080: reads the request, answers, closes.
HTTP_SERVER='
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.1.2", 8080)); s.listen(1)
while True:
    c, _ = s.accept(); c.recv(4096)
    body = b"hello from nsgate golden\n"
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    c.close()
'
# A UDP echo server on b:5353.
UDP_SERVER='
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.77.1.2", 5353))
while True:
    data, peer = s.recvfrom(2048); s.sendto(b"echo:" + data, peer)
'
# A TCP sink on c:8080 that accepts and reads forever.
SINK_SERVER='
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.2.1", 8080)); s.listen(4)
while True:
    c, _ = s.accept()
    while c.recv(65536): pass
'
start_server "$B" "$HTTP_SERVER"
start_server "$B" "$UDP_SERVER"
start_server "$C" "$SINK_SERVER"

# --- tcp.pcap (with the ARP exchange of the first contact) ---
nsexec "$A" ip neigh flush dev eth0
start_capture tcp.pcap "arp or tcp port 8080"
nsexec "$A" curl -s --max-time 5 -o /dev/null http://10.77.1.2:8080/golden
stop_capture tcp.pcap

# --- udp.pcap ---
start_capture udp.pcap "udp port 5353"
nsexec "$A" "$PY" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.77.1.1", 40001)); s.settimeout(3)
s.sendto(b"golden udp request", ("10.77.1.2", 5353)); print(s.recvfrom(2048)[0], flush=True)
' >/dev/null
stop_capture udp.pcap

# --- icmp-echo.pcap ---
start_capture icmp-echo.pcap "icmp"
nsexec "$A" ping -c 2 -i 0.2 -W 2 10.77.1.2 >/dev/null
stop_capture icmp-echo.pcap

# --- icmp-port-unreachable.pcap ---
start_capture icmp-port-unreachable.pcap "icmp or udp port 9"
nsexec "$A" "$PY" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.77.1.1", 40002))
s.sendto(b"anyone on port 9?", ("10.77.1.2", 9))
'
sleep 0.3
stop_capture icmp-port-unreachable.pcap

# --- icmp-frag-needed.pcap: DF UDP, then DF TCP, too big for b's 1280-byte link to c ---
start_capture icmp-frag-needed.pcap "icmp or (udp port 7777) or (tcp port 8080 and host 10.77.2.1)"
nsexec "$A" "$PY" -c '
import socket, time
IP_MTU_DISCOVER, IP_PMTUDISC_DO = 10, 2
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.77.1.1", 40003))
s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
s.sendto(b"U" * 1400, ("10.77.2.3", 7777))
time.sleep(0.3)
t = socket.create_connection(("10.77.2.1", 8080), timeout=3)
t.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
t.sendall(b"T" * 3000)
time.sleep(0.5)
t.close()
'
stop_capture icmp-frag-needed.pcap

# --- icmp-time-exceeded.pcap ---
nsexec "$A" ip route flush cache 2>/dev/null || true
start_capture icmp-time-exceeded.pcap "icmp or udp port 33434"
nsexec "$A" "$PY" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.77.1.1", 40004))
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)
s.sendto(b"traceroute-like probe", ("10.77.2.1", 33434))
'
sleep 0.3
stop_capture icmp-time-exceeded.pcap

# --- tcp-checksum-partial.pcap: offload back on (TSO/GSO stay off so frames stay MTU-sized) ---
nsexec "$A" ethtool -K eth0 tx on >/dev/null
nsexec "$B" ethtool -K eth0 tx on >/dev/null
start_capture tcp-checksum-partial.pcap "tcp port 8080"
nsexec "$A" curl -s --max-time 5 -o /dev/null http://10.77.1.2:8080/partial
stop_capture tcp-checksum-partial.pcap

ls -l "$OUT"/*.pcap >&2
