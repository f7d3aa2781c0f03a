# SPDX-License-Identifier: GPL-2.0-or-later
# test/user.sh - sourced by test/lib.sh when ENCLAVE_TEST_USER=1: the same
# test file runs a second time with every enclave program run by an
# ordinary user, through the setuid enclave-helper.
#
# The test script itself stays root (it builds test networks, plants host
# secrets and inspects the host); only the enclave programs change hands:
# $T_TMP/bin, first in PATH, holds one wrapper per program that drops to
# the test user (setpriv) and runs the build's binary with the caller's
# environment. Set up here:
#   T_USER, T_UID, T_GID   the test user (made now, removed at exit), with
#                          64 blocks of 65536 subordinate uids and gids
#   T_OWNER_UID            whom files created through the workspace belong
#                          to on the host (the test user; 0 in the root pass)
#   T_STORE_UID            on-disk owner of a rootfs's root-owned files in the
#                          user's store (the first subordinate id; 0 as root)
#   T_HELPER               the helper, installed setuid root into a
#                          build-local prefix, with a policy allowing T_USER
#   HOME                   of the enclave programs: $T_TMP/home (the user's)
# and the state and runtime dirs are the user's. Tests use t_own PATH... to
# hand directories they create to the user (a project dir, a tarball) and
# t_user to tell the passes apart where the expected result differs.

need_root
command -v useradd >/dev/null 2>&1 || skip_all "needs useradd"
command -v setpriv >/dev/null 2>&1 || skip_all "needs setpriv"
: "${HELPER_BIN:?}" "${HELPER_CONF:?}" "${HELPER_CALL:?}"

T_USER=enctu$$
# 64 blocks per user: one per workspace, as many as a test starts at once.
# Far from the ranges of the helper's own tests (1.0e9-2.05e9).
T_SUBBASE=$((2100000000 + ($$ % 128) * 4194304))
t_useradd "$T_USER" "$T_SUBBASE" 4194304 || skip_all "cannot create the test user"
T_UID=$(id -u "$T_USER")
T_GID=$(id -g "$T_USER")
T_OWNER_UID=$T_UID
T_STORE_UID=$T_SUBBASE
export T_USER T_UID T_GID T_OWNER_UID T_STORE_UID

# The helper, setuid root, where setuid works.
T_HPREFIX=$T_BUILDDIR/test/helper/prefix-user.$$
t_helper_install "$T_HPREFIX"
T_HELPER=$T_HPREFIX/enclave-helper
export T_HELPER

# Everything of the user's under the test's temp dir (the state dir is
# opened one component at a time: the user must be able to read it).
chmod 755 "$T_TMP"
mkdir -p "$T_TMP/home" "$ENCLAVE_STATE_DIR" "$ENCLAVE_RUNTIME_DIR"
chmod 700 "$T_TMP/home" "$ENCLAVE_STATE_DIR" "$ENCLAVE_RUNTIME_DIR"
chown "$T_UID:$T_GID" "$T_TMP/home" "$ENCLAVE_STATE_DIR" "$ENCLAVE_RUNTIME_DIR"

# The policy the test helper reads (its path is compiled in; the user
# tests run one at a time, like the helper's own).
T_POLDIR=${HELPER_CONF%/*}
mkdir -p "$T_POLDIR"
chmod 755 "$T_POLDIR"
{
	printf '[helper]\nusers = %s\nstore = %s\n' "$T_USER" "$ENCLAVE_STATE_DIR/sandboxes"
	printf '[quota]\naddresses = 64\nworkspaces = 64\nmemory = 64G\npids = 100000\n'
} >"$HELPER_CONF"
chmod 644 "$HELPER_CONF"
at_exit "rm -f '$HELPER_CONF'"

# The wrappers: the user, a clean supplementary group list, the test's
# environment (ENCLAVE_STATE_DIR and friends, as a shell would pass them).
mkdir -p "$T_TMP/bin"
for p in enclave enclave-spawn enclave-bootstrap enclave-net enclave-auth; do
	cat >"$T_TMP/bin/$p" <<WRAP
#!/bin/sh
exec setpriv --reuid=$T_UID --regid=$T_GID --init-groups -- \\
	env HOME="$T_TMP/home" USER=$T_USER LOGNAME=$T_USER ENCLAVE_HELPER="$T_HELPER" \\
	"$T_BUILDDIR/tools/$p" "\$@"
WRAP
	chmod 755 "$T_TMP/bin/$p"
done
export PATH="$T_TMP/bin:$PATH"

# At exit (these run before the ones registered above): whatever the user
# left running, then the user's delegated cgroups, through the helper.
at_exit "printf 'enclave-helper 1\nop=cgroup-del\nend\n' | setpriv --reuid=$T_UID --regid=$T_GID --init-groups '$HELPER_CALL' '$T_HELPER'"
at_exit 'for p in $(pgrep -U "$T_UID"); do kill -KILL "$p"; done; sleep 0.2'

# as_user CMD...: any other command as the test user (same environment).
as_user() {
	setpriv --reuid="$T_UID" --regid="$T_GID" --init-groups -- \
		env HOME="$T_TMP/home" USER="$T_USER" LOGNAME="$T_USER" ENCLAVE_HELPER="$T_HELPER" "$@"
}
