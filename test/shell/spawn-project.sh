# SPDX-License-Identifier: GPL-2.0-or-later
# enclave-spawn --dir: the project directory, idmapped so the workspace's
# files are the invoking user's; hidden .env files; protected paths.
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"
need_root

ok "sandbox" t_sandbox box
proj=$T_TMP/project
mkdir -p "$proj/src" "$proj/.git"
echo "SECRET=hunter2" >"$proj/.env"
echo "SECRET=local" >"$proj/.env.local"
echo "setting=1" >"$proj/config.env"
echo "[core]" >"$proj/.git/config"
echo "code" >"$proj/src/main.c"
echo "SECRET=nested" >"$proj/src/.env"

exit_is 0 "--dir: the project is mounted at the same path" enclave-spawn run --dir "$proj" box p -- cat "$proj/src/main.c"
is "$(cat "$OUT")" "code" "project content visible"
exit_is 0 "--dir: cwd is the project" enclave-spawn run --dir "$proj" box p -- pwd
is "$(cat "$OUT")" "$proj" "cwd"
exit_is 0 "--dir: create a file" enclave-spawn run --dir "$proj" box p -- sh -c 'echo new > new.txt; mkdir -p made/deep'
is "$(stat -c %u:%g "$proj/new.txt")" "$(id -u):$(id -g)" "files created inside belong to the invoking user"
is "$(stat -c %u "$proj/made/deep")" "$(id -u)" "directories too"
exit_is 0 "--dir HOST:INSIDE" enclave-spawn run --dir "$proj:/work" box p -- cat /work/src/main.c
is "$(cat "$OUT")" "code" "project at the given path"

exit_is 0 "hidden: .env reads empty" enclave-spawn run --dir "$proj" box p -- probe read "$proj/.env"
like "$(cat "$OUT")" "read (ok 0|EACCES)" ".env is hidden"
exit_is 0 "hidden: .env.local" enclave-spawn run --dir "$proj" box p -- sh -c "cat $proj/.env.local; true"
unlike "$(cat "$OUT")" "local" ".env.local is hidden"
exit_is 0 "hidden: nested src/.env" enclave-spawn run --dir "$proj" box p -- sh -c "cat $proj/src/.env; true"
unlike "$(cat "$OUT")" "nested" "nested .env is hidden"
exit_is 0 "not hidden: config.env" enclave-spawn run --dir "$proj" box p -- cat "$proj/config.env"
is "$(cat "$OUT")" "setting=1" "config.env is not hidden"
exit_is 0 "--hide none" enclave-spawn run --hide none --dir "$proj" box p -- cat "$proj/.env"
is "$(cat "$OUT")" "SECRET=hunter2" "--hide none shows .env"
is "$(cat "$proj/.env")" "SECRET=hunter2" "the host's .env is untouched"

exit_is 1 "protect: .git/config is read-only" enclave-spawn run --protect .git/config --dir "$proj" box p -- probe write "$proj/.git/config"
is "$(cat "$OUT")" "write EROFS" "protected: EROFS"
exit_is 0 "protect: the rest stays writable" enclave-spawn run --protect .git/config --dir "$proj" box p -- probe write "$proj/.git/other"
is "$(cat "$proj/.git/config")" "[core]" "protected file unchanged"
exit_is 2 "protect: a path escaping the project is refused" enclave-spawn run --protect ../x --dir "$proj" box p -- /bin/true
exit_is 125 "--dir of a missing directory" enclave-spawn run --dir "$T_TMP/none" box p -- /bin/true
