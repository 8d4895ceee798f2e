# Shared helpers for tests and scripts that build network namespaces (source this file).
# Names carry a per-run suffix so parallel or leftover runs never collide.

NS_SUFFIX=${NS_SUFFIX:-$$}

ns_cleanup() {
  for ns in "$@"; do ip netns del "$ns" 2>/dev/null || true; done
}

# veth_pair NS_A IF_A NS_B IF_B: a veth pair with each end in a namespace ("" = root),
# checksum/segmentation offloads off so captured frames are what is on the wire.
veth_pair() {
  local nsa=$1 ifa=$2 nsb=$3 ifb=$4
  ip link add "$ifa" type veth peer name "$ifb"
  [ -n "$nsa" ] && ip link set "$ifa" netns "$nsa"
  [ -n "$nsb" ] && ip link set "$ifb" netns "$nsb"
  local e
  for e in "$nsa:$ifa" "$nsb:$ifb"; do
    local ns=${e%%:*} ifn=${e#*:}
    local run=()
    [ -n "$ns" ] && run=(ip netns exec "$ns")
    "${run[@]}" ip link set "$ifn" up
    "${run[@]}" ethtool -K "$ifn" tx off tso off gso off gro off rx off >/dev/null 2>&1 || true
  done
}

# two_hosts CLI SRV NET: namespaces CLI and SRV joined by a veth pair (c0, s0) with addresses
# NET.1 and NET.2 (/24), loopbacks up.
two_hosts() {
  local cli=$1 srv=$2 net=$3
  ip netns add "$cli"
  ip netns add "$srv"
  veth_pair "$cli" c0 "$srv" s0
  ip -n "$cli" addr add "$net.1/24" dev c0
  ip -n "$srv" addr add "$net.2/24" dev s0
  ip -n "$cli" link set lo up
  ip -n "$srv" link set lo up
}
