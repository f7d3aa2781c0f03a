# SPDX-License-Identifier: GPL-2.0-or-later
# enclave-auth and credential injection (DESIGN §9, §15.2): the store and
# its refusals, login from a pipe and a terminal, list/logout; injection only
# into the declaring workspace (environment, /run/enclave files, enter);
# missing tokens warn; git over HTTPS against a token-protected smart-HTTP
# server inside the workspace; and no token anywhere it must not be.
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"
need_root
need_cmd jq

AUTH=$ENCLAVE_STATE_DIR/auth
# Distinct values to look for; kept in files, never in a command line.
GH=ghp_encTest${$}x$RANDOM$RANDOM
ENC=enc_encTest${$}y$RANDOM$RANDOM
CU=cu_encTest${$}z$RANDOM$RANDOM
SECRETS=$T_TMP/secrets
printf '%s\n' "$GH" "$ENC" "$CU" >"$SECRETS"
printf '%s\n' "$GH" >"$T_TMP/gh.in"
printf '%s\n' "$ENC" >"$T_TMP/enc.in"
printf '%s' "$CU" >"$T_TMP/cu.in"

# login PROVIDER FILE: the token through a pipe, as `gh auth token | ...`.
login() { sh -c 'cat "$2" | enclave-auth login "$1"' sh "$1" "$2"; }
# Which of the test's tokens occur in the given files (recursively).
leaks() { grep -r -l -F -f "$SECRETS" "$@" 2>/dev/null; }
nl_line() { printf '(^|\n)%s(\n|$)' "$1"; }

# ---- command line --------------------------------------------------------
exit_is 0 "--help" enclave-auth --help
like "$(head -n1 "$OUT")" "^Usage: enclave-auth COMMAND" "--help: usage line on stdout"
exit_is 0 "--version" enclave-auth --version
like "$(cat "$OUT")" "^enclave-auth [0-9]" "--version prints the version"
exit_is 2 "no command" enclave-auth
is "$(cat "$ERR")" "enclave-auth: no command given
Try 'enclave-auth --help'." "no command: message"
exit_is 2 "unknown command" enclave-auth frob
is "$(head -n1 "$ERR")" "enclave-auth: unknown command 'frob'" "unknown command: message"
exit_is 2 "login without a provider" enclave-auth login
is "$(head -n1 "$ERR")" "enclave-auth: login: expected PROVIDER" "login without a provider: message"
exit_is 2 "an invalid provider name" enclave-auth login ../x
like "$(head -n1 "$ERR")" "^enclave-auth: provider name '\.\./x' may contain only letters" "invalid provider name: message"
exit_is 2 "--json is for list only" enclave-auth login --json github
exit_is 2 "list takes no provider" enclave-auth list github
exit_is 2 "an unknown option" enclave-auth list --frob
exit_is 0 "enclave auth runs enclave-auth" enclave auth list

# ---- login from a pipe ------------------------------------------------------
exit_is 0 "login github from a pipe" login github "$T_TMP/gh.in"
is "$(cat "$OUT")$(cat "$ERR")" "" "login from a pipe prints nothing"
is "$(cat "$AUTH/github.token")" "$GH" "the token is stored exactly"
# The store's owner: root, or the test user in the user pass (T_UID).
is "$(stat -c '%a %u %s' "$AUTH/github.token")" "600 $T_UID ${#GH}" "token file: 0600, the store owner's, no newline"
is "$(stat -c '%a %u' "$AUTH")" "700 $T_UID" "auth/: 0700, the store owner's"
exit_is 0 "login enclave (stdin a file)" sh -c 'enclave-auth login enclave <"$1"' sh "$T_TMP/enc.in"
exit_is 0 "login custom (no trailing newline)" login custom "$T_TMP/cu.in"
is "$(cat "$AUTH/custom.token")" "$CU" "custom token stored"

bad_input() {
	local name=$1 file=$2 msg=$3
	exit_is 1 "login refuses $name" login bad "$file"
	is "$(cat "$ERR")" "enclave-auth: $msg" "$name: message"
	ok "$name: nothing stored" test ! -e "$AUTH/bad.token"
}
: >"$T_TMP/empty"
printf '\n' >"$T_TMP/nl"
printf 'abc\ndef\n' >"$T_TMP/multi"
printf 'ab\0cd\n' >"$T_TMP/nul"
printf 'ab\033cd\n' >"$T_TMP/ctl"
head -c 16385 /dev/zero | tr '\0' a >"$T_TMP/long"
bad_input "empty input" "$T_TMP/empty" "the token is empty"
bad_input "a lone newline" "$T_TMP/nl" "the token is empty"
bad_input "two lines" "$T_TMP/multi" "the token contains a newline (byte 4); it must be one line"
bad_input "a NUL byte" "$T_TMP/nul" "the token contains a NUL byte (byte 3)"
bad_input "a control character" "$T_TMP/ctl" "the token contains a control character (0x1b, byte 3)"
bad_input "16385 bytes" "$T_TMP/long" "the token is longer than 16384 bytes"
{ head -c 16384 /dev/zero | tr '\0' a; echo; } >"$T_TMP/max"
exit_is 0 "16384 bytes and a newline are accepted" login big "$T_TMP/max"
is "$(stat -c %s "$AUTH/big.token")" "16384" "the largest token is stored whole"

# ---- login from a terminal ----------------------------------------------------
if command -v script >/dev/null; then
	# script(1) gives the command a pty; the token is typed once echo is off.
	(sleep 1; printf 'tty-typed-token\n') | script -qec "enclave-auth login ttyp" /dev/null >"$T_TMP/ts1" 2>&1
	is "$?" "0" "login from a terminal"
	is "$(cat "$AUTH/ttyp.token" 2>/dev/null)" "tty-typed-token" "the typed token is stored"
	like "$(cat "$T_TMP/ts1")" "Token for ttyp \(input is hidden\): " "the prompt is shown"
	unlike "$(cat "$T_TMP/ts1")" "tty-typed-token" "the typed token is not echoed"
	# Ctrl-C while reading: the terminal gets its echo back, exit 130.
	(sleep 1; printf '\003'; sleep 1) | script -qec "bash -c 'trap \"echo got-int\" INT; enclave-auth login ttyc; echo rc=\$?; stty -a'" /dev/null >"$T_TMP/ts2" 2>&1
	like "$(cat "$T_TMP/ts2")" "rc=130" "Ctrl-C ends login with 130"
	like "$(cat "$T_TMP/ts2")" "[ ;]echo " "after Ctrl-C the terminal echoes again"
	unlike "$(cat "$T_TMP/ts2")" " -echo " "  (not -echo)"
	# SIGTERM while reading: the same, and the signal's own status.
	(sleep 3) | script -qec "bash -c 'exec 3<&0; enclave-auth login ttyt <&3 & p=\$!; sleep 1; kill -TERM \$p; wait \$p; echo rc=\$?; stty -a'" /dev/null >"$T_TMP/ts3" 2>&1
	like "$(cat "$T_TMP/ts3")" "rc=143" "SIGTERM ends login by the signal (143)"
	like "$(cat "$T_TMP/ts3")" "[ ;]echo " "after SIGTERM the terminal echoes again"
	ok "an interrupted login stores nothing" test ! -e "$AUTH/ttyc.token" -a ! -e "$AUTH/ttyt.token"
else
	skip "login from a terminal" "needs script(1)"
fi

# ---- list --------------------------------------------------------------------
exit_is 0 "list" enclave-auth list
like "$(grep '^github' "$OUT")" "^github	20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z	ok$" "list: provider, ISO 8601 UTC date, ok"
is "$(cut -f1 "$OUT" | tr '\n' ' ')" "big custom enclave github ttyp " "list: sorted, no header in a pipe"
is "$(leaks "$OUT")" "" "list prints no token"
exit_is 0 "list --json" enclave-auth list --json
is "$(jq -r '.[] | select(.provider == "github") | [.state, (.reason | tostring), (.env | join(",")), .git] | @tsv' "$OUT")" \
	"ok	null	GITHUB_TOKEN,GH_TOKEN	true" "list --json: state, reason, env, git"
like "$(jq -r '.[0].stored' "$OUT")" "^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$" "list --json: stored date"
is "$(leaks "$OUT")" "" "list --json prints no token"

# Refusals: listed with their reason, never repaired.
chmod 0644 "$AUTH/github.token"
exit_is 0 "list with a 0644 token" enclave-auth list
is "$(grep '^github' "$OUT" | cut -f3)" "$AUTH/github.token: mode 0644, expected 0600; refusing to use it" "mode 0644: the reason"
is "$(stat -c %a "$AUTH/github.token")" "644" "mode 0644: not fixed"
exit_is 0 "list --json with a 0644 token" enclave-auth list --json
is "$(jq -r '.[] | select(.provider == "github") | .state' "$OUT")" "refused" "list --json: refused"
chmod 0600 "$AUTH/github.token"
chown 4321:4321 "$AUTH/github.token"
if t_user; then
	# A foreign 0600 file: the user cannot even open it. Readable, it
	# meets the owner check, which comes before the mode check.
	exit_is 0 "list with a foreign owner (unreadable)" enclave-auth list
	is "$(grep '^github' "$OUT" | cut -f3)" "cannot open $AUTH/github.token: Permission denied" "foreign owner, unreadable: the reason"
	chmod 0644 "$AUTH/github.token"
fi
exit_is 0 "list with a foreign owner" enclave-auth list
is "$(grep '^github' "$OUT" | cut -f3)" "$AUTH/github.token: owned by uid 4321, expected $T_UID (the owner of the store); refusing to use it" "foreign owner: the reason"
chown "$T_UID:$T_GID" "$AUTH/github.token"
chmod 0600 "$AUTH/github.token"
mv "$AUTH/github.token" "$T_TMP/gh.real"
ln -s "$T_TMP/gh.real" "$AUTH/github.token"
exit_is 0 "list with a symlinked token" enclave-auth list
is "$(grep '^github' "$OUT" | cut -f3)" "$AUTH/github.token: is a symbolic link; refusing to use it" "symlink: the reason"
rm "$AUTH/github.token"
mv "$T_TMP/gh.real" "$AUTH/github.token"

# ---- logout --------------------------------------------------------------------
exit_is 0 "logout" enclave-auth logout big
ok "logout removes the file" test ! -e "$AUTH/big.token"
exit_is 1 "logout again" enclave-auth logout big
is "$(cat "$ERR")" "enclave-auth: no token stored for provider 'big'" "logout of nothing: message"
ln -s "$T_TMP/gh.in" "$AUTH/linked.token"
exit_is 0 "logout removes a refused (symlinked) token" enclave-auth logout linked
ok "  the link is gone, its target kept" test ! -L "$AUTH/linked.token" -a -s "$T_TMP/gh.in"

# ---- injection -------------------------------------------------------------------
# Runs whose workload prints a token use --rm: what a workload prints is
# its own business, and the log would otherwise hold it.
if ! enclave-spawn --help | grep -q -- "--env-token NAME"; then
	t_result 1 "enclave-spawn takes --auth and --env-token (everything below needs them)"
	exit
fi
ok "sandbox from the test rootfs" t_sandbox box
at_exit enclave-spawn stop --time 0 box svc

exit_is 0 "run --auth github --env-token ENCLAVE_TOKEN" \
	enclave-spawn run --rm --auth github --env-token ENCLAVE_TOKEN box a1 -- probe env
env_out=$(cat "$OUT")
is "$(cat "$ERR")" "" "no warning when every token is stored"
like "$env_out" "$(nl_line "GITHUB_TOKEN=$GH")" "GITHUB_TOKEN"
like "$env_out" "$(nl_line "GH_TOKEN=$GH")" "GH_TOKEN"
like "$env_out" "$(nl_line "ENCLAVE_TOKEN=$ENC")" "ENCLAVE_TOKEN from env_tokens"
like "$env_out" "$(nl_line "GIT_TERMINAL_PROMPT=0")" "GIT_TERMINAL_PROMPT=0"
like "$env_out" "$(nl_line "GIT_CONFIG_COUNT=1")" "GIT_CONFIG_COUNT=1"
like "$env_out" "$(nl_line "GIT_CONFIG_KEY_0=credential\.https://github\.com\.helper")" "git credential helper scoped to https://github.com"
helper=$(grep '^GIT_CONFIG_VALUE_0=' <<<"$env_out")
like "$helper" "cat /run/enclave/auth/github\.token" "the helper reads the token file"
is "$(grep -c -F -f "$SECRETS" <<<"$helper")" "0" "the helper's text holds no token"
unlike "$env_out" "NPM_TOKEN|CUSTOM" "undeclared providers are absent"

exit_is 0 "token files" enclave-spawn run --auth github --env-token ENCLAVE_TOKEN box a1 -- \
	sh -c 'stat -c "%n %a %u %g %s" /run/enclave/auth /run/enclave/auth/* /run/enclave/env /run/enclave/env/*'
is "$(cat "$OUT")" "/run/enclave/auth 500 1000 1000 60
/run/enclave/auth/github.token 400 1000 1000 ${#GH}
/run/enclave/env 500 1000 1000 60
/run/enclave/env/ENCLAVE_TOKEN 400 1000 1000 ${#ENC}" "files: 0400 in 0500 directories, the workspace user's"
exit_is 0 "token file content" enclave-spawn run --rm --auth github --env-token ENCLAVE_TOKEN box a1 -- \
	sh -c 'cat /run/enclave/auth/github.token; echo; cat /run/enclave/env/ENCLAVE_TOKEN'
is "$(cat "$OUT")" "$GH
$ENC" "files hold exactly the tokens"
exit_is 1 "the workload cannot rewrite a token file" enclave-spawn run --auth github box a1 -- probe write /run/enclave/auth/github.token
is "$(cat "$OUT")" "write EACCES" "  EACCES"
exit_is 0 "another --user owns the files" enclave-spawn run --user 1234 --auth github box a1 -- stat -c "%u %a" /run/enclave/auth/github.token
is "$(cat "$OUT")" "1234 400" "  owned by that user"

exit_is 0 "a token replaces --env of the same name" enclave-spawn run --rm --env GITHUB_TOKEN=fromenv --auth github box a1 -- probe env
like "$(cat "$OUT")" "$(nl_line "GITHUB_TOKEN=$GH")" "  the token wins"

exit_is 0 "generic provider" enclave-spawn run --rm --auth custom box a1 -- sh -c 'env; ls /run/enclave/auth; cat /run/enclave/auth/custom.token'
like "$(cat "$OUT")" "(^|
)custom\.token(
|$)" "  its file"
unlike "$(cat "$OUT")" "CUSTOM" "  no variable of its own"
like "$(cat "$OUT")" "$CU\$" "  the file holds the token"
exit_is 0 "env_tokens name of a generic provider" enclave-spawn run --rm --env-token CUSTOM_TOKEN box a1 -- sh -c 'env; cat /run/enclave/env/CUSTOM_TOKEN'
like "$(cat "$OUT")" "$(nl_line "CUSTOM_TOKEN=$CU")" "  CUSTOM_TOKEN takes provider custom's token"

# A running declaring workspace and a sibling without declarations.
exit_is 0 "start a declaring workspace" enclave-spawn start --auth github --env-token ENCLAVE_TOKEN box svc -- sleep 600
exit_is 0 "sibling: environment" enclave-spawn run box b1 -- probe env
unlike "$(cat "$OUT")" "GITHUB_TOKEN|GH_TOKEN|ENCLAVE_TOKEN|GIT_CONFIG" "sibling: no credential variables"
is "$(leaks "$OUT")" "" "sibling: no token in its environment"
exit_is 0 "sibling: /run/enclave" enclave-spawn run box b1 -- ls -A /run/enclave
is "$(cat "$OUT")" "" "sibling: no auth or env files"
exit_is 0 "enter: same environment" enclave-spawn enter box svc -- probe env
like "$(cat "$OUT")" "$(nl_line "GITHUB_TOKEN=$GH")" "enter: GITHUB_TOKEN"
like "$(cat "$OUT")" "$(nl_line "ENCLAVE_TOKEN=$ENC")" "enter: ENCLAVE_TOKEN"
like "$(cat "$OUT")" "$(nl_line "GIT_TERMINAL_PROMPT=0")" "enter: git wiring"
exit_is 0 "enter: same files" enclave-spawn enter box svc -- cat /run/enclave/auth/github.token
is "$(cat "$OUT")" "$GH" "enter: the token file"
exit_is 0 "enter --root: same environment" enclave-spawn enter --root box svc -- probe env
like "$(cat "$OUT")" "$(nl_line "GH_TOKEN=$GH")" "enter --root: GH_TOKEN"

# No leaks while it runs: command lines, ps/stats/logs, the exec record.
is "$(grep -l -a -F -f "$SECRETS" /proc/[0-9]*/cmdline 2>/dev/null)" "" "no process has a token in its command line"
for cmd in "ps" "ps --json" "stats box svc" "stats --json box svc" "logs box svc"; do
	# shellcheck disable=SC2086
	t_run enclave-spawn $cmd
	is "$(leaks "$OUT" "$ERR")" "" "enclave-spawn $cmd shows no token"
done
exec_rec=$ENCLAVE_RUNTIME_DIR/workspaces/box/svc/exec
is "$(stat -c '%a %u' "$exec_rec")" "600 $T_UID" "the exec record (holds the environment for enter) is 0600"
is "$(leaks "$ENCLAVE_RUNTIME_DIR")" "$exec_rec" "in the runtime dir only the exec record holds a token"
exit_is 0 "stop" enclave-spawn stop box svc
ok "the exec record is removed at stop" test ! -e "$exec_rec"

# Audit: names, never values.
A=$ENCLAVE_STATE_DIR/workspaces/box/svc/audit.jsonl
is "$(jq -c 'select(.event == "auth_injected") | [.providers, .env_names]' "$A")" '[["github"],["ENCLAVE_TOKEN"]]' "audit: auth_injected lists the names"
exit_is 0 "audit still verifies" enclave-spawn audit --verify box svc

# ---- missing, refused and reserved -------------------------------------------------
exit_is 0 "a missing token does not block the start" enclave-spawn run --auth github --auth npm --env-token HF_TOKEN box m1 -- echo started
is "$(cat "$OUT")" "started" "  the workload ran"
is "$(cat "$ERR")" "enclave-spawn: warning: workspace box/m1: provider 'npm' has no token (store one with 'enclave-auth login npm'); starting without it
enclave-spawn: warning: workspace box/m1: env token HF_TOKEN: provider 'hf' has no token (store one with 'enclave-auth login hf'); starting without it" "  a warning per missing token, names only"
A=$ENCLAVE_STATE_DIR/workspaces/box/m1/audit.jsonl
is "$(jq -c 'select(.event == "auth_missing") | del(.seq, .time, .prev)' "$A" | tr '\n' ' ')" \
	'{"event":"auth_missing","provider":"npm"} {"event":"auth_missing","env_name":"HF_TOKEN","provider":"hf"} ' "  audit: auth_missing records"
is "$(jq -c 'select(.event == "auth_injected") | .providers' "$A")" '["github"]' "  github is injected all the same"
exit_is 0 "start with a missing token warns too" enclave-spawn start --auth npm box m2 -- true
like "$(cat "$ERR")" "warning: workspace box/m2: provider 'npm' has no token" "  start: the warning"
enclave-spawn wait box m2 >/dev/null 2>&1

chmod 0644 "$AUTH/github.token"
exit_is 125 "a refused token fails the start" enclave-spawn run --auth github box r1 -- true
is "$(cat "$ERR")" "enclave-spawn: $AUTH/github.token: mode 0644, expected 0600; refusing to use it" "  with the reason"
ok "  and leaves no workspace" test ! -e "$ENCLAVE_STATE_DIR/workspaces/box/r1"
exit_is 0 "a workspace without github is not affected" enclave-spawn run box r2 -- true
chmod 0600 "$AUTH/github.token"
exit_is 125 "a reserved env token name fails the start" enclave-spawn run --env-token HOME box r3 -- true
is "$(cat "$ERR")" "enclave-spawn: env token HOME: enclave sets this variable itself; choose another name" "  message"
exit_is 2 "an invalid --auth name is a usage error" enclave-spawn run --auth ../x box r4 -- true

# ---- no leaks at rest ---------------------------------------------------------------
# Every log, audit.jsonl, result.json, pid file, ... of every workspace, the
# runtime dir, and the error output above: only auth/ holds tokens.
is "$(leaks "$ENCLAVE_STATE_DIR" | grep -v "^$AUTH/")" "" "no token in the state dir outside auth/"
is "$(leaks "$ENCLAVE_RUNTIME_DIR")" "" "no token in the runtime dir once stopped"

# ---- git over HTTPS with the injected credentials -------------------------------------
# A smart-HTTP server (busybox httpd running git http-backend, with HTTP
# basic auth for x-access-token:TOKEN) behind TLS (socat) on 127.0.0.1:443
# inside the workspace, named github.com there: the workload's git clones
# and pushes through enclave's credential helper with no prompt. The
# rootfs is Debian bookworm with git, socat and busybox, made once per
# build dir with enclave-bootstrap and kept in test-cache.
git_rootfs() {
	local cache=$T_BUILDDIR/test-cache
	local tar=$cache/bookworm-git.tar
	mkdir -p "$cache"
	(
		flock 9
		[ -s "$tar" ] && exit 0
		command -v debootstrap >/dev/null || { echo "needs debootstrap" >"$T_TMP/git-why"; exit 1; }
		wget -q --spider -T 10 -t 1 http://deb.debian.org/debian/dists/bookworm/InRelease 2>/dev/null ||
			{ echo "the Debian archive is unreachable" >"$T_TMP/git-why"; exit 1; }
		export ENCLAVE_STATE_DIR=$T_TMP/gitbuild/state ENCLAVE_RUNTIME_DIR=$T_TMP/gitbuild/run
		# debootstrap needs root: the build's own program, as root in
		# both passes (in the user pass PATH's runs as the test user).
		eb=$T_BUILDDIR/tools/enclave-bootstrap
		"$eb" create gitsrc --include git,socat,busybox -q >"$T_TMP/git-why" 2>&1 || exit 1
		root=$("$eb" show gitsrc | awk -F'\t' '$1 == "rootfs" { print $2 }')
		tar --format=posix --xattrs --xattrs-include='*' --numeric-owner -C "$root" -cf "$tar.tmp" . &&
			mv -f "$tar.tmp" "$tar"
		rc=$?
		"$eb" rm gitsrc -q
		exit $rc
	) 9>"$cache/bookworm-git.lock" || return 1
	echo "$tar"
}

git_tests() {
	local tar srv=$T_TMP/srv url=https://github.com/cgi-bin/git/test/repo.git
	tar=$(git_rootfs) || { skip "git over HTTPS" "$(tail -n1 "$T_TMP/git-why" 2>/dev/null)"; return; }
	for c in git openssl; do
		command -v $c >/dev/null || { skip "git over HTTPS" "needs $c on the host"; return; }
	done
	ok "sandbox with git" enclave-bootstrap create gitbox --method tar --source "$tar" -q || return

	# The server's files, in a project directory mounted at /srv.
	mkdir -p "$srv/www/cgi-bin" "$srv/repos/test"
	git init -q --bare "$srv/repos/test/repo.git"
	git -C "$srv/repos/test/repo.git" config http.receivepack true
	git init -q "$T_TMP/src"
	echo "hello from the test repo" >"$T_TMP/src/README"
	git -C "$T_TMP/src" add README
	git -C "$T_TMP/src" -c user.name=t -c user.email=t@example.com commit -qm init
	git -C "$T_TMP/src" push -q "$srv/repos/test/repo.git" HEAD:refs/heads/main
	git -C "$srv/repos/test/repo.git" symbolic-ref HEAD refs/heads/main
	printf '#!/bin/sh\nGIT_PROJECT_ROOT=/srv/repos GIT_HTTP_EXPORT_ALL=1 exec git http-backend\n' >"$srv/www/cgi-bin/git"
	chmod 0755 "$srv/www/cgi-bin/git"
	# Only the token opens /cgi-bin (busybox httpd's basic auth).
	printf '/cgi-bin:x-access-token:%s\n' "$GH" >"$srv/httpd.conf"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=github.com \
		-addext subjectAltName=DNS:github.com -keyout "$srv/key.pem" -out "$srv/cert.pem" 2>/dev/null
	cat "$srv/key.pem" "$srv/cert.pem" >"$srv/server.pem"
	# The project directory is the workspace owner's (the server writes
	# the pushed objects there).
	t_own "$srv"

	at_exit enclave-spawn stop --time 0 gitbox gitws
	exit_is 0 "git: start a workspace with auth = github" \
		enclave-spawn start --auth github --dir "$srv:/srv" gitbox gitws -- sleep 600
	# As root of the workspace: github.com is 127.0.0.1, the test CA is
	# trusted, TLS on :443 forwards to the HTTP server on :8080.
	exit_is 0 "git: TLS front on 127.0.0.1:443" enclave-spawn enter --root gitbox gitws -- sh -c '
		echo "127.0.0.1 github.com" >>/etc/hosts
		mkdir -p /etc/ssl/certs && cat /srv/cert.pem >>/etc/ssl/certs/ca-certificates.crt
		setsid socat OPENSSL-LISTEN:443,bind=127.0.0.1,reuseaddr,fork,cert=/srv/server.pem,verify=0 \
			TCP:127.0.0.1:8080 </dev/null >/dev/null 2>&1 &'
	exit_is 0 "git: smart-HTTP server on 127.0.0.1:8080" enclave-spawn enter gitbox gitws -- \
		busybox httpd -p 127.0.0.1:8080 -h /srv/www -c /srv/httpd.conf
	exit_is 0 "git: both listening" enclave-spawn enter gitbox gitws -- sh -c '
		for i in $(seq 50); do
			grep -q ":01BB 00000000:0000 0A" /proc/net/tcp && grep -q ":1F90 00000000:0000 0A" /proc/net/tcp && exit 0
			sleep 0.1
		done; exit 1'

	exit_is 0 "git credential fill answers for https://github.com" sh -c \
		"printf 'protocol=https\nhost=github.com\n\n' | enclave-spawn enter -i gitbox gitws -- git credential fill"
	is "$(cat "$OUT")" "protocol=https
host=github.com
username=x-access-token
password=$GH" "  with the token as the password, no prompt"
	exit_is 128 "git credential fill for another host fails without a prompt" sh -c \
		"printf 'protocol=https\nhost=example.com\n\n' | enclave-spawn enter -i gitbox gitws -- git credential fill"
	like "$(cat "$ERR")" "terminal prompts disabled" "  terminal prompts disabled"
	is "$(leaks "$OUT" "$ERR")" "" "  and no token for it"

	exit_is 0 "git clone over HTTPS with the token" enclave-spawn enter gitbox gitws -- git clone -q "$url" /tmp/clone
	exit_is 0 "  the clone has the content" enclave-spawn enter gitbox gitws -- cat /tmp/clone/README
	is "$(cat "$OUT")" "hello from the test repo" "  README"
	exit_is 0 "git push over HTTPS with the token" enclave-spawn enter gitbox gitws -- sh -c \
		'cd /tmp/clone && echo more >>README && git -c user.name=t -c user.email=t@example.com commit -qam more && git push -q'
	is "$(git -c safe.directory='*' -C "$srv/repos/test/repo.git" rev-list --count main)" "2" "  the server got the commit"
	exit_is 128 "without the helper the server refuses, and git does not prompt" enclave-spawn enter gitbox gitws -- \
		env -u GIT_CONFIG_COUNT git ls-remote "$url"
	like "$(cat "$ERR")" "could not read Username for 'https://github.com': terminal prompts disabled" "  terminal prompts disabled"
	is "$(grep -l -a -F -f "$SECRETS" /proc/[0-9]*/cmdline 2>/dev/null)" "" "git: no process has the token in its command line"

	exit_is 128 "git: a sibling without auth gets no credentials" sh -c \
		"printf 'protocol=https\nhost=github.com\n\n' | enclave-spawn run -i gitbox gitsib -- git credential fill"
	is "$(leaks "$OUT" "$ERR")" "" "  and no token"
	exit_is 0 "git: stop" enclave-spawn stop gitbox gitws
	is "$(leaks "$ENCLAVE_STATE_DIR" | grep -v "^$AUTH/")" "" "git: no token in the state dir outside auth/"
}
git_tests
