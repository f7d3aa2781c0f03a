# SPDX-License-Identifier: GPL-2.0-or-later
# enclave-bootstrap end to end: one real `debootstrap --variant=minbase
# bookworm` from the Debian archive, then the same rootfs imported as a tar
# and adopted as a cached rootfs, with the wall time of each.
#
# The debootstrap result is kept for the rest of the suite in this build
# dir, at $ENCLAVE_BUILD_DIR/test-cache/bookworm-minbase.tar (pax format, so
# times keep their nanoseconds; built under a
# flock; when it exists, only the tar and cached_rootfs steps run).
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"
need_root
need_cmd debootstrap
need_cmd tar
need_cmd jq

cd "$T_TMP" || exit 1
SB=$ENCLAVE_STATE_DIR/sandboxes
MIRROR=http://deb.debian.org/debian
CACHE=$T_BUILDDIR/test-cache
TARBALL=$CACHE/bookworm-minbase.tar
mkdir -p "$CACHE"

rootfs_of() { enclave-bootstrap show "$1" | awk -F'\t' '$1 == "rootfs" { print $2 }'; }
now_ms() { date +%s%3N; }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
meta() {
	(cd "$1" && {
		find . -mindepth 1 ! -type d -printf '%M %U %G %T@ %s %l %p\n'
		# A directory's size depends on its history, not its content.
		find . -mindepth 1 -type d -printf '%M %U %G %T@ - %p\n'
	} | sort)
}
# Compare two trees' metadata; on a difference print a short diff as TAP
# diagnostics (a whole listing would break the TAP stream).
same_tree() {
	local a=$1 b=$2 name=$3
	meta "$a" >"$T_TMP/meta-a"
	meta "$b" >"$T_TMP/meta-b"
	if cmp -s "$T_TMP/meta-a" "$T_TMP/meta-b"; then
		t_result 0 "$name"
	else
		t_result 1 "$name"
		diff "$T_TMP/meta-a" "$T_TMP/meta-b" | head -n 10 | sed 's/^/#   /'
	fi
}

exec 9>"$CACHE/bookworm-minbase.lock"
flock 9
if [ ! -s "$TARBALL" ]; then
	if command -v wget >/dev/null; then
		wget -q --spider -T 10 -t 1 "$MIRROR/dists/bookworm/InRelease" ||
			skip_all "the Debian archive ($MIRROR) is unreachable"
	fi
	t0=$(now_ms)
	ok "debootstrap --variant=minbase bookworm" enclave-bootstrap create deb --suite bookworm --mirror "$MIRROR"
	t1=$(now_ms)
	deb_ms=$((t1 - t0))
	echo "$deb_ms" >"$CACHE/bookworm-minbase.ms"
	echo "# debootstrap create: $(secs $deb_ms) s"
	like "$(cat "$ERR")" "I: Base system installed successfully" "debootstrap's progress is shown"
	R=$(rootfs_of deb)
	like "$(cat "$R/etc/debian_version" 2>/dev/null)" "^12\." "the rootfs is Debian 12"
	is "$(stat -c '%a %u:%g' "$R")" "755 0:0" "the rootfs directory is 0755 root"
	is "$(find "$R" -xdev \( -type c -o -type b \) | wc -l)" "0" "no device nodes are left in the generation"
	is "$(chroot "$R" /bin/sh -c 'echo ok')" "ok" "the rootfs runs a shell"
	n=$(chroot "$R" dpkg-query -W -f '${Package}\n' | wc -l)
	[ "$n" -gt 50 ]
	t_result $? "dpkg knows the minbase packages ($n)"
	unlike "$(cat /proc/self/mountinfo)" "$SB/" "debootstrap left no mounts"
	is "$(enclave-bootstrap show deb --json | jq -r .method)" "debootstrap" "show reports the method"
	size=$(enclave-bootstrap list | awk -F'\t' '$1 == "deb" { print $5 }')
	echo "# debootstrap rootfs: $((size / 1048576)) MiB"
	ok "save the rootfs tarball for the rest of the suite" \
		tar --format=posix --xattrs --xattrs-include='*' --numeric-owner -C "$R" -cf "$TARBALL.tmp" .
	mv -f "$TARBALL.tmp" "$TARBALL"
	DEB_ROOTFS=$R
else
	deb_ms=$(cat "$CACHE/bookworm-minbase.ms" 2>/dev/null || echo 0)
	echo "# reusing $TARBALL (debootstrap took $(secs "$deb_ms") s when it was built)"
	DEB_ROOTFS=
fi
exec 9>&-

t0=$(now_ms)
ok "tar import of the debootstrap rootfs" enclave-bootstrap -q create fromtar --method tar --source "$TARBALL"
t1=$(now_ms)
tar_ms=$((t1 - t0))
echo "# tar import: $(secs $tar_ms) s"
RT=$(rootfs_of fromtar)
if [ -n "$DEB_ROOTFS" ]; then
	same_tree "$RT" "$DEB_ROOTFS" "the tar import equals the debootstrap rootfs (owners, modes, times, links)"
fi
is "$(chroot "$RT" /bin/sh -c 'echo ok')" "ok" "the imported rootfs runs a shell"

mkdir -p "$SB/rootfs-cache"
ok "populate rootfs-cache/bookworm" cp -a "$RT" "$SB/rootfs-cache/bookworm"
# A cache is long settled on disk when it is used; do not time the
# write-back of the copy just made (create syncs the file system).
sync -f "$SB/rootfs-cache/bookworm"
t0=$(now_ms)
ok "cached_rootfs of the same rootfs" enclave-bootstrap -q create fromcache --method cached_rootfs --suite bookworm
t1=$(now_ms)
cache_ms=$((t1 - t0))
echo "# cached_rootfs create: $(secs $cache_ms) s"
[ "$cache_ms" -lt 1000 ]
t_result $? "cached_rootfs is well under a second ($cache_ms ms)"
RC=$(rootfs_of fromcache)
same_tree "$RC" "$SB/rootfs-cache/bookworm" "the adopted rootfs has the cache's tree"
is "$(chroot "$RC" /bin/sh -c 'echo ok')" "ok" "the adopted rootfs runs a shell"

echo "# timings for one bookworm minbase rootfs: debootstrap $(secs "$deb_ms") s," \
	"tar import $(secs $tar_ms) s, cached_rootfs $(secs $cache_ms) s"

for s in deb fromtar fromcache; do
	enclave-bootstrap -q rm "$s" 2>/dev/null
done
rm -rf "$SB/rootfs-cache"
is "$(enclave-bootstrap list)" "" "everything removed"
