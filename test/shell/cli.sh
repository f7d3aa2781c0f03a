# SPDX-License-Identifier: GPL-2.0-or-later
# enclave(1): help, version, usage errors, init, config, dispatch.
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"

exit_is 0 "--help exits 0" enclave --help
like "$(cat "$OUT")" "^Usage: enclave " "--help prints usage on stdout"
is "$(cat "$ERR")" "" "--help prints nothing on stderr"
exit_is 0 "help command" enclave help
like "$(cat "$OUT")" "^Usage: enclave " "help prints usage"

exit_is 0 "--version exits 0" enclave --version
like "$(cat "$OUT")" "^enclave [0-9]+\.[0-9]+\.[0-9]+$" "--version prints name and version"

exit_is 2 "no command is a usage error" enclave
is "$(cat "$ERR")" "enclave: no command given
Try 'enclave --help'." "no command: message"
is "$(cat "$OUT")" "" "usage errors print nothing on stdout"

exit_is 2 "unknown option is a usage error" enclave --bogus
like "$(tail -n1 "$ERR")" "^Try 'enclave --help'\.$" "unknown option: hint"

exit_is 2 "unknown command" enclave nosuch
like "$(head -n1 "$ERR")" "^enclave: 'nosuch' is not an enclave command" "unknown command: message"
exit_is 2 "path-like command refused" enclave ../tools/enclave
like "$(head -n1 "$ERR")" "is not an enclave command" "path-like command: message"
exit_is 2 "dotted command refused" enclave .hidden
exit_is 2 "the setuid helper is not a command" enclave helper

# Dispatch runs the sibling program, never one from PATH.
mkdir -p "$T_TMP/fakebin"
cat >"$T_TMP/fakebin/enclave-bootstrap" <<EOS
#!/bin/sh
touch "$T_TMP/fake-ran"
EOS
chmod +x "$T_TMP/fakebin/enclave-bootstrap"
exit_is 0 "enclave bootstrap --version dispatches" env PATH="$T_TMP/fakebin:$PATH" enclave bootstrap --version
like "$(cat "$OUT")" "^enclave-bootstrap [0-9.]+$" "dispatch ran the build tree's enclave-bootstrap"
ok "a program earlier in PATH was not run" test ! -e "$T_TMP/fake-ran"
exit_is 0 "enclave create --help is enclave-bootstrap create --help" enclave create --help
like "$(cat "$OUT")" "enclave-bootstrap" "create alias reaches enclave-bootstrap"

# init (the project directories are the user's in the user pass: init
# writes there)
mkdir -p "$T_TMP/proj/my-box" "$T_TMP/proj/9 bad name!"
t_own "$T_TMP/proj"
cd "$T_TMP/proj/my-box" || exit 1
exit_is 0 "init writes ./Enclavefile" enclave init
like "$(cat "$ERR")" "wrote Enclavefile \(sandbox 'my-box'\)" "init names the sandbox after the directory"
ok "Enclavefile exists" test -f Enclavefile
is "$(stat -c %a Enclavefile)" "644" "init file mode 0644"
exit_is 0 "the starter parses" enclave config
is "$(jq -r .sandbox.name "$OUT")" "my-box" "starter sandbox name"
is "$(jq -r '.workspaces | map(.name) | join(",")' "$OUT")" "shell" "starter workspaces"
cp Enclavefile "$T_TMP/orig"
echo "; mine" >>Enclavefile
exit_is 1 "init refuses to overwrite" enclave init
is "$(cat "$ERR")" "enclave: Enclavefile already exists (use --force to replace it)" "overwrite refusal message"
is "$(tail -n1 Enclavefile)" "; mine" "refused init left the file alone"
exit_is 0 "init --force replaces" enclave init --force
ok "forced file is the starter again" cmp -s Enclavefile "$T_TMP/orig"
ok "no temporary file left" test ! -e Enclavefile.new
exit_is 0 "init -f other name" enclave init -f Other.ini
ok "other file written" test -f Other.ini
exit_is 1 "init into a missing directory fails" enclave init -f "$T_TMP/nope/Enclavefile"
like "$(cat "$ERR")" "^enclave: cannot resolve the directory of" "missing directory: message"
exit_is 2 "init with a stray argument" enclave init extra
# The link's target is a file the program could write (the user's in the
# user pass), so only the refusal to follow the link protects it.
echo victim >"$T_TMP/proj/victim"
t_own "$T_TMP/proj/victim"
ln -s "$T_TMP/proj/victim" "$T_TMP/proj/link"
exit_is 1 "init does not follow a symlink" enclave init -f "$T_TMP/proj/link"
is "$(cat "$T_TMP/proj/victim")" "victim" "symlink target untouched"
cd "$T_TMP/proj/9 bad name!" || exit 1
exit_is 0 "init in a directory with an invalid name" enclave init
like "$(cat "$ERR")" "sandbox 'devbox'" "invalid directory name falls back to devbox"

# config
cd "$T_TMP/proj/my-box" || exit 1
exit_is 1 "config: missing file" enclave config -f "$T_TMP/none"
like "$(cat "$ERR")" "^enclave: .*none.*No such file or directory$" "missing file: message"
exit_is 2 "config: stray argument" enclave config extra
exit_is 0 "config --pretty" enclave config --pretty
ok "pretty output is valid JSON" jq -e . "$OUT"
like "$(sed -n 2p "$OUT")" "^  \"" "pretty output is indented"
exit_is 0 "config -h" enclave config -h
like "$(cat "$OUT")" "^Usage: enclave config" "config help"
exit_is 0 "init --help" enclave init --help
like "$(cat "$OUT")" "^Usage: enclave init" "init help"

# The front-door verbs (their behaviour: front.sh).
for verb in up down ps stats logs workspace; do
	exit_is 0 "$verb --help" enclave "$verb" --help
	like "$(head -n1 "$OUT")" "^Usage: enclave $verb " "$verb --help: its own usage"
	is "$(cat "$ERR")" "" "$verb --help: nothing on stderr"
done
like "$(enclave --help)" "  up \[-f FILE\] \[WS\.\.\.\] " "--help lists up"
exit_is 2 "up: unknown option" enclave up --bogus
like "$(tail -n1 "$ERR")" "^Try 'enclave --help'\.$" "up: usage hint"
exit_is 2 "up: bad workspace name" enclave up 'no/such'
exit_is 2 "ps: stray argument" enclave ps extra
exit_is 2 "ps --purge is not an option" enclave ps --purge
like "$(cat "$ERR")" "ps: --purge is not an option of 'ps'" "ps --purge: explained"
exit_is 2 "workspace without a verb" enclave workspace
exit_is 2 "workspace port without a verb" enclave workspace port
exit_is 0 "workspace enter --help is enclave-spawn's" enclave workspace enter --help
like "$(head -n1 "$OUT")" "^Usage: enclave-spawn" "workspace enter reaches enclave-spawn"
