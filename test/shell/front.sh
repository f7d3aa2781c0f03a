#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The front door: enclave up/down/ps/stats/logs on an Enclavefile with a
# busybox sandbox and three workspaces; idempotence and its speed (issue 8:
# an unchanged `up` returns in under a second); restarts on change; refusal
# in doctor's words; the seed's command spellings.
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"
need_root
need_cmd jq

tar=$(t_rootfs_tar) || skip_all "cannot build the test rootfs"
proj="$T_TMP/proj"
mkdir -p "$proj/code"
# The user pass: the project dir and the rootfs tarball are the user's.
t_own "$proj"
if t_user; then
	cp "$tar" "$T_TMP/rootfs.tar" && tar=$T_TMP/rootfs.tar && t_own "$tar"
fi
cd "$proj" || exit 1
# Unique names: cgroups are host-wide (enc_ws_cgroup_name adds the state
# dir's identity, but a readable name helps when something is left).
sb="front$$"
write_file() {
	cat >Enclavefile <<EOF
[sandbox]
name = $sb
bootstrap_method = tar
source = $tar
${2:-}

[workspace.api]
run = echo api-up; exec sleep 1000
network = none
memory = ${1:-64M}
pids = 64

[workspace.shell]
network = none
workspace_dir = ./code

[workspace.worker]
run = exec sleep 1000
network = none
EOF
}
write_file
at_exit "cd /; enclave down -f '$proj/Enclavefile' --purge; enclave-bootstrap rm --force '$sb'"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- up ------------------------------------------------------------------
exit_is 0 "up: creates the sandbox and starts three workspaces" enclave up
is "$(cat "$OUT")" "created $sb/api
created $sb/shell (idle, ready for enter)
created $sb/worker" "up: one line per workspace"
like "$(cat "$ERR")" "^enclave: sandbox $sb: created \(generation [0-9a-f]{16}\) in " "up: says it created the sandbox"
exit_is 0 "the sandbox exists" enclave-bootstrap show "$sb"

t0=$(now_ms)
exit_is 0 "up again" enclave up
t1=$(now_ms)
is "$(cat "$OUT")" "unchanged $sb/api
unchanged $sb/shell
unchanged $sb/worker" "up again: all unchanged"
is "$(cat "$ERR")" "" "up again: nothing on stderr (no rebuild)"
echo "# unchanged up took $((t1 - t0)) ms"
ok "unchanged up returns in under a second ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 1000

# ---- ps / stats -------------------------------------------------------------
exit_is 0 "ps" enclave ps
is "$(cut -f1-3 "$OUT")" "$sb	api	running
$sb	shell	running
$sb	worker	running" "ps: sandbox, workspace, state"
is "$(enclave ps)" "$(enclave-spawn ps "$sb")" "ps == enclave-spawn ps SANDBOX"
exit_is 0 "ps --json" enclave ps --json
is "$(jq -r '[.[] | .workspace + "=" + .state] | join(" ")' "$OUT")" \
	"api=running shell=running worker=running" "ps --json: states"

exit_is 0 "stats" enclave stats
is "$(head -n1 "$OUT")" "WORKSPACE	STATE	PID	UPTIME_S	CPU_MS	MEMORY	MEMORY_PEAK	PIDS	NET	ADDRESS	DENIALS" \
	"stats: header"
is "$(sed 1d "$OUT" | cut -f1,2,9,10,11)" "api	running	none	-	0
shell	running	none	-	0
worker	running	none	-	0" "stats: workspace, state, net, address, denials"
like "$(sed -n 2p "$OUT" | cut -f3-8)" "^[0-9]+	[0-9]+	[0-9]+	[0-9]+	[0-9]+	[1-9][0-9]*$" \
	"stats: api's pid, uptime, cpu, memory, peak and pids are numbers"
exit_is 0 "stats --json api" enclave stats --json api
is "$(jq -c '.[] | {workspace, state, net, denials}' "$OUT")" \
	'{"workspace":"api","state":"running","net":{"mode":"none","addr4":null,"addr6":null},"denials":0}' \
	"stats --json: fields"
is "$(jq -r '.[0] | [(.pid|type), (.uptime_s|type), (.cpu_ms|type), (.memory|type), (.memory_peak|type), (.pids|type)] | join(",")' "$OUT")" \
	"number,number,number,number,number,number" "stats --json: numbers"
exit_is 2 "stats of a workspace not in the file" enclave stats nosuch
like "$(cat "$ERR")" "Enclavefile: no workspace 'nosuch'" "stats: unknown workspace explained"

# ---- logs and the seed's spellings ------------------------------------------
exit_is 0 "logs api" enclave logs api
like "$(cat "$OUT")" "api-up" "logs: the workload's output"
exit_is 0 "workspace logs api (sandbox from ./Enclavefile)" enclave workspace logs api
like "$(cat "$OUT")" "api-up" "workspace logs: the same output"
exit_is 0 "workspace stats api" enclave workspace stats api
is "$(head -n1 "$OUT")" "state	running" "workspace stats: enclave-spawn stats"
exit_is 0 "workspace enter SANDBOX WS" enclave workspace enter "$sb" shell -- hostname
is "$(cat "$OUT")" "shell" "workspace enter: ran inside the idle workspace"
exit_is 0 "workspace enter WS -- CMD" enclave workspace enter shell -- sh -c 'echo $HOME; pwd'
is "$(cat "$OUT")" "/home/user
$proj/code" "workspace enter: home and project dir"
exit_is 0 "workspace logs --follow ends when the workspace stops" \
	sh -c "enclave workspace logs worker --follow & sleep 0.3; enclave-spawn stop '$sb' worker; wait"
exit_is 0 "auth list dispatches to enclave-auth" enclave auth list
exit_is 2 "workspace port: unknown verb" enclave workspace port frob
like "$(cat "$ERR")" "expected list, publish or unpublish" "workspace port: verbs named"
exit_is 2 "workspace: unknown verb" enclave workspace frob a
if enclave-net --help >/dev/null 2>&1; then
	exit_is 0 "workspace port list --help is enclave-net's" enclave workspace port list --help
	like "$(head -n1 "$OUT")" "^Usage: enclave-net" "workspace port list reaches enclave-net"
else
	skip "workspace port list reaches enclave-net" "enclave-net not built yet"
fi

# ---- changes ---------------------------------------------------------------
exit_is 0 "up restarts the stopped worker" enclave up
is "$(cat "$OUT")" "unchanged $sb/api
unchanged $sb/shell
started $sb/worker" "up: a stopped workspace is started"
old_pid=$(enclave ps --json | jq -r '.[] | select(.workspace == "api") | .pid')
write_file 96M
exit_is 0 "up after a change" enclave up
is "$(cat "$OUT")" "restarted $sb/api (configuration changed)
unchanged $sb/shell
unchanged $sb/worker" "up: only the changed workspace restarts"
is "$(cat "$ERR")" "enclave: restarting api: configuration changed" "up: restart notice"
new_pid=$(enclave ps --json | jq -r '.[] | select(.workspace == "api") | .pid')
ok "api runs with a new init" test "$old_pid" != "$new_pid"
ok "the old init is gone" sh -c "! kill -0 $old_pid 2>/dev/null"
exit_is 0 "up WS: only the named one" enclave up worker
is "$(cat "$OUT")" "unchanged $sb/worker" "up WS: one line"

# A new sandbox generation (a setup command) restarts what runs on the old.
gen0=$(enclave-bootstrap list | awk -F'\t' -v s="$sb" '$1 == s { print $4 }')
write_file 96M "setup = echo from-setup >/etc/marker"
exit_is 0 "up after a setup change" enclave up
is "$(cat "$OUT")" "restarted $sb/api (sandbox changed)
restarted $sb/shell (sandbox changed)
restarted $sb/worker (sandbox changed)" "up: a new generation restarts every workspace"
like "$(cat "$ERR")" "enclave: sandbox $sb: setup 1/1: echo from-setup >/etc/marker" "up: shows the setup command"
like "$(cat "$ERR")" "enclave: restarting shell: sandbox changed" "up: says why it restarts"
gen1=$(enclave-bootstrap list | awk -F'\t' -v s="$sb" '$1 == s { print $4 }')
like "$gen0 $gen1" "^[0-9a-f]{16} [0-9a-f]{16}$" "generations listed"
ok "a new generation is current" test "$gen0" != "$gen1"
exit_is 0 "the workspace sees the new generation" enclave workspace enter shell -- cat /etc/marker
is "$(cat "$OUT")" "from-setup" "setup's file is there"
t0=$(now_ms)
exit_is 0 "up after the setup change, again" enclave up
t1=$(now_ms)
is "$(cut -d' ' -f1 "$OUT" | sort -u)" "unchanged" "up: unchanged again"
ok "unchanged up with setup returns in under a second ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 1000

exit_is 2 "up with an unknown workspace" enclave up nosuch
is "$(cat "$OUT")" "" "up with an unknown workspace: nothing done"

# ---- down ------------------------------------------------------------------
pids=$(enclave ps --json | jq -r '.[].pid')
exit_is 0 "down" enclave down
is "$(cat "$OUT")" "stopped $sb/api
stopped $sb/shell
stopped $sb/worker" "down: one line per workspace"
is "$(enclave ps | cut -f3 | sort -u)" "stopped" "down: all stopped"
for p in $pids; do
	ok "down: process $p is gone" sh -c "! kill -0 $p 2>/dev/null"
done
for ws in api shell worker; do
	is "$(t_cgroup_dirs "$sb:$ws")" "" "down: no cgroup of $ws is left"
done
exit_is 0 "down again" enclave down
is "$(cat "$OUT")" "not-running $sb/api
not-running $sb/shell
not-running $sb/worker" "down again: nothing was running"
ok "the homes exist before the purge" test -d "$ENCLAVE_STATE_DIR/workspaces/$sb/shell/home"
exit_is 0 "down --purge" enclave down --purge
like "$(cat "$ERR")" "will remove $sb/api: $ENCLAVE_STATE_DIR/workspaces/$sb/api \(home/" \
	"down --purge: says what it removes"
is "$(grep -c 'will remove' "$ERR")" "3" "down --purge: three notices"
is "$(grep removed "$OUT")" "removed $sb/api
removed $sb/shell
removed $sb/worker" "down --purge: removed"
ok "down --purge: the homes are gone" test ! -e "$ENCLAVE_STATE_DIR/workspaces/$sb/shell"
ok "down --purge: the project dir is kept" test -d "$proj/code"

# ---- bad Enclavefiles: file:line, exit 2, nothing started ------------------
mkdir -p "$T_TMP/bad" && cd "$T_TMP/bad" || exit 1
cat >Enclavefile <<EOF
[sandbox]
name = $sb
bootstrap_method = tar
source = $tar

[workspace.one]
run = sleep 1
memroy = 1G
EOF
exit_is 2 "up: unknown key is a configuration error" enclave up
like "$(cat "$ERR")" "^enclave: Enclavefile:8: unknown key 'memroy' in \[workspace.one\]" "up: error names file:line"
is "$(cat "$OUT")" "" "up: nothing printed on stdout"
ok "up: nothing started" test ! -e "$ENCLAVE_STATE_DIR/workspaces/$sb/one"
printf '[workspace.one]\nrun = true\n' >Enclavefile
exit_is 2 "up without [sandbox]" enclave up
like "$(cat "$ERR")" "no \[sandbox\] section" "up without [sandbox]: explained"
exit_is 1 "up with no Enclavefile (as enclave config)" enclave up -f "$T_TMP/none"
like "$(cat "$ERR")" "^enclave: $T_TMP/none: cannot open: No such file or directory$" "up: missing file explained"
exit_is 2 "down --json is not an option" enclave down --json
exit_is 2 "logs needs a workspace" enclave logs

# ---- refusal in doctor's words (DESIGN §14) ---------------------------------
cd "$proj" || exit 1
write_file
fake="$T_TMP/fakeproc"
mkdir -p "$fake/sys/kernel"
echo "5.10.0-23-amd64" >"$fake/sys/kernel/osrelease"
kernel_words=$(env ENCLAVE_DOCTOR_PROC_ROOT="$fake" enclave doctor | awk '$2 == "kernel" { sub(/^[a-z]+ +kernel +/, ""); print; exit }')
exit_is 1 "up refuses on a host that lacks a needed feature" env ENCLAVE_DOCTOR_PROC_ROOT="$fake" enclave up
like "$(cat "$ERR")" "this host cannot give what the workspace needs: kernel: " "refusal: names the check"
ok "refusal: doctor's own words ($kernel_words)" grep -qF -- "kernel: $kernel_words" "$ERR"
is "$(cat "$OUT")" "" "refusal: nothing printed on stdout"
ok "refusal: nothing started" test ! -e "$ENCLAVE_STATE_DIR/workspaces/$sb/api"

# ---- stats of a deny workspace: address and denials ---------------------------
mkdir -p "$T_TMP/net" && cd "$T_TMP/net" || exit 1
cat >Enclavefile <<EOF
[sandbox]
name = $sb
bootstrap_method = tar
source = $tar

[workspace.egress]
network = deny
EOF
at_exit "enclave down -f '$T_TMP/net/Enclavefile' --purge"
exit_is 0 "up: a deny workspace" enclave up
is "$(cat "$OUT")" "created $sb/egress (idle, ready for enter)" "up: deny workspace created"
exit_is 0 "stats: deny, an address, no denials yet" enclave stats egress
like "$(sed 1d "$OUT" | cut -f1,2,9,10,11)" "^egress	running	deny	10\.[0-9.]+	0$" "stats: mode, address, 0 denials"
# 192.0.2.1 is TEST-NET-1 (documentation only); the policy drops it on the
# host before it could go anywhere.
enclave workspace enter egress -- sh -c 'timeout 2 nc 192.0.2.1 80 </dev/null' >/dev/null 2>&1
n=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
	n=$(enclave stats --json egress | jq -r '.[0].denials')
	[ "$n" -gt 0 ] && break
	sleep 0.2
done
ok "stats: the denied connection is counted ($n)" test "$n" -gt 0
is "$(enclave stats --json egress | jq -r '.[0].net.mode')" "deny" "stats --json: net.mode"
like "$(enclave stats --json egress | jq -r '.[0].net.addr4')" "^10\." "stats --json: net.addr4"
exit_is 0 "down: the deny workspace" enclave down --purge
cd "$proj" || exit 1

# ---- enclave create, the seed's spelling ------------------------------------
cache="$ENCLAVE_STATE_DIR/sandboxes/rootfs-cache/bookworm"
mkdir -p "$cache" && tar -xf "$tar" -C "$cache"
if t_user; then
	# An ordinary user's cache is stored like their sandboxes, on their
	# subordinate ids (as mmdebstrap --mode=unshare leaves a directory).
	chown -R --from=0:0 "$T_STORE_UID:$T_STORE_UID" "$cache"
	chown -R --from=1000:1000 "$((T_STORE_UID + 1000)):$((T_STORE_UID + 1000))" "$cache"
	chown "$T_UID:$T_GID" "$ENCLAVE_STATE_DIR/sandboxes/rootfs-cache"
fi
exit_is 0 "create mybox --suite bookworm --bootstrap-method cached_rootfs" \
	enclave create "my$sb" --suite bookworm --bootstrap-method cached_rootfs
at_exit "enclave-bootstrap rm --force 'my$sb'"
exit_is 0 "the seed's sandbox exists" enclave-bootstrap show "my$sb"
like "$(cat "$OUT")" "cached_rootfs" "created by the cached_rootfs method"
is "$(stat -c '%u %g' "$ENCLAVE_STATE_DIR/sandboxes/my$sb/gen/"*/rootfs/bin/busybox)" \
	"$T_STORE_UID $T_STORE_UID" "the adopted rootfs keeps the cache's owners"
exit_is 0 "a workspace of the adopted sandbox runs" \
	enclave-spawn run --rm --net none "my$sb" w -- sh -c 'stat -c "%u %g" /bin/busybox'
is "$(cat "$OUT")" "0 0" "the adopted rootfs: root's files are root's inside"
