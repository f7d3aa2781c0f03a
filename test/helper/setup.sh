# SPDX-License-Identifier: GPL-2.0-or-later
# test/helper/setup.sh - sourced by the helper's shell tests: a test user
# with subordinate ids, the helper installed setuid root into a build-local
# prefix, a test policy at the path compiled into the test helper, and
# helpers to call it as that user. Everything is removed at exit.

. "$ENCLAVE_SOURCE_DIR/test/lib.sh"
need_root
need_cmd useradd
need_cmd setpriv
need_cmd unshare

: "${HELPER_BIN:?}" "${HELPER_CALL:?}" "${HELPER_CONF:?}"
H_PREFIX=$ENCLAVE_BUILD_DIR/test/helper/prefix.$$
t_helper_install "$H_PREFIX"
HELPER=$H_PREFIX/enclave-helper

H_USER=enchelp$$
H_BASE=$((1500000000 + ($$ % 4096) * 131072))
t_useradd "$H_USER" "$H_BASE" 65536 || skip_all "cannot create a test user"
H_UID=$(id -u "$H_USER")
H_GID=$(id -g "$H_USER")

# Directories the test user can reach.
chmod 755 "$T_TMP"
H_TMP=$T_TMP/h
mkdir -p "$H_TMP"
chmod 755 "$H_TMP"

H_POLDIR=${HELPER_CONF%/*}
mkdir -p "$H_POLDIR"
chown root:root "$H_POLDIR"
chmod 755 "$H_POLDIR"
at_exit rm -rf "$H_POLDIR"

# policy [EXTRA QUOTA LINES...]: the default test policy.
policy() {
	{
		printf '[helper]\nusers = %s\nstore = %s\n' "$H_USER" "$H_TMP/store"
		printf '[quota]\naddresses = 1\nworkspaces = 4\nmemory = 256M\npids = 100\n'
		printf '%s\n' "$@"
	} >"$HELPER_CONF"
	chown root:root "$HELPER_CONF"
	chmod 644 "$HELPER_CONF"
}
policy

as_user() { setpriv --reuid="$H_UID" --regid="$H_GID" --init-groups -- "$@"; }

# req OP [KEY=VALUE...]: a well-formed request on stdout.
req() {
	local op=$1
	shift
	printf 'enclave-helper 1\nop=%s\n' "$op"
	[ $# -gt 0 ] && printf '%s\n' "$@"
	printf 'end\n'
}

# call [HELPER-CALL OPTIONS...] < request: run the helper as the test user.
call() { as_user "$HELPER_CALL" "$@" "$HELPER"; }

# userns_proc VAR [unshare options]: a process of the test user's in new
# namespaces; its pid goes into VAR and it is killed at exit.
userns_proc() {
	local var=$1 pid i
	shift
	# Not through as_user: a function would run in a subshell and $!
	# would be that root subshell, not the user's process.
	setpriv --reuid="$H_UID" --regid="$H_GID" --init-groups -- \
		unshare --user "$@" sleep 300 >/dev/null 2>&1 &
	pid=$!
	at_exit "kill $pid"
	for ((i = 0; i < 200; i++)); do
		[ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ] && break
		sleep 0.01
	done
	printf -v "$var" %s "$pid"
}

# map PID: give PID's namespace 0..65535 -> the test user's subordinate ids.
map() {
	req uidmap "uid=0 $H_BASE 65536" "gid=0 $H_BASE 65536" | call --pidfd "$1"
}
