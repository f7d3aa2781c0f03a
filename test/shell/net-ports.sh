# SPDX-License-Identifier: GPL-2.0-or-later
# enclave-net: port publishing (a userspace forwarder bound to exactly the
# published host address), the ports listing, unpublish, the forwarder's
# confinement and its end with the workspace, show, and the egress log's
# formats. Every address used is the host's own (loopback, or its own
# global address to prove refusal): no packet leaves the host.
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"
need_root
need_cmd python3
need_cmd jq

# A small network helper: a client that reports exactly what happened, a
# UDP echo server, and a free port finder.
cat >"$T_TMP/net.py" <<'EOF'
import socket, sys
def fam(h): return socket.AF_INET6 if ':' in h else socket.AF_INET
cmd = sys.argv[1]
if cmd == 'free':
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if sys.argv[2] == 'tcp' else socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])
elif cmd == 'get':
    h, p = sys.argv[2], int(sys.argv[3])
    s = socket.socket(fam(h), socket.SOCK_STREAM); s.settimeout(3)
    try:
        s.connect((h, p))
        s.sendall(b'GET /hostname HTTP/1.0\r\n\r\n')
        data = b''
        while True:
            d = s.recv(65536)
            if not d: break
            data += d
        print(data.split(b'\r\n\r\n', 1)[-1].decode().strip() if data else 'empty')
    except ConnectionRefusedError: print('refused')
    except ConnectionResetError: print('reset')
    except socket.timeout: print('timeout')
elif cmd == 'udp':
    h, p = sys.argv[2], int(sys.argv[3])
    s = socket.socket(fam(h), socket.SOCK_DGRAM); s.settimeout(3)
    s.sendto(sys.argv[4].encode(), (h, p))
    try: print(s.recvfrom(65535)[0].decode())
    except socket.timeout: print('timeout')
    except ConnectionRefusedError: print('refused')
elif cmd == 'udpecho':
    s = socket.socket(fam(sys.argv[2]), socket.SOCK_DGRAM)
    s.bind((sys.argv[2], int(sys.argv[3])))
    while True:
        d, a = s.recvfrom(65535); s.sendto(b'echo:' + d, a)
elif cmd == 'eofserver':
    # Read to the end of the stream, then answer with the byte count and
    # the stream back: proves half-close and bulk transfer.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', int(sys.argv[2]))); s.listen(8)
    while True:
        c, _ = s.accept(); data = b''
        while True:
            d = c.recv(65536)
            if not d: break
            data += d
        c.sendall(str(len(data)).encode() + b'\n' + data); c.close()
elif cmd == 'bulk':
    import hashlib
    h, p, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    payload = bytes((i * 7) & 255 for i in range(n))
    s = socket.create_connection((h, p), timeout=10)
    s.sendall(payload); s.shutdown(socket.SHUT_WR)
    data = b''
    while True:
        d = s.recv(65536)
        if not d: break
        data += d
    head, _, body = data.partition(b'\n')
    print(head.decode(), 'same' if body == payload else 'differs')
elif cmd == 'listen':
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', int(sys.argv[2]))); s.listen(1)
    open(sys.argv[3], 'w').close()
    import time; time.sleep(120)
EOF
net() { python3 "$T_TMP/net.py" "$@"; }

# get HOST PORT: retried for a moment while the service inside comes up.
get_retry() {
	local i r
	for i in $(seq 50); do
		r=$(net get "$1" "$2")
		[ "$r" = refused ] || [ "$r" = reset ] || { echo "$r"; return; }
		sleep 0.1
	done
	echo "$r"
}

# Wait until a process is gone (or is no longer a forwarder).
gone() {
	local i
	for i in $(seq 50); do
		[ "$(cat "/proc/$1/comm" 2>/dev/null)" = enclave-fwd ] || return 0
		sleep 0.1
	done
	return 1
}

init_pid() { enclave-spawn ps "$1" | awk -F'\t' -v w="$2" '$2 == w { print $4 }'; }

ok "sandbox from the test rootfs" t_sandbox box
RUN="$ENCLAVE_RUNTIME_DIR/workspaces/box"
P1=$(net free tcp) P2=$(net free tcp) P3=$(net free tcp) P4=$(net free udp)

# ---- usage ---------------------------------------------------------------
exit_is 2 "publish without a spec is a usage error" enclave-net publish box w1
is "$(head -n1 "$ERR")" "enclave-net: publish: expected at least one SPEC" "no spec: message"
exit_is 2 "a bad spec is a usage error" enclave-net publish box w1 127.0.0.1:99999:3000
like "$(head -n1 "$ERR")" "^enclave-net: 127\.0\.0\.1:99999:3000: " "bad spec: names it"
exit_is 2 "--follow is only for log" enclave-net ports --follow box w1
exit_is 0 "publish --help" enclave-net publish --help
like "$(head -n1 "$OUT")" "^Usage: enclave-net publish " "publish --help: its own usage"
exit_is 1 "publish to a workspace that does not exist" enclave-net publish box nosuch 3000
like "$(cat "$ERR")" "^enclave-net: .*box/nosuch" "missing workspace: message names it"

# ---- publish at runtime, --net none ---------------------------------------
at_exit "enclave-spawn stop box w1"
ok "start a workspace with --net none and an HTTP server on 3000" \
	enclave-spawn start --net none box w1 -- busybox httpd -f -p 3000 -h /etc
exit_is 0 "publish 127.0.0.1:$P1:3000/tcp" enclave-net publish box w1 "127.0.0.1:$P1:3000/tcp"
is "$(cat "$OUT")" "" "publish prints nothing"
is "$(get_retry 127.0.0.1 "$P1")" "enclave-test" "reachable from the host at 127.0.0.1:$P1"
ok "ports" enclave-net ports box w1
like "$(cat "$OUT")" "^127\.0\.0\.1:$P1:3000/tcp	[0-9]+$" "ports: spec and forwarder pid, exactly"
FWD=$(cut -f2 "$OUT")
is "$(cat "$RUN/w1/ports/tcp-127.0.0.1-$P1" | cut -d' ' -f1-2)" "127.0.0.1:$P1:3000/tcp $FWD" \
	"the record: spec and pid"
ok "ports --json" enclave-net ports --json box w1
is "$(jq -c '.[0] | [.spec, .host_address, .host_port, .workspace_port, .proto, .pid]' "$OUT")" \
	"[\"127.0.0.1:$P1:3000/tcp\",\"127.0.0.1\",$P1,3000,\"tcp\",$FWD]" "ports --json: fields"

# ---- the forwarder's confinement ------------------------------------------
is "$(cat "/proc/$FWD/comm")" "enclave-fwd" "forwarder: its name"
st=/proc/$FWD/status
unlike "$(awk '/^Uid:/ { print $2 }' "$st")" "^0$" "forwarder: not root"
is "$(awk '/^Uid:/ { print $2 " " $3 " " $4 " " $5 }' "$st")" \
	"$(awk '/^Uid:/ { print $2 " " $2 " " $2 " " $2 }' "$st")" "forwarder: one uid, no way back"
is "$(awk '/^Groups:/ { print $2 }' "$st")" "" "forwarder: no supplementary groups"
is "$(awk '/^(CapEff|CapPrm|CapBnd|CapAmb|CapInh):/ { print $2 }' "$st" | sort -u)" \
	"0000000000000000" "forwarder: no capabilities in any set"
is "$(awk '/^NoNewPrivs:/ { print $2 }' "$st")" "1" "forwarder: no_new_privs"
is "$(readlink "/proc/$FWD/ns/net")" "$(readlink "/proc/$(init_pid box w1)/ns/net")" \
	"forwarder: in the workspace's network namespace"
# An ordinary user's workspaces live in the user's delegated subtree.
if t_user; then
	like "$(grep '^0::' "/proc/$FWD/cgroup")" "/enclave/user-$T_UID/box:w1:" "forwarder: in the workspace's cgroup"
	# The workspace's own "nobody", one of the user's subordinate ids: not
	# the user (who could signal or trace it), not root.
	fuid=$(awk '/^Uid:/ { print $2 }' "$st")
	ok "forwarder: a subordinate id of the user's ($fuid)" \
		test "$fuid" -ge "$T_SUBBASE" -a "$fuid" -le "$((T_SUBBASE + 4194303))"
	is "$(readlink "/proc/$FWD/ns/user")" "$(readlink "/proc/$(init_pid box w1)/ns/user")" \
		"forwarder: in the workspace's user namespace"
else
	like "$(grep '^0::' "/proc/$FWD/cgroup")" "/enclave/box:w1:" "forwarder: in the workspace's cgroup"
fi
is "$(ls "/proc/$FWD/fd" | sort -n | tr '\n' ' ')" "0 1 2 $(ls "/proc/$FWD/fd" | sort -n | tail -n1) " \
	"forwarder: stdio and one socket, nothing else"
like "$(readlink "/proc/$FWD/fd/$(ls "/proc/$FWD/fd" | sort -n | tail -n1)")" "^socket:" \
	"forwarder: the one fd is its socket"
is "$(readlink /proc/$FWD/fd/0)" "/dev/null" "forwarder: stdin is /dev/null"

# ---- exactly the published address -----------------------------------------
OTHER=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ print $4 }' | cut -d/ -f1 | head -n1)
if [ -n "$OTHER" ]; then
	is "$(net get "$OTHER" "$P1")" "refused" "not reachable at the host's other address $OTHER"
else
	skip "not reachable at another host address" "the host has no global IPv4 address"
fi

# ---- errors ----------------------------------------------------------------
python3 "$T_TMP/net.py" listen "$P2" "$T_TMP/listening" &
LPID=$!
at_exit "kill $LPID"
for i in $(seq 50); do [ -e "$T_TMP/listening" ] && break; sleep 0.1; done
exit_is 1 "a host port already taken" enclave-net publish box w1 "127.0.0.1:$P2:3000/tcp"
is "$(cat "$ERR")" "enclave-net: 127.0.0.1:$P2/tcp is already in use on the host" \
	"port taken: the error names it"
ok "port taken: nothing recorded" test ! -e "$RUN/w1/ports/tcp-127.0.0.1-$P2"
ok "ports after the failure" enclave-net ports box w1
is "$(cut -f1 "$OUT")" "127.0.0.1:$P1:3000/tcp" "port taken: listing unchanged"
kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null
exit_is 1 "publishing the same port twice" enclave-net publish box w1 "127.0.0.1:$P1:3000/tcp"
is "$(cat "$ERR")" "enclave-net: 127.0.0.1:$P1/tcp is already published by workspace box/w1" \
	"twice: message"

# ---- IPv6 ------------------------------------------------------------------
if ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128'; then
	exit_is 0 "publish [::1]:$P3:3000/tcp" enclave-net publish box w1 "[::1]:$P3:3000/tcp"
	is "$(get_retry ::1 "$P3")" "enclave-test" "reachable at [::1]:$P3"
	is "$(net get 127.0.0.1 "$P3")" "refused" "an IPv6 port is not published on IPv4"
else
	skip "IPv6 publishing" "no ::1 on this host"
fi

# ---- UDP -------------------------------------------------------------------
# The echo server runs in the workspace's network namespace (and nothing
# else of it): the forwarder is what is under test.
nsenter --net="/proc/$(init_pid box w1)/ns/net" python3 "$T_TMP/net.py" udpecho 127.0.0.1 3053 &
EPID=$!
at_exit "kill $EPID"
exit_is 0 "publish 127.0.0.1:$P4:3053/udp" enclave-net publish box w1 "127.0.0.1:$P4:3053/udp"
r=timeout
for i in $(seq 20); do
	r=$(net udp 127.0.0.1 "$P4" ping)
	[ "$r" = timeout ] || break
done
is "$r" "echo:ping" "UDP round trip through the forwarder"
is "$(net udp 127.0.0.1 "$P4" again)" "echo:again" "UDP: the flow is reused"

# ---- TCP half-close and bulk ----------------------------------------------
nsenter --net="/proc/$(init_pid box w1)/ns/net" python3 "$T_TMP/net.py" eofserver 3100 &
BPID=$!
at_exit "kill $BPID"
P7=$(net free tcp)
exit_is 0 "publish 127.0.0.1:$P7:3100/tcp" enclave-net publish box w1 "127.0.0.1:$P7:3100/tcp"
r=
for i in $(seq 30); do
	r=$(net bulk 127.0.0.1 "$P7" 3000000 2>/dev/null) && break
	sleep 0.1
done
is "$r" "3000000 same" "TCP: 3 MB through, the client's FIN passed on, the answer back intact"
kill "$BPID" 2>/dev/null

# ---- show ------------------------------------------------------------------
ok "show" enclave-net show box w1
is "$(grep -E '^(state|mode)' "$OUT")" "state	running
mode	-	no network record: not running, or network none/host" "show: state, no network record in mode none"
is "$(grep -c "^port	127\.0\.0\.1:$P1:3000/tcp$" "$OUT")" "1" "show: the ports"
is "$(grep '^denied' "$OUT")" "denied	0" "show: no denials"
ok "show --json" enclave-net show --json box w1
is "$(jq -c '[.state, .mode, .denied, (.ports | index("127.0.0.1:'"$P1"':3000/tcp") != null)]' "$OUT")" \
	'["running",null,0,true]' "show --json"

# ---- unpublish ---------------------------------------------------------------
exit_is 0 "unpublish" enclave-net unpublish box w1 "127.0.0.1:$P1:3000/tcp"
is "$(net get 127.0.0.1 "$P1")" "refused" "refused at once after unpublish"
ok "forwarder gone after unpublish" gone "$FWD"
ok "record gone after unpublish" test ! -e "$RUN/w1/ports/tcp-127.0.0.1-$P1"
exit_is 1 "unpublish again" enclave-net unpublish box w1 "127.0.0.1:$P1:3000/tcp"
is "$(cat "$ERR")" "enclave-net: 127.0.0.1:$P1/tcp is not published by workspace box/w1" \
	"unpublish again: message"
ok "ports after unpublish" enclave-net ports box w1
unlike "$(cat "$OUT")" "127\.0\.0\.1:$P1:" "unpublished port not listed"
exit_is 0 "publish again after unpublish" enclave-net publish box w1 "127.0.0.1:$P1:3000/tcp"
is "$(get_retry 127.0.0.1 "$P1")" "enclave-test" "reachable again"

# ---- the forwarders end with the workspace -----------------------------------
ok "ports before stop" enclave-net ports box w1
PIDS=$(cut -f2 "$OUT" | tr '\n' ' ')
kill "$EPID" 2>/dev/null
ok "stop" enclave-spawn stop box w1
for p in $PIDS; do
	ok "forwarder $p gone with the workspace" gone "$p"
done
is "$(net get 127.0.0.1 "$P1")" "refused" "refused after stop"
exit_is 1 "publish to a stopped workspace" enclave-net publish box w1 "127.0.0.1:$P1:3000/tcp"
is "$(cat "$ERR")" "enclave-net: workspace box/w1 is not running" "stopped: message"
ok "ports after stop" enclave-net ports box w1
is "$(cat "$OUT")" "" "no records after stop"
ok "no ports dir after stop" test ! -e "$RUN/w1/ports"

# ---- log -----------------------------------------------------------------------
# Records as the monitor writes them (lib/wsnet.c), appended to a stopped
# workspace's audit log: the formats are what is tested here.
ok "a stopped workspace for the log" enclave-spawn run box w3 -- true
A="$ENCLAVE_STATE_DIR/workspaces/box/w3/audit.jsonl"
exit_is 0 "log: none yet" enclave-net log box w3
is "$(cat "$OUT")" "" "log: empty without net records"
cat >>"$A" <<'EOF'
{"seq":90,"time":"2026-11-25T21:30:00.123Z","event":"net","verdict":"deny","reason":"metadata","proto":"tcp","src":"10.213.0.14","dst":"169.254.77.1","sport":40312,"dport":80,"prev":"x"}
{"seq":91,"time":"2026-11-25T21:30:01.000Z","event":"net","verdict":"allow","reason":"allow","proto":"udp","src":"10.213.0.14","dst":"192.0.2.53","sport":5000,"dport":53,"prev":"x"}
{"seq":92,"time":"2026-11-25T21:30:02.000Z","event":"net","verdict":"deny","reason":"deny","proto":"icmp","src":"10.213.0.14","dst":"198.51.100.1","prev":"x"}
{"seq":93,"time":"2026-11-25T21:30:03.000Z","event":"net_suppressed","limit":10000,"prev":"x"}
EOF
exit_is 0 "log" enclave-net log box w3
is "$(cat "$OUT")" "2026-11-25T21:30:00.123Z	deny	metadata	tcp	169.254.77.1	80	10.213.0.14
2026-11-25T21:30:01.000Z	allow	allow	udp	192.0.2.53	53	10.213.0.14
2026-11-25T21:30:02.000Z	deny	deny	icmp	198.51.100.1	-	10.213.0.14
2026-11-25T21:30:03.000Z	suppressed	limit	-	-	-	-" "log: tab-separated, exact"
exit_is 0 "log -n 2" enclave-net log -n 2 box w3
is "$(cut -f2,3 "$OUT" | tr '\n' ' ')" "deny	deny suppressed	limit " "log -n 2: the last two"
exit_is 0 "log --json" enclave-net log --json box w3
is "$(head -n1 "$OUT")" '{"time":"2026-11-25T21:30:00.123Z","verdict":"deny","reason":"metadata","proto":"tcp","src":"10.213.0.14","sport":40312,"dst":"169.254.77.1","dport":80}' \
	"log --json: first record exact"
is "$(sed -n 3p "$OUT")" '{"time":"2026-11-25T21:30:02.000Z","verdict":"deny","reason":"deny","proto":"icmp","src":"10.213.0.14","dst":"198.51.100.1"}' \
	"log --json: no ports for icmp"
is "$(sed -n 4p "$OUT")" '{"time":"2026-11-25T21:30:03.000Z","verdict":"suppressed","limit":10000}' \
	"log --json: suppressed"
ok "log --json: every line is JSON" jq -e . "$OUT"
ok "show counts the records" enclave-net show box w3
is "$(grep -E '^(denied|allowed|suppressed)' "$OUT" | tr '\n' ' ')" "denied	2 allowed	1 suppressed	1 " \
	"show: denied, allowed, suppressed"

enclave-net log -f -n 0 box w3 >"$T_TMP/follow" 2>&1 &
FPID=$!
at_exit "kill $FPID"
sleep 0.5
echo '{"seq":94,"time":"2026-11-25T21:31:00.000Z","event":"net","verdict":"deny","reason":"host","proto":"tcp","src":"10.213.0.14","dst":"10.213.0.13","sport":1,"dport":22,"prev":"x"}' >>"$A"
for i in $(seq 50); do [ -s "$T_TMP/follow" ] && break; sleep 0.1; done
is "$(cat "$T_TMP/follow")" "2026-11-25T21:31:00.000Z	deny	host	tcp	10.213.0.13	22	10.213.0.14" \
	"log -f -n 0: only the appended record"
kill -TERM "$FPID"
wait "$FPID"
is "$?" "0" "log -f ends with status 0 on SIGTERM"

# ---- at start (-p) --------------------------------------------------------------
for mode in none deny; do
	P5=$(net free tcp)
	at_exit "enclave-spawn stop box w2"
	ok "start --net $mode -p 127.0.0.1:$P5:3000/tcp" enclave-spawn start --net "$mode" \
		-p "127.0.0.1:$P5:3000/tcp" box w2 -- busybox httpd -f -p 3000 -h /etc
	is "$(get_retry 127.0.0.1 "$P5")" "enclave-test" "--net $mode: published at start"
	ok "ports of a -p workspace" enclave-net ports box w2
	like "$(cat "$OUT")" "^127\.0\.0\.1:$P5:3000/tcp	[0-9]+$" "--net $mode: listed"
	PIDS=$(cut -f2 "$OUT")
	ok "stop the -p workspace" enclave-spawn stop box w2
	ok "--net $mode: forwarder gone with the workspace" gone "$PIDS"
	ok "--net $mode: no records left" test ! -e "$RUN/w2/ports"
	is "$(net get 127.0.0.1 "$P5")" "refused" "--net $mode: refused after stop"
done
P6=$(net free tcp)
python3 "$T_TMP/net.py" listen "$P6" "$T_TMP/listening6" &
LPID=$!
at_exit "kill $LPID"
for i in $(seq 50); do [ -e "$T_TMP/listening6" ] && break; sleep 0.1; done
exit_is 1 "start -p with a host port taken" enclave-spawn start --net none \
	-p "127.0.0.1:$P6:3000/tcp" box w2 -- busybox httpd -f -p 3000 -h /etc
like "$(cat "$ERR")" "127\.0\.0\.1:$P6/tcp is already in use on the host" \
	"start -p, port taken: the error names it"
ok "start -p failed: no workspace left running" test "$(enclave-spawn ps box | awk -F'\t' '$2 == "w2" { print $3 }')" = stopped

# ---- a monitor killed with SIGKILL: the next command sweeps the forwarder --------
P8=$(net free tcp)
at_exit "enclave-spawn stop box w4"
ok "start w4 with a published port" enclave-spawn start --json --net none \
	-p "127.0.0.1:$P8:3000/tcp" box w4 -- busybox httpd -f -p 3000 -h /etc
MON=$(jq -r .monitor_pid "$OUT")
is "$(get_retry 127.0.0.1 "$P8")" "enclave-test" "w4: published"
ok "ports of w4" enclave-net ports box w4
FWD=$(cut -f2 "$OUT")
ok "SIGKILL the monitor" kill -KILL "$MON"
for i in $(seq 50); do [ -e "/proc/$MON" ] || break; sleep 0.1; done
ok "the next command sweeps" enclave-spawn ps box
ok "swept: forwarder gone" gone "$FWD"
ok "swept: no records left" test ! -e "$RUN/w4/ports"
is "$(net get 127.0.0.1 "$P8")" "refused" "swept: refused"
