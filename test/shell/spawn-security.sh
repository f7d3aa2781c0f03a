# SPDX-License-Identifier: GPL-2.0-or-later
# enclave-spawn: the invariants of DESIGN §15, each as a negative test that
# fails if the property breaks. Names give the attack class.
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"
need_root

ok "sandbox" t_sandbox box
run() { enclave-spawn run box "$@"; }
# Root inside a workspace is the strongest position a workload can reach:
# the host checks run as it too.
ok "start an idle workspace to enter as root" enclave-spawn start box rws
at_exit "enclave-spawn stop --time 0 box rws"
asroot() { enclave-spawn enter --root box rws -- "$@"; }

# ---- §5 identity: the host ids of a workspace -----------------------------
# Root's workspaces map onto enclave's pool (ENC_IDPOOL_BASE, 2^31...), an
# ordinary user's onto the user's own subordinate ids; neither maps the
# caller's uid or root's.
rws_init=$(cut -d' ' -f1 "$ENCLAVE_RUNTIME_DIR/workspaces/box/rws/init")
like "$rws_init" "^[0-9]+$" "ids: the workspace's init is recorded"
if t_user; then
	IFS=: read -r _ id_lo id_n < <(grep "^$T_USER:" /etc/subuid)
else
	id_lo=2147483648 id_n=2147483648
fi
for map in uid_map gid_map; do
	is "$(wc -l </proc/"$rws_init"/$map)" "1" "ids: one $map range"
	read -r m_in m_out m_n </proc/"$rws_init"/$map
	is "$m_in $m_n" "0 65536" "ids: $map maps 0-65535 inside"
	ok "ids: $map is within the caller's range ($m_out)" \
		test "$m_out" -ge "$id_lo" -a "$((m_out + m_n))" -le "$((id_lo + id_n))"
	ok "ids: $map maps neither root nor the caller" \
		test "$m_out" -gt 0 -a \( "$T_UID" -lt "$m_out" -o "$T_UID" -ge "$((m_out + m_n))" \)
done
read -r _ rws_base _ </proc/"$rws_init"/uid_map
is "$(awk '/^Uid:/ {print $2}' /proc/"$rws_init"/status)" "$rws_base" "ids: root inside is the range's first id on the host"

# ---- §15.1 nothing of the host that was not declared ---------------------
# A secret the caller can read on the host: root's, or the user's own.
if t_user; then
	secret_dir=$T_TMP/home/.ssh
else
	secret_dir=/root/.ssh
fi
planted=$secret_dir/enclave-test-key-$$
mkdir -p "$secret_dir"
echo "host-secret" >"$planted"
chmod 600 "$planted"
t_own "$secret_dir"
at_exit "rm -f '$planted'"
exit_is 0 "host-secret: the caller can read it on the host" as_user cat "$planted"
is "$(cat "$OUT")" "host-secret" "host-secret: planted"
exit_is 1 "host-secret: $secret_dir of the host is not visible" run w -- probe read "$planted"
like "$(cat "$OUT")" "read E(NOENT|ACCES)" "host-secret: not readable by the workspace user"
exit_is 1 "host-secret: not even to root inside" asroot probe read "$planted"
is "$(cat "$OUT")" "read ENOENT" "host-secret: ENOENT for root inside"
mkdir -p "$T_TMP/outside"
echo "nope" >"$T_TMP/outside/file"
ok "host-secret: the caller can read the host dir on the host" as_user cat "$T_TMP/outside/file"
exit_is 1 "host-secret: a host dir outside the project is not visible" run w -- probe read "$T_TMP/outside/file"
exit_is 1 "host-devices: the host's block device is absent" run w -- probe read /dev/vda
is "$(cat "$OUT")" "read ENOENT" "block device: not there"
exit_is 0 "host-devices: /dev has only the minimal set" run w -- ls /dev
is "$(tr '\n' ' ' <"$OUT")" "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero " "exact /dev"

# Processes
# The caller's own process: one it may signal and trace on the host.
mkdir -p "$T_TMP/hostp"
t_own "$T_TMP/hostp"
as_user sh -c 'echo $$ >"$1"; exec sleep 600' - "$T_TMP/hostp/pid" >/dev/null 2>&1 &
at_exit "kill $!"
for _ in $(seq 50); do [ -s "$T_TMP/hostp/pid" ] && break; sleep 0.1; done
host_pid=$(cat "$T_TMP/hostp/pid")
like "$host_pid" "^[0-9]+$" "host-processes: the caller's sleep started"
at_exit "kill $host_pid"
ok "host-processes: the caller can signal its host process" as_user kill -0 "$host_pid"
exit_is 0 "host-processes: ps shows only the workspace" run w -- ps -o pid,comm
unlike "$(cat "$OUT")" "sleep" "host-processes: the host's sleep is invisible"
exit_is 1 "host-processes: cannot signal a host pid" run w -- probe try kill "$host_pid"
is "$(cat "$OUT")" "kill ESRCH" "signal host pid: ESRCH"
exit_is 1 "host-processes: cannot ptrace a host pid" run w -- probe try ptrace "$host_pid"
like "$(cat "$OUT")" "ptrace (ESRCH|EPERM)" "ptrace host pid refused"

# The host's and the sandbox's files cannot be changed
gen=$(enclave-bootstrap show box --json | jq -r .current)
rootfs=$ENCLAVE_STATE_DIR/sandboxes/box/gen/$gen/rootfs
# The stored rootfs: ordinary ids for root; an ordinary user's is shifted
# onto their first subordinate id block (never root's ids, never a
# workspace's mapping of root's).
if t_user; then
	is "$(stat -c %u:%g "$rootfs/etc/passwd")" "$id_lo:$(grep "^$T_USER:" /etc/subgid | cut -d: -f2)" \
		"rootfs-store: the user's rootfs is owned by their first subordinate ids"
else
	is "$(stat -c %u:%g "$rootfs/etc/passwd")" "0:0" "rootfs-store: root's rootfs has ordinary ids"
fi
exit_is 1 "rootfs-write: the workspace user cannot write /etc" run w -- probe write /etc/enclave-probe
is "$(cat "$OUT")" "write EACCES" "rootfs-write: EACCES for the user"
exit_is 0 "rootfs-write: root inside writes /etc in the overlay" asroot probe write /etc/enclave-probe
ok "rootfs-write: the sandbox rootfs is unchanged" test ! -e "$rootfs/etc/enclave-probe"
ok "rootfs-write: the host /etc is unchanged" test ! -e /etc/enclave-probe
exit_is 0 "rootfs-write: root inside writes /usr/bin" asroot probe write /usr/bin/probe-x
ok "rootfs-write: not in the rootfs" test ! -e "$rootfs/usr/bin/probe-x"
exit_is 0 "rootfs-write: root inside replaces /bin/sh" asroot sh -c 'rm -f /bin/sh && echo x > /bin/sh'
ok "rootfs-write: the rootfs's /bin/sh is intact" test -L "$rootfs/bin/sh"
exit_is 1 "rootfs-write: a later workspace does not see it" run w2 -- probe read /etc/enclave-probe
exit_is 1 "rootfs-write: root inside cannot write the host's /proc/sys" asroot probe write /proc/sys/kernel/hostname
exit_is 1 "mount: root inside cannot mount" asroot probe try mount
is "$(cat "$OUT")" "mount EPERM" "mount as root: EPERM"
exit_is 1 "mknod: root inside cannot make devices" asroot probe try mknod /tmp/null
is "$(cat "$OUT")" "mknod EPERM" "mknod as root: EPERM"
exit_is 1 "unshare-user: root inside cannot make user namespaces" asroot probe try unshare-user
is "$(cat "$OUT")" "unshare-user EPERM" "unshare as root: EPERM"
exit_is 1 "readonly overlay refuses writes" run --overlay readonly w -- probe write /etc/x
is "$(cat "$OUT")" "write EROFS" "readonly: EROFS"

# Other workspaces
exit_is 0 "start a neighbour" enclave-spawn start box neighbour -- sh -c 'echo n > /tmp/mine; echo n > /home/user/mine; exec sleep 600'
at_exit "enclave-spawn stop --time 0 box neighbour"
sleep 0.2
nb_init=$(cut -d' ' -f1 "$ENCLAVE_RUNTIME_DIR/workspaces/box/neighbour/init")
read -r _ nb_base _ </proc/"$nb_init"/uid_map
ok "ids: the neighbour's range is disjoint from the first one's ($nb_base, $rws_base)" \
	test "$((nb_base - rws_base))" -ge 65536 -o "$((rws_base - nb_base))" -ge 65536
ok "ids: the neighbour's range is the caller's too" \
	test "$nb_base" -ge "$id_lo" -a "$((nb_base + 65536))" -le "$((id_lo + id_n))"
read -r nb_wl _ < <(cat /proc/"$nb_init"/task/*/children)
is "$(awk '/^Uid:/ {print $2}' /proc/"${nb_wl:-none}"/status)" "$((nb_base + 1000))" \
	"ids: the workload (user 1000 inside) is the range's id 1000 on the host"
exit_is 0 "cross-workspace: the neighbour has its files" enclave-spawn enter box neighbour -- cat /tmp/mine /home/user/mine
is "$(tr '\n' ' ' <"$OUT")" "n n " "cross-workspace: the neighbour's files are there"
exit_is 1 "cross-workspace: /tmp of another workspace is invisible" run w -- probe read /tmp/mine
exit_is 1 "cross-workspace: /home of another workspace is invisible" run w -- probe read /home/user/mine
exit_is 0 "cross-workspace: ps" run w -- ps -o comm
unlike "$(cat "$OUT")" "sleep" "cross-workspace: the neighbour's processes are invisible"

# ---- §15.4 capabilities, no_new_privs, seccomp ---------------------------
for op in mount unshare-user clone-user setns keyctl add_key bpf perf_event_open userfaultfd \
	open_by_handle_at kexec_load init_module clock_settime swapon reboot acct; do
	exit_is 1 "seccomp-deny: $op is refused" run w -- probe try $op
	like "$(cat "$OUT")" "^$op E(PERM|NOSYS|OPNOTSUPP|ACCES)$" "seccomp-deny: $op errno"
done
exit_is 1 "io_uring is refused" run w -- probe try io_uring_setup
is "$(cat "$OUT")" "io_uring_setup ENOSYS" "io_uring: ENOSYS"
exit_is 1 "mknod is refused" run w -- probe try mknod /tmp/null
is "$(cat "$OUT")" "mknod EPERM" "mknod: EPERM"
exit_is 1 "raw sockets are refused" run w -- probe try raw-socket
like "$(cat "$OUT")" "raw-socket E(PERM|ACCES)" "raw socket: refused"

# CVE-2017-5226 class (TIOCSTI into the caller's terminal): the workload
# never holds the caller's terminal. Run under a pty so there is one.
if command -v script >/dev/null; then
	script -qec "enclave-spawn run box w -- probe try tiocsti-stdin" "$T_TMP/typescript" >/dev/null 2>&1
	like "$(tr -d '\r' <"$T_TMP/typescript")" "tiocsti-stdin E(PERM|NOTTY|NXIO|IO)" "CVE-2017-5226: TIOCSTI on stdin refused"
	script -qec "enclave-spawn run -t box w -- probe try tiocsti-stdin" "$T_TMP/typescript" >/dev/null 2>&1
	like "$(tr -d '\r' <"$T_TMP/typescript")" "tiocsti-stdin EPERM" "CVE-2017-5226: TIOCSTI on the workspace's own pty refused by seccomp"
else
	skip "CVE-2017-5226: TIOCSTI" "script(1) not installed"
fi

# Kernel information and writable kernel interfaces
exit_is 0 "kallsyms is masked" run w -- probe read /proc/kallsyms
is "$(cat "$OUT")" "read ok 0" "kallsyms: empty"
if [ -e /proc/kcore ]; then
	exit_is 0 "kcore is masked" run w -- probe read /proc/kcore
	is "$(cat "$OUT")" "read ok 0" "kcore: empty"
else
	ok "kcore: absent on this kernel, absent inside" sh -c "enclave-spawn run box w -- probe read /proc/kcore | grep -q ENOENT"
fi
exit_is 1 "/proc/sys is read-only" run w -- probe write /proc/sys/kernel/hostname
like "$(cat "$OUT")" "write E(ROFS|ACCES)" "/proc/sys: refused"
exit_is 1 "/sys is read-only" run w -- probe write /sys/kernel/uevent_helper
like "$(cat "$OUT")" "write E(ROFS|ACCES|ENOENT)" "/sys: refused"

# A setuid-root binary inside gains nothing (no_new_privs).
exit_is 0 "start a workspace for the setuid test" enclave-spawn start box suid
at_exit "enclave-spawn stop --time 0 box suid"
exit_is 0 "make a setuid-root probe as root inside" enclave-spawn enter --root box suid -- sh -c 'cp /usr/bin/probe /tmp/suid-probe && chmod 4755 /tmp/suid-probe'
exit_is 0 "run the setuid probe as the user" enclave-spawn enter box suid -- /tmp/suid-probe ids
like "$(cat "$OUT")" "uid 1000 euid 1000" "setuid-root binary: euid stays 1000"
like "$(cat "$OUT")" "CapEff 0000000000000000" "setuid-root binary: no capabilities"
exit_is 0 "stop" enclave-spawn stop --time 0 box suid

# PID 1 is a copy of the caller's process, environment and all: nothing
# inside may read its memory, not even root inside (an ordinary user's
# PID 1 is dumpable, for enter; it keeps a capability root inside lacks).
exit_is 0 "start a workspace with a secret in the caller's environment" \
	env ENC_TEST_SECRET="hunter2-$$" enclave-spawn start box pid1
at_exit "enclave-spawn stop --time 0 box pid1"
exit_is 1 "root inside cannot read PID 1's environment" \
	enclave-spawn enter --root box pid1 -- cat /proc/1/environ
unlike "$(cat "$OUT" "$ERR")" "hunter2-$$" "PID 1's environment: the caller's secret is not shown"
exit_is 1 "root inside cannot read PID 1's memory map" \
	enclave-spawn enter --root box pid1 -- cat /proc/1/maps
exit_is 1 "the workspace user cannot read PID 1's environment" \
	enclave-spawn enter box pid1 -- cat /proc/1/environ
exit_is 0 "enter still works (the owner may open PID 1's namespaces)" \
	enclave-spawn enter box pid1 -- true
exit_is 0 "stop pid1" enclave-spawn stop --time 0 box pid1
