# SPDX-License-Identifier: GPL-2.0-or-later
# enclave-spawn: resource limits and kill reasons from the kernel's own
# events (DESIGN §8), and the crash sweep (DESIGN §3, §15.5).
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"
need_root

ok "sandbox" t_sandbox box
# --result is written by the caller of enclave-spawn: a directory of theirs.
res=$T_TMP/res
mkdir -p "$res"
t_own "$res"
# A workspace's cgroups: enclave/ for root, enclave/user-UID/ (delegated by
# enclave-helper) for an ordinary user. The exact name (SB:WS:DEV-INO of its
# state dir), as other tests' workspaces may share SB:WS.
cgparent=enclave
if t_user; then cgparent=enclave/user-$T_UID; fi
ws_cgname() {
	local d=$ENCLAVE_STATE_DIR/workspaces/$1/$2 dev ino
	dev=$(stat -c %D "$d") && ino=$(stat -c %i "$d") || return 1
	printf '%s:%s:%x-%x\n' "$1" "$2" "0x$dev" "$ino"
}
# (a missing state dir prints a line, so that "none left" cannot pass)
ws_cgroups() {
	local n
	n=$(ws_cgname "$1" "$2") || { echo "no state dir of $1/$2"; return; }
	t_cgroup_dirs "$1:$2" | awk -F/ -v n="$n" '$NF == n'
}

# Fork bomb: capped by pids.max, killed with the precise reason.
exit_is 137 "fork-bomb: killed" enclave-spawn run --pids 32 --timeout 60s --result "$res/r.json" box fb -- probe forkbomb
is "$(jq -r .reason "$res/r.json")" "pids_exceeded" "fork-bomb: reason pids_exceeded"
ok "fork-bomb: the host can still fork" /bin/true
ok "fork-bomb: no cgroup left" test -z "$(ws_cgroups box fb)"

# Memory balloon: OOM-killed, reason from memory.events / memory.oom_control.
exit_is 137 "memory-balloon: killed" enclave-spawn run --memory 32M --timeout 60s --result "$res/r.json" box mem -- probe balloon
is "$(jq -r .reason "$res/r.json")" "oom" "memory-balloon: reason oom"
ok "memory-balloon: peak memory recorded" jq -e '.memory_peak > 16000000' "$res/r.json"

# Wall-clock limit.
start=$(date +%s%N)
exit_is 137 "timeout: killed" enclave-spawn run --timeout 1s --result "$res/r.json" box slow -- probe sleep 60
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$(jq -r .reason "$res/r.json")" "timeout" "timeout: reason timeout"
ok "timeout: ended within 5 s (took ${elapsed_ms} ms)" test "$elapsed_ms" -lt 5000

# Limits are applied to the cgroup (read back from the kernel's files).
exit_is 0 "start with limits" enclave-spawn start --memory 64M --pids 50 --cpus 0.5 box lim -- sleep 600
at_exit "enclave-spawn stop --time 0 box lim"
limcg=$cgparent/$(ws_cgname box lim)
cg() { # hierarchy file: the workspace's cgroup file, v1 or v2
	cat "/sys/fs/cgroup/$1/$limcg/$2" 2>/dev/null || cat "/sys/fs/cgroup/$limcg/$3"
}
pidsmax=$(cg pids pids.max pids.max)
is "$pidsmax" "50" "pids.max is 50"
memmax=$(cg memory memory.limit_in_bytes memory.max)
is "$memmax" "67108864" "memory limit is 64M"
quota=$(cg cpu cpu.cfs_quota_us cpu.max | cut -d' ' -f1)
is "$quota" "50000" "cpu quota is 0.5 CPU"
if t_user; then
	# The user's delegated parent carries the helper policy's quotas
	# (test/user.sh: pids 100000, memory 64G) and they stay root's: the
	# user can limit its workspaces below them, never raise them.
	for f in pids/$cgparent/pids.max memory/$cgparent/memory.limit_in_bytes \
		$cgparent/pids.max $cgparent/memory.max; do
		[ -e "/sys/fs/cgroup/$f" ] || continue
		case $f in
		*pids.max) want=100000 ;;
		*) want=68719476736 ;;
		esac
		is "$(cat "/sys/fs/cgroup/$f")" "$want" "user quota: $f"
		is "$(stat -c %u "/sys/fs/cgroup/$f")" "0" "user quota: $f is root's"
		fails "user quota: the user cannot raise $f" as_user sh -c "echo max > /sys/fs/cgroup/$f"
		like "$(cat "$ERR")" "Permission denied" "user quota: refused by the file's owner and mode"
	done
	is "$(cat "/sys/fs/cgroup/pids/$cgparent/pids.max" 2>/dev/null || cat "/sys/fs/cgroup/$cgparent/pids.max")" \
		"100000" "user quota: a pids limit is there"
fi
exit_is 0 "stop" enclave-spawn stop --time 0 box lim
ok "no cgroup left after stop" test -z "$(ws_cgroups box lim)"

# Crash sweep: SIGKILL the monitor; the next command sweeps everything.
# Mounts of the host, minus the network namespaces other tests running in
# parallel pin under /run/netns.
host_mounts() { grep -vc ' /run/netns' /proc/self/mountinfo; }
mounts_before=$(host_mounts)
exit_is 0 "start for the crash" enclave-spawn start box crash -- sleep 600
# The workspace's processes: its init and the workload below it.
ws_pids() {
	local init
	init=$(cut -d' ' -f1 "$ENCLAVE_RUNTIME_DIR/workspaces/box/$1/init")
	echo "$init" $(cat /proc/"$init"/task/*/children)
}
alive() { for p in "$@"; do [ ! -e "/proc/$p" ] || return 0; done; return 1; }
mon=$(cut -d' ' -f1 "$ENCLAVE_RUNTIME_DIR/workspaces/box/crash/monitor")
init=$(cut -d' ' -f1 "$ENCLAVE_RUNTIME_DIR/workspaces/box/crash/init")
crash_pids=$(ws_pids crash)
ok "monitor pid recorded" test -n "$mon"
like "$crash_pids" "^$init [0-9]+$" "init and the workload recorded"
ok "the workspace's cgroup exists" test -n "$(ws_cgroups box crash)"
kill -9 "$mon"
for _ in $(seq 50); do kill -0 "$init" 2>/dev/null || break; sleep 0.1; done
ok "the workspace's init died with its monitor" sh -c "! kill -0 $init 2>/dev/null"
exit_is 0 "ps after the crash" enclave-spawn ps
like "$(grep -P '^box\tcrash\t' "$OUT")" "	stopped	" "crashed workspace shows stopped"
exit_is 0 "start sweeps and starts again" enclave-spawn start box crash -- sleep 600
crash_pids="$crash_pids $(ws_pids crash)"
ok "the workload of the second start runs" alive $(echo "$crash_pids" | cut -d' ' -f3-)
exit_is 0 "audit has the sweep" enclave-spawn audit box crash
ok "audit: swept record" grep -q '"event":"swept"' "$OUT"
exit_is 0 "stop" enclave-spawn stop --time 0 box crash
ok "no cgroup left after the sweep" test -z "$(ws_cgroups box crash)"
is "$(host_mounts)" "$mounts_before" "no mount left on the host"
fails "no process of the workspace left" alive $crash_pids
if t_user; then
	# Every id of the user's workspaces is one of the user's subordinate
	# ids: with all of them stopped, none may own a process.
	IFS=: read -r _ sub_start sub_count < <(grep "^$T_USER:" /etc/subuid)
	is "$(ps -eo uid= | awk -v a="$sub_start" -v n="$sub_count" '$1 >= a && $1 < a + n' | wc -l)" "0" \
		"no process left in the user's subordinate ids"
fi
