# SPDX-License-Identifier: GPL-2.0-or-later
# enclave doctor: the development VM's known facts as root, the JSON form,
# that doctor creates and mounts nothing, a fake /proc that makes a needed
# check fail (exit 1), and an ordinary user's view (the helper and
# subordinate ids are needed there).
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"

# The helper this test expects: none as root (a helper installed on the
# host, e.g. by contrib/quickstart, must not change what is asserted
# here); in the user pass the test's setuid install (test/user.sh), which
# is what an ordinary user needs.
NOHELPER=/nonexistent-enclave-test/enclave-helper
need_root
need_cmd jq
if t_user; then
	export ENCLAVE_HELPER=$T_HELPER
else
	export ENCLAVE_HELPER=$NOHELPER
fi

ids="kernel userns apparmor-userns userns-clone syscalls idmap overlay cgroup cgroup-memory cgroup-swap cgroup-pids cgroup-cpu cgroup-delegation nftables ipv4-forward ipv6-forward seccomp landlock helper subid bootstrap-tools free-space state-dir"

# What exists on the host that doctor must not change.
host_snapshot() {
	findmnt -rn -o TARGET,SOURCE,FSTYPE | sort
	find /sys/fs/cgroup -maxdepth 2 -name enclave 2>/dev/null | sort
	ip -o link show 2>/dev/null | awk -F': ' '{ print $2 }' | sort
	if command -v nft >/dev/null; then nft list tables 2>/dev/null; fi
}

# ---- usage ----------------------------------------------------------------

exit_is 0 "doctor --help" enclave doctor --help
like "$(head -n1 "$OUT")" '^Usage: enclave doctor \[--json\]$' "help starts with the usage line"
exit_is 2 "doctor with an argument is a usage error" enclave doctor extra
like "$(cat "$ERR")" "unexpected argument 'extra'" "the argument is named"
like "$(cat "$ERR")" "Try 'enclave --help'" "usage hint"
exit_is 2 "unknown option" enclave doctor --bogus
exit_is 2 "relative ENCLAVE_DOCTOR_PROC_ROOT" env ENCLAVE_DOCTOR_PROC_ROOT=fake enclave doctor
like "$(cat "$ERR")" "ENCLAVE_DOCTOR_PROC_ROOT must be an absolute path" "relative proc root explained"

# ---- root, the real host: creates nothing ---------------------------------

# Where the state would go: a directory its user may create in (the
# test user's own in the user pass).
base=$T_TMP
if t_user; then
	base=$T_TMP/mine
	mkdir "$base"
	t_own "$base"
fi
fresh="$base/fresh"
doctor() { env ENCLAVE_STATE_DIR="$fresh/state" ENCLAVE_RUNTIME_DIR="$fresh/run" enclave doctor "$@"; }
fdoctor() { env ENCLAVE_DOCTOR_PROC_ROOT="$fake" ENCLAVE_STATE_DIR="$fresh/state" ENCLAVE_RUNTIME_DIR="$fresh/run" enclave doctor "$@"; }
# Free space moves between runs; everything else is stable.
# What other tests running in parallel change between two reports: free
# space, and how many nftables tables exist (their workspaces').
steady() { grep -v -e '^ok      free-space ' -e '^ok      nftables ' "$@"; }

before=$(host_snapshot)
exit_is 0 "doctor exits 0 (everything needed is present here)" doctor
table=$(cat "$OUT")
is "$(cat "$ERR")" "" "nothing on stderr"
after=$(host_snapshot)
ok "the state dir was not created" test ! -e "$fresh/state"
ok "nor the runtime dir, nor their parent" test ! -e "$fresh"
is "$after" "$before" "no mount, cgroup, link or nft table changed"

like "$table" $'(^|\n)ok      kernel            [0-9]+\\.[0-9]+[^\n]* \\(>= 6\\.1\\)\n' "kernel ok (>= 6.1)"
like "$table" $'(^|\n)ok      userns            a new user namespace' "user namespaces ok"
like "$table" $'(^|\n)ok      syscalls          pidfd_open clone3 openat2 ' "syscalls ok"
if t_user; then
	# The helper makes the idmapped mounts for an ordinary user.
	like "$table" $'(^|\n)skip    idmap             not probed as an ordinary user \\(enclave-helper makes the idmapped mounts\\); ext4 at '"$base"$'\n' \
		"as the user: idmapped mounts not probed, the nearest existing directory named"
	like "$table" $'(^|\n)ok      overlay           overlay \\(userxattr\\) mounted in your own user namespace \\(the idmapped lower comes from enclave-helper\\)\n' \
		"as the user: overlay in an own user namespace"
else
	like "$table" $'(^|\n)ok      idmap             ext4 at '"$T_TMP"$' \\('"$fresh"$'/state does not exist yet\\)\n' \
		"idmapped mounts ok, probed on the nearest existing directory"
	like "$table" $'(^|\n)ok      overlay           overlay \\(userxattr\\) mounted in a user namespace over an idmapped lower' \
		"overlay over an idmapped lower ok"
fi
like "$table" $'(^|\n)ok      cgroup            hybrid \\(cgroup2 at /sys/fs/cgroup/unified; v1 memory, pids' "cgroup mode hybrid"
like "$table" $'(^|\n)ok      cgroup-memory     ' "memory controller ok"
like "$table" $'(^|\n)ok      cgroup-pids       ' "pids controller ok"
if t_user; then
	like "$table" $'(^|\n)warn    cgroup-delegation this host\'s cgroups are hybrid: only a pure cgroup v2 host can delegate a subtree, so enclave-helper places workspaces\n        fix: boot with systemd.unified_cgroup_hierarchy=1 ' \
		"as the user: no delegation on hybrid, the helper places workspaces"
else
	like "$table" $'(^|\n)skip    cgroup-delegation not needed: root' "no delegation needed as root"
fi
like "$table" $'(^|\n)ok      nftables          nf_tables answers' "nftables ok"
like "$table" $'(^|\n)ok      seccomp           kill_process and errno actions; enclave\'s filter \\([0-9]+ instructions\\) loads' "seccomp ok"
like "$table" $'(^|\n)ok      landlock          ABI version [0-9]+' "landlock version"
if t_user; then
	# /etc/subuid and /etc/subgid: test/user.sh gave the user 64 blocks.
	nsub=$(awk -F: -v u="$T_USER" '$1 == u { n += $3 } END { print n + 0 }' /etc/subuid)
	like "$table" $'(^|\n)ok      helper            '"$T_HELPER"$': setuid root, mode 4755\n' \
		"as the user: the setuid helper is found where ENCLAVE_HELPER says"
	like "$table" $'(^|\n)ok      subid             '"$T_USER has $nsub subordinate uids/gids: $((nsub / 65536)) workspaces get disjoint ranges"$'\n' \
		"as the user: subordinate ids counted, one workspace per block of 65536"
	like "$table" $'(^|\n)ok      bootstrap-tools   [^\n]*mmdebstrap \\(/' "as the user: mmdebstrap found (unshare mode)"
else
	like "$table" $'(^|\n)warn    helper            [^\n]*/enclave-helper is missing \\(ordinary users cannot run workspaces\\)\n        fix: ' \
		"helper missing is a warning for root, with a fix"
	like "$table" $'(^|\n)ok      subid             root uses enclave\'s own id pool' "root's id pool"
fi
like "$table" $'(^|\n)ok      state-dir         data '"$fresh"$'/state \\(created on first use\\); runtime '"$fresh"$'/run \\(created on first use\\)' \
	"state dirs creatable"
# Shape: every line is a check line or the fix of the line before, and
# every missing/warn line has its fix.
bad=$(awk '
	/^(ok|missing|warn|skip) +[a-z0-9-]+ / { want = ($1 == "missing" || $1 == "warn"); n++; next }
	/^        fix: / { if (!want) print "fix without warn: " $0; want = 0; next }
	{ print "stray: " $0 }
	END { if (want) print "last warn without fix" }' <<<"$table")
is "$bad" "" "table shape"
is "$(grep -v '^        fix: ' <<<"$table" | awk '{ print $2 }' | xargs)" "$ids" "all checks, in order"

# A state directory on a file system without idmapped mounts (the real
# kernel, not a fake): needed, so exit 1.
exit_is 1 "state on sysfs: exit 1" env ENCLAVE_STATE_DIR=/sys/kernel/enclave-doctor-test enclave doctor
if t_user; then
	# Not probed for a user (the helper would find out); what stops an
	# ordinary user there first is that the directory cannot be made.
	like "$(cat "$OUT")" $'(^|\n)skip    idmap             not probed as an ordinary user \\(enclave-helper makes the idmapped mounts\\); sysfs at /sys/kernel\n' \
		"sysfs as the user: idmap not probed, the file system named"
	like "$(cat "$OUT")" $'(^|\n)missing state-dir         the data directory /sys/kernel/enclave-doctor-test does not exist and cannot be created in /sys/kernel\n        fix: create it \\(mode 0700, owned by uid '"$T_UID"$'\\) or set ENCLAVE_STATE_DIR' \
		"sysfs as the user: the state dir cannot be created, with the fix"
	is "$(cat "$ERR")" "enclave: needed: state-dir: the data directory /sys/kernel/enclave-doctor-test does not exist and cannot be created in /sys/kernel" \
		"sysfs as the user: stderr"
else
	like "$(cat "$OUT")" $'(^|\n)missing idmap             sysfs at /sys/kernel does not support idmapped mounts\n        fix: keep the state on ext4, xfs, btrfs' \
		"sysfs: idmapped mounts missing"
	like "$(cat "$OUT")" $'(^|\n)missing overlay           cannot make the idmapped lower: sysfs' "sysfs: no overlay either"
	like "$(cat "$ERR")" $'^enclave: needed: idmap: sysfs at /sys/kernel does not support idmapped mounts\n' "sysfs: stderr"
fi
if [ -d /dev/shm ]; then
	exit_is 0 "state on tmpfs (idmapped since 6.3): exit 0" \
		env ENCLAVE_STATE_DIR=/dev/shm/enclave-doctor-test-$$ enclave doctor
	if t_user; then
		like "$(cat "$OUT")" $'(^|\n)skip    idmap             not probed as an ordinary user \\(enclave-helper makes the idmapped mounts\\); tmpfs at /dev/shm\n' \
			"tmpfs as the user: idmap not probed"
	else
		like "$(cat "$OUT")" $'(^|\n)ok      idmap             tmpfs at /dev/shm ' "tmpfs: idmapped mounts ok"
	fi
	ok "tmpfs: nothing created" test ! -e /dev/shm/enclave-doctor-test-$$
fi

# ---- JSON ----------------------------------------------------------------

exit_is 0 "doctor --json exits 0" doctor --json
json=$(cat "$OUT")
ok "JSON is valid" jq -e . <<<"$json"
is "$(jq -r '.ok' <<<"$json")" "true" "JSON ok is true"
is "$(jq -r '[.checks[].id] | join(" ")' <<<"$json")" "$ids" "JSON ids in order"
is "$(jq -r '[.checks[] | select(.status | IN("ok","missing","warn","skip") | not)] | length' <<<"$json")" "0" \
	"every status is ok, missing, warn or skip"
is "$(jq -r '[.checks[] | keys | join(",")] | unique | join(" ")' <<<"$json")" "detail,fix,id,needed,status,title" \
	"every check has exactly id, title, status, needed, detail, fix"
is "$(jq -r '[.checks[] | select((.status == "missing" or .status == "warn") and .fix == null)] | length' <<<"$json")" "0" \
	"every missing or warn check has a fix"
is "$(jq -r '.checks[] | select(.id == "kernel") | "\(.status) \(.needed)"' <<<"$json")" "ok true" "JSON kernel ok, needed"
is "$(jq -r '.checks[] | select(.id == "userns") | .status' <<<"$json")" "ok" "JSON userns ok"
if t_user; then
	is "$(jq -r '.checks[] | select(.id == "idmap") | "\(.status) \(.needed)"' <<<"$json")" "skip false" "JSON idmap: skip, not needed, as the user"
else
	is "$(jq -r '.checks[] | select(.id == "idmap") | .status' <<<"$json")" "ok" "JSON idmap ok"
fi
is "$(jq -r '.checks[] | select(.id == "seccomp") | .status' <<<"$json")" "ok" "JSON seccomp ok"
like "$(jq -r '.checks[] | select(.id == "cgroup") | .detail' <<<"$json")" '^hybrid ' "JSON cgroup mode hybrid"
if t_user; then
	is "$(jq -r '.checks[] | select(.id == "helper") | "\(.status) \(.needed)"' <<<"$json")" "ok true" \
		"JSON helper: ok, needed by the user"
	is "$(jq -r '.checks[] | select(.id == "subid") | "\(.status) \(.needed)"' <<<"$json")" "ok true" \
		"JSON subid: ok, needed by the user"
	is "$(jq -r '.checks[] | select(.id == "cgroup-delegation") | "\(.status) \(.needed)"' <<<"$json")" "warn false" \
		"JSON cgroup-delegation: warn, not needed (the helper places workspaces)"
else
	is "$(jq -r '.checks[] | select(.id == "helper") | "\(.status) \(.needed)"' <<<"$json")" "warn false" \
		"JSON helper: warn, not needed as root"
fi
is "$(jq -r '[.checks[] | select(.needed and .status == "missing")] | length' <<<"$json")" "0" "no needed check missing"
is "$(jq -r '.checks[] | "\(.status) \(.id)"' <<<"$json")" "$(grep -v '^        fix:' <<<"$table" | awk '{ print $1, $2 }')" \
	"table and JSON agree"

# ---- a fake /proc makes needed checks fail -----------------------------------

fake="$T_TMP/proc"
for f in sys/kernel/osrelease sys/user/max_user_namespaces sys/kernel/seccomp/actions_avail \
	 sys/net/ipv4/ip_forward sys/net/ipv6/conf/all/forwarding \
	 sys/kernel/apparmor_restrict_unprivileged_userns sys/kernel/unprivileged_userns_clone; do
	[ -r "/proc/$f" ] || continue
	mkdir -p "$fake/${f%/*}"
	cat "/proc/$f" >"$fake/$f"
done
exit_is 0 "a faithful fake /proc: still exit 0" fdoctor
is "$(steady "$OUT")" "$(steady <<<"$table")" "a faithful fake /proc: the same report"

echo "5.10.0-23-amd64" >"$fake/sys/kernel/osrelease"
exit_is 1 "fake kernel 5.10: exit 1" fdoctor
like "$(cat "$OUT")" $'(^|\n)missing kernel            5\\.10\\.0-23-amd64 is older than 6\\.1 [^\n]*\n        fix: install and boot Linux 6\\.1 or later' \
	"kernel line says missing, with the fix"
is "$(cat "$ERR")" "enclave: needed: kernel: $(grep '^missing kernel' "$OUT" | sed 's/^missing kernel *//')" \
	"stderr names the missing needed check"
exit_is 1 "fake kernel 5.10: --json exit 1" fdoctor --json
is "$(jq -r '.ok' "$OUT")" "false" "JSON ok is false"
is "$(jq -r '[.checks[] | select(.needed and .status == "missing") | .id] | join(" ")' "$OUT")" "kernel" \
	"only the kernel is missing"

cat /proc/sys/kernel/osrelease >"$fake/sys/kernel/osrelease"
echo 0 >"$fake/sys/user/max_user_namespaces"
exit_is 1 "fake max_user_namespaces 0: exit 1" fdoctor
like "$(cat "$OUT")" $'(^|\n)missing userns            disabled: user.max_user_namespaces = 0\n        fix: sysctl -w user.max_user_namespaces=' \
	"userns missing, with the sysctl"
cat /proc/sys/user/max_user_namespaces >"$fake/sys/user/max_user_namespaces"

echo "kill_thread trap errno log allow" >"$fake/sys/kernel/seccomp/actions_avail"
exit_is 1 "fake seccomp without kill_process: exit 1" fdoctor
like "$(cat "$OUT")" $'(^|\n)missing seccomp           the kernel\'s seccomp lacks the kill_process action' "seccomp missing"
cat /proc/sys/kernel/seccomp/actions_avail >"$fake/sys/kernel/seccomp/actions_avail"

# Warnings never fail: AppArmor's restriction as root, forwarding off.
# For an ordinary user running unconfined (the fake /proc has no AppArmor
# label) the restriction is needed-missing.
mkdir -p "$fake/sys/kernel" "$fake/sys/net/ipv4"
echo 1 >"$fake/sys/kernel/apparmor_restrict_unprivileged_userns"
echo 0 >"$fake/sys/net/ipv4/ip_forward"
if t_user; then
	exit_is 1 "AppArmor restriction as the user: exit 1" fdoctor
	like "$(cat "$OUT")" $'(^|\n)missing apparmor-userns   unprivileged user namespaces are restricted \\(kernel.apparmor_restrict_unprivileged_userns = 1\\) and enclave runs unconfined\n        fix: install the AppArmor profiles shipped in contrib/apparmor/ [^\n]*sysctl -w kernel.apparmor_restrict_unprivileged_userns=0\n' \
		"AppArmor restriction as the user: missing, fix names contrib/apparmor/ and the sysctl"
	is "$(cat "$ERR")" "enclave: needed: apparmor-userns: unprivileged user namespaces are restricted (kernel.apparmor_restrict_unprivileged_userns = 1) and enclave runs unconfined" \
		"AppArmor restriction as the user: the only needed check missing"
else
	exit_is 0 "AppArmor restriction and no forwarding as root: warnings, exit 0" \
		fdoctor
	like "$(cat "$OUT")" $'(^|\n)warn    apparmor-userns   restricted for ordinary users [^\n]*root is not affected\n        fix: for ordinary users: install the AppArmor profiles shipped in contrib/apparmor/ [^\n]*sysctl -w kernel.apparmor_restrict_unprivileged_userns=0\n' \
		"AppArmor restriction detected, fix names contrib/apparmor/ and the sysctl"
fi
like "$(cat "$OUT")" $'(^|\n)warn    ipv4-forward      net.ipv4.ip_forward = 0[^\n]*\n        fix: sysctl -w net.ipv4.ip_forward=1 ' \
	"forwarding off: warn with the sysctl"

# ---- an ordinary user ---------------------------------------------------------

if ! command -v setpriv >/dev/null; then
	skip "doctor as an ordinary user" "setpriv not installed"
elif ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$T_BUILDDIR/tools/enclave"; then
	skip "doctor as an ordinary user" "nobody cannot run $T_BUILDDIR/tools/enclave"
else
	U=$(mktemp -d /tmp/enclave-doctor-user.XXXXXX)
	at_exit "rm -rf '$U'"
	chown 65534:65534 "$U"
	# The build's enclave itself (in the user pass, PATH's enclave is the
	# wrapper that runs it as the test user), and no helper.
	user_doctor() {
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			env -u ENCLAVE_RUNTIME_DIR ENCLAVE_STATE_DIR="$U/state" ENCLAVE_HELPER="$NOHELPER" "$@"
	}
	E=$T_BUILDDIR/tools/enclave
	# /etc/subuid has no range for nobody and no helper is installed:
	# both are needed by ordinary users.
	exit_is 1 "as nobody: exit 1" user_doctor "$E" doctor
	utable=$(cat "$OUT")
	like "$utable" $'(^|\n)missing helper            [^\n]*/enclave-helper is missing \\(ordinary users cannot run workspaces\\)\n        fix: ' \
		"as nobody: the helper is needed"
	like "$utable" $'(^|\n)missing subid             nobody has 0 subordinate uids and 0 gids; a workspace needs a range of 65536\n        fix: as root: usermod --add-subuids ' \
		"as nobody: subordinate ids needed, with usermod"
	like "$utable" $'(^|\n)skip    idmap             not probed as an ordinary user' "as nobody: idmap not probed"
	like "$utable" $'(^|\n)ok      overlay           overlay \\(userxattr\\) mounted in your own user namespace' \
		"as nobody: overlay in an own user namespace"
	like "$utable" $'(^|\n)ok      userns            ' "as nobody: user namespaces work"
	like "$utable" $'(^|\n)warn    cgroup-delegation this host\'s cgroups are hybrid' "as nobody: no delegation on hybrid"
	like "$utable" $'(^|\n)ok      nftables          nf_tables answers \\([0-9]+ tables? in a new network namespace\\)' \
		"as nobody: nftables asked in an own network namespace"
	like "$utable" $'(^|\n)ok      state-dir         data '"$U"$'/state \\(created on first use\\)' "as nobody: state dir creatable"
	like "$(cat "$ERR")" $'enclave: needed: helper: ' "as nobody: stderr names the helper"
	like "$(cat "$ERR")" $'enclave: needed: subid: ' "as nobody: stderr names subid"
	ok "as nobody: the state dir was not created" test ! -e "$U/state"

	cp -r "$fake" "$U/proc"
	mkdir -p "$U/proc/self/attr"
	echo unconfined >"$U/proc/self/attr/current"
	chmod -R a+rX "$U/proc"
	exit_is 1 "as nobody under AppArmor's restriction: exit 1" \
		user_doctor env ENCLAVE_DOCTOR_PROC_ROOT="$U/proc" "$E" doctor --json
	is "$(jq -r '.checks[] | select(.id == "apparmor-userns") | "\(.status) \(.needed)"' "$OUT")" "missing true" \
		"as nobody: the AppArmor restriction is needed-missing"
	like "$(jq -r '.checks[] | select(.id == "apparmor-userns") | .fix' "$OUT")" '^install the AppArmor profiles shipped in contrib/apparmor/' \
		"as nobody: the fix names contrib/apparmor/"
	ok "as nobody: still nothing created" test ! -e "$U/state"
fi

# ---- the test user without a usable helper ----------------------------------

if t_user; then
	# The user has subordinate ids; only the helper is wrong.
	hdoctor() {
		as_user env ENCLAVE_HELPER="$1" ENCLAVE_STATE_DIR="$fresh/state" ENCLAVE_RUNTIME_DIR="$fresh/run" \
			"$T_BUILDDIR/tools/enclave" doctor
	}
	exit_is 1 "the user without a helper: exit 1" hdoctor "$NOHELPER"
	like "$(cat "$OUT")" $'(^|\n)missing helper            '"$NOHELPER"$' is missing \\(ordinary users cannot run workspaces\\)\n        fix: build with -Dsetuid_install=true ' \
		"the user without a helper: needed-missing, with the install fix"
	is "$(cat "$ERR")" "enclave: needed: helper: $NOHELPER is missing (ordinary users cannot run workspaces)" \
		"the user without a helper: the only needed check missing"
	mkdir -p "$T_TMP/plain"
	install -m 0755 "$T_HELPER" "$T_TMP/plain/enclave-helper"
	exit_is 1 "the user with a helper that is not setuid: exit 1" hdoctor "$T_TMP/plain/enclave-helper"
	like "$(cat "$OUT")" $'(^|\n)missing helper            '"$T_TMP"$'/plain/enclave-helper is installed but not setuid root \\(mode 0755\\): ordinary users cannot run workspaces\n' \
		"a helper without the setuid bit: needed-missing"
	chmod 4775 "$T_TMP/plain/enclave-helper"
	exit_is 1 "the user with a group-writable setuid helper: exit 1" hdoctor "$T_TMP/plain/enclave-helper"
	like "$(cat "$OUT")" $'(^|\n)missing helper            '"$T_TMP"$'/plain/enclave-helper is writable by group or others: refusing to trust it\n' \
		"a group-writable setuid helper: refused"
	ok "the user's state dir was not created" test ! -e "$fresh/state"
fi
