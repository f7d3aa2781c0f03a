#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test/bench/spawn.sh - how fast and how small workspaces are, against
# unshare(1) and bubblewrap measured in the same run on the same rootfs.
#
#   test/bench/spawn.sh BUILDDIR [RUNS] [MANY]
#
# Needs root. Uses a private state dir in /tmp and removes it. Prints:
#   - medians (and p90) of RUNS (default 30) runs of
#       unshare -Urmpf --mount-proc true
#       bwrap --unshare-all --die-with-parent --ro-bind ROOTFS / --proc /proc
#             --dev /dev --tmpfs /tmp true
#       enclave-spawn run --rm SANDBOX ws -- /bin/true
#     and the ratio of enclave-spawn to bwrap;
#   - the median per-step breakdown of enclave-spawn (ENCLAVE_TIMING=1);
#   - MANY (default 200) workspaces started detached: wall time until all
#     run, memory per idle workspace (monitor + init PSS, and the
#     workspace cgroup's own charge), disk per workspace before it writes.
# The rootfs is Debian's minbase from the test cache when the test suite
# made one (build/test-cache/bookworm-minbase.tar), else the busybox one.
set -euo pipefail

build=$(cd "${1:?usage: spawn.sh BUILDDIR [RUNS] [MANY]}" && pwd)
runs=${2:-30}
many=${3:-200}
src=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "spawn.sh: run as root" >&2; exit 2; }
command -v bwrap >/dev/null || { echo "spawn.sh: needs bwrap (apt-get install bubblewrap)" >&2; exit 2; }

export PATH="$build/tools:$PATH"
export ENCLAVE_STATE_DIR
ENCLAVE_STATE_DIR=$(mktemp -d /tmp/enclave-bench.XXXXXX)
export ENCLAVE_RUNTIME_DIR=$ENCLAVE_STATE_DIR/run
cleanup() {
	for i in $(seq 0 $((many - 1))); do
		enclave-spawn stop --time 0 bench "m$i" >/dev/null 2>&1 || true
	done
	rm -rf "$ENCLAVE_STATE_DIR"
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

# Time one command RUNS times (after 3 warm-ups); print "median p90" in ms.
measure() {
	local i t0 t1 out=()
	for i in 1 2 3; do "$@" >/dev/null 2>&1; done
	for ((i = 0; i < runs; i++)); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null 2>&1
		t1=$EPOCHREALTIME
		out+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1000 }')")
	done
	printf '%s\n' "${out[@]}" | sort -n | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		p = v[int(NR * 0.9 + 0.5)]
		printf "%.2f %.2f\n", m, p }'
}

read -r u_med u_p90 < <(measure unshare -Urmpf --mount-proc true)
read -r b_med b_p90 < <(measure bwrap --unshare-all --die-with-parent --ro-bind "$rootfs" / \
	--proc /proc --dev /dev --tmpfs /tmp /bin/true)
read -r e_med e_p90 < <(measure enclave-spawn run --rm bench ws -- /bin/true)

printf '%-58s %8s %8s\n' "start + exit of /bin/true" "median" "p90"
printf '%-58s %6s ms %5s ms\n' "unshare -Urmpf --mount-proc true" "$u_med" "$u_p90"
printf '%-58s %6s ms %5s ms\n' "bwrap --unshare-all --ro-bind ROOTFS / --proc --dev --tmpfs" "$b_med" "$b_p90"
printf '%-58s %6s ms %5s ms\n' "enclave-spawn run --rm (all namespaces, overlay, cgroup...)" "$e_med" "$e_p90"
awk -v e="$e_med" -v b="$b_med" -v u="$u_med" 'BEGIN {
	printf "ratio enclave-spawn / bwrap: %.2fx   enclave-spawn / unshare: %.2fx\n", e / b, e / u }'

# Where the time goes: the median of each step over RUNS runs.
echo
echo "# enclave-spawn run --rm, median microseconds per step (ENCLAVE_TIMING=1):"
for ((i = 0; i < runs; i++)); do
	ENCLAVE_TIMING=1 enclave-spawn run --rm bench ws -- /bin/true 2>&1 >/dev/null |
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
# (as a script starting a swarm of agents would).
echo
start_many() {
	local par=$1 t0 t1 running
	t0=$EPOCHREALTIME
	seq 0 $((many - 1)) | xargs -P "$par" -I{} enclave-spawn start bench m{} -- sleep 100000
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
