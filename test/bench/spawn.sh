#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test/bench/spawn.sh - how fast and how small workspaces are, against
# unshare(1) and bubblewrap measured in the same run on the same rootfs.
#
#   test/bench/spawn.sh BUILDDIR [RUNS] [MANY]
#
# Needs root. Uses a private state dir in /tmp and removes it (the runtime
# dir too: under the state dir, or under BENCH_RUNTIME_PARENT). On a host
# shared with other work, run it when the machine is quiet or compare the
# ratios only: they are measured in interleaved rounds. Prints:
#   - medians (and p90) of RUNS (default 30) runs of
#       unshare -Urmpf --mount-proc true
#       bwrap --unshare-all --die-with-parent --ro-bind ROOTFS / --proc /proc
#             --dev /dev --tmpfs /tmp true
#       enclave-spawn run --rm --net none SANDBOX ws -- /bin/true
#     and the ratio of enclave-spawn to bwrap. The three are run in turn
#     (unshare, bwrap, enclave-spawn, then the next round), so a burst of
#     load from elsewhere on the machine hits all three alike and the ratio
#     stays meaningful on a busy host; each ratio is also given per round
#     (median of enclave/bwrap over the rounds);
#   - the median per-step breakdown of enclave-spawn (ENCLAVE_TIMING=1);
#   - MANY (default 200) workspaces (--net none) started detached: wall
#     time until all run, memory per idle workspace (monitor + init PSS, and the
#     workspace cgroup's own charge), disk per workspace before it writes.
# The rootfs is Debian's minbase from the test cache when the test suite
# made one (build/test-cache/bookworm-minbase.tar), else the busybox one.
set -euo pipefail

build=$(cd "${1:?usage: spawn.sh BUILDDIR [RUNS] [MANY]}" && pwd)
runs=${2:-30}
many=${3:-200}
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/test/bench/lib.sh"
[ "$(id -u)" = 0 ] || { echo "spawn.sh: run as root" >&2; exit 2; }
command -v bwrap >/dev/null || { echo "spawn.sh: needs bwrap (apt-get install bubblewrap)" >&2; exit 2; }

export PATH="$build/tools:$PATH"
export ENCLAVE_STATE_DIR ENCLAVE_RUNTIME_DIR
ENCLAVE_STATE_DIR=$(mktemp -d /tmp/enclave-bench.XXXXXX)
# The runtime dir is /run/enclave by default, a tmpfs on most hosts; here
# it sits on the state dir's file system unless BENCH_RUNTIME_PARENT names
# another parent (e.g. /dev/shm to see what a tmpfs /run changes).
if [ -n "${BENCH_RUNTIME_PARENT:-}" ]; then
	ENCLAVE_RUNTIME_DIR=$(mktemp -d "$BENCH_RUNTIME_PARENT/enclave-bench-run.XXXXXX")
else
	ENCLAVE_RUNTIME_DIR=$ENCLAVE_STATE_DIR/run
fi
cleanup() {
	for i in $(seq 0 $((many - 1))); do
		enclave-spawn stop --time 0 bench "m$i" >/dev/null 2>&1 || true
	done
	rm -rf "$ENCLAVE_STATE_DIR" "$ENCLAVE_RUNTIME_DIR"
	for d in /sys/fs/cgroup/enclave /sys/fs/cgroup/*/enclave; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	return 0
}
trap cleanup EXIT

tar=$build/test-cache/bookworm-minbase.tar
if [ ! -s "$tar" ]; then
	tar=$(ENCLAVE_BUILD_DIR=$build PROBE="$build/test/probe" bash "$src/test/mkrootfs.sh")
fi
enclave-bootstrap create bench --method tar --source "$tar" -q
gen=$(cat "$ENCLAVE_STATE_DIR/sandboxes/bench/current")
rootfs=$ENCLAVE_STATE_DIR/sandboxes/bench/gen/$gen/rootfs
echo "# rootfs: $(basename "$tar") ($(du -sh "$rootfs" | cut -f1)), kernel $(uname -r), $(nproc) CPUs"
echo "# state dir on $(stat -f -c %T "$ENCLAVE_STATE_DIR"), runtime dir on $(stat -f -c %T "$ENCLAVE_RUNTIME_DIR")"

run_unshare() { unshare -Urmpf --mount-proc true; }
run_bwrap() {
	bwrap --unshare-all --die-with-parent --ro-bind "$rootfs" / \
		--proc /proc --dev /dev --tmpfs /tmp /bin/true
}
run_enclave() { enclave-spawn run --rm --net none bench ws -- /bin/true; }


# A run that fails is noted here and reported below the ratios.
BENCH_FAILS=$ENCLAVE_STATE_DIR/bench-failures

# CPU time of a command's whole process tree (perf stat task-clock, which
# follows every fork), mean of N runs in ms: insensitive to the waits that
# other load on the machine adds to each hand-off between processes, so it
# shows what enclave itself costs even on a busy host. Empty without perf.
cpu_ms() {
	local n=$1; shift
	command -v perf >/dev/null || return 0
	perf stat -r "$n" -x, -e task-clock -- "$@" 2>&1 >/dev/null | awk -F, '$3 == "task-clock" { print $1 }'
}

rounds=$(interleave "$runs" 0 run_unshare run_bwrap run_enclave)
read -r u_med u_p90 < <(col_stats 1 <<<"$rounds")
read -r b_med b_p90 < <(col_stats 2 <<<"$rounds")
read -r e_med e_p90 < <(col_stats 3 <<<"$rounds")
# CPU: alternate in blocks of 10 so both see the same load.
cpu=$(for ((i = 0; i < runs; i += 10)); do
	echo "$(cpu_ms 10 unshare -Urmpf --mount-proc true) $(cpu_ms 10 bwrap --unshare-all \
		--die-with-parent --ro-bind "$rootfs" / --proc /proc --dev /dev --tmpfs /tmp /bin/true) \
		$(cpu_ms 10 enclave-spawn run --rm --net none bench ws -- /bin/true)"
done)
u_cpu=$(awk '{ t += $1 } END { printf "%.2f", NR ? t / NR : 0 }' <<<"$cpu")
b_cpu=$(awk '{ t += $2 } END { printf "%.2f", NR ? t / NR : 0 }' <<<"$cpu")
e_cpu=$(awk '{ t += $3 } END { printf "%.2f", NR ? t / NR : 0 }' <<<"$cpu")
r_med=$(awk '{ print $3 / $2 }' <<<"$rounds" | median)

printf '%-58s %8s %8s %9s\n' "start + exit of /bin/true ($runs interleaved rounds)" "median" "p90" "CPU mean"
printf '%-58s %6s ms %5s ms %6s ms\n' "unshare -Urmpf --mount-proc true" "$u_med" "$u_p90" "$u_cpu"
printf '%-58s %6s ms %5s ms %6s ms\n' "bwrap --unshare-all --ro-bind ROOTFS / --proc --dev --tmpfs" \
	"$b_med" "$b_p90" "$b_cpu"
printf '%-58s %6s ms %5s ms %6s ms\n' "enclave-spawn run --rm --net none (namespaces, overlay...)" \
	"$e_med" "$e_p90" "$e_cpu"
awk -v e="$e_med" -v b="$b_med" -v u="$u_med" -v r="$r_med" -v ec="$e_cpu" -v bc="$b_cpu" 'BEGIN {
	printf "ratio enclave-spawn / bwrap: %.2fx (median of per-round ratios %.2fx; CPU time %.2fx)   enclave-spawn / unshare: %.2fx\n",
		e / b, r, ec / bc, e / u }'
if [ -s "$BENCH_FAILS" ]; then
	echo "# FAILED timed runs (counted in the medians above): $(sort "$BENCH_FAILS" | uniq -c |
		awk '{ printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1 }')"
fi
uptime | sed 's/^.*load/# load/'

# Back-to-back runs keep some kernel state warm that a start on its own
# does not find: e.g. a v1 cgroup.procs write waits for an RCU grace
# period unless another migration happened within the last one. So also:
# starts 100 ms apart (the same interleaving, a pause before each).
pause_runs=$(( runs / 3 > 10 ? runs / 3 : 10 ))
apart=$(interleave "$pause_runs" 0.1 run_bwrap run_enclave)
read -r ab_med _ < <(col_stats 1 <<<"$apart")
read -r ae_med _ < <(col_stats 2 <<<"$apart")
awk -v b="$ab_med" -v e="$ae_med" -v n="$pause_runs" 'BEGIN {
	printf "starts 100 ms apart (%d rounds): bwrap %.2f ms, enclave-spawn %.2f ms, ratio %.2fx\n", n, b, e, e / b }'

# Where the time goes: the median of each step over RUNS runs.
echo
echo "# enclave-spawn run --rm --net none, median microseconds per step (ENCLAVE_TIMING=1):"
for ((i = 0; i < runs; i++)); do
	ENCLAVE_TIMING=1 enclave-spawn run --rm --net none bench ws -- /bin/true 2>&1 >/dev/null |
		sed -n 's/^enclave-spawn: timing: //p'
done | awk '{
	for (i = 1; i <= NF; i++) { split($i, kv, "="); gsub("us", "", kv[2]);
		if (!(kv[1] in seen)) { seen[kv[1]] = 1; order[++n] = kv[1] }
		vals[kv[1], ++cnt[kv[1]]] = kv[2] + 0 } }
	END { for (k = 1; k <= n; k++) { name = order[k]; c = cnt[name]
		for (i = 1; i <= c; i++) a[i] = vals[name, i]
		for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		printf "  %-12s %6d\n", name, a[int((c + 1) / 2)] } }'
echo "  (start..prepare: lock, sweep check, generation, id slot in the caller;"
echo "   fork..running: the monitor; workload: /bin/true itself; result..teardown: the end)"

# Many detached workspaces: once one after the other, once four at a time
# (as a script starting a swarm of agents would). MANY=0 skips this.
[ "$many" -gt 0 ] || exit 0
echo
start_many() {
	local par=$1 t0 t1 running
	t0=$EPOCHREALTIME
	seq 0 $((many - 1)) | xargs -P "$par" -I{} enclave-spawn start --net none bench m{} -- sleep 100000
	t1=$EPOCHREALTIME
	running=$(enclave-spawn ps bench | awk -F'\t' '$3 == "running"' | wc -l)
	awk -v a="$t0" -v b="$t1" -v n="$many" -v r="$running" -v p="$par" 'BEGIN {
		printf "%d workspaces started detached (each: sleep), %d at a time: %.2f s (%.1f ms each), %d running\n",
			n, p, b - a, (b - a) * 1000 / n, r }'
}
start_many 1
seq 0 $((many - 1)) | xargs -P 4 -I{} enclave-spawn stop --time 0 bench m{}
start_many 4

pss_total=0
cg_total=0
for ((i = 0; i < many; i++)); do
	d=$ENCLAVE_RUNTIME_DIR/workspaces/bench/m$i
	for which in monitor init; do
		pid=$(cut -d' ' -f1 "$d/$which")
		p=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup")
		pss_total=$((pss_total + p))
	done
	# Kernel-side charge of the workspace (init, namespaces, tmpfs, and
	# the sleep itself) where the memory controller reports it.
	for f in /sys/fs/cgroup/memory/enclave/bench:m$i:*/memory.usage_in_bytes \
		/sys/fs/cgroup/enclave/bench:m$i:*/memory.current; do
		if [ -r "$f" ]; then cg_total=$((cg_total + $(cat "$f"))); break; fi
	done
done
awk -v p="$pss_total" -v c="$cg_total" -v n="$many" 'BEGIN {
	printf "memory per idle workspace: monitor+init PSS %.0f KiB; workspace cgroup charge %.0f KiB (init, the sleep, kernel objects)\n",
		p / n, c / n / 1024 }'
du_ws=$(du -sk "$ENCLAVE_STATE_DIR/workspaces/bench/m0" | cut -f1)
echo "disk per workspace before it writes: ${du_ws} KiB (state files only; the overlay upper is a tmpfs)"
