# SPDX-License-Identifier: GPL-2.0-or-later
# config.sh - `enclave config` over the Enclavefile fixtures.
#
# test/fixtures/*.enclavefile (the seed examples as INI, plus one file using
# every key) must print exactly the model in the sibling .json (compared
# after `jq -S .`; @DIR@ stands for the fixture's directory). Every file in
# test/fixtures/bad/ must exit 2 with nothing on stdout and exactly one line
# on stderr: "enclave: " + the sibling .err with @FILE@ replaced by the path
# given to -f.
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"

need_cmd jq
command -v enclave >/dev/null 2>&1 || skip_all "enclave is not built"

FIX="$T_SRCDIR/test/fixtures"
WORK="$T_TMP/fixtures"
mkdir -p "$WORK"
# getcwd() is what the parser starts from for a relative -f, so compare
# with the physical path.
DIR=$(cd "$WORK" && pwd -P)

# expected_json NAME: the .json with @DIR@ filled in, canonicalised.
expected_json() {
	local raw
	raw=$(<"$FIX/$1.json")
	printf '%s\n' "${raw//@DIR@/$DIR}" | jq -S .
}

# config_in_work FILE [ARGS...]: run `enclave config -f FILE` inside $WORK.
config_in_work() {
	(cd "$WORK" && enclave config -f "$@")
}

# ---- the good fixtures ------------------------------------------------------

n_good=0
for src in "$FIX"/*.enclavefile; do
	name=$(basename "$src" .enclavefile)
	n_good=$((n_good + 1))
	cp "$src" "$WORK/"
	want=$(expected_json "$name")

	exit_is 0 "$name: enclave config exits 0" config_in_work "$name.enclavefile"
	is "$(jq -S . <"$OUT")" "$want" "$name: model equals $name.json"
	is "$(wc -c <"$ERR")" 0 "$name: nothing on stderr"

	exit_is 0 "$name: --pretty exits 0" config_in_work "$name.enclavefile" --pretty
	is "$(jq -S . <"$OUT")" "$want" "$name: --pretty gives the same model"

	# CRLF line ends and a UTF-8 byte order mark change nothing.
	{ printf '\357\273\277'; sed 's/$/\r/' "$src"; } >"$WORK/$name-crlf.enclavefile"
	exit_is 0 "$name: CRLF + BOM copy exits 0" config_in_work "$name-crlf.enclavefile"
	is "$(jq -S 'del(.path)' <"$OUT")" "$(jq -S 'del(.path)' <<<"$want")" \
		"$name: CRLF + BOM copy gives the same model"
done
is "$n_good" 4 "four good fixtures (three seed examples and full)"

# A relative -f and an absolute one name the same file and the same model.
exit_is 0 "absolute -f exits 0" enclave config -f "$DIR/seed-quickstart.enclavefile"
is "$(jq -S . <"$OUT")" "$(expected_json seed-quickstart)" "absolute -f gives the same model"

# A symlinked Enclavefile is followed; relative paths stay relative to the
# directory of the link, as named.
mkdir -p "$WORK/other"
ln -s "$DIR/seed-quickstart.enclavefile" "$WORK/other/Enclavefile"
exit_is 0 "symlinked Enclavefile exits 0" bash -c 'cd "$1" && enclave config' _ "$WORK/other"
is "$(jq -r '.workspaces[0].workspace_dir' <"$OUT")" "$DIR/other/project" \
	"default ./Enclavefile through a symlink: paths relative to the link's directory"

# ---- file-level errors ------------------------------------------------------

exit_is 1 "missing file: exit 1" enclave config -f "$WORK/nonexistent"
is "$(cat "$ERR")" "enclave: $WORK/nonexistent: cannot open: No such file or directory" \
	"missing file: message"

exit_is 2 "directory: exit 2" enclave config -f "$WORK"
is "$(cat "$ERR")" "enclave: $WORK: not a regular file" "directory: message"

mkfifo "$WORK/fifo"
exit_is 2 "FIFO: exit 2 without blocking" timeout 10 enclave config -f "$WORK/fifo"
is "$(cat "$ERR")" "enclave: $WORK/fifo: not a regular file" "FIFO: message"

{ printf '[sandbox]\nname = big\n'; head -c 1048576 /dev/zero | tr '\0' '\n'; } >"$WORK/big"
exit_is 2 "file over 1 MiB: exit 2" enclave config -f "$WORK/big"
is "$(cat "$ERR")" "enclave: $WORK/big: larger than 1048576 bytes" "file over 1 MiB: message"

# ---- the bad fixtures -------------------------------------------------------

n_bad=0
for src in "$FIX"/bad/*.enclavefile; do
	name=$(basename "$src" .enclavefile)
	n_bad=$((n_bad + 1))
	if [ ! -f "$FIX/bad/$name.err" ]; then
		t_result 1 "bad/$name: has an .err file"
		continue
	fi
	msg=$(<"$FIX/bad/$name.err")
	want="enclave: ${msg//@FILE@/$src}"

	exit_is 2 "bad/$name: exit status 2" enclave config -f "$src"
	is "$(wc -l <"$ERR")" 1 "bad/$name: exactly one line on stderr"
	is "$(cat "$ERR")" "$want" "bad/$name: message"
	is "$(wc -c <"$OUT")" 0 "bad/$name: nothing on stdout"
done
ok "at least 30 bad fixtures ($n_bad)" test "$n_bad" -ge 30
