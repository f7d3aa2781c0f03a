#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sandbox setup commands (DESIGN.md §6, enclave-bootstrap(1)): they run as
# root in a new generation, their output is streamed with each command
# shown, an unchanged list changes nothing, a changed one starts from the
# kept base, and a failing one leaves the store as it was.
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"
need_root

cd "$T_TMP" || exit 1
SB=$ENCLAVE_STATE_DIR/sandboxes
TAR=$(t_rootfs_tar) || skip_all "cannot build the busybox test rootfs"

rootfs_of() { enclave-bootstrap show "$1" | awk -F'\t' '$1 == "rootfs" { print $2 }'; }
current_of() { cat "$SB/$1/current"; }
gens() { ls "$SB/$1/gen" | tr '\n' ' '; }
now_ms() { date +%s%3N; }
# The number of the first line of $ERR that is exactly $1.
line_of() { grep -n -x -F -m1 -- "$1" "$ERR" | cut -d: -f1; }

write_file() {
	{
		echo "[sandbox]"
		echo "name = sb"
		echo "bootstrap_method = tar"
		echo "source = $TAR"
		for c in "$@"; do echo "setup = $c"; done
	} >Enclavefile
}

# ---- usage ------------------------------------------------------------------
exit_is 2 "--setup with --file is a usage error" \
	enclave-bootstrap create --file Enclavefile --setup true
like "$(cat "$ERR")" "--setup cannot be combined with --file" "says why"
exit_is 2 "create --file of a missing file" enclave-bootstrap create --file nosuch
like "$(cat "$ERR")" "nosuch" "names the file"
printf '[workspace.a]\nrun = true\n' >Nosandbox
exit_is 2 "create --file without a [sandbox] section" enclave-bootstrap create --file Nosandbox
like "$(cat "$ERR")" "no \[sandbox\] section" "says what is missing"

# ---- a new sandbox with setup --------------------------------------------------
write_file 'echo run >> /etc/setup-ran; echo first-out' \
	'mkdir -p /opt/x && echo hi > /opt/x/file && echo second-out >&2'
ok "create --file with two setup commands" enclave-bootstrap create --file Enclavefile
like "$(cat "$ERR")" "created sandbox 'sb' \(generation [0-9a-f]{16}" "create reports the generation"
a=$(line_of "+ echo run >> /etc/setup-ran; echo first-out")
b=$(line_of "first-out")
c=$(line_of "+ mkdir -p /opt/x && echo hi > /opt/x/file && echo second-out >&2")
d=$(line_of "second-out")
ok "each command is shown" test -n "$a" -a -n "$c"
ok "output is streamed after its command, in order" test "${a:-0}" -lt "${b:-0}" -a "${b:-0}" -lt "${c:-0}" -a "${c:-0}" -lt "${d:-0}"
G1=$(current_of sb)
R=$(rootfs_of sb)
is "$(cat "$R/opt/x/file" 2>&1)" "hi" "a file written by setup is in the generation"
is "$(stat -c '%u:%g %a' "$R/opt/x/file" 2>&1)" "$T_STORE_UID:$T_STORE_UID 644" \
	"owned by root of the store on the host, as written"
is "$(wc -l <"$R/etc/setup-ran" 2>&1)" "1" "each command ran once"
is "$(ls "$SB/sb/gen" | wc -l)" "2" "the generation and its base are kept"
is "$(ls -A "$SB/.tmp")" "" "nothing left in .tmp"
B=$(grep '^base=' "$SB/sb/gen/$G1/info" | cut -d= -f2)
ok "the info names the base" test -d "$SB/sb/gen/$B/rootfs"
ok "the base has no setup result" test ! -e "$SB/sb/gen/$B/rootfs/opt/x/file"
is "$(grep -c '^setup=' "$SB/sb/gen/$G1/recipe")" "2" "the recipe records the setup list"
ok "enclave-bootstrap show lists the setup commands" enclave-bootstrap show sb
is "$(grep -c '^setup' "$OUT")" "2" "show: two setup lines"

ok "a workspace sees what setup made" enclave-spawn run --rm sb w1 -- cat /opt/x/file
is "$(cat "$OUT")" "hi" "workspace reads the setup file"

# ---- unchanged ----------------------------------------------------------------------
t0=$(now_ms)
ok "the same list again" enclave-bootstrap create --file Enclavefile
t1=$(now_ms)
like "$(cat "$ERR")" "already exists with this recipe \(generation $G1\); nothing to do" "unchanged: nothing to do"
unlike "$(cat "$ERR")" "\+ echo" "unchanged: no setup command ran"
is "$(current_of sb)" "$G1" "unchanged: same generation"
ok "unchanged is fast (<1 s: $((t1 - t0)) ms)" test $((t1 - t0)) -lt 1000
ok "the same list with --update" enclave-bootstrap create --file Enclavefile --update
like "$(cat "$ERR")" "nothing to do" "--update of the same list: nothing to do"

# ---- changed list -> new generation from the base ---------------------------------------
write_file 'echo run >> /etc/setup-ran; echo first-out' \
	'mkdir -p /opt/x && echo hi > /opt/x/file && echo second-out >&2' \
	'echo third > /opt/third'
exit_is 1 "a changed list without --update is refused" enclave-bootstrap create --file Enclavefile
like "$(cat "$ERR")" "already exists with a different recipe" "refusal says why"
ok "a changed list with --update" enclave-bootstrap create --file Enclavefile --update
like "$(cat "$ERR")" "ran 3 setup commands on the existing base generation $B" "started from the kept base"
G2=$(current_of sb)
ok "a new generation is current" test "$G2" != "$G1"
R=$(rootfs_of sb)
is "$(cat "$R/opt/third" 2>&1)" "third" "the new command's file is there"
is "$(wc -l <"$R/etc/setup-ran" 2>&1)" "1" "the whole list ran once on a fresh copy of the base"
is "$(ls "$SB/sb/gen" | wc -l)" "3" "three generations"
ok "the old generation is untouched" test ! -e "$SB/sb/gen/$G1/rootfs/opt/third"

# ---- failing commands -------------------------------------------------------------------
snap=$(gens sb)
write_file 'echo run >> /etc/setup-ran' 'false' 'echo never > /never'
exit_is 1 "a failing command (false) fails the update" enclave-bootstrap create --file Enclavefile --update
like "$(cat "$ERR")" "cannot update sandbox 'sb': $T_TMP/Enclavefile:6: setup command 'false' failed with exit status 1" "names FILE:LINE, the command and its status"
like "$(cat "$ERR")" "generation $G2 stays current" "says the previous generation stays"
unlike "$(cat "$ERR")" "\+ echo never" "later commands do not run"
is "$(current_of sb)" "$G2" "the previous generation is still current"
is "$(gens sb)" "$snap" "the half-made generation is gone"
is "$(ls -A "$SB/.tmp")" "" "nothing left in .tmp"

write_file 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo out-$i; done; exit 3'
exit_is 1 "exit 3 fails the update" enclave-bootstrap create --file Enclavefile --update
like "$(cat "$ERR")" "Enclavefile:5: setup command 'for i in .*' failed with exit status 3" "exit status 3 is reported"
like "$(cat "$ERR")" "last output of the failed command:" "the last output is reported"
is "$(grep -c '^  out-' "$ERR")" "10" "the last ten lines"
is "$(grep '^  out-' "$ERR" | head -n1)" "  out-3" "... from line 3"
is "$(current_of sb)" "$G2" "still the previous generation"
is "$(gens sb)" "$snap" "no generation added"

exit_is 1 "a command killed by a signal" \
	enclave-bootstrap create sb --update --method tar --source "$TAR" --setup 'kill -9 $$'
like "$(cat "$ERR")" "setup command 1 'kill -9 \\\$\\\$' failed with exit status 137" "a signal is 128+N, the command named by its number"
is "$(gens sb)" "$snap" "no generation added"

# ---- a new sandbox whose setup fails leaves nothing --------------------------------------
exit_is 1 "a new sandbox with a failing setup" \
	enclave-bootstrap create sb2 --method tar --source "$TAR" --setup 'echo oops; exit 3'
like "$(cat "$ERR")" "cannot create sandbox 'sb2': setup command 1 'echo oops; exit 3' failed with exit status 3" "message"
ok "no sandbox is left" test ! -e "$SB/sb2"
is "$(ls -A "$SB/.tmp")" "" "nothing left in .tmp"
exit_is 1 "-q still reports the failure and its output" \
	enclave-bootstrap create sb2 -q --method tar --source "$TAR" --setup 'echo oops; exit 3'
like "$(cat "$ERR")" "  oops" "quiet: the last output is in the report"
unlike "$(cat "$ERR")" "\+ echo" "quiet: the command is not echoed"

# ---- the network of setup -------------------------------------------------------------------
ok "setup has outbound network (nat) by default" \
	enclave-bootstrap create sb3 --method tar --source "$TAR" --setup 'ip -o link | grep -v " lo:" | grep -q .'
ok "ENCLAVE_SETUP_NETWORK=none: loopback only" \
	env ENCLAVE_SETUP_NETWORK=none enclave-bootstrap create sb4 --method tar --source "$TAR" --setup '! ip -o link | grep -v " lo:" | grep -q .'

# ---- prune keeps the current generation and its base -------------------------------------
ok "prune" enclave-bootstrap prune sb
is "$(ls "$SB/sb/gen" | sort | tr '\n' ' ')" "$(printf '%s\n' "$B" "$G2" | sort | tr '\n' ' ')" "prune keeps the current generation and its base"

# ---- a real one: apt-get over nat in a debootstrap'ed rootfs -----------------------------
DEB=$T_BUILDDIR/test-cache/bookworm-minbase.tar
if [ ! -s "$DEB" ]; then
	skip "apt-get install in setup" "no $DEB (bootstrap-debootstrap has not run)"
else
	ok "apt-get install in setup (Debian archive only)" \
		enclave-bootstrap create deb --method tar --source "$DEB" \
		--setup 'apt-get update' --setup 'apt-get install -y --no-install-recommends less'
	like "$(cat "$ERR")" "\+ apt-get install -y --no-install-recommends less" "the command is shown"
	ok "the package is installed" test -x "$(rootfs_of deb)/usr/bin/less"
fi
