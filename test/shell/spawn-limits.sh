# SPDX-License-Identifier: GPL-2.0-or-later
# enclave-spawn: resource limits and kill reasons from the kernel's own
# events (DESIGN §8), and the crash sweep (DESIGN §3, §15.5).
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"
need_root

ok "sandbox" t_sandbox box

# Fork bomb: capped by pids.max, killed with the precise reason.
exit_is 137 "fork-bomb: killed" enclave-spawn run --pids 32 --timeout 60s --result "$T_TMP/r.json" box fb -- probe forkbomb
is "$(jq -r .reason "$T_TMP/r.json")" "pids_exceeded" "fork-bomb: reason pids_exceeded"
ok "fork-bomb: the host can still fork" /bin/true
ok "fork-bomb: no cgroup left" test -z "$(t_cgroup_dirs box:fb)"

# Memory balloon: OOM-killed, reason from memory.events / memory.oom_control.
exit_is 137 "memory-balloon: killed" enclave-spawn run --memory 32M --timeout 60s --result "$T_TMP/r.json" box mem -- probe balloon
is "$(jq -r .reason "$T_TMP/r.json")" "oom" "memory-balloon: reason oom"
ok "memory-balloon: peak memory recorded" jq -e '.memory_peak > 16000000' "$T_TMP/r.json"

# Wall-clock limit.
start=$(date +%s%N)
exit_is 137 "timeout: killed" enclave-spawn run --timeout 1s --result "$T_TMP/r.json" box slow -- probe sleep 60
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$(jq -r .reason "$T_TMP/r.json")" "timeout" "timeout: reason timeout"
ok "timeout: ended within 5 s (took ${elapsed_ms} ms)" test "$elapsed_ms" -lt 5000

# Limits are applied to the cgroup (read back from the kernel's files).
exit_is 0 "start with limits" enclave-spawn start --memory 64M --pids 50 --cpus 0.5 box lim -- sleep 600
at_exit "enclave-spawn stop --time 0 box lim"
cg() { # hierarchy file: the workspace's cgroup file, v1 or v2
	cat /sys/fs/cgroup/$1/enclave/box:lim:*/"$2" 2>/dev/null || cat /sys/fs/cgroup/enclave/box:lim:*/"$3"
}
pidsmax=$(cg pids pids.max pids.max)
is "$pidsmax" "50" "pids.max is 50"
memmax=$(cg memory memory.limit_in_bytes memory.max)
is "$memmax" "67108864" "memory limit is 64M"
quota=$(cg cpu cpu.cfs_quota_us cpu.max | cut -d' ' -f1)
is "$quota" "50000" "cpu quota is 0.5 CPU"
exit_is 0 "stop" enclave-spawn stop --time 0 box lim
ok "no cgroup left after stop" test -z "$(t_cgroup_dirs box:lim)"

# Crash sweep: SIGKILL the monitor; the next command sweeps everything.
# Mounts of the host, minus the network namespaces other tests running in
# parallel pin under /run/netns.
host_mounts() { grep -vc ' /run/netns' /proc/self/mountinfo; }
mounts_before=$(host_mounts)
exit_is 0 "start for the crash" enclave-spawn start box crash -- sleep 600
mon=$(cut -d' ' -f1 "$ENCLAVE_RUNTIME_DIR/workspaces/box/crash/monitor")
init=$(cut -d' ' -f1 "$ENCLAVE_RUNTIME_DIR/workspaces/box/crash/init")
ok "monitor pid recorded" test -n "$mon"
kill -9 "$mon"
for _ in $(seq 50); do kill -0 "$init" 2>/dev/null || break; sleep 0.1; done
ok "the workspace's init died with its monitor" sh -c "! kill -0 $init 2>/dev/null"
exit_is 0 "ps after the crash" enclave-spawn ps
like "$(grep -P '^box\tcrash\t' "$OUT")" "	stopped	" "crashed workspace shows stopped"
exit_is 0 "start sweeps and starts again" enclave-spawn start box crash -- sleep 600
exit_is 0 "audit has the sweep" enclave-spawn audit box crash
ok "audit: swept record" grep -q '"event":"swept"' "$OUT"
exit_is 0 "stop" enclave-spawn stop --time 0 box crash
ok "no cgroup left after the sweep" test -z "$(t_cgroup_dirs box:crash)"
is "$(host_mounts)" "$mounts_before" "no mount left on the host"
ok "no process of the workspace left" sh -c "! pgrep -f 'sleep 600' -u $((2147483648 + 0))"
