# SPDX-License-Identifier: GPL-2.0-or-later
# test/lib.sh - a small TAP assertion library for enclave's shell tests.
#
# Source it first thing; it sets `set -u`, a private state dir and PATH to
# the build tree, and prints the plan at exit. Every assertion prints one
# "ok"/"not ok" line; diagnostics go to stdout as "# ..." lines.
#
#   ok NAME CMD...            CMD exits 0
#   fails NAME CMD...         CMD exits non-zero
#   exit_is N NAME CMD...     CMD exits exactly N (stdout/stderr in $OUT/$ERR)
#   is GOT WANT NAME          string equality
#   like GOT ERE NAME         extended-regex match
#   unlike GOT ERE NAME       no match
#   skip NAME WHY             a skip; a failure when ENCLAVE_MUST_WORK=1
#   need_root / need_cmd CMD  skip the whole file (or fail under MUST_WORK)
#
# With ENCLAVE_TEST_USER=1 (the "-user" pass of every shell test), the
# enclave programs run as an ordinary test user through the setuid helper
# (test/user.sh); t_user tells the passes apart, t_own hands a path to the
# user, T_OWNER_UID is whom workspace-created host files belong to,
# T_STORE_UID whom a rootfs's root-owned files belong to on disk.

set -u

T_N=0
T_FAILED=0
T_SRCDIR=${ENCLAVE_SOURCE_DIR:?run through meson test}
T_BUILDDIR=${ENCLAVE_BUILD_DIR:?run through meson test}
export PATH="$T_BUILDDIR/tools:$PATH"
export LC_ALL=C

T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/enclave-test.XXXXXX")
export ENCLAVE_STATE_DIR="$T_TMP/state"
export ENCLAVE_RUNTIME_DIR="$T_TMP/run"
OUT="$T_TMP/out"
ERR="$T_TMP/err"
: >"$OUT"
: >"$ERR"

# Extra cleanup steps registered by tests run first, in reverse order.
T_CLEANUP=()
at_exit() { T_CLEANUP+=("$*"); }

t_finish() {
	local i
	for ((i = ${#T_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${T_CLEANUP[i]}" >/dev/null 2>&1 || true
	done
	rm -rf "$T_TMP" 2>/dev/null || true
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}
trap 't_finish' EXIT

T_UID=0
T_GID=0
T_OWNER_UID=0
T_STORE_UID=0
t_user() { [ "${ENCLAVE_TEST_USER:-0}" = 1 ]; }
# t_own PATH...: what the test made for the enclave programs becomes theirs.
t_own() { if t_user; then chown -R "$T_UID:$T_GID" "$@"; fi; }
as_user() { "$@"; }

t_result() {
	local status=$1 name=$2
	T_N=$((T_N + 1))
	if [ "$status" -eq 0 ]; then
		echo "ok $T_N - $name"
	else
		echo "not ok $T_N - $name"
		T_FAILED=$((T_FAILED + 1))
	fi
	return "$status"
}

t_diag() {
	sed 's/^/#   /' "$@" | head -n 40
}

# Run a command with its output captured. The command may read the
# previous command's $OUT/$ERR (they are replaced only after it ran).
t_run() {
	"$@" >"$OUT.next" 2>"$ERR.next"
	local rc=$?
	mv -f "$OUT.next" "$OUT"
	mv -f "$ERR.next" "$ERR"
	return "$rc"
}

ok() {
	local name=$1; shift
	t_run "$@"
	local rc=$?
	t_result $((rc != 0)) "$name" || { echo "#   exit $rc: $*"; t_diag "$ERR" "$OUT"; }
}

fails() {
	local name=$1; shift
	t_run "$@"
	local rc=$?
	t_result $((rc == 0)) "$name" || { echo "#   unexpectedly succeeded: $*"; t_diag "$OUT"; }
}

exit_is() {
	local want=$1 name=$2; shift 2
	t_run "$@"
	local rc=$?
	t_result $((rc != want)) "$name" || { echo "#   exit $rc, want $want: $*"; t_diag "$ERR" "$OUT"; }
}

is() {
	local got=$1 want=$2 name=$3
	[ "$got" = "$want" ]
	t_result $? "$name" || { printf "got:  '%s'\nwant: '%s'\n" "$got" "$want" | t_diag; }
}

like() {
	local got=$1 re=$2 name=$3
	[[ $got =~ $re ]]
	t_result $? "$name" || { printf "'%s'\ndoes not match /%s/\n" "$got" "$re" | t_diag; }
}

unlike() {
	local got=$1 re=$2 name=$3
	! [[ $got =~ $re ]]
	t_result $? "$name" || { printf "'%s'\nmatches /%s/\n" "$got" "$re" | t_diag; }
}

skip() {
	local name=$1 why=$2
	if [ "${ENCLAVE_MUST_WORK:-0}" = 1 ]; then
		t_result 1 "$name (ENCLAVE_MUST_WORK=1 but: $why)"
		return
	fi
	T_N=$((T_N + 1))
	echo "ok $T_N - $name # SKIP $why"
}

# Skip the whole file: plan 0 with a reason (meson counts it as skipped).
skip_all() {
	if [ "${ENCLAVE_MUST_WORK:-0}" = 1 ]; then
		echo "Bail out! ENCLAVE_MUST_WORK=1 but: $*"
		trap - EXIT
		rm -rf "$T_TMP"
		exit 1
	fi
	trap - EXIT
	rm -rf "$T_TMP"
	echo "1..0 # SKIP $*"
	exit 0
}

need_root() { [ "$(id -u)" = 0 ] || skip_all "needs root"; }

# t_helper_install DIR: the test helper ($HELPER_BIN) installed setuid
# root as DIR/enclave-helper (removed at exit); skips where setuid cannot
# work (a nosuid mount) rather than failing oddly.
t_helper_install() {
	mkdir -p "$1"
	at_exit "rm -rf '$1'"
	if findmnt -n -o OPTIONS -T "$1" | grep -qw nosuid; then
		skip_all "the build directory is on a nosuid mount"
	fi
	install -o root -g root -m 4755 "$HELPER_BIN" "$1/enclave-helper"
}

# t_useradd NAME FIRST COUNT: a test user (no home, no login) whose
# subordinate uids and gids are FIRST..FIRST+COUNT-1; removed at exit.
t_useradd() {
	useradd -M -U -s /usr/sbin/nologin -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$1" || return 1
	at_exit "userdel -f $1; sed -i '/^$1:/d' /etc/subuid /etc/subgid"
	usermod --add-subuids "$2-$(($2 + $3 - 1))" --add-subgids "$2-$(($2 + $3 - 1))" "$1"
}
need_cmd() { command -v "$1" >/dev/null 2>&1 || skip_all "needs $1"; }

if t_user; then
	. "$T_SRCDIR/test/user.sh"
fi

# ---- workspaces ---------------------------------------------------------

# The busybox test rootfs with the probe in /usr/bin, as a tarball shared by
# every test of this build (test/mkrootfs.sh caches it under a lock).
t_rootfs_tar() {
	PROBE="$T_BUILDDIR/test/probe" bash "$T_SRCDIR/test/mkrootfs.sh"
}

# t_sandbox NAME: a sandbox imported from the test rootfs, in this test's
# private state dir.
t_sandbox() {
	local tar
	tar=$(t_rootfs_tar) || return 1
	if t_user; then
		# The user's copy: the shared one is in root's build tree.
		[ -e "$T_TMP/rootfs.tar" ] || { cp "$tar" "$T_TMP/rootfs.tar" && t_own "$T_TMP/rootfs.tar"; } || return 1
		tar=$T_TMP/rootfs.tar
	fi
	enclave-bootstrap create "$1" --method tar --source "$tar" -q
}

# Leftover checks: nothing of a workspace may remain on the host.
# t_cgroup_dirs SANDBOX:WS - its cgroup directories, in any hierarchy.
t_cgroup_dirs() {
	find /sys/fs/cgroup -maxdepth 4 -type d \( -path "*/enclave/$1:*" -o \
		-path "*/enclave/user-*/$1:*" \) 2>/dev/null
}
