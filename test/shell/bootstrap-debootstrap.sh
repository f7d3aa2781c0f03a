# SPDX-License-Identifier: GPL-2.0-or-later
# enclave-bootstrap end to end: one real `debootstrap --variant=minbase
# bookworm` from the Debian archive, then the same rootfs imported as a tar
# and adopted as a cached rootfs, with the wall time of each.
#
# In the user pass (an ordinary user through the setuid helper), where
# debootstrap and cached_rootfs are refused: `mmdebstrap --mode=unshare`
# from the same mirror, stored shifted onto the user's subordinate ids,
# with a workspace run from it; and the tar import of the shared
# debootstrap tarball (made by root if it is not there yet).
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
if t_user; then
	need_cmd mmdebstrap
	need_cmd newuidmap
	need_cmd newgidmap
fi

cd "$T_TMP" || exit 1
SB=$ENCLAVE_STATE_DIR/sandboxes
MIRROR=http://deb.debian.org/debian
CACHE=$T_BUILDDIR/test-cache
TARBALL=$CACHE/bookworm-minbase.tar
mkdir -p "$CACHE"

rootfs_of() { enclave-bootstrap show "$1" | awk -F'\t' '$1 == "rootfs" { print $2 }'; }
# debootstrap is root's: in the user pass the shared tarball is made by
# root, with the build's program and a state dir of root's own.
if t_user; then
	rootboot() {
		env ENCLAVE_STATE_DIR="$T_TMP/rootstate" ENCLAVE_RUNTIME_DIR="$T_TMP/rootrun" \
			"$T_BUILDDIR/tools/enclave-bootstrap" "$@"
	}
	RSB=$T_TMP/rootstate/sandboxes
else
	rootboot() { enclave-bootstrap "$@"; }
	RSB=$SB
fi
root_rootfs_of() { rootboot show "$1" | awk -F'\t' '$1 == "rootfs" { print $2 }'; }
# The first block of the user's subordinate ids: id N of their rootfs is
# SUBU + N on disk (0 as root).
SUBU=0
SUBG=0
if t_user; then
	SUBU=$(awk -F: -v u="$T_USER" '$1 == u { print $2; exit }' /etc/subuid)
	SUBG=$(awk -F: -v u="$T_USER" '$1 == u { print $2; exit }' /etc/subgid)
fi
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
# diagnostics (a whole listing would break the TAP stream). With
# SHIFT=1, a's owners are taken back by the user's subordinate id base.
same_tree() {
	local a=$1 b=$2 name=$3 su=0 sg=0
	if [ "${SHIFT:-0}" = 1 ]; then
		su=$SUBU
		sg=$SUBG
	fi
	meta "$a" | awk -v su="$su" -v sg="$sg" '{ $2 -= su; $3 -= sg; print }' | sort >"$T_TMP/meta-a"
	meta "$b" | awk '{ $2 += 0; $3 += 0; print }' | sort >"$T_TMP/meta-b"
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
	ok "debootstrap --variant=minbase bookworm" rootboot create deb --suite bookworm --mirror "$MIRROR"
	t1=$(now_ms)
	deb_ms=$((t1 - t0))
	echo "$deb_ms" >"$CACHE/bookworm-minbase.ms"
	echo "# debootstrap create: $(secs $deb_ms) s"
	like "$(cat "$ERR")" "I: Base system installed successfully" "debootstrap's progress is shown"
	R=$(root_rootfs_of deb)
	like "$(cat "$R/etc/debian_version" 2>/dev/null)" "^12\." "the rootfs is Debian 12"
	is "$(stat -c '%a %u:%g' "$R")" "755 0:0" "the rootfs directory is 0755 root"
	is "$(find "$R" -xdev \( -type c -o -type b \) | wc -l)" "0" "no device nodes are left in the generation"
	is "$(chroot "$R" /bin/sh -c 'echo ok')" "ok" "the rootfs runs a shell"
	n=$(chroot "$R" dpkg-query -W -f '${Package}\n' | wc -l)
	[ "$n" -gt 50 ]
	t_result $? "dpkg knows the minbase packages ($n)"
	unlike "$(cat /proc/self/mountinfo)" "$RSB/" "debootstrap left no mounts"
	is "$(rootboot show deb --json | jq -r .method)" "debootstrap" "show reports the method"
	size=$(rootboot list | awk -F'\t' '$1 == "deb" { print $5 }')
	echo "# debootstrap rootfs: $((size / 1048576)) MiB"
	ok "save the rootfs tarball for the rest of the suite" \
		tar --format=posix --xattrs --xattrs-include='*' --numeric-owner -C "$R" -cf "$TARBALL.tmp" .
	mv -f "$TARBALL.tmp" "$TARBALL"
	DEB_ROOTFS=$R
	if t_user; then
		rootboot -q rm deb
		DEB_ROOTFS=
	fi
else
	deb_ms=$(cat "$CACHE/bookworm-minbase.ms" 2>/dev/null || echo 0)
	echo "# reusing $TARBALL (debootstrap took $(secs "$deb_ms") s when it was built)"
	DEB_ROOTFS=
fi
exec 9>&-

# ws_checks SANDBOX WS: a workspace from a user's shifted Debian rootfs,
# through the helper's idmapped mount: root's files are root's inside,
# the workload is the workspace user, root of the workspace writes root's
# files (into the workspace's overlay, never the generation).
ws_checks() {
	local sb=$1 ws=$2 out n r
	r=$(rootfs_of "$sb")
	r=${r:-$T_TMP/no-rootfs}
	at_exit enclave-spawn stop --time 0 "$sb" "$ws"
	exit_is 0 "$sb: a workspace starts" enclave-spawn start --net none "$sb" "$ws" -- sleep 600
	exit_is 0 "$sb: the workload" enclave-spawn enter "$sb" "$ws" -- sh -c '
		id -u
		cat /etc/debian_version
		stat -c "%u:%g %a" / /etc/passwd /usr/bin/dpkg
		dpkg-query -W -f "\${Package}\n" | wc -l'
	out=$(cat "$OUT")
	is "$(sed -n 1p <<<"$out")" "1000" "$sb: the workload runs as the workspace user"
	like "$(sed -n 2p <<<"$out")" "^12\." "$sb:   and sees Debian 12"
	is "$(sed -n 3,5p <<<"$out")" "0:0 755
0:0 644
0:0 755" "$sb:   root's files are root's inside the workspace"
	n=$(sed -n 6p <<<"$out")
	[ "${n:-0}" -gt 50 ]
	t_result $? "$sb:   dpkg knows the minbase packages (${n:-none})"
	exit_is 0 "$sb: root of the workspace writes root's files" enclave-spawn enter --root "$sb" "$ws" -- sh -c '
		echo probe >>/etc/debian_version && stat -c "%u:%g" /etc/debian_version && tail -n1 /etc/debian_version'
	is "$(cat "$OUT")" "0:0
probe" "$sb:   as root of the workspace"
	unlike "$(cat "$r/etc/debian_version" 2>&1)" "probe" "$sb:   in the workspace's overlay, not the generation"
	exit_is 0 "$sb: stop" enclave-spawn stop --time 0 "$sb" "$ws"
	exit_is 0 "$sb: remove the workspace" enclave-spawn rm "$sb" "$ws"
}

# import_tarball NAME: the shared tarball as sandbox fromtar, timed
# (tar_ms); its rootfs in RT.
import_tarball() {
	local t0 t1
	t0=$(now_ms)
	ok "$1" enclave-bootstrap -q create fromtar --method tar --source "$TARBALL"
	t1=$(now_ms)
	tar_ms=$((t1 - t0))
	echo "# tar import: $(secs $tar_ms) s"
	RT=$(rootfs_of fromtar)
}

if t_user; then
	# ---- debootstrap and cached_rootfs: root's ----
	exit_is 1 "debootstrap as an ordinary user is refused" enclave-bootstrap create deb --suite bookworm --mirror "$MIRROR"
	is "$(cat "$ERR")" "enclave-bootstrap: debootstrap needs root (it creates device nodes and runs chroot); run as root, or use --method mmdebstrap (its unshare mode works as an ordinary user), tar, dir or cached_rootfs" \
		"the refusal names mmdebstrap, tar, dir and cached_rootfs"

	# ---- mmdebstrap --mode=unshare ----
	if command -v wget >/dev/null; then
		wget -q --spider -T 10 -t 1 "$MIRROR/dists/bookworm/InRelease" ||
			skip_all "the Debian archive ($MIRROR) is unreachable"
	fi
	t0=$(now_ms)
	ok "mmdebstrap bookworm as the user" enclave-bootstrap create mm --method mmdebstrap --suite bookworm --mirror "$MIRROR"
	t1=$(now_ms)
	mm_ms=$((t1 - t0))
	echo "# mmdebstrap create: $(secs $mm_ms) s"
	like "$(cat "$ERR")" "I: success in " "mmdebstrap's progress is shown"
	RM=$(rootfs_of mm)
	RM=${RM:-$T_TMP/no-rootfs}
	like "$(cat "$RM/etc/debian_version" 2>/dev/null)" "^12\." "the rootfs is Debian 12"
	is "$(enclave-bootstrap show mm --json | jq -r .method)" "mmdebstrap" "show reports the method"
	is "$(stat -c '%a %u:%g' "$RM" 2>&1)" "755 $SUBU:$SUBG" "the rootfs directory is 0755 root of the rootfs (the first subordinate id)"
	is "$(stat -c '%u:%g' "$RM/usr/bin/dpkg" 2>&1)" "$SUBU:$SUBG" "root's files are the first subordinate id's"
	is "$(find "$RM" -xdev \( -uid -"$SUBU" -o -uid +"$((SUBU + 65535))" -o -gid -"$SUBG" -o -gid +"$((SUBG + 65535))" \) 2>&1 | wc -l)" "0" \
		"every owner is in the first block of the user's subordinate ids"
	is "$(find "$RM" -xdev \( -type c -o -type b \) 2>&1 | wc -l)" "0" "no device nodes are left in the generation"
	unlike "$(cat /proc/self/mountinfo)" "$SB/" "mmdebstrap left no mounts"

	ws_checks mm ws1

	# ---- the shared debootstrap tarball, imported by the user ----
	import_tarball "tar import of the debootstrap rootfs as the user"
	mkdir -p "$T_TMP/ref"
	ok "extract the tarball as root for reference" \
		tar --xattrs --xattrs-include='*' --numeric-owner -C "$T_TMP/ref" -xpf "$TARBALL"
	SHIFT=1 same_tree "$RT" "$T_TMP/ref" "the tar import is the tarball, shifted by the first subordinate id"
	rm -rf "$T_TMP/ref"
	is "$(chroot "$RT" /bin/sh -c 'echo ok')" "ok" "the imported rootfs runs a shell"
	ws_checks fromtar ws2

	echo "# timings for one bookworm minbase rootfs as an ordinary user: mmdebstrap $(secs "$mm_ms") s," \
		"tar import $(secs $tar_ms) s"

	for s in mm fromtar; do
		enclave-bootstrap -q rm "$s" 2>/dev/null
	done
	is "$(ls "$ENCLAVE_STATE_DIR/workspaces" 2>&1)" "" "no workspace is left"
	is "$(enclave-bootstrap list)" "" "everything removed"
	# Removal runs in the storage namespace: nothing of the shifted trees
	# may stay behind.
	is "$(find "$SB" -uid +"$((SUBU - 1))" 2>&1 | wc -l)" "0" "no file of the user's subordinate ids is left"
else
	import_tarball "tar import of the debootstrap rootfs"
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
fi
