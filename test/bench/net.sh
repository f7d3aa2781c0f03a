#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test/bench/net.sh - what a workspace network costs (issue 5, Performance):
#
#   test/bench/net.sh BUILDDIR [RUNS] [MIB]
#
# Needs root, ip, nft, bwrap and a C compiler (for the static tcpbench).
# Prints, all measured in this one run on the same rootfs:
#   1. start + exit of /bin/true with --net none and --net deny, RUNS
#      (default 30) interleaved rounds: medians and the deny/none ratio;
#      the same runs spaced 300 ms apart (a deny run's veth is removed
#      after run returns: back to back, the next run waits for it);
#      the time until `start` returns (the workload runs) for both;
#      the monitor's steps for both side by side (ENCLAVE_TIMING=1; deny
#      adds "network": pool slot, veth, addresses, routes, the nft policy,
#      and "network-rm": their removal);
#   2. the same network steps done with the ip and nft commands in a
#      scratch namespace (netns, veth pair, IPv4+IPv6 addresses, routes,
#      an inet table with the forward and input policy): one command per
#      step, and batched (ip -batch + nft -f); setup and teardown;
#   3. TCP throughput (MIB MiB, default 256) and 1-byte request/response
#      round trips per second (1 s) over
#        the host's loopback,
#        one veth hop (host -> a test "internet" namespace),
#        bubblewrap sharing the host network (the same hop),
#        a plain netns + veth routed through the host (ip netns exec: what
#        enclave's path is made of, without its policy),
#        a --net deny workspace (allowlisted to the test namespace),
#        a --net nat workspace,
#        a port published by the workspace's forwarder (host -> 127.0.0.1
#        -> the workspace's own loopback), and loopback inside a workspace.
# Traffic only ever goes to 127.0.0.1 and to addresses of the test
# namespace (198.19.0.0/16, the benchmarking range); never off the machine,
# never to 169.254.169.254. Everything made here (namespaces, veths, the
# nft table, workspaces, the state dir) is removed at exit.
set -euo pipefail

build=$(cd "${1:?usage: net.sh BUILDDIR [RUNS] [MIB]}" && pwd)
runs=${2:-30}
mib=${3:-256}
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/test/bench/lib.sh"
[ "$(id -u)" = 0 ] || { echo "net.sh: run as root" >&2; exit 2; }
for c in ip nft bwrap cc; do
	command -v "$c" >/dev/null || { echo "net.sh: needs $c" >&2; exit 2; }
done

export PATH="$build/tools:$PATH"
export ENCLAVE_STATE_DIR
ENCLAVE_STATE_DIR=$(mktemp -d /tmp/enclave-netbench.XXXXXX)
export ENCLAVE_RUNTIME_DIR=$ENCLAVE_STATE_DIR/run
chmod 755 "$ENCLAVE_STATE_DIR"
bin=$ENCLAVE_STATE_DIR/bin
mkdir -m 755 "$bin"

# Names and addresses carry the PID so parallel runs (and the shell
# tests' 198.18.x topology) never collide; no interface starts with "en".
K=$(($$ % 200 + 20))
NET=198.19.$K		# .1 the host, .2 the test "internet" namespace
NET6=fd42:1919:$K	# ::1, ::2
INET=encb-inet-$$
HI=bih$$; HI=${HI:0:15}	# host end of the internet veth
SCR=encb-scr-$$		# scratch namespace of part 2
SH=bsh$$; SH=${SH:0:15}
SW=bsw$$; SW=${SW:0:15}
TABLE=encbench$$
PORT=5201
HPORT=$((30000 + $$ % 20000))	# host loopback listener / published port
PIDS=()

cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	enclave-spawn stop --time 0 nbench srv >/dev/null 2>&1
	enclave-spawn stop --time 0 nbench lo >/dev/null 2>&1
	nft delete table inet "$TABLE" 2>/dev/null
	ip link del "$SH" 2>/dev/null
	ip netns del "$SCR" 2>/dev/null
	ip link del "$HI" 2>/dev/null
	ip netns del "$INET" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$ENCLAVE_STATE_DIR"
	for d in /sys/fs/cgroup/enclave /sys/fs/cgroup/*/enclave; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	return 0
}
trap cleanup EXIT

cc -O2 -static -o "$bin/tcpbench" "$src/test/bench/tcpbench.c"
tar=$build/test-cache/bookworm-minbase.tar
if [ ! -s "$tar" ]; then
	tar=$(ENCLAVE_BUILD_DIR=$build PROBE="$build/test/probe" bash "$src/test/mkrootfs.sh")
fi
enclave-bootstrap create nbench --method tar --source "$tar" -q
gen=$(cat "$ENCLAVE_STATE_DIR/sandboxes/nbench/current")
rootfs=$ENCLAVE_STATE_DIR/sandboxes/nbench/gen/$gen/rootfs
echo "# rootfs: $(basename "$tar"), kernel $(uname -r), $(nproc) CPUs, $runs rounds"

# ---- 1. start latency, none vs deny -----------------------------------------

# Two workspaces: a deny run's monitor removes its veth after run has
# returned, holding its workspace meanwhile, and the next run of the same
# workspace would wait for that.
run_none() { enclave-spawn run --rm --net none nbench ws-none -- /bin/true; }
run_deny() { enclave-spawn run --rm --net deny nbench ws-deny -- /bin/true; }
run_bwrap() {
	bwrap --unshare-all --die-with-parent --ro-bind "$rootfs" / \
		--proc /proc --dev /dev --tmpfs /tmp /bin/true
}

rounds=$(interleave "$runs" 0 run_bwrap run_none run_deny)
b_med=$(median 1 <<<"$rounds")
n_med=$(median 2 <<<"$rounds")
d_med=$(median 3 <<<"$rounds")
r_med=$(awk '{ print $3 / $2 }' <<<"$rounds" | median)
echo
echo "# 1. start + exit of /bin/true, median of $runs interleaved rounds"
printf '  %-52s %8s ms\n' "bwrap --unshare-all (loopback only)" "$b_med"
printf '  %-52s %8s ms\n' "enclave-spawn run --rm --net none" "$n_med"
printf '  %-52s %8s ms\n' "enclave-spawn run --rm --net deny" "$d_med"
awk -v d="$d_med" -v n="$n_med" -v r="$r_med" 'BEGIN {
	printf "  ratio deny / none: %.2fx (median of per-round ratios %.2fx); deny costs %.2f ms more\n",
		d / n, r, d - n }'

# run --rm spaced out (300 ms apart), as one runs a command now and then:
# the veth's removal then happens after run returned, off its path.
spaced=$(interleave 10 0.3 run_none run_deny)
spn=$(median 1 <<<"$spaced")
spd=$(median 2 <<<"$spaced")
printf '  %-52s %8s ms\n' "run --rm --net none, runs 300 ms apart" "$spn"
printf '  %-52s %8s ms\n' "run --rm --net deny, runs 300 ms apart" "$spd"
awk -v d="$spd" -v n="$spn" 'BEGIN { printf "  spaced ratio deny / none: %.2fx\n", d / n }'

# Time to running: `start` returns once the workload runs, so this is the
# start latency proper; the stop that follows each is not timed (a deny
# workspace's teardown is dominated by the kernel's veth deletion, above).
start_rounds=$(for ((i = 0; i < runs; i++)); do
	line=
	for m in none deny; do
		t0=$EPOCHREALTIME
		enclave-spawn start --net "$m" nbench st -- sleep 60 >/dev/null 2>&1
		t1=$EPOCHREALTIME
		enclave-spawn stop --time 0 nbench st >/dev/null 2>&1
		line+=" $t0 $t1"
	done
	echo "$line"
done | awk '{ printf "%.3f %.3f\n", ($2 - $1) * 1000, ($4 - $3) * 1000 }')
sn_med=$(median 1 <<<"$start_rounds")
sd_med=$(median 2 <<<"$start_rounds")
printf '  %-52s %8s ms\n' "enclave-spawn start --net none (until running)" "$sn_med"
printf '  %-52s %8s ms\n' "enclave-spawn start --net deny (until running)" "$sd_med"
awk -v d="$sd_med" -v n="$sn_med" 'BEGIN {
	printf "  start latency ratio deny / none: %.2fx (%.2f ms more)\n", d / n, d - n }'

# Where the time goes: the monitor's steps (ENCLAVE_TIMING=1), median us,
# none and deny side by side (interleaved runs).
for ((i = 0; i < runs; i++)); do
	for m in deny none; do
		ENCLAVE_TIMING=1 enclave-spawn run --rm --net "$m" nbench "ws-$m" -- /bin/true 2>&1 >/dev/null |
			sed -n "s/^enclave-spawn: timing: /$m /p"
	done
done | awk '{
	m = $1
	for (i = 2; i <= NF; i++) { split($i, kv, "="); gsub("us", "", kv[2]); k = kv[1]
		if (!(k in seen)) { seen[k] = 1; order[++n] = k }
		v[m, k, ++c[m, k]] = kv[2] + 0 } }
	function med(m, k,   j, l, t, a, cnt) { cnt = c[m, k]; if (!cnt) return "-"
		for (j = 1; j <= cnt; j++) a[j] = v[m, k, j]
		for (j = 1; j <= cnt; j++) for (l = j + 1; l <= cnt; l++) if (a[l] < a[j]) { t = a[j]; a[j] = a[l]; a[l] = t }
		return a[int((cnt + 1) / 2)] }
	END { printf "  %-12s %9s %9s   (monitor steps, median us)\n", "step", "none", "deny"
		for (j = 1; j <= n; j++) printf "  %-12s %9s %9s\n", order[j], med("none", order[j]), med("deny", order[j]) }'

# ---- 2. the same steps with ip and nft ----------------------------------------

cat >"$ENCLAVE_STATE_DIR/rules.nft" <<EOF
table inet $TABLE {
	chain wsforward {
		type filter hook forward priority 0; policy accept;
		iifname "$SH" ip daddr 169.254.0.0/16 drop
		iifname "$SH" ip daddr $NET.2 tcp dport $PORT accept
		iifname "$SH" ct state established,related accept
		iifname "$SH" log prefix "encbench " group 2 drop
	}
	chain wsinput {
		type filter hook input priority 0; policy accept;
		iifname "$SH" ct state established,related accept
		iifname "$SH" drop
	}
}
EOF
scratch_up_each() {
	ip netns add "$SCR"
	ip link add "$SH" type veth peer name "$SW" netns "$SCR"
	ip addr add 10.254.$K.1/30 dev "$SH"
	ip -6 addr add fd42:feed:$K::1/64 dev "$SH" nodad
	ip link set "$SH" up
	ip -n "$SCR" link set lo up
	ip -n "$SCR" addr add 10.254.$K.2/30 dev "$SW"
	ip -n "$SCR" -6 addr add fd42:feed:$K::2/64 dev "$SW" nodad
	ip -n "$SCR" link set "$SW" up
	ip -n "$SCR" route add default via 10.254.$K.1
	ip -n "$SCR" -6 route add default via fd42:feed:$K::1
	nft -f "$ENCLAVE_STATE_DIR/rules.nft"
}
scratch_down_each() {
	nft delete table inet "$TABLE"
	ip link del "$SH"
	ip netns del "$SCR"
}
scratch_up_batch() {
	printf '%s\n' "netns add $SCR" "link add $SH type veth peer name $SW netns $SCR" \
		"addr add 10.254.$K.1/30 dev $SH" "addr add fd42:feed:$K::1/64 dev $SH nodad" \
		"link set $SH up" | ip -b -
	printf '%s\n' "link set lo up" "addr add 10.254.$K.2/30 dev $SW" \
		"addr add fd42:feed:$K::2/64 dev $SW nodad" "link set $SW up" \
		"route add default via 10.254.$K.1" "route add ::/0 via fd42:feed:$K::1" |
		ip -n "$SCR" -b -
	nft -f "$ENCLAVE_STATE_DIR/rules.nft"
}
scratch_down_batch() {
	nft delete table inet "$TABLE"
	printf '%s\n' "link del $SH" "netns del $SCR" | ip -b -
}
time_pair() {	# UP DOWN: "up_ms down_ms" per round
	local i t0 t1 t2
	for ((i = 0; i < runs; i++)); do
		t0=$EPOCHREALTIME
		"$1"
		t1=$EPOCHREALTIME
		"$2"
		t2=$EPOCHREALTIME
		echo "$t0 $t1 $t2"
	done | awk '{ printf "%.3f %.3f\n", ($2 - $1) * 1000, ($3 - $2) * 1000 }'
}
each=$(time_pair scratch_up_each scratch_down_each)
batch=$(time_pair scratch_up_batch scratch_down_batch)
echo
echo "# 2. the same network steps by the ip and nft commands, scratch namespace, median ms"
printf '  %-40s setup %7s  teardown %7s\n' "one command per step (12 + 3)" \
	"$(median 1 <<<"$each")" "$(median 2 <<<"$each")"
printf '  %-40s setup %7s  teardown %7s\n' "batched (ip -b x2, nft -f; 3 + 2)" \
	"$(median 1 <<<"$batch")" "$(median 2 <<<"$batch")"

# ---- 3. throughput and round trips --------------------------------------------

ip netns add "$INET"
ip link add "$HI" type veth peer name up0 netns "$INET"
ip addr add "$NET.1/24" dev "$HI"
ip link set "$HI" up
ip -n "$INET" link set lo up
ip -n "$INET" addr add "$NET.2/24" dev up0
ip -n "$INET" link set up0 up
ip -n "$INET" route add default via "$NET.1"

wait_up() {	# LOG: until a tcpbench serve reports "listening"
	local i
	for ((i = 0; i < 100; i++)); do
		grep -qx listening "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "net.sh: listener did not come up: $(cat "$1")" >&2
	return 1
}
ip netns exec "$INET" "$bin/tcpbench" serve "$NET.2" "$PORT" >"$ENCLAVE_STATE_DIR/inet.log" 2>&1 &
PIDS+=($!)
wait_up "$ENCLAVE_STATE_DIR/inet.log"
"$bin/tcpbench" serve 127.0.0.1 "$HPORT" >"$ENCLAVE_STATE_DIR/lo.log" 2>&1 &
PIDS+=($!)
wait_up "$ENCLAVE_STATE_DIR/lo.log"

# The published port: a workspace serving on its own loopback, published
# at runtime (enclave-net publish: the same forwarder as -p at start).
enclave-spawn start --net deny --dir "$bin" nbench srv -- "$bin/tcpbench" serve 127.0.0.1 "$PORT"
enclave-net publish nbench srv "127.0.0.1:$((HPORT + 1)):$PORT/tcp"
for ((i = 0; i < 100; i++)); do
	"$bin/tcpbench" rr 127.0.0.1 $((HPORT + 1)) 1 >/dev/null 2>&1 && break
	sleep 0.05
done

ws_run() {	# MODE CMD...: a workspace allowed to reach the test namespace's port
	local mode=$1; shift
	enclave-spawn run --rm --net "$mode" --allow "$NET.2/32:$PORT/tcp" --dir "$bin" nbench c -- "$@"
}
bw_run() {
	bwrap --unshare-all --share-net --die-with-parent --ro-bind "$rootfs" / \
		--proc /proc --dev /dev --tmpfs /tmp --ro-bind "$bin" "$bin" "$@"
}
# The plain netns of part 2, routed through the host like a workspace.
ip link set dev lo up >/dev/null 2>&1 || true
scratch_up_batch
nft delete table inet "$TABLE"
ns_run() { ip netns exec "$SCR" "$@"; }
ws_lo() {	# loopback inside one workspace: server and client together
	enclave-spawn run --rm --net none --dir "$bin" nbench lo -- /bin/sh -c \
		"$bin/tcpbench serve 127.0.0.1 $PORT >/dev/null & sleep 0.2; $bin/tcpbench $*; kill \$!"
}

# tcpbench prints "send MIB MiB SECONDS s RATE MiB/s" and
# "rr N round trips RATE/s US us each": the rate is field 6 or 5.
rate() {
	awk '$1 == "send" { print $6 } $1 == "rr" { sub("/s", "", $5); print $5 }'
}
best3() {	# CMD...: the median rate of 3 runs ("-" when every run failed)
	local i
	for i in 1 2 3; do { "$@" 2>/dev/null || true; } | rate; done | median
}
row() {	# LABEL PREFIX... (the command before "send/rr ADDR PORT")
	local label=$1 addr=$2 port=$3; shift 3
	local tp rt
	tp=$(best3 "$@" "$bin/tcpbench" send "$addr" "$port" "$mib")
	rt=$(best3 "$@" "$bin/tcpbench" rr "$addr" "$port" 1000)
	printf '  %-52s %9.0f MiB/s %9.0f rt/s %8s us\n' "$label" "${tp/-/0}" "${rt/-/0}" \
		"$(awk -v r="$rt" 'BEGIN { if (r + 0 > 0) printf "%.1f", 1e6 / r; else print "-" }')"
}
echo
echo "# 3. TCP: $mib MiB bulk send, 1-byte request/response for 1 s; median of 3"
printf '  %-52s %15s %14s %11s\n' "path" "throughput" "round trips" "per trip"
row "host loopback (127.0.0.1)" 127.0.0.1 "$HPORT" env
row "host -> test netns, one veth hop" "$NET.2" "$PORT" env
row "bwrap --share-net -> test netns (same hop)" "$NET.2" "$PORT" bw_run
row "plain netns + veth via the host (ip netns exec)" "$NET.2" "$PORT" ns_run
row "enclave --net deny (allowlisted) -> test netns" "$NET.2" "$PORT" ws_run deny
row "enclave --net nat -> test netns" "$NET.2" "$PORT" ws_run nat
row "host -> published port (forwarder) -> workspace" 127.0.0.1 $((HPORT + 1)) env
tp=$(best3 ws_lo send 127.0.0.1 "$PORT" "$mib")
rt=$(best3 ws_lo rr 127.0.0.1 "$PORT" 1000)
printf '  %-52s %9.0f MiB/s %9.0f rt/s %8s us\n' "loopback inside a workspace" "${tp/-/0}" "${rt/-/0}" \
	"$(awk -v r="$rt" 'BEGIN { if (r > 0) printf "%.1f", 1e6 / r; else print "-" }')"
echo "  (the enclave rows include the workspace's start only in wall time, not in"
echo "   these figures: tcpbench times itself once connected)"
