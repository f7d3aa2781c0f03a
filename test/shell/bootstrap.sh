# SPDX-License-Identifier: GPL-2.0-or-later
# enclave-bootstrap: imports, cached_rootfs, generations, list/show/rm/prune,
# and failure injection (each failure must leave the store as it was).
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"
need_root
need_cmd python3
need_cmd jq

# Never run anything from the source tree: a broken import writes into the
# working directory.
cd "$T_TMP" || exit 1
SB=$ENCLAVE_STATE_DIR/sandboxes
TAR=$("$T_SRCDIR/test/mkrootfs.sh") || skip_all "cannot build the busybox test rootfs"

snap() { find "$SB" | sort; }
# Whom a rootfs's id 0 belongs to on disk: root's sandboxes keep their ids;
# an ordinary user's are shifted onto the first block of their
# subordinate ids (uid N inside is the first subuid + N on disk, like
# mmdebstrap --mode=unshare), the first number of their /etc/subuid line.
SUBU=0
SUBG=0
if t_user; then
	SUBU=$(awk -F: -v u="$T_USER" '$1 == u { print $2; exit }' /etc/subuid)
	SUBG=$(awk -F: -v u="$T_USER" '$1 == u { print $2; exit }' /etc/subgid)
fi
# The bootstrap program a create without --method runs for the caller:
# debootstrap needs root, so the user pass runs mmdebstrap (unshare mode).
BOOT=debootstrap
BOOTM=()
if t_user; then
	BOOT=mmdebstrap
	BOOTM=(--method mmdebstrap)
fi
rootfs_of() { enclave-bootstrap show "$1" | awk -F'\t' '$1 == "rootfs" { print $2 }'; }
current_of() { enclave-bootstrap show "$1" | awk -F'\t' '$1 == "current" { print $2 }'; }
ngens() { ls "$SB/$1/gen" | wc -l; }
now_ms() { date +%s%3N; }
# A metadata listing of a tree (without its root's own mtime).
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

# ---- usage ------------------------------------------------------------------
exit_is 0 "--help exits 0" enclave-bootstrap --help
like "$(cat "$OUT")" "Usage: enclave-bootstrap" "--help prints the usage on stdout"
exit_is 0 "--version exits 0" enclave-bootstrap --version
exit_is 2 "unknown option is a usage error" enclave-bootstrap list --bogus
like "$(cat "$ERR")" "Try 'enclave-bootstrap --help'" "usage error says how to get help"
exit_is 2 "no command is a usage error" enclave-bootstrap
exit_is 2 "create without a name" enclave-bootstrap create
exit_is 2 "unknown method" enclave-bootstrap create x --method foo
like "$(cat "$ERR")" "unknown method 'foo'" "unknown method is named"
exit_is 2 "--mirror with tar" enclave-bootstrap create x --method tar --source "$TAR" --mirror http://example.invalid/
like "$(cat "$ERR")" "mirror is used only by the debootstrap and mmdebstrap methods" "--mirror with tar: says why"
exit_is 2 "tar without --source" enclave-bootstrap create x --method tar
like "$(cat "$ERR")" "the tar method needs --source FILE" "tar without --source: says what is needed"
exit_is 2 "bad suite" enclave-bootstrap create x --suite 'Bad!'
exit_is 2 "bad package in --include" enclave-bootstrap create x --include 'ok,-evil'
like "$(cat "$ERR")" "bad package name '-evil'" "an option-looking package is refused"
exit_is 2 "invalid sandbox name" enclave-bootstrap create ../x --method tar --source "$TAR"
exit_is 2 "reserved sandbox name" enclave-bootstrap create rootfs-cache --method tar --source "$TAR"
like "$(cat "$ERR")" "reserved" "rootfs-cache is reserved"
exit_is 2 "--json is not an option of rm" enclave-bootstrap rm x --json
exit_is 1 "rm of a missing sandbox" enclave-bootstrap rm nosuch
like "$(cat "$ERR")" "no sandbox named 'nosuch'" "rm of a missing sandbox names it"
if command -v setpriv >/dev/null; then
	exit_is 1 "debootstrap as an ordinary user" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$T_BUILDDIR/tools/enclave-bootstrap" create x
	like "$(cat "$ERR")" "debootstrap needs root.*mmdebstrap" "as a user: says root is needed and what else works"
fi

# ---- tar import -------------------------------------------------------------
ok "list on an empty store" enclave-bootstrap list
is "$(cat "$OUT")" "" "empty store lists nothing (no header when not a terminal)"

ok "create from a plain tar" enclave-bootstrap create bb --method tar --source "$TAR"
like "$(cat "$ERR")" "created sandbox 'bb' \(generation [0-9a-f]{16}" "create reports the generation"
R=$(rootfs_of bb)
is "$(stat -c '%a %u:%g' "$R")" "755 $SUBU:$SUBG" "the rootfs directory is 0755 root (of the rootfs)"
is "$(stat -c '%a' "$R/tmp")" "1777" "tar import keeps the sticky bit"
is "$(stat -c '%u:%g' "$R/home/user")" "$((SUBU + 1000)):$((SUBG + 1000))" "tar import keeps numeric owners"
if t_user; then
	is "$(find "$R" \( -uid -"$SUBU" -o -uid +"$((SUBU + 65535))" -o -gid -"$SUBG" -o -gid +"$((SUBG + 65535))" \) | wc -l)" "0" \
		"as the user: every owner is in the first block of the user's subordinate ids"
fi
is "$(stat -c '%Y' "$R/bin/busybox")" "1704067200" "tar import keeps mtimes"
is "$(readlink "$R/bin/sh")" "busybox" "tar import keeps symlinks"
is "$(chroot "$R" /bin/sh -c 'echo hello from $(id -u)')" "hello from 0" "the imported rootfs runs"
GEN_BB=$(current_of bb)

exit_is 0 "identical re-create is a no-op" enclave-bootstrap create bb --method tar --source "$TAR"
like "$(cat "$ERR")" "already exists with this recipe.*nothing to do" "identical re-create says so"
is "$(current_of bb)" "$GEN_BB" "no-op keeps the generation"
is "$(ngens bb)" "1" "no-op adds no generation"

gzip -c "$TAR" >rootfs.tar.gz
zstd -q -c "$TAR" >rootfs.tar.zst 2>/dev/null || true
xz -c "$TAR" >rootfs.tar.xz 2>/dev/null || true
ok "create from a gzip tar" enclave-bootstrap -q create bbgz --method tar --source rootfs.tar.gz
is "$(cat "$ERR")" "" "-q: nothing on stderr"
ok "gzip import has the same busybox" cmp "$R/bin/busybox" "$(rootfs_of bbgz)/bin/busybox"
if [ -s rootfs.tar.zst ]; then
	ok "create from a zstd tar" enclave-bootstrap -q create bbzst --bootstrap-method tar --source rootfs.tar.zst
	same_tree "$(rootfs_of bbzst)" "$R" "zstd import has the same tree"
else
	skip "create from a zstd tar" "zstd not installed"
fi
if [ -s rootfs.tar.xz ]; then
	ok "create from an xz tar" enclave-bootstrap -q create bbxz --method tar --source rootfs.tar.xz
	same_tree "$(rootfs_of bbxz)" "$R" "xz import has the same tree"
fi
like "$(enclave-bootstrap show bbgz)" "fingerprint	[0-9a-f]{64}" "show prints the source fingerprint"
isnt_gen=$(current_of bbgz)
[ "$isnt_gen" != "$GEN_BB" ]
t_result $? "a different tarball gives a different generation id"

# Owners, setuid bits, file capabilities and hard links survive tar and dir.
mkdir -p feat/bin feat/data
printf 'x' >feat/bin/capped
chmod 0755 feat/bin/capped
printf 'y' >feat/bin/suid
chown 0:0 feat/bin/suid
chmod 4755 feat/bin/suid
printf 'z' >feat/data/a
ln feat/data/a feat/data/b
chown 1234:5678 feat/data/a
have_caps=0
if command -v setcap >/dev/null && setcap cap_net_raw+ep feat/bin/capped 2>/dev/null; then
	have_caps=1
fi
tar --xattrs --xattrs-include='*' --numeric-owner -C feat -cf feat.tar .
check_feat() {
	local r=$1 how=$2
	is "$(stat -c '%a %u' "$r/bin/suid")" "4755 $SUBU" "$how keeps the setuid bit"
	is "$(stat -c '%u:%g' "$r/data/a")" "$((SUBU + 1234)):$((SUBG + 5678))" "$how keeps an unknown owner"
	is "$(stat -c '%i' "$r/data/a")" "$(stat -c '%i' "$r/data/b")" "$how keeps hard links"
	if [ "$have_caps" = 1 ]; then
		like "$(getcap "$r/bin/capped")" "cap_net_raw[+=]ep" "$how keeps security.capability"
	else
		skip "$how keeps security.capability" "setcap unavailable"
	fi
}
ok "create from a tar with xattrs and hard links" enclave-bootstrap -q create feat --method tar --source feat.tar
check_feat "$(rootfs_of feat)" "tar import"

# ---- dir import --------------------------------------------------------------
ok "create from a directory" enclave-bootstrap -q create dir1 --method dir --source "$R"
same_tree "$(rootfs_of dir1)" "$R" "dir import copies the tree with its metadata"
[ "$(stat -c %i "$R/bin/busybox")" != "$(stat -c %i "$(rootfs_of dir1)/bin/busybox")" ]
t_result $? "dir import copies (own inodes, the source can change later)"
# An ordinary user's tree with these owners is a shifted one (root's
# feat/ holds ids outside the user's block): the tar import just made.
featsrc=feat
if t_user; then
	featsrc=$(rootfs_of feat)
fi
ok "create from a directory with xattrs and hard links" enclave-bootstrap -q create featdir --method dir --source "$featsrc"
check_feat "$(rootfs_of featdir)" "dir import"
exit_is 1 "dir import of a tree with a device node" enclave-bootstrap -q create devdir --method dir --source /dev
like "$(cat "$ERR")" "refusing device node" "dir import refuses device nodes"

# ---- cached_rootfs -----------------------------------------------------------
mkdir -p "$SB/rootfs-cache"
cp -a "$R" "$SB/rootfs-cache/bookworm"
# (As an ordinary user the cache is a copy of the user's own rootfs,
# stored on their subordinate ids, and adopted in the storage namespace.)
t0=$(now_ms)
ok "cached_rootfs from rootfs-cache/bookworm" enclave-bootstrap create c1 --method cached_rootfs
t1=$(now_ms)
echo "# cached_rootfs create took $((t1 - t0)) ms"
[ $((t1 - t0)) -lt 1000 ]
t_result $? "cached_rootfs is well under a second ($((t1 - t0)) ms)"
enclave-bootstrap show c1 --json >c1.json
is "$(jq -r .source c1.json)" "rootfs-cache/bookworm" "cached_rootfs uses the suite's cache"
is "$(jq -r '.generations[0].adopt' c1.json)" "hardlink" "on ext4 the cache is adopted by hard links"
is "$(stat -c %i "$(rootfs_of c1)/bin/busybox")" "$(stat -c %i "$SB/rootfs-cache/bookworm/bin/busybox")" \
	"adopt, don't copy: the same inode"
same_tree "$(rootfs_of c1)" "$SB/rootfs-cache/bookworm" "adopted tree has the cache's metadata"
exit_is 0 "identical cached_rootfs re-create is a no-op" enclave-bootstrap create c1 --method cached_rootfs
like "$(cat "$ERR")" "nothing to do" "adoption does not change the cache's fingerprint"

mv "$SB/rootfs-cache/bookworm" "$SB/rootfs-cache/base"
ok "cached_rootfs falls back to rootfs-cache/base" enclave-bootstrap -q create c2 --method cached_rootfs --suite trixie
is "$(enclave-bootstrap show c2 --json | jq -r .source)" "rootfs-cache/base" "the fallback is recorded"
mv "$SB/rootfs-cache/base" "$SB/rootfs-cache/keep"
before=$(snap)
t0=$(now_ms)
exit_is 1 "cached_rootfs with neither cache" enclave-bootstrap create c3 --method cached_rootfs --suite sid
t1=$(now_ms)
like "$(cat "$ERR")" "neither $SB/rootfs-cache/sid/ nor $SB/rootfs-cache/base/ exists" "the error names both paths"
[ $((t1 - t0)) -lt 1000 ]
t_result $? "the missing-cache error is immediate"
is "$(snap)" "$before" "missing cache: store unchanged"

# ---- list and show ----------------------------------------------------------
ok "list" enclave-bootstrap list
like "$(grep '^bb	' "$OUT")" "^bb	tar	-	$GEN_BB	[0-9]+	[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z	0$" \
	"list: name, method, suite, generation, size, created, workspaces"
like "$(grep '^c1	' "$OUT")" "^c1	cached_rootfs	bookworm	" "list shows the suite"
n_list=$(wc -l <"$OUT")
ok "list --json" enclave-bootstrap list --json
cp "$OUT" list.json
ok "list --json is valid JSON" jq -e . list.json
is "$(jq length list.json)" "$n_list" "list --json has one object per sandbox"
is "$(jq -r '.[] | select(.name == "bb") | .generation' list.json)" "$GEN_BB" "list --json has the generation"
is "$(jq -r '.[] | select(.name == "bb") | .size' list.json)" \
	"$(awk -F'\t' '$1 == "bb" { print $5 }' <(enclave-bootstrap list))" "list and list --json agree on the size"
ok "show --json is valid JSON" sh -c 'enclave-bootstrap show bb --json | jq -e .'
is "$(jq -r .current "$OUT")" "$GEN_BB" "show --json has the current generation"
is "$(jq -r '.generations | length' "$OUT")" "1" "show --json lists the generations"
is "$(jq -r .rootfs "$OUT")" "$R" "show --json has the rootfs path"
exit_is 1 "show of a missing sandbox" enclave-bootstrap show nosuch

# ---- workspaces using a sandbox: rm ------------------------------------------
WS=$ENCLAVE_STATE_DIR/workspaces
mkdir -p "$WS/bb/ws1"
echo "$GEN_BB" >"$WS/bb/ws1/generation"
is "$(enclave-bootstrap list | awk -F'\t' '$1 == "bb" { print $7 }')" "1" "list counts a workspace using the sandbox"
is "$(enclave-bootstrap show bb --json | jq -r '.generations[0].used_by[0]')" "ws1" "show names the user"
before=$(snap)
exit_is 1 "rm refuses while a workspace uses the sandbox" enclave-bootstrap rm bb
like "$(cat "$ERR")" "sandbox 'bb' is used by workspace ws1 \(use --force" "rm names the workspace and --force"
is "$(snap)" "$before" "refused rm: store unchanged"
mkdir -p "$WS/bb/ws2"
echo "$GEN_BB" >"$WS/bb/ws2/generation"
# A "running" workspace: its lock held by a process that is the holder
# itself (killing it releases the lock).
(exec 8>"$WS/bb/ws2/lock" && flock 8 && exec sleep 86399) &
holder=$!
at_exit "kill $holder"
for _ in $(seq 50); do
	[ -e "$WS/bb/ws2/lock" ] && ! flock -n "$WS/bb/ws2/lock" true && break
	sleep 0.1
done
exit_is 1 "rm --force refuses while a workspace runs" enclave-bootstrap rm --force bb
like "$(cat "$ERR")" "used by running workspace ws2; stop it first" "rm --force says the workspace runs"
is "$(snap)" "$before" "refused rm --force: store unchanged"
kill "$holder"
wait "$holder" 2>/dev/null
ok "rm --force with stopped workspaces" enclave-bootstrap rm --force bb
fails "the sandbox is gone" test -e "$SB/bb"
ok "workspace state is not touched by rm" test -s "$WS/bb/ws1/generation"
is "$(ls -A "$SB/.tmp")" "" "rm leaves nothing in .tmp"

# ---- generations: --update, switch, prune ----------------------------------------
ok "create up" enclave-bootstrap -q create up --method tar --source "$TAR"
G1=$(current_of up)
before=$(snap)
exit_is 1 "a different recipe without --update" enclave-bootstrap create up --method tar --source rootfs.tar.gz
like "$(cat "$ERR")" "already exists with a different recipe.*use --update" "says to use --update"
is "$(snap)" "$before" "refused different recipe: store unchanged"
ok "--update builds a new generation" enclave-bootstrap create up --update --method tar --source rootfs.tar.gz
is "$(ls -A "$SB/.tmp")" "" "--update leaves nothing in .tmp"
G2=$(current_of up)
[ "$G1" != "$G2" ]
t_result $? "--update switches current"
is "$(ngens up)" "2" "the old generation stays until prune"
is "$(enclave-bootstrap show up --json | jq -r .method)" "tar" "show reads the current recipe"
ok "switch back to a generation built before" enclave-bootstrap create up --update --method tar --source "$TAR"
like "$(cat "$ERR")" "generation $G1 \(built before\) is current again" "switching back does not rebuild"
is "$(current_of up)" "$G1" "current is the first generation again"
ok "--update again" enclave-bootstrap -q create up --update --method tar --source rootfs.tar.gz
is "$(current_of up)" "$G2" "and forth"

mkdir -p "$WS/up/old"
echo "$G1" >"$WS/up/old/generation"
ok "prune --dry-run" enclave-bootstrap prune --dry-run
is "$(grep -c "^up	" "$OUT")" "0" "prune keeps a generation a workspace uses"
rm -r "$WS/up/old"
before=$(snap)
ok "prune --dry-run lists" enclave-bootstrap prune --dry-run up
like "$(cat "$OUT")" "^up	$G1	[0-9]+$" "prune --dry-run lists sandbox, generation, size"
is "$(snap)" "$before" "prune --dry-run changes nothing"
ok "prune" enclave-bootstrap prune up
like "$(cat "$OUT")" "^up	$G1	" "prune lists what it removed"
is "$(ngens up)" "1" "prune removed the old generation"
is "$(current_of up)" "$G2" "prune keeps current"
is "$(ls -A "$SB/.tmp")" "" "prune leaves nothing in .tmp"

# ---- debootstrap and mmdebstrap runs (a fake program records what it got) ----------
mkdir -p fake mirror
cat >fake/debootstrap <<'EOF'
#!/bin/sh
# fake debootstrap: records argv, builds a tiny tree with a device node and
# a mount, and can stall or fail on request (files next to it).
here=$(dirname "$0")
printf '%s\n' "$@" >"$here/args"
env | sort >"$here/env"
id -u >"$here/uid"
echo "$$" >"$here/pid"
echo "$$" >>"$here/pids"
eval "target=\${$(($# - 1))}"
echo "I: Retrieving InRelease"
tree=$target
case $target in *.tar) tree=$here/tree.$$ ;; esac	# mmdebstrap's tarball output
mkdir -p "$tree/etc" "$tree/dev" "$tree/proc"
echo fake >"$tree/etc/debian_version"
[ "$tree" = "$target" ] && mknod "$target/dev/null" c 1 3
[ "$tree" = "$target" ] && mount -t tmpfs enclave-fake-proc "$target/proc" 2>/dev/null
if [ "$tree" != "$target" ]; then
	tar -C "$tree" --owner=0 --group=0 --numeric-owner -cf "$target" . && rm -rf "$tree"
fi
if [ -e "$here/stall" ]; then
	touch "$here/started"
	exec sleep 98765
fi
if [ -e "$here/fail" ]; then
	echo "E: Failed getting release file"
	exit 1
fi
echo "I: Base system installed successfully."
EOF
chmod +x fake/debootstrap
cp fake/debootstrap fake/mmdebstrap
# The fakes write their records next to themselves, as the caller.
t_own fake mirror
# Should a broken build run the fake outside its namespaces, leave nothing
# behind: its mounts and its processes (by the pids it recorded).
at_exit 'grep enclave-fake-proc /proc/self/mountinfo | cut -d" " -f5 | grep "^$T_TMP/" | xargs -r -n1 umount -l'
at_exit 'for p in $(cat "$T_TMP/fake/pids" 2>/dev/null); do
	[ "$(tr "\0" " " </proc/$p/cmdline 2>/dev/null)" = "sleep 98765 " ] && kill -9 "$p"
done'

export ENCLAVE_DEBOOTSTRAP=$T_TMP/fake/debootstrap ENCLAVE_MMDEBSTRAP=$T_TMP/fake/mmdebstrap
M=file://$T_TMP/mirror

if t_user; then
	before=$(snap)
	exit_is 1 "debootstrap as an ordinary user is refused" \
		enclave-bootstrap create deb --mirror "$M" --include git,curl --components main,contrib
	is "$(cat "$ERR")" "enclave-bootstrap: debootstrap needs root (it creates device nodes and runs chroot); run as root, or use --method mmdebstrap (its unshare mode works as an ordinary user), tar, dir or cached_rootfs" \
		"the refusal names mmdebstrap, tar, dir and cached_rootfs"
	ok "  debootstrap did not run" test ! -e fake/args
	is "$(snap)" "$before" "  store unchanged"
	# The same recipe through mmdebstrap, which makes its own user
	# namespace (--mode=unshare) over the user's subordinate ids.
	ok "mmdebstrap run" enclave-bootstrap create deb --method mmdebstrap --mirror "$M" --include git,curl --components main,contrib
	like "$(cat "$ERR")" "I: Retrieving InRelease" "progress lines are shown"
	like "$(tr '\n' ' ' <fake/args)" \
		"^--variant=[a-z]+ --include=git,curl --components=main,contrib --mode=unshare --skip=output/dev --aptopt=Acquire::Retries \"2\" .* bookworm $SB/\\.tmp/deb\\.[A-Za-z0-9]{6}/mmdebstrap\\.tar $M \$" \
		"mmdebstrap argv: variant, include, components, unshare mode, no /dev, suite, a tarball, mirror"
	like "$(cat fake/env)" "^DEBIAN_FRONTEND=noninteractive" "a clean environment"
	unlike "$(cat fake/env)" "ENCLAVE_" "the caller's environment does not leak"
	like "$(cat fake/env)" "(^|
)HOME=/(
|\$)" "mmdebstrap gets HOME=/ (its namespace root cannot read a private home)"
	is "$(cat fake/uid)" "$T_UID" "mmdebstrap runs as the user (it makes its own namespaces)"
	fails "device nodes are not in the new generation" test -e "$(rootfs_of deb)/dev/null"
	is "$(stat -c '%u %g' "$(rootfs_of deb)/etc/debian_version")" "$SUBU $SUBG" \
		"the tarball was imported on the user's subordinate ids"
	ok "the tarball is gone" test ! -e "$(ls -d "$SB"/.tmp/deb.* 2>/dev/null)/mmdebstrap.tar"
	unlike "$(cat /proc/self/mountinfo)" "enclave-fake-proc" "mmdebstrap made no mounts on the host"
	is "$(enclave-bootstrap show deb | awk -F'\t' '$1 == "method" { print $2 }')" "mmdebstrap" "show reports the method"
	is "$(enclave-bootstrap show deb | awk -F'\t' '$1 == "include" { print $2 }')" "git,curl" "show lists the includes"
	ok "mmdebstrap run (variant, suite)" enclave-bootstrap -q create mm --method mmdebstrap --suite trixie --mirror "$M" --variant buildd
	like "$(tr '\n' ' ' <fake/args)" "^--variant=buildd --components=main --mode=unshare --skip=output/dev --aptopt=.* trixie .* $M $" "mmdebstrap argv"
else
	ok "debootstrap run" enclave-bootstrap create deb --mirror "$M" --include git,curl --components main,contrib
	like "$(cat "$ERR")" "I: Retrieving InRelease" "progress lines are shown"
	like "$(tr '\n' ' ' <fake/args)" \
		"^--variant=minbase --include=git,curl --components=main,contrib bookworm $SB/\\.tmp/deb\\.[A-Za-z0-9]{6}/gen/[0-9a-f]{16}/rootfs $M \$" \
		"debootstrap argv: variant, include, components, suite, target, mirror"
	like "$(cat fake/env)" "^DEBIAN_FRONTEND=noninteractive" "a clean environment"
	unlike "$(cat fake/env)" "ENCLAVE_" "the caller's environment does not leak"
	is "$(cat fake/uid)" "0" "debootstrap runs as root"
	is "$(cat fake/pid)" "2" "debootstrap runs in its own PID namespace"
	fails "device nodes are stripped from the new generation" test -e "$(rootfs_of deb)/dev/null"
	unlike "$(cat /proc/self/mountinfo)" "enclave-fake-proc" "debootstrap's mounts died with its namespace"
	is "$(enclave-bootstrap show deb | awk -F'\t' '$1 == "include" { print $2 }')" "git,curl" "show lists the includes"
	ok "mmdebstrap run" enclave-bootstrap -q create mm --method mmdebstrap --suite trixie --mirror "$M" --variant buildd
	like "$(tr '\n' ' ' <fake/args)" "^--variant=buildd --components=main --aptopt=.* trixie .* $M $" "mmdebstrap argv"
	unlike "$(cat fake/args)" "--mode" "as root mmdebstrap uses its default mode"
fi

# ---- failure injection: each leaves the store as it was -------------------------
ok "sweep baseline" enclave-bootstrap list
before=$(snap)

# kill -9 during create: the next command sweeps the temp dir.
touch fake/stall
rm -f fake/started
enclave-bootstrap -q create killed "${BOOTM[@]}" --mirror "$M" &
pid=$!
for _ in $(seq 100); do [ -e fake/started ] && break; sleep 0.1; done
ok "a build is in progress" sh -c "ls '$SB/.tmp' | grep -q '^killed\.'"
kill -9 "$pid"
wait "$pid" 2>/dev/null
sleep 0.2
fails "SIGKILL: the bootstrap program died too" pgrep -f 'sleep 98765'
ok "the next command sweeps the dead build" enclave-bootstrap list
is "$(snap)" "$before" "SIGKILL during create: store as it was after the sweep"

for sig in TERM INT; do
	rm -f fake/started
	enclave-bootstrap -q create sig$sig "${BOOTM[@]}" --mirror "$M" &
	pid=$!
	for _ in $(seq 100); do [ -e fake/started ] && break; sleep 0.1; done
	kill -$sig "$pid"
	wait "$pid"
	rc=$?
	want=$((128 + $(kill -l $sig)))
	is "$rc" "$want" "SIG$sig during create exits $want"
	is "$(snap)" "$before" "SIG$sig during create: store as it was at once"
	fails "SIG$sig: the bootstrap program died too" pgrep -f 'sleep 98765'
done
rm -f fake/stall

touch fake/fail
exit_is 1 "a failing $BOOT" enclave-bootstrap -q create failing "${BOOTM[@]}" --mirror "$M"
like "$(cat "$ERR")" "$BOOT of suite 'bookworm' from $M failed \(exit status 1\): E: Failed getting release file" \
	"the failure names suite, mirror and $BOOT's error"
is "$(snap)" "$before" "failing $BOOT: store unchanged"
rm -f fake/fail

# Hostile tarballs.
mkdir -p outside
# The user's, so that only the import's checks keep entries out of it.
t_own outside
python3 - "$T_TMP" <<'EOF'
import io, sys, tarfile
base = sys.argv[1]
def mk(name, entries):
    with tarfile.open(f"{base}/{name}.tar", "w") as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.type = e.get("type", tarfile.REGTYPE)
            ti.linkname = e.get("link", "")
            ti.devmajor, ti.devminor = e.get("dev", (0, 0))
            data = e.get("data", b"")
            ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
            ti.mode = 0o755 if ti.type == tarfile.DIRTYPE else 0o644
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
D, S, L, C, B = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE
mk("dotdot", [{"name": "etc", "type": D}, {"name": "../escaped", "data": b"x"}])
mk("dotdot-inner", [{"name": "etc/../../escaped", "data": b"x"}])
mk("absolute", [{"name": f"{base}/outside/abs", "data": b"x"}])
mk("symlink-out", [{"name": "evil", "type": S, "link": f"{base}/outside"},
                   {"name": "evil/pwned", "data": b"x"}])
mk("symlink-rel", [{"name": "evil", "type": S, "link": "../../../../../../../../" + base.lstrip("/") + "/outside"},
                   {"name": "evil/pwned", "data": b"x"}])
mk("dir-over-symlink", [{"name": "d", "type": S, "link": f"{base}/outside"},
                        {"name": "d", "type": D}, {"name": "d/pwned", "data": b"x"}])
mk("chardev", [{"name": "dev", "type": D}, {"name": "dev/null", "type": C, "dev": (1, 3)}])
mk("blockdev", [{"name": "sda", "type": B, "dev": (8, 0)}])
mk("hardlink-out", [{"name": "h", "type": L, "link": "../../../../etc/shadow"}])
mk("hardlink-abs", [{"name": "h", "type": L, "link": "/etc/shadow"}])
mk("hardlink-via-symlink", [{"name": "l", "type": S, "link": "/etc"},
                            {"name": "h", "type": L, "link": "l/shadow"}])
EOF
hostile() {
	local tarball=$1 msg=$2 what=$3
	exit_is 1 "$what: refused" enclave-bootstrap -q create hostile --method tar --source "$T_TMP/$tarball.tar"
	like "$(cat "$ERR")" "$msg" "$what: says why"
	is "$(snap)" "$before" "$what: store unchanged"
	is "$(ls -A outside)" "" "$what: nothing written outside"
}
hostile dotdot "refusing entry '../escaped': it contains '..'" "tar entry with ../"
hostile dotdot-inner "refusing entry 'etc/../../escaped': it contains '..'" "tar entry with inner .."
hostile absolute "refusing entry '$T_TMP/outside/abs': absolute path" "tar entry with an absolute path"
hostile symlink-out "refusing entry 'evil/pwned': it would be written through a symlink" "symlink pointing out, file written through it"
hostile symlink-rel "refusing entry 'evil/pwned': it would be written through a symlink" "relative symlink pointing out, file written through it"
hostile dir-over-symlink "refusing directory 'd': a symlink is in its place" "directory entry over a symlink"
hostile chardev "refusing device node 'dev/null' \(character device\)" "character device entry"
hostile blockdev "refusing device node 'sda' \(block device\)" "block device entry"
hostile hardlink-out "refusing hard link target '../../../../etc/shadow': it contains '..'" "hard link pointing outside"
hostile hardlink-abs "refusing hard link target '/etc/shadow': absolute path" "hard link with an absolute target"
hostile hardlink-via-symlink "refusing hard link 'h' -> 'l/shadow': the target is reached through a symlink" "hard link through a symlink"

# Unknown suite and dead mirror, with the real program (mmdebstrap in the
# user pass).
unset ENCLAVE_DEBOOTSTRAP
if t_user; then
	unset ENCLAVE_MMDEBSTRAP
fi
if command -v "$BOOT" >/dev/null; then
	# What the program says about a suite it does not know and one the
	# mirror lacks (apt's words for mmdebstrap).
	if t_user; then
		unknown_err="E: The repository 'file:$T_TMP/mirror nosuchsuite Release' does not have a Release file"
		nosuite_err() { echo "E: The repository 'file:$T_TMP/mirror $1 Release' does not have a Release file"; }
		st='[0-9]+'
	else
		unknown_err="E: No such script: /usr/share/debootstrap/scripts/nosuchsuite"
		nosuite_err() { echo "E: Failed getting release file $M/dists/$1/"; }
		st=1
	fi
	t0=$(now_ms)
	exit_is 1 "unknown suite" enclave-bootstrap -q create nosuite "${BOOTM[@]}" --suite nosuchsuite --mirror "$M"
	like "$(cat "$ERR")" "$BOOT of suite 'nosuchsuite' from $M failed \(exit status $st\): E: " "unknown suite: $BOOT's error is shown"
	like "$(cat "$ERR")" "$unknown_err" "unknown suite: the error names the cause"
	exit_is 1 "a mirror without the suite" enclave-bootstrap -q create nosuite "${BOOTM[@]}" --suite bookworm --mirror "$M"
	like "$(cat "$ERR")" "$(nosuite_err bookworm)" "missing suite in the mirror: says so"
	t1=$(now_ms)
	[ $((t1 - t0)) -lt 10000 ]
	t_result $? "unknown suite fails fast ($((t1 - t0)) ms)"
	is "$(snap)" "$before" "unknown suite: store unchanged"

	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	t0=$(now_ms)
	exit_is 1 "a mirror that does not answer" enclave-bootstrap -q create dead "${BOOTM[@]}" --mirror "http://127.0.0.1:$port/debian"
	t1=$(now_ms)
	like "$(cat "$ERR")" "mirror http://127.0.0.1:$port/debian does not answer" "dead mirror: named in the error"
	[ $((t1 - t0)) -lt 30000 ]
	t_result $? "dead mirror fails in bounded time ($((t1 - t0)) ms)"
	is "$(snap)" "$before" "dead mirror: store unchanged"
else
	skip "unknown suite and dead mirror" "$BOOT not installed"
fi

# Full disk: a small tmpfs as the store, in a private mount namespace so
# nothing stays mounted whatever happens.
if command -v unshare >/dev/null; then
	mkdir -p full bigroot/etc
	head -c 6000000 /dev/urandom >bigroot/etc/big
	tar -C bigroot -cf big.tar .
	# The store's owner owns the small file system (the user in the
	# user pass).
	fullopt=size=2M,mode=0700
	if t_user; then
		fullopt=$fullopt,uid=$T_UID,gid=$T_GID
	fi
	cat >full.sh <<EOF
set -u
mount -t tmpfs -o $fullopt enclave-test-full "$T_TMP/full" || exit 99
export ENCLAVE_STATE_DIR=$T_TMP/full/state
enclave-bootstrap list || exit 98
find "$T_TMP/full/state" | sort >"$T_TMP/full-before"
enclave-bootstrap -q create big --method tar --source "$T_TMP/big.tar" 2>"$T_TMP/full-err-tar"
echo \$? >"$T_TMP/full-rc-tar"
enclave-bootstrap -q create big --method dir --source "$T_TMP/bigroot" 2>"$T_TMP/full-err-dir"
echo \$? >"$T_TMP/full-rc-dir"
find "$T_TMP/full/state" | sort >"$T_TMP/full-after"
EOF
	ok "full disk scenario ran" unshare -m --propagation private bash full.sh
	is "$(cat full-rc-tar)" "1" "full disk (tar): create fails"
	like "$(cat full-err-tar)" "No space left on device" "full disk (tar): says why"
	is "$(cat full-rc-dir)" "1" "full disk (dir): create fails"
	like "$(cat full-err-dir)" "No space left on device" "full disk (dir): says why"
	is "$(cat full-after)" "$(cat full-before)" "full disk: store as it was"
	unlike "$(cat /proc/self/mountinfo)" "enclave-test-full" "full disk: nothing stays mounted"
else
	skip "full disk" "unshare not installed"
fi

# Two concurrent creates of one name: exactly one wins.
for i in 1 2 3; do
	enclave-bootstrap -q create race$i --method tar --source "$TAR" 2>race-a &
	a=$!
	enclave-bootstrap -q create race$i --method tar --source big.tar 2>race-b &
	b=$!
	wait $a; ra=$?
	wait $b; rb=$?
	is "$((ra + rb))" "1" "concurrent creates of race$i: exactly one wins"
	like "$(cat race-a race-b)" "sandbox 'race$i' (is being created by another process|already exists)" \
		"concurrent creates of race$i: the loser says why"
	is "$(ngens race$i)" "1" "concurrent creates of race$i: one generation"
done
is "$(ls -A "$SB/.tmp")" "" "concurrent creates leave nothing in .tmp"

# Different names proceed in parallel.
enclave-bootstrap -q create par1 --method tar --source "$TAR" &
a=$!
enclave-bootstrap -q create par2 --method tar --source "$TAR" &
b=$!
wait $a; ra=$?
wait $b; rb=$?
is "$ra $rb" "0 0" "creates of different names both succeed"

# Leave nothing behind.
for s in $(enclave-bootstrap list | cut -f1); do
	enclave-bootstrap -q rm --force "$s"
done
is "$(enclave-bootstrap list)" "" "everything removed"
