# SPDX-License-Identifier: GPL-2.0-or-later
# enclave-spawn: lifecycle, exit statuses, output, results, ps/logs/wait,
# enter, stop/kill, rm, audit.
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"
need_root

ok "sandbox from the test rootfs" t_sandbox box
# A workspace's cgroups: enclave/ for root, enclave/user-UID/ (delegated by
# enclave-helper) for an ordinary user. The exact name (SB:WS:DEV-INO of its
# state dir), as other tests' workspaces may share SB:WS.
cgparent=enclave
if t_user; then cgparent=enclave/user-$T_UID; fi
ws_cgroups() {
	local d=$ENCLAVE_STATE_DIR/workspaces/$1/$2 dev ino
	dev=$(stat -c %D "$d") && ino=$(stat -c %i "$d") || return 1
	t_cgroup_dirs "$1:$2" | awk -F/ -v n="$(printf '%s:%s:%x-%x' "$1" "$2" "0x$dev" "$ino")" '$NF == n'
}

# ---- exit status passthrough (DESIGN §13) --------------------------------
exit_is 0 "run: true exits 0" enclave-spawn run box w1 -- /bin/true
exit_is 3 "run: exit status 3 passes through" enclave-spawn run box w1 -- probe exit 3
exit_is 127 "run: command not found is 127" enclave-spawn run box w1 -- /nonexistent
like "$(cat "$ERR")" "cannot execute '/nonexistent': No such file or directory" "127: message names the command"
exit_is 126 "run: not executable is 126" enclave-spawn run box w1 -- /etc/passwd
exit_is 137 "run: killed by SIGKILL is 128+9" enclave-spawn run box w1 -- probe kill 9
exit_is 143 "run: killed by SIGTERM is 128+15" enclave-spawn run box w1 -- probe kill 15
exit_is 125 "run: a missing sandbox is enclave's failure, 125" enclave-spawn run nosuch w1 -- /bin/true
like "$(cat "$ERR")" "^enclave-spawn: .*nosuch" "missing sandbox: message names it"
ok "a failed create leaves no workspace behind" test ! -e "$ENCLAVE_STATE_DIR/workspaces/nosuch"
exit_is 2 "run: bad option value is a usage error" enclave-spawn run --memory 12Q box w1 -- /bin/true
is "$(head -n1 "$ERR")" "enclave-spawn: --memory: expected a size such as 512M or 2G, got '12Q'" "bad --memory: message"
exit_is 2 "run: bad workspace name" enclave-spawn run box 'a/b' -- /bin/true

# ---- output --------------------------------------------------------------
exit_is 0 "run: stdout is relayed" enclave-spawn run box w1 -- echo hello
is "$(cat "$OUT")" "hello" "stdout content"
exit_is 0 "run: stderr is relayed" enclave-spawn run box w1 -- sh -c 'echo oops >&2'
is "$(cat "$ERR")" "oops" "stderr content"
is "$(cat "$OUT")" "" "stderr not on stdout"
exit_is 0 "run -i passes stdin" sh -c 'echo piped | enclave-spawn run -i box w1 -- cat'
is "$(cat "$OUT")" "piped" "stdin content"
exit_is 0 "run without -i: stdin is /dev/null" sh -c 'echo piped | enclave-spawn run box w1 -- cat'
is "$(cat "$OUT")" "" "no stdin without -i"

# ---- result.json ---------------------------------------------------------
# --result is written by the caller of enclave-spawn: a directory of theirs.
res=$T_TMP/res
mkdir -p "$res"
t_own "$res"
exit_is 3 "run --result" enclave-spawn run --result "$res/r.json" box w1 -- probe exit 3
ok "result file is JSON" jq -e . "$res/r.json"
is "$(stat -c %u "$res/r.json")" "$T_UID" "result file belongs to the caller"
is "$(jq -r '[.reason, .exit_code, .signal, .status] | @tsv' "$res/r.json")" "exited	3		3" "result: reason/exit_code/signal/status"
is "$(jq -r '.sandbox + "/" + .workspace' "$res/r.json")" "box/w1" "result: names"
like "$(jq -r .started "$res/r.json")" "^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$" "result: started is ISO 8601"
ok "result: wall_ms is a number" jq -e '.wall_ms | type == "number"' "$res/r.json"
exit_is 137 "run killed" enclave-spawn run --result "$res/r.json" box w1 -- probe kill 9
is "$(jq -r '[.reason, .signal, .status] | @tsv' "$res/r.json")" "signaled	SIGKILL	137" "result of a signal death"
exit_is 0 "workload writes its own result" enclave-spawn run --result "$res/r.json" box w1 -- \
	sh -c 'echo "{\"tests\": 12, \"ok\": true}" > /run/enclave/result.json'
is "$(jq -c .result "$res/r.json")" '{"tests":12,"ok":true}' "workload result embedded"
exit_is 0 "invalid workload result" enclave-spawn run --result "$res/r.json" box w1 -- \
	sh -c 'echo "{broken" > /run/enclave/result.json'
is "$(jq -c .result "$res/r.json")" "null" "invalid workload JSON is not embedded"
exit_is 0 "symlinked workload result" enclave-spawn run --result "$res/r.json" box w1 -- \
	sh -c 'ln -s /etc/passwd /run/enclave/result.json'
is "$(jq -c .result "$res/r.json")" "null" "a symlink as result.json is not followed"

# ---- identity and environment -------------------------------------------
exit_is 0 "workload ids" enclave-spawn run box w1 -- probe ids
like "$(cat "$OUT")" "uid 1000 euid 1000 gid 1000 egid 1000" "runs as the workspace user 1000"
like "$(cat "$OUT")" "CapEff 0000000000000000" "no effective capabilities"
like "$(cat "$OUT")" "CapBnd 0000000000000000" "empty bounding set"
like "$(cat "$OUT")" "NoNewPrivs 1" "no_new_privs set"
like "$(cat "$OUT")" "Seccomp 2" "seccomp filter mode"
exit_is 0 "--user 1234" enclave-spawn run --user 1234 box w1 -- probe ids
like "$(cat "$OUT")" "^uid 1234 " "--user UID"

export ENCLAVE_TEST_HOST_SECRET=leak
exit_is 0 "workload environment" enclave-spawn run --env FOO=bar --hostname devhost box w1 -- probe env
env_out=$(cat "$OUT")
unlike "$env_out" "ENCLAVE_TEST_HOST_SECRET|leak" "the caller's environment does not leak in"
like "$env_out" "(^|
)FOO=bar(
|$)" "--env is set"
like "$env_out" "(^|
)HOME=/home/user(
|$)" "HOME"
like "$env_out" "(^|
)ENCLAVE_WORKSPACE=w1(
|$)" "ENCLAVE_WORKSPACE"
like "$env_out" "(^|
)HOSTNAME=devhost(
|$)" "HOSTNAME"
unset ENCLAVE_TEST_HOST_SECRET
exit_is 0 "hostname" enclave-spawn run --hostname devhost box w1 -- hostname
is "$(cat "$OUT")" "devhost" "--hostname sets the UTS name"

# No fd of the caller reaches the workload (STYLE: fd-leak test).
exec 7<"$T_SRCDIR/README"
exit_is 0 "workload fds" enclave-spawn run box w1 -- probe fds
exec 7<&-
is "$(awk '{print $1}' "$OUT" | sort -n | tr '\n' ' ')" "0 1 2 " "only stdin, stdout, stderr are open"

# ---- detached lifecycle ---------------------------------------------------
exit_is 0 "start detached" enclave-spawn start box svc -- sh -c 'echo up; exec sleep 600'
is "$(cat "$OUT")" "" "start prints nothing"
exit_is 1 "start twice is refused" enclave-spawn start box svc -- sleep 1
like "$(cat "$ERR")" "workspace box/svc is running" "second start: message"
exit_is 0 "ps" enclave-spawn ps
like "$(grep -P '^box\tsvc\t' "$OUT")" "^box	svc	running	[0-9]+	[0-9]+	[0-9a-f]{16}	-$" "ps line of a running workspace"
exit_is 0 "ps --json" enclave-spawn ps --json
is "$(jq -r '.[] | select(.workspace == "svc") | .state' "$OUT")" "running" "ps --json state"
exit_is 0 "stats" enclave-spawn stats box svc
like "$(cat "$OUT")" "(^|
)pids	[0-9]+" "stats has pids"
exit_is 0 "stats --json" enclave-spawn stats --json box svc
ok "stats --json memory is a number" jq -e '.memory | type == "number"' "$OUT"
exit_is 0 "logs" enclave-spawn logs box svc
like "$(cat "$OUT")" "(^|
)up(
|$)" "logs show the output"
exit_is 0 "enter runs a command" enclave-spawn enter box svc -- probe ids
like "$(cat "$OUT")" "uid 1000 euid 1000" "enter: the workspace user"
like "$(cat "$OUT")" "Seccomp 2" "enter: seccomp"
exit_is 0 "enter sees the workload" enclave-spawn enter box svc -- ps
like "$(cat "$OUT")" "sleep 600" "enter shares the PID namespace"
exit_is 0 "exec --root" enclave-spawn exec --root box svc -- probe ids
like "$(cat "$OUT")" "uid 0 euid 0" "enter --root: uid 0"
like "$(cat "$OUT")" "CapEff 00000000800405fb" "enter --root: the documented root capability set"
exit_is 5 "enter: exit status" enclave-spawn enter box svc -- sh -c 'exit 5'
exit_is 127 "enter: not found" enclave-spawn enter box svc -- /nonexistent
exit_is 125 "enter a stopped workspace" enclave-spawn enter box w1 -- /bin/true
like "$(cat "$ERR")" "is not running" "enter stopped: message"
exit_is 0 "stop" enclave-spawn stop box svc
exit_is 0 "ps after stop" enclave-spawn ps
like "$(grep -P '^box\tsvc\t' "$OUT")" "^box	svc	stopped	-	-	" "stopped in ps"
exit_is 0 "wait prints the result of a stopped workspace" enclave-spawn wait box svc
is "$(jq -r .reason "$OUT")" "signaled" "stopped by SIGTERM: signaled"
exit_is 0 "stop a stopped workspace" enclave-spawn stop box svc
like "$(cat "$ERR")" "is not running" "stop of a stopped one warns"

exit_is 0 "start for kill" enclave-spawn start box k -- sleep 600
exit_is 0 "kill -s KILL" enclave-spawn kill -s KILL box k
exit_is 0 "wait after kill" enclave-spawn wait box k
is "$(jq -r '[.reason, .signal] | @tsv' "$OUT")" "signaled	SIGKILL" "kill: result"
exit_is 2 "kill: bad signal" enclave-spawn kill -s NOPE box k

exit_is 0 "start an idle workspace (no command)" enclave-spawn start box idle
exit_is 0 "enter the idle workspace" enclave-spawn enter box idle -- echo inside
is "$(cat "$OUT")" "inside" "idle workspace is enterable"
exit_is 0 "stop the idle workspace" enclave-spawn stop box idle
exit_is 0 "wait idle" enclave-spawn wait box idle
is "$(jq -r '[.reason, .status] | @tsv' "$OUT")" "exited	0" "idle stops cleanly"

# ---- rm --------------------------------------------------------------------
exit_is 0 "start for rm" enclave-spawn start box gone -- sleep 600
is "$(stat -c %u "$ENCLAVE_STATE_DIR/workspaces/box/gone")" "$T_UID" "the workspace's state belongs to the caller"
gone_cg=$(ws_cgroups box gone)
like "$gone_cg" "/sys/fs/cgroup/(unified/)?$cgparent/box:gone:" "the workspace's cgroup is under the caller's parent"
exit_is 1 "rm refuses while running" enclave-spawn rm box gone
like "$(cat "$ERR")" "is running \(use --force" "rm: message"
exit_is 0 "rm --force stops and removes" enclave-spawn rm --force box gone
exit_is 0 "ps after rm" enclave-spawn ps
unlike "$(cat "$OUT")" "	gone	" "removed workspace is not listed"
ok "no cgroup left" sh -c 'for d in $1; do [ ! -e "$d" ] || exit 1; done' - "$gone_cg"

# ---- --rm keeps only the result and the audit log --------------------------
exit_is 0 "run --rm" enclave-spawn run --rm box eph -- sh -c 'echo x > /home/user/f'
wsdir=$ENCLAVE_STATE_DIR/workspaces/box/eph
is "$(ls "$wsdir" | grep -v '^lock$' | sort | tr '\n' ' ')" "audit.jsonl idslot result.json " "--rm leaves result.json and audit.jsonl"

# ---- audit -----------------------------------------------------------------
exit_is 0 "audit --verify" enclave-spawn audit --verify box w1
like "$(cat "$OUT")" "^ok	[0-9]+ records$" "audit verifies"
exit_is 0 "audit prints JSON lines" enclave-spawn audit box w1
cp "$OUT" "$T_TMP/audit"
ok "every audit line is JSON" jq -e . "$T_TMP/audit"
like "$(jq -r .event "$T_TMP/audit" | sort -u | tr '\n' ' ')" "result .*start .*teardown" "audit has start, result and teardown"
sed -i '2s/"time":"2/"time":"3/' "$wsdir/../w1/audit.jsonl"
exit_is 1 "audit --verify detects an edited record" enclave-spawn audit --verify box w1
like "$(cat "$ERR")" "line [23]" "verify names the line"

# A script without "#!" and 40,000 arguments: run through /bin/sh by the C
# library, which copies the whole argument vector onto the stack the
# workload starts on (too small a stack would fault, or worse).
mkdir -p "$T_TMP/many"
printf 'echo "$# ${40000}"\n' >"$T_TMP/many/noshebang"
chmod 755 "$T_TMP/many/noshebang"
t_own "$T_TMP/many"
many_args() {
	enclave-spawn run --rm --net none --dir "$T_TMP/many" box many -- "$T_TMP/many/noshebang" $(seq 40000)
}
exit_is 0 "a script without #! and 40,000 arguments" many_args
is "$(cat "$OUT")" "40000 40000" "40,000 arguments: all of them arrive"
