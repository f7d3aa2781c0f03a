# SPDX-License-Identifier: GPL-2.0-or-later
# enclave-helper: each allowed operation works for an allowed user.
. "$ENCLAVE_SOURCE_DIR/test/helper/setup.sh"

# --- uidmap
userns_proc P
ok "uidmap: maps the caller's subordinate ids" map "$P"
is "$(awk '{print $1, $2, $3}' "/proc/$P/uid_map")" "0 $H_BASE 65536" "uidmap: uid_map written"
is "$(awk '{print $1, $2, $3}' "/proc/$P/gid_map")" "0 $H_BASE 65536" "uidmap: gid_map written"
is "$(head -1 "$OUT")" "ok" "uidmap: reply ok"

# --- mount: a sandbox generation, idmapped read-only
mkdir -p "$H_TMP/store/sb/gen/0a1b/rootfs/etc"
echo x >"$H_TMP/store/sb/gen/0a1b/rootfs/etc/hostname"
ok "mount rootfs: allowed store" \
	call --userns "$P" --stat etc/hostname < <(req mount tree=rootfs "store=$H_TMP/store" path=sb/gen/0a1b/rootfs)
like "$(cat "$OUT")" "stat etc/hostname $H_BASE $H_BASE" "mount rootfs: on-disk root shows as the namespace's root"
like "$(cat "$OUT")" "fd: anon_inode:\[?mount\]?|fd: /" "mount rootfs: a mount fd came back"

# --- mount: a rootfs an ordinary user stored with subordinate ids (as
# mmdebstrap's unshare mode and enclave-bootstrap leave it: shifted by a
# block of the user's): shown to the workspace as its own ids.
S=$((H_BASE + 65536))
usermod --add-subuids "$S-$((S + 65535))" --add-subgids "$S-$((S + 65535))" "$H_USER"
mkdir -p "$H_TMP/store/sb/gen/0a1c/rootfs/etc"
echo x >"$H_TMP/store/sb/gen/0a1c/rootfs/etc/hostname"
chown "$S:$S" "$H_TMP/store/sb/gen/0a1c/rootfs" "$H_TMP/store/sb/gen/0a1c/rootfs/etc"
chown "$((S + 5)):$((S + 7))" "$H_TMP/store/sb/gen/0a1c/rootfs/etc/hostname"
ok "mount rootfs stored with subordinate ids" \
	call --userns "$P" --stat etc/hostname < <(req mount tree=rootfs "store=$H_TMP/store" path=sb/gen/0a1c/rootfs)
like "$(cat "$OUT")" "stat etc/hostname $((H_BASE + 5)) $((H_BASE + 7))" \
	"mount shifted rootfs: storage id N shows as the workspace's N"
like "$(cat "$OUT")" "fd: anon_inode:\[?mount\]?|fd: /" "mount shifted rootfs: a mount fd came back"

# A generation being set up (a build's temp dir), stored the same way:
# writable, and what the workspace writes lands on the storage ids.
mkdir -p "$H_TMP/store/.tmp/sb.Ab3xYz/gen/0a1d/rootfs"
chown "$S:$S" "$H_TMP/store/.tmp/sb.Ab3xYz/gen/0a1d/rootfs"
ok "mount build: writable, stored with subordinate ids" \
	call --userns "$P" < <(req mount tree=build "store=$H_TMP/store" path=.tmp/sb.Ab3xYz/gen/0a1d/rootfs)
like "$(cat "$OUT")" "fd: anon_inode:\[?mount\]?|fd: /" "mount build: a mount fd came back"

# --- mount: the caller's home, idmapped through a carrier namespace
mkdir -p "$H_TMP/state/workspaces/sb/ws/home"
touch "$H_TMP/state/workspaces/sb/ws/home/file"
chown -R "$H_UID:$H_GID" "$H_TMP/state"
ok "mount home: caller's own directory" \
	call --userns "$P" --dir "$H_TMP/state" --stat file < <(req mount tree=home path=workspaces/sb/ws/home)
like "$(cat "$OUT")" "stat file $((H_BASE + 1000)) $((H_BASE + 1000))" \
	"mount home: the caller's files show as the workspace user"
ok "mount project: base dir itself" \
	call --userns "$P" --dir "$H_TMP/state/workspaces/sb/ws/home" --stat file < <(req mount tree=project path=. user=0 group=0)
like "$(cat "$OUT")" "stat file $H_BASE $H_BASE" "mount project: user=0 maps the caller to root inside"

# --- network
if ! command -v nft >/dev/null || ! [ -e /proc/sys/net/ipv4/ip_forward ]; then
	skip "net-up" "no nftables"
else
	userns_proc N --net
	ok "net-up: deny with an allowlist" \
		call --netns "$N" < <(req net-up sandbox=hsb workspace="ws$$" mode=deny allow=192.0.2.0/24:443)
	IF=$(sed -n 's/^ifname=//p' "$OUT")
	ID=$(sed -n 's/^id=//p' "$OUT")
	at_exit "printf 'enclave-helper 1\nop=net-down\nsandbox=hsb\nworkspace=ws$$\nend\n' | setpriv --reuid=$H_UID --regid=$H_GID --init-groups $HELPER_CALL $HELPER"
	like "$IF" '^en[0-9a-f]{8}$' "net-up: veth name in the reply"
	like "$(cat "$OUT")" "fd: socket:" "net-up: the NFLOG socket came back"
	ok "net-up: host end exists" ip link show dev "$IF"
	ok "net-up: the workspace chain exists" nft list chain inet enclave "ws_$ID"
	like "$(nft list chain inet enclave "ws_$ID")" "192.0.2.0/24" "net-up: allow rule installed"
	ok "net-up: peer inside the namespace" nsenter -t "$N" -n ip link show eth0
	ok "net-down: releases" call < <(req net-down sandbox=hsb workspace="ws$$")
	fails "net-down: veth gone" ip link show dev "$IF"
	fails "net-down: chain gone" nft list chain inet enclave "ws_$ID"
	ok "net-down: again is fine (idempotent)" call < <(req net-down sandbox=hsb workspace="ws$$")

	# A caller that keeps the policy watcher's socket and calls net-down
	# itself: the watcher must not put the rules back (its veth is gone),
	# and must end.
	setpriv --reuid="$H_UID" --regid="$H_GID" --init-groups -- "$HELPER_CALL" --netns "$N" \
		--hold 6 "$HELPER" < <(req net-up sandbox=hsb workspace="wh$$" mode=deny) >"$T_TMP/hold" 2>&1 &
	holder=$!
	for _ in $(seq 50); do grep -q '^fd: socket' "$T_TMP/hold" 2>/dev/null && break; sleep 0.1; done
	HID=$(sed -n 's/^id=//p' "$T_TMP/hold")
	ok "held net-up: the chain exists" nft list chain inet enclave "ws_$HID"
	ok "held net-up: a watcher runs" pgrep -x enclave-helper
	ok "held net-up: net-down by the caller" call < <(req net-down sandbox=hsb workspace="wh$$")
	sleep 1
	fails "held net-up: the chain stays gone" nft list chain inet enclave "ws_$HID"
	# (ended: gone, or a zombie waiting for the host's init to reap it)
	live=
	for p in $(pgrep -x enclave-helper); do
		[ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" = Z ] || live="$live $p"
	done
	is "$live" "" "held net-up: the watcher ended with its veth"
	wait "$holder"
fi

# --- cgroups
# enclave's shared parent is never removed by enclave; remove the ones this
# test made, if still empty, so the machine is left as found.
for d in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
	[ -d "$d" ] && [ ! -e "$d/enclave" ] && at_exit "rmdir '${d%/}/enclave'"
done
ok "cgroup-add: delegates" call < <(req cgroup-add)
CG=$(sed -n 's/^path=//p' "$OUT")
at_exit "for d in $(echo $CG); do rmdir \$d; done"
like "$CG" "/enclave/user-$H_UID" "cgroup-add: paths in the reply"
for d in $CG; do
	is "$(stat -c %u "$d")" "$H_UID" "cgroup-add: $d owned by the caller"
	is "$(stat -c %u "$d/cgroup.procs")" "$H_UID" "cgroup-add: $d/cgroup.procs delegated"
	case $d in
	*/memory/*) is "$(cat "$d/memory.limit_in_bytes")" "268435456" "cgroup-add: memory limit from policy" ;;
	*/pids/*) is "$(cat "$d/pids.max")" "100" "cgroup-add: pids limit from policy" ;;
	esac
done
ok "cgroup-add: the user can make a child" as_user mkdir "${CG%%$'\n'*}/ws1"
fails "cgroup-del: refused while not empty" call < <(req cgroup-del)
like "$(cat "$OUT")" "cannot remove" "cgroup-del: says why"
rmdir "${CG%%$'\n'*}/ws1"
ok "cgroup-del: removes when empty" call < <(req cgroup-del)
for d in $CG; do
	fails "cgroup-del: $d gone" test -d "$d"
done

# --- logging: syslog, LOG_AUTHPRIV, with the caller's uid
if [ ! -e /dev/log ] && command -v python3 >/dev/null; then
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[1] + ".ready", "w").close()
with open(sys.argv[1], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(4096) + b"\n")
' "$H_TMP/syslog" &
	LOGGER=$!
	at_exit "kill $LOGGER; rm -f /dev/log"
	for i in $(seq 1 100); do [ -e "$H_TMP/syslog.ready" ] && break; sleep 0.05; done
	chmod 666 /dev/log
	ok "logging: an operation" call < <(req cgroup-del)
	exit_is 2 "logging: a refusal" call < <(req exec)
	sleep 0.2
	# <84> = LOG_AUTHPRIV (10 << 3) | LOG_WARNING (4); <86> = ... | LOG_INFO
	like "$(cat "$H_TMP/syslog")" "<86>.*enclave-helper\[[0-9]+\]: uid=$H_UID op=cgroup-del: cgroup user-$H_UID removed" \
		"logging: the operation, with the caller's uid, at authpriv.info"
	like "$(cat "$H_TMP/syslog")" "<84>.*enclave-helper\[[0-9]+\]: uid=$H_UID op=none: request line 2: unknown operation" \
		"logging: the refusal, at authpriv.warning"
	kill "$LOGGER"
	rm -f /dev/log
else
	skip "logging" "/dev/log exists (a syslog daemon owns it)"
fi
