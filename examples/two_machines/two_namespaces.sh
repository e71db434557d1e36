#!/usr/bin/env bash
# Two machines on one: the commands of README.md (in this folder) run on two "hosts" that are two
# Linux network namespaces joined by a virtual cable (198.51.100.1 and .2, a documentation
# range that is never routed). Each host has its own home and passphrase and its own
# `edge-dan run`; they find each other over mDNS, pair by numeric comparison and negotiate, and
# a third "machine" with neither store verifies the accord. Everything is removed at the end.
#
# Needs root (it creates network namespaces) and iproute2:   sudo bash two_namespaces.sh
# Uses the `edge-dan` on PATH (or $EDGE_DAN). Where a person compares the six digits, this
# script answers for both owners with --yes, and says so; on real machines, leave --yes out.
set -euo pipefail

EDGE_DAN=${EDGE_DAN:-edge-dan}
OPTION_1="Cook dinner for grandma and stay for the evening"
OPTION_2="Go clubbing until dawn"

if [ "$(id -u)" != 0 ]; then
    echo "two_namespaces.sh needs root to create network namespaces: sudo bash $0" >&2
    exit 2
fi
for tool in ip "$EDGE_DAN"; do
    command -v "$tool" >/dev/null || { echo "two_namespaces.sh needs $tool on PATH" >&2; exit 2; }
done

A="edge2m$$-a" # host A (Ana)
B="edge2m$$-b" # host B (Ben)
work=$(mktemp -d "${TMPDIR:-/tmp}/edan2m.XXXXXX") # short: control.sock paths have a limit
agents=()

cleanup() {
    status=$?
    for pid in "${agents[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${agents[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "$status" != 0 ]; then
        for log in "$work"/*.log; do [ -e "$log" ] && { echo "--- $log" >&2; cat "$log" >&2; }; done
    fi
    ip netns del "$A" 2>/dev/null || true
    ip netns del "$B" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
# `edge-dan` on host A or B: its own network, home and passphrase. An array, not a function: run
# in the background it is then a simple command, so $! is edge-dan itself (SIGTERM reaches it).
on_a=(ip netns exec "$A" env EDGE_DAN_HOME="$work/ana" EDGE_DAN_PASSPHRASE="Ana's passphrase" "$EDGE_DAN")
on_b=(ip netns exec "$B" env EDGE_DAN_HOME="$work/ben" EDGE_DAN_PASSPHRASE="Ben's passphrase" "$EDGE_DAN")

step "two hosts: network namespaces $A and $B, one cable between them"
for host in "$A" "$B"; do
    ip netns add "$host"
    ip -n "$host" link set lo up
    # IPv4 only, as on the lab in tests/discovery: no IPv6 chatter on the cable.
    ip netns exec "$host" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$A" link add eth0 type veth peer name eth0 netns "$B"
ip -n "$A" addr add 198.51.100.1/24 dev eth0
ip -n "$B" addr add 198.51.100.2/24 dev eth0
ip -n "$A" link set eth0 up
ip -n "$B" link set eth0 up
for host in "$A" "$B"; do
    for _ in $(seq 100); do
        ip -n "$host" link show eth0 | grep -q 'state UP' && break
        sleep 0.1
    done
done

step "host A: edge-dan init; host B: edge-dan init (each owner's encrypted store)"
"${on_a[@]}" init --unlock-time 0.05 # quick to unlock for a demo; leave the option out for real use
"${on_b[@]}" init --unlock-time 0.05
"${on_a[@]}" profile set benevolence=0.9 >/dev/null
"${on_b[@]}" profile set tradition=0.8 >/dev/null

step "host A and host B: edge-dan run (logs in $work/*.log)"
"${on_a[@]}" run --interface eth0 >"$work/ana.log" 2>&1 &
agents+=($!)
"${on_b[@]}" run --interface eth0 >"$work/ben.log" 2>&1 &
agents+=($!)
for i in 0 1; do
    home=$([ "$i" = 0 ] && echo ana || echo ben)
    for _ in $(seq 600); do
        [ -S "$work/$home/control.sock" ] || ! kill -0 "${agents[$i]}" 2>/dev/null && break
        sleep 0.1
    done
    [ -S "$work/$home/control.sock" ] || { echo "the agent on $home did not start" >&2; exit 1; }
done

step "host A: edge-dan pair --open (the script confirms the digits for both owners: --yes)"
"${on_a[@]}" pair --open 120 --yes --name Ben >"$work/pair-a.out" 2>&1 &
opening=$!
for _ in $(seq 600); do
    grep -q "Open to pairing" "$work/pair-a.out" && break
    sleep 0.1
done

step "host B: edge-dan pair --with"
"${on_b[@]}" pair --with --wait 60 --yes --name Ana
wait "$opening"
echo "host A said:"
cat "$work/pair-a.out"

step "host B: edge-dan negotiate Saturday ... --with Ana"
"${on_b[@]}" negotiate Saturday --option "$OPTION_1" --option "$OPTION_2" --with Ana --deadline 30 \
    | tee "$work/negotiate.out"
accord=$(sed -n 's/^Accord \([0-9a-f]\{64\}\),.*/\1/p' "$work/negotiate.out")
[ -n "$accord" ] || { echo "no accord id in the negotiation's output" >&2; exit 1; }

step "host A: edge-dan accords verify $accord (the same accord, in Ana's store)"
"${on_a[@]}" accords verify "$accord"
"${on_b[@]}" accords verify "$accord" >/dev/null
echo "both stores hold accord $accord"

step "host A: edge-dan accords export; a third machine: edge-dan accords verify FILE"
"${on_a[@]}" accords export "$accord" "$work/saturday.accord"
mkdir "$work/third"
(cd "$work/third" && env -u EDGE_DAN_PASSPHRASE EDGE_DAN_HOME="$work/third/no-store" \
    "$EDGE_DAN" accords verify "$work/saturday.accord")
echo "verified on a third machine, with neither store and no passphrase"

step "host A and host B: SIGTERM to edge-dan run (what Ctrl-C or systemd does)"
for pid in "${agents[@]}"; do kill -TERM "$pid"; done
for pid in "${agents[@]}"; do wait "$pid"; done # set -e: a non-zero exit fails the script
agents=()
echo "both agents stopped cleanly"
