#!/usr/bin/env bash
# Functions of scripts/lab/lab.sh (sourced).

lab_usage() {
  sed -n '2,/^set -euo/p' "$here/lab.sh" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

lab_check_name() {
  [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$ ]] || {
    echo "lab: bad lab name '$1' (letters, digits, _ . -; at most 41)" >&2
    exit 2
  }
}

# Exits non-zero, with the reason on stderr, if a lab cannot be built here.
lab_check() {
  [ "$(id -u)" = 0 ] || { echo "lab: needs root (network namespaces)" >&2; exit 3; }
  local tool
  for tool in ip tc nft ethtool sysctl; do
    command -v "$tool" >/dev/null || { echo "lab: '$tool' is missing (apt-get install iproute2 nftables ethtool)" >&2; exit 3; }
  done
}

# Removes every namespace of lab NAME (deleting a namespace deletes its veths).
lab_down() {
  local name="$1" ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    case "$ns" in
      "$name"-*) ip netns del "$ns" 2>/dev/null || true ;;
    esac
  done
}

lab_ns() {
  ip netns add "$1"
  ip -n "$1" link set lo up
  ip netns exec "$1" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  # The host's default may be bbr; the lab compares LEDBAT with classic,
  # loss-based TCP: cubic, or reno where the kernel's
  # tcp_allowed_congestion_control keeps cubic out of namespaces.
  ip netns exec "$1" sysctl -qw net.ipv4.tcp_congestion_control=cubic 2>/dev/null ||
    ip netns exec "$1" sysctl -qw net.ipv4.tcp_congestion_control=reno 2>/dev/null || true
}

# lab_link NS1 DEV1 ADDR1 NS2 DEV2 ADDR2: a veth pair, addresses, offloads off
# (TCP's 64 KiB super-packets would otherwise dodge per-packet loss).
lab_link() {
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  ip -n "$1" addr add "$3" dev "$2"
  ip -n "$4" addr add "$6" dev "$5"
  ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx-udp-segmentation off >/dev/null 2>&1 || true
  ip netns exec "$4" ethtool -K "$5" tso off gso off gro off tx-udp-segmentation off >/dev/null 2>&1 || true
  ip -n "$1" link set "$2" up
  ip -n "$4" link set "$5" up
}

lab_router() {
  ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1
}

# A home router: masquerade toward "wan", and a stateful filter that lets in
# only replies to what went out (NAT mappings are endpoint-dependent: Linux
# conntrack). With "random", every new flow gets a random public port (a
# symmetric NAT).
lab_nat_rules() {
  local ns="$1" random="$2"
  ip netns exec "$ns" nft -f - <<NFT
table ip labnat {
  chain nat_postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade $random
  }
  chain filter_forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
  }
}
NFT
}

lab_up_nat() {
  local name="$1" random=""
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --symmetric) random="random" ;;
      *) echo "lab: unknown nat option '$1'" >&2; exit 2 ;;
    esac
    shift
  done
  local inet="$name-inet" side n
  lab_ns "$inet"
  lab_router "$inet"
  ip -n "$inet" addr add 10.201.0.1/32 dev lo
  for side in a b; do
    if [ "$side" = a ]; then n=1; else n=2; fi
    lab_ns "$name-r$side"
    lab_ns "$name-$side"
    lab_router "$name-r$side"
    lab_link "$inet" "r$side" "10.201.${n}0.1/24" "$name-r$side" wan "10.201.${n}0.2/24"
    lab_link "$name-r$side" lan "10.201.$n.1/24" "$name-$side" eth0 "10.201.$n.2/24"
    ip -n "$name-r$side" route add default via "10.201.${n}0.1"
    ip -n "$name-$side" route add default via "10.201.$n.1"
    lab_nat_rules "$name-r$side" "$random"
  done
}

lab_up_path() {
  local name="$1" rate="" queue_ms=600 loss=0
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --rate) rate="$2"; shift ;;
      --queue-ms) queue_ms="$2"; shift ;;
      --loss) loss="$2"; shift ;;
      *) echo "lab: unknown path option '$1'" >&2; exit 2 ;;
    esac
    shift
  done
  local snd="$name-snd" rt="$name-rt" rcv="$name-rcv"
  lab_ns "$snd"
  lab_ns "$rt"
  lab_ns "$rcv"
  lab_router "$rt"
  lab_link "$snd" eth0 10.202.1.2/24 "$rt" s 10.202.1.1/24
  lab_link "$rt" r 10.202.2.1/24 "$rcv" eth0 10.202.2.2/24
  ip -n "$snd" route add default via 10.202.1.1
  ip -n "$rcv" route add default via 10.202.2.1
  if [ -n "$rate" ]; then
    # The bottleneck: on the router's egress toward the receiver, never on the
    # sender's own interface (TCP Small Queues would throttle TCP there).
    ip netns exec "$rt" tc qdisc add dev r root tbf rate "${rate}mbit" burst 16kb latency "${queue_ms}ms"
  fi
  if [ "$loss" != 0 ]; then
    # Random loss of LOSS per mille of the packets, each way (no netem here).
    ip netns exec "$rt" nft -f - <<NFT
table ip lableak {
  chain filter_forward {
    type filter hook forward priority filter; policy accept;
    numgen random mod 1000 < $loss drop
  }
}
NFT
  fi
}
