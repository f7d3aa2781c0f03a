# SPDX-License-Identifier: GPL-2.0-or-later
# enclave-helper against hostile callers: every case asserts the refusal
# (exit status and message) AND that nothing happened.
. "$ENCLAVE_SOURCE_DIR/test/helper/setup.sh"

userns_proc P
MAPREQ=$(req uidmap "uid=0 $H_BASE 65536" "gid=0 $H_BASE 65536")
unmapped() { [ ! -s "/proc/$P/uid_map" ] && [ ! -s "/proc/$P/gid_map" ]; }

# --- targets that are not the caller's
unshare --user sleep 300 &
ROOTP=$!
at_exit "kill $ROOTP"
sleep 0.1
exit_is 1 "another user's pid: refused" call --pidfd "$ROOTP" <<<"$MAPREQ"
like "$(cat "$OUT")" "process $ROOTP does not belong to uid $H_UID" "another user's pid: says why"
ok "another user's pid: its map untouched" test ! -s "/proc/$ROOTP/uid_map"
# The user could not open these; hand them over as inherited fds anyway
# (as a leaked fd would be) so that the helper's own check is what refuses.
exec 7<"/proc/$ROOTP/ns/user" 8<"/proc/$ROOTP/ns/net" 9</proc/self/ns/net
mkdir -p "$H_TMP/store/sb/gen/0a/rootfs"
exit_is 1 "another user's userns for a mount: refused" \
	call --fdnum 7 < <(req mount tree=rootfs "store=$H_TMP/store" path=sb/gen/0a/rootfs)
like "$(cat "$OUT")" "userns: user namespace not owned by uid $H_UID" "another user's userns: says why"
unlike "$(cat "$OUT")" "fd:" "another user's userns: no mount fd"
exit_is 1 "another user's netns: refused" call --fdnum 8 < <(req net-up sandbox=s workspace=w mode=deny)
like "$(cat "$OUT")" "netns owner: user namespace not owned" "another user's netns: says why"
exit_is 1 "the host's netns: refused" call --fdnum 9 < <(req net-up sandbox=s workspace=w mode=deny)
exec 7<&- 8<&- 9<&-
exit_is 1 "the caller's own shell (host userns) as target: refused" call --pidfd $$ <<<"$MAPREQ"

# --- stale pidfd (the process exited; its pid may be reused)
exit_is 1 "CVE-class pid reuse: stale pidfd refused" call --stale-pidfd <<<"$MAPREQ"
like "$(cat "$OUT")" "not a pidfd of a live process|is gone" "stale pidfd: says why"
exit_is 1 "not a pidfd: a file fd refused" call --file /etc/hostname <<<"$MAPREQ"

# --- ids outside /etc/subuid
exit_is 1 "ids not in /etc/subuid: refused" \
	call --pidfd "$P" < <(req uidmap "uid=0 $((H_BASE + 65536)) 1" "gid=0 $H_BASE 1")
like "$(cat "$OUT")" "uid range $((H_BASE + 65536))\+1 is not in /etc/subuid for $H_USER" \
	"ids not in /etc/subuid: says which"
exit_is 1 "range running past the subordinate ids: refused" \
	call --pidfd "$P" < <(req uidmap "uid=0 $H_BASE 65537" "gid=0 $H_BASE 1")
exit_is 1 "the caller's own uid: refused (DESIGN 5)" \
	call --pidfd "$P" < <(req uidmap "uid=0 $H_UID 1" "gid=0 $H_BASE 1")
exit_is 1 "host root: refused" call --pidfd "$P" < <(req uidmap "uid=0 0 1" "gid=0 0 1")
exit_is 1 "gids not in /etc/subgid: refused" \
	call --pidfd "$P" < <(req uidmap "uid=0 $H_BASE 1" "gid=0 100 1")
like "$(cat "$OUT")" "gid range 100\+1 is not in /etc/subgid" "gids: says which"
ok "after all refusals: the namespace is still unmapped" unmapped

# --- malformed requests
exit_is 2 "oversize request: refused" call --pidfd "$P" < <(head -c 9000 /dev/zero | tr '\0' a)
like "$(cat "$OUT")" "request too large" "oversize: says why"
exit_is 2 "truncated request: refused" call --pidfd "$P" < <(printf '%s' "$MAPREQ" | head -c 40)
like "$(cat "$OUT")" "truncated" "truncated: says why"
exit_is 2 "unknown operation: refused" call < <(req exec "cmd=/bin/sh")
like "$(cat "$OUT")" "unknown operation" "unknown op: says why"
exit_is 2 "unknown key: refused" call --pidfd "$P" < <(req uidmap "uid=0 $H_BASE 1" "gid=0 $H_BASE 1" "options=suid")
like "$(cat "$OUT")" "unknown key" "unknown key: says why"
exit_is 2 "repeated key: refused" call < <(req net-down sandbox=a sandbox=b workspace=c)
like "$(cat "$OUT")" "repeated key" "repeated key: says why"
exit_is 2 "repeated request: refused" call --twice --pidfd "$P" <<<"$MAPREQ"
like "$(cat "$OUT")" "more than one request" "repeated request: says why"
exit_is 2 "too few fds: refused" call <<<"$MAPREQ"
exit_is 2 "too many fds: refused" call --pidfd "$P" --pidfd "$P" --pidfd "$P" <<<"$MAPREQ"
exit_is 2 "no request socket: refused" call --no-socket <<<"$MAPREQ"
like "$(cat "$ERR")" "fd 3 is not a SOCK_SEQPACKET socket" "no socket: says why"
ok "after malformed requests: still unmapped" unmapped

# --- environment and stdio
cat >"$H_TMP/evil.c" <<'C'
#include <fcntl.h>
__attribute__((constructor)) static void evil(void) { open(MARK, O_CREAT | O_WRONLY, 0644); }
C
if cc -shared -fPIC -DMARK="\"$H_TMP/pwned\"" -o "$H_TMP/evil.so" "$H_TMP/evil.c" 2>/dev/null; then
	chmod 755 "$H_TMP/evil.so"
	exit_is 2 "LD_PRELOAD ignored: request still judged" \
		call --env "LD_PRELOAD=$H_TMP/evil.so" --env "LD_LIBRARY_PATH=$H_TMP" \
		--env "HELPER_CONF=$H_TMP/none" --env "PATH=$H_TMP" < <(req exec)
	like "$(cat "$OUT")" "unknown operation" "LD_PRELOAD: normal refusal"
	ok "LD_PRELOAD ignored: the library never ran" test ! -e "$H_TMP/pwned"
else
	skip "LD_PRELOAD ignored" "no C compiler"
fi
exit_is 2 "a CPU time limit set by the caller: refused" \
	as_user prlimit --cpu=100 "$HELPER_CALL" --pidfd "$P" "$HELPER" <<<"$MAPREQ"
like "$(cat "$ERR")" "refusing to run under a CPU time or file size limit" "CPU limit: says why"
ok "CPU limit: still unmapped" unmapped
exit_is 0 "closed stdin/stdout/stderr: still works" call --close-stdio --pidfd "$P" <<<"$MAPREQ"
is "$(head -1 "$OUT")" "ok" "closed stdio: answer on the socket"
is "$(awk '{print $2}' "/proc/$P/uid_map")" "$H_BASE" "closed stdio: map written"
exit_is 1 "uid_map written twice: refused by the kernel" call --pidfd "$P" <<<"$MAPREQ"

# --- mount tricks (P is mapped now)
mkdir -p "$H_TMP/store/sb/gen/0a/rootfs" "$H_TMP/outside/sb/gen/0a/rootfs"
exit_is 1 "store not in the policy: refused" \
	call --userns "$P" < <(req mount tree=rootfs "store=$H_TMP/outside" path=sb/gen/0a/rootfs)
like "$(cat "$OUT")" "store $H_TMP/outside is not allowed" "store not allowed: says why"
exit_is 2 "dot-dot out of the store: refused" \
	call --userns "$P" < <(req mount tree=rootfs "store=$H_TMP/store" path=../outside/sb/gen/0a/rootfs)
mkdir -p "$H_TMP/store/ln/gen/0b"
ln -s / "$H_TMP/store/ln/gen/0b/rootfs"
exit_is 1 "symlinked rootfs in the store: refused" \
	call --userns "$P" < <(req mount tree=rootfs "store=$H_TMP/store" path=ln/gen/0b/rootfs)
unlike "$(cat "$OUT")" "^fd:" "symlinked rootfs: no fd"

# A rootfs not owned by root must be owned by a whole block of the caller's
# subordinate ids (an ordinary user's store), and is shown only to a
# namespace whose root is the caller's subordinate ids too.
mkdir -p "$H_TMP/store/own/gen/0c/rootfs" "$H_TMP/store/far/gen/0c/rootfs" \
	"$H_TMP/store/part/gen/0c/rootfs" "$H_TMP/store/sub/gen/0c/rootfs"
chown "$H_UID:$H_GID" "$H_TMP/store/own/gen/0c/rootfs"
chown 12345:12345 "$H_TMP/store/far/gen/0c/rootfs"
chown "$((H_BASE + 1)):$((H_BASE + 1))" "$H_TMP/store/part/gen/0c/rootfs"
chown "$H_BASE:$H_BASE" "$H_TMP/store/sub/gen/0c/rootfs"
for sb in own far part; do
	exit_is 1 "rootfs owned by $sb ids: refused" \
		call --userns "$P" < <(req mount tree=rootfs "store=$H_TMP/store" path=$sb/gen/0c/rootfs)
	like "$(cat "$ERR")" "neither root nor $H_USER's subordinate ids" "rootfs owned by $sb ids: says why"
	unlike "$(cat "$OUT")" "^fd:" "rootfs owned by $sb ids: no fd"
done
# A generation being set up is writable only when it is all the caller's.
mkdir -p "$H_TMP/store/.tmp/rb.Ab3xYz/gen/0d/rootfs"
exit_is 1 "writable build of a root-owned tree: refused" \
	call --userns "$P" < <(req mount tree=build "store=$H_TMP/store" path=.tmp/rb.Ab3xYz/gen/0d/rootfs)
like "$(cat "$ERR")" "is root's: never writable through the helper" "root-owned build: says why"
unlike "$(cat "$OUT")" "^fd:" "root-owned build: no fd"
chown 12345:12345 "$H_TMP/store/.tmp/rb.Ab3xYz/gen/0d/rootfs"
exit_is 1 "writable build owned by foreign ids: refused" \
	call --userns "$P" < <(req mount tree=build "store=$H_TMP/store" path=.tmp/rb.Ab3xYz/gen/0d/rootfs)
unlike "$(cat "$OUT")" "^fd:" "foreign-owned build: no fd"
# A persistent layer must be the target namespace's root's, which must be
# the caller's subordinate ids: not the caller's own directory, not ids of
# another block, not another user's.
mkdir -p "$H_TMP/pl/own" "$H_TMP/pl/far" "$H_TMP/pl/ok"
chown "$H_UID:$H_GID" "$H_TMP/pl" "$H_TMP/pl/own"
chown 12345:12345 "$H_TMP/pl/far"
chown "$H_BASE:$H_BASE" "$H_TMP/pl/ok"
for d in own far; do
	exit_is 1 "persist layer owned by $d ids: refused" \
		call --userns "$P" --dir "$H_TMP/pl" < <(req mount tree=persist path=$d)
	like "$(cat "$ERR")" "$d is not owned by the target's root among $H_USER's subordinate ids" \
		"persist layer owned by $d ids: says why"
	unlike "$(cat "$OUT")" "^fd:" "persist layer owned by $d ids: no fd"
done
ok "persist layer owned by the target's root: a clone" \
	call --userns "$P" --dir "$H_TMP/pl" < <(req mount tree=persist path=ok)
like "$(cat "$OUT")" "fd: " "persist layer: a mount fd came back"
userns_proc Q --map-root-user
exit_is 1 "shifted rootfs for a namespace mapping root to the caller: refused" \
	call --userns "$Q" < <(req mount tree=rootfs "store=$H_TMP/store" path=sub/gen/0c/rootfs)
like "$(cat "$ERR")" "maps root to ids outside $H_USER's subordinate ids" "caller-mapped namespace: says why"
unlike "$(cat "$OUT")" "^fd:" "caller-mapped namespace: no fd"

ST=$H_TMP/state
mkdir -p "$ST/workspaces/sb/ws/home" "$ST/other"
chown -R "$H_UID:$H_GID" "$ST"
as_user ln -s /etc "$ST/workspaces/sb/ws/evil"
as_user ln -s "$ST/other" "$ST/workspaces/sb/link"
exit_is 1 "symlink as the home dir: refused" \
	call --userns "$P" --dir "$ST" < <(req mount tree=home path=workspaces/sb/ws/evil)
exit_is 1 "symlink in the middle of the path: refused" \
	call --userns "$P" --dir "$ST" < <(req mount tree=home path=workspaces/sb/link)
unlike "$(cat "$OUT")" "^fd:" "symlinks: no fd"
mkdir -p "$ST/workspaces/sb/ws/bind"
chown "$H_UID:$H_GID" "$ST/workspaces/sb/ws/bind"
mount --bind /etc "$ST/workspaces/sb/ws/bind"
at_exit "umount -l '$ST/workspaces/sb/ws/bind'"
exit_is 1 "bind mount in the path: refused (no mount crossing)" \
	call --userns "$P" --dir "$ST" < <(req mount tree=home path=workspaces/sb/ws/bind)
umount "$ST/workspaces/sb/ws/bind"
exit_is 1 "base dir not the caller's (/etc): refused" \
	call --userns "$P" --dir /etc < <(req mount tree=project path=.)
like "$(cat "$OUT")" "not a directory owned by uid $H_UID" "foreign base: says why"
mkdir -p "$ST/rootowned"
exit_is 1 "root-owned dir beneath the caller's base: refused" \
	call --userns "$P" --dir "$ST" < <(req mount tree=project path=rootowned)
like "$(cat "$OUT")" "rootowned is not owned by uid $H_UID" "root-owned target: says why"
exit_is 1 "a file fd as user namespace: refused" \
	call --file /etc/hostname --dir "$ST" < <(req mount tree=project path=.)
like "$(cat "$OUT")" "not a namespace fd" "file as namespace: says why"

userns_proc SELF -r	# the caller mapped its own uid, unprivileged
exit_is 1 "a namespace mapping the caller's own uid: no carrier for it" \
	call --userns "$SELF" --dir "$ST" < <(req mount tree=home path=workspaces/sb/ws/home user=0 group=0)
like "$(cat "$OUT")" "maps user 0 to ids outside $H_USER's subordinate ids" "own-uid map: says why"

# Swap between check and use: a racer flips the path between a directory
# and a symlink while the helper resolves it; the helper must never hand
# back a mount of what the symlink points to.
mkdir -p "$ST/race"
chown "$H_UID:$H_GID" "$ST/race"
as_user sh -c "cd '$ST/race'; i=0; while [ \$i -lt 3000 ]; do mkdir d 2>/dev/null; rmdir d; ln -s /etc d; rm -f d; i=\$((i+1)); done" &
RACER=$!
leaked=0
for i in $(seq 1 40); do
	call --userns "$P" --dir "$ST" --stat passwd < <(req mount tree=project path=race/d) >"$OUT" 2>&1
	grep -q "^stat passwd" "$OUT" && leaked=1
done
kill "$RACER" 2>/dev/null
wait "$RACER" 2>/dev/null
is "$leaked" 0 "TOCTOU symlink swap in the project path: never mounts the target"

# --- network: quota and foreign namespaces
userns_proc N --net
exit_is 1 "a user namespace passed as netns: refused" call --userns "$N" < <(req net-up sandbox=s workspace=w mode=deny)
exit_is 2 "rule text in an allow: refused" \
	call --netns "$N" < <(req net-up sandbox=s workspace=w mode=deny "allow=0.0.0.0/0 accept")
ok "quota: first address" call --netns "$N" < <(req net-up sandbox=hq workspace="a$$" mode=deny)
IF=$(sed -n 's/^ifname=//p' "$OUT")
at_exit "printf 'enclave-helper 1\nop=net-down\nsandbox=hq\nworkspace=a$$\nend\n' | setpriv --reuid=$H_UID --regid=$H_GID --init-groups $HELPER_CALL $HELPER"
userns_proc N2 --net
exit_is 1 "quota exceeded: refused" call --netns "$N2" < <(req net-up sandbox=hq workspace="b$$" mode=deny)
like "$(cat "$OUT")" "quota exceeded: $H_USER may hold 1 addresses" "quota: says why"
is "$(grep -l " hq/b$$\$" /run/enclave/net/* 2>/dev/null)" "" "quota: no slot recorded"
is "$(nsenter -t "$N2" -n ip -br link | grep -c eth0)" "0" "quota: no veth in the namespace"
ok "net-down of the first" call < <(req net-down sandbox=hq workspace="a$$")
fails "net-down: veth gone" ip link show dev "$IF"

# Another user's slot (here root's, slot 16000): not found for the caller,
# nothing released.
if [ ! -e /run/enclave/net/16000 ]; then
	printf '0 hq/victim%s\n' "$$" >/run/enclave/net/16000
	at_exit "rm -f /run/enclave/net/16000"
	ok "another user's workspace: net-down finds nothing of the caller's" \
		call < <(req net-down sandbox=hq workspace="victim$$")
	is "$(cat /run/enclave/net/16000)" "0 hq/victim$$" "another user's workspace: its slot untouched"
	rm -f /run/enclave/net/16000
fi

# --- policy
policy_users() { sed -i "s/^users = .*/users = $1/" "$HELPER_CONF"; }
policy_users nobody
exit_is 1 "user not allowed by the policy: refused" call --pidfd "$P" <<<"$MAPREQ"
like "$(cat "$OUT")" "user $H_USER is not allowed by $HELPER_CONF" "not allowed: says who and where"
groupadd "g$H_USER" && at_exit "groupdel g$H_USER"
usermod -a -G "g$H_USER" "$H_USER"
sed -i "s/^users = .*/users = nobody\ngroups = g$H_USER/" "$HELPER_CONF"
exit_is 0 "allowed through a group" call < <(req cgroup-del)
policy
chmod 666 "$HELPER_CONF"
exit_is 2 "world-writable policy: refused" call < <(req cgroup-del)
like "$(cat "$OUT")" "policy $HELPER_CONF: writable by group or others \(mode 0666\)" "unsafe mode: says why"
chmod 644 "$HELPER_CONF"
chown "$H_UID" "$HELPER_CONF"
exit_is 2 "policy owned by the user: refused" call < <(req cgroup-del)
like "$(cat "$OUT")" "not a regular file owned by root" "wrong owner: says why"
chown root "$HELPER_CONF"
chmod 777 "$H_POLDIR"
exit_is 2 "policy in a writable directory: refused" call < <(req cgroup-del)
chmod 755 "$H_POLDIR"
mv "$HELPER_CONF" "$HELPER_CONF.off"
exit_is 2 "missing policy: refused" call < <(req cgroup-del)
like "$(cat "$OUT")" "policy $HELPER_CONF: No such file or directory: refusing everything" "missing: says why"
ln -s "$HELPER_CONF.off" "$HELPER_CONF"
exit_is 2 "policy as a symlink: refused" call < <(req cgroup-del)
rm -f "$HELPER_CONF"
mv "$HELPER_CONF.off" "$HELPER_CONF"
printf '[helper]\nusers = %s\nexec = /bin/sh\n' "$H_USER" >"$HELPER_CONF"
exit_is 2 "policy with an unknown key: refused" call < <(req cgroup-del)
like "$(cat "$OUT")" "helper.conf:3: unknown key 'exec'" "bad policy: file:line"
policy

# --- the binary itself
exit_is 2 "run by root: refused" "$HELPER_CALL" "$HELPER" <<<"$MAPREQ"
like "$(cat "$ERR")" "root does not need enclave-helper" "root: says why"
exit_is 2 "arguments: refused" as_user "$HELPER" --pidfd 1
cp "$HELPER_BIN" "$H_TMP/plain-helper"
chmod 755 "$H_TMP/plain-helper"
exit_is 1 "not setuid: refuses to act" as_user "$HELPER_CALL" "$H_TMP/plain-helper" <<<"$MAPREQ"
like "$(cat "$ERR")" "not installed setuid root" "not setuid: says why"
ok "after everything: no cgroup left" test ! -e "/sys/fs/cgroup/pids/enclave/user-$H_UID"
