#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test/mkrootfs.sh - a tiny root file system for fast tests, from Debian's
# busybox-static (/bin/busybox).
#
#   mkrootfs.sh OUT.tar   build the tarball at OUT.tar
#   mkrootfs.sh           build it once per build dir, at
#                         $ENCLAVE_BUILD_DIR/test-cache/busybox-rootfs.tar,
#                         and print its path; parallel tests wait on a flock
#                         instead of racing, later ones reuse the file.
#
# Content: bin sbin usr/bin usr/sbin etc tmp proc dev sys run home root,
# /bin/busybox with applet symlinks, /etc/passwd and /etc/group with root and
# user (1000), /home/user owned by 1000. Owners are numeric (root:root except
# the home), modes as on Debian, tmp 1777. No device nodes (workspaces get
# their own /dev).
set -euo pipefail

BUSYBOX=${BUSYBOX:-/bin/busybox}
APPLETS="sh ash ls cat id true false sleep echo mkdir touch rm cp mv ln chmod
chown stat readlink env printf test [ grep sed head tail wc sort uniq tr cut
find xargs ps kill uname hostname whoami date mount umount df du dd sync
basename dirname pwd which vi"

build() {
	local out=$1 root
	[ -x "$BUSYBOX" ] || { echo "mkrootfs.sh: $BUSYBOX not found (apt-get install busybox-static)" >&2; exit 1; }
	if command -v file >/dev/null && ! file -L "$BUSYBOX" | grep -q "statically linked"; then
		echo "mkrootfs.sh: $BUSYBOX is not statically linked (apt-get install busybox-static)" >&2
		exit 1
	fi
	root=$(mktemp -d "${TMPDIR:-/tmp}/enclave-mkrootfs.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$root'" RETURN
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,dev,sys,run,home/user,root}
	chmod 1777 "$root/tmp"
	chmod 0700 "$root/root"
	chmod 0755 "$root"
	install -m 0755 "$BUSYBOX" "$root/bin/busybox"
	# The test probe (test/probe/probe.c), when the caller gives one.
	if [ -n "${PROBE:-}" ]; then
		install -m 0755 "$PROBE" "$root/usr/bin/probe"
	fi
	local a
	for a in $APPLETS; do
		ln -s busybox "$root/bin/$a"
	done
	cat >"$root/etc/passwd" <<-'EOF'
	root:x:0:0:root:/root:/bin/sh
	user:x:1000:1000:user:/home/user:/bin/sh
	nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >"$root/etc/group" <<-'EOF'
	root:x:0:
	user:x:1000:
	nogroup:x:65534:
	EOF
	echo "enclave-test" >"$root/etc/hostname"
	printf 'NAME="enclave busybox test rootfs"\nID=enclave-test\n' >"$root/etc/os-release"
	chmod 0644 "$root/etc/passwd" "$root/etc/group" "$root/etc/hostname" "$root/etc/os-release"
	chown -R 0:0 "$root"
	chown 1000:1000 "$root/home/user"
	chmod 0755 "$root/home/user"
	# A fixed mtime keeps the tarball's bytes (and so the sandbox
	# generation ids computed from it) stable across rebuilds.
	find "$root" -exec touch -h -d '2024-01-01 00:00:00 UTC' {} +
	tar --numeric-owner --sort=name -C "$root" -cf "$out.tmp.$$" .
	mv -f "$out.tmp.$$" "$out"
}

if [ $# -ge 1 ]; then
	build "$1"
	exit 0
fi

: "${ENCLAVE_BUILD_DIR:?set ENCLAVE_BUILD_DIR or name an output file}"
cache=$ENCLAVE_BUILD_DIR/test-cache
# With the probe it is another tarball: tests without it (bootstrap) and
# with it (spawn) must not race over one file.
out=$cache/busybox-rootfs${PROBE:+-probe}.tar
mkdir -p "$cache"
exec 9>"$out.lock"
flock 9
if [ ! -s "$out" ] || [ "$out" -ot "$BUSYBOX" ] || [ "$out" -ot "${BASH_SOURCE[0]}" ] ||
	{ [ -n "${PROBE:-}" ] && [ "$out" -ot "$PROBE" ]; }; then
	build "$out"
fi
echo "$out"
