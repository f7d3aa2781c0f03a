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
# The project is the caller's (an ordinary user may only bring a directory
# of their own).
t_own "$proj"

exit_is 0 "--dir: the project is mounted at the same path" enclave-spawn run --dir "$proj" box p -- cat "$proj/src/main.c"
is "$(cat "$OUT")" "code" "project content visible"
exit_is 0 "--dir: cwd is the project" enclave-spawn run --dir "$proj" box p -- pwd
is "$(cat "$OUT")" "$proj" "cwd"
exit_is 0 "--dir: create a file" enclave-spawn run --dir "$proj" box p -- sh -c 'echo new > new.txt; mkdir -p made/deep'
is "$(stat -c %u:%g "$proj/new.txt")" "$T_OWNER_UID:$T_GID" "files created inside belong to the invoking user"
is "$(stat -c %u:%g "$proj/made/deep")" "$T_OWNER_UID:$T_GID" "directories too"
exit_is 0 "--dir: the project's files are the workspace user's inside" enclave-spawn run --dir "$proj" box p -- stat -c %u:%g new.txt src/main.c
is "$(tr '\n' ' ' <"$OUT")" "1000:1000 1000:1000 " "the invoking user is the workspace user 1000 inside"
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
if t_user; then
	# An ordinary user cannot bring someone else's directory, even one
	# they can read: the host owner, not the permissions, decides.
	mkdir -p "$T_TMP/roots"
	echo "root's" >"$T_TMP/roots/file"
	ok "--dir of root's: the user can read it on the host" as_user cat "$T_TMP/roots/file"
	exit_is 125 "--dir of a directory that is not the user's is refused" enclave-spawn run --dir "$T_TMP/roots" box p -- cat "$T_TMP/roots/file"
	like "$(cat "$ERR")" "project directory $T_TMP/roots is owned by uid 0, not by you \\(uid $T_UID\\)" "refusal: message"
	is "$(cat "$OUT")" "" "refusal: nothing of it was read"
fi
