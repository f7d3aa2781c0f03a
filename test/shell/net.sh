#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Workspace networks, enforced by the kernel (DESIGN.md §7, §15.3; issue 5):
# deny with an allowlist, the always-blocked destinations (metadata, the
# host, other workspaces), root inside the workspace trying to widen its
# egress, none/nat/host, the audit records of denied attempts, teardown and
# the crash sweep, and 50 concurrent starts.
#
# Topology, built here and removed at exit: an "internet" network namespace
# joined to the host by a veth pair, with listeners (test/probe serve) on an
# address inside the allowlisted range, one outside it and a link-local
# stand-in (169.254.77.N; 169.254.169.254 itself routes to a real service on
# these machines and never gets a packet from a test: its rule is checked in
# the ruleset instead), plus listeners on the host's loopback, its other
# addresses and each workspace's host end. The addresses are derived from
# this test's PID so parallel runs do not collide; the interface names
# carry it too and never start with "en".
. "$ENCLAVE_SOURCE_DIR/test/lib.sh"
need_root
need_cmd ip
need_cmd nft
need_cmd jq
need_cmd nsenter
# Leave nothing on the host when interrupted (meson's timeout sends
# SIGTERM): exiting runs the EXIT trap, which runs the at_exit steps.
trap 'exit 143' TERM
trap 'exit 130' INT

PROBE=$T_BUILDDIR/test/probe
SB=nt$$
INET=encnet-inet-$$
TINET=tinet$$
TINET=${TINET:0:15}
K=$(($$ % 84 * 3))
LINK=198.18.$K			# .1 the host, .2 the internet namespace
ALLOW=198.18.$((K + 1))		# allowlisted /24, listener .10
OUTSIDE=198.18.$((K + 2))	# not allowlisted, listener .10
META=169.254.77.$(($$ % 250 + 1))	# stand-in for the metadata service
LINK6=fd42:1918:$K		# ::1 host, ::2 internet namespace
ALLOW6=fd42:1918:$((K + 1))::10
OUTSIDE6=fd42:1918:$((K + 2))::10
HP=$((20000 + $$ % 20000))	# port of the host's listeners
TMO=1000			# ms a connection attempt may take

V6FWD=$(cat /proc/sys/net/ipv6/conf/all/forwarding 2>/dev/null || echo 0)

# ---- helpers ----------------------------------------------------------------

# Wait until a `probe serve` writing to $1 reports "listening".
wait_listening() {
	local i
	for ((i = 0; i < 50; i++)); do
		grep -qx listening "$1" 2>/dev/null && return 0
		grep -q '^serve ' "$1" 2>/dev/null && break
		sleep 0.1
	done
	cat "$1" >&2
	return 1
}

# serve LOG TARGET...: a background listener on the host, killed at exit.
serve_host() {
	local log=$1; shift
	"$PROBE" serve "$@" >"$log" 2>&1 &
	at_exit "kill $!"
	wait_listening "$log"
}

# A field of a workspace's net record.
net_get() {
	local f=$ENCLAVE_RUNTIME_DIR/workspaces/$SB/$1/net
	[ -r "$f" ] || return 1
	tr ' ' '\n' <"$f" | sed -n "s/^$2=//p"
}

# scan WS [--root] TARGET...: connect to all targets at once from inside;
# the lines land in $SCAN.
SCAN=
scan() {
	local ws=$1; shift
	local root=()
	if [ "${1:-}" = --root ]; then
		root=(--root)
		shift
	fi
	SCAN=$(enclave-spawn enter "${root[@]}" "$SB" "$ws" -- probe scan -t "$TMO" "$@" 2>&1)
}

# scan_ns PID TARGET...: the same with full root in the network namespace
# of PID (the host's probe, the workspace's network).
scan_ns() {
	local pid=$1; shift
	SCAN=$(nsenter --net="/proc/$pid/ns/net" "$PROBE" scan -t "$TMO" "$@" 2>&1)
}

# The result for one target of the last scan.
res() {
	awk -v t="$1" '$1 == t { $1 = ""; sub(/^ /, ""); print; found = 1; exit }
		END { if (!found) print "(no line)" }' <<<"$SCAN"
}

# expect TARGET RESULT WHY
expect() {
	is "$(res "$1")" "$2" "$3 ($1)"
}

# The first net audit record of WS for dst/dport/proto, as "verdict reason",
# waiting a little for the monitor to read its NFLOG socket.
audit_of() {
	local ws=$1 dst=$2 dport=$3 proto=$4 verdict=${5:-deny} r i
	for ((i = 0; i < 30; i++)); do
		r=$(enclave-spawn audit "$SB" "$ws" 2>/dev/null | jq -r --arg d "$dst" \
			--argjson p "$dport" --arg pr "$proto" --arg v "$verdict" \
			'select(.event == "net" and .dst == $d and .dport == $p and .proto == $pr
				and .verdict == $v)
			 | .verdict + " " + .reason + (if (.time | type) == "null" then " no-time" else "" end)' \
			2>/dev/null | head -n1)
		[ -n "$r" ] && break
		sleep 0.1
	done
	echo "${r:-(none)}"
}

# The init pid of a running workspace (first word of the pid file).
init_pid() {
	awk '{ print $1; exit }' "$ENCLAVE_RUNTIME_DIR/workspaces/$SB/$1/init"
}

# Remember a workspace's network (from its record) under prefix P:
# P_ADDR4 P_HOST4 P_ADDR6 P_HOST6 P_IF P_ID P_SLOT.
remember() {
	local p=$2
	printf -v "${p}_ADDR4" %s "$(net_get "$1" addr4)"
	printf -v "${p}_HOST4" %s "$(net_get "$1" host4)"
	printf -v "${p}_ADDR6" %s "$(net_get "$1" addr6)"
	printf -v "${p}_HOST6" %s "$(net_get "$1" host6)"
	printf -v "${p}_IF" %s "$(net_get "$1" ifname)"
	printf -v "${p}_ID" %s "$(net_get "$1" id)"
	printf -v "${p}_SLOT" %s "$(net_get "$1" slot)"
}

# What of workspace WS (ifname IF, id ID, slot SLOT) is still on the host;
# empty when nothing.
leftovers() {
	local ws=$1 ifn=$2 id=$3 slot=$4 p=
	[ -n "$ifn" ] && ip link show dev "$ifn" >/dev/null 2>&1 && p+="veth $ifn; "
	if [ -n "$id" ]; then
		nft list chain inet enclave "ws_$id" >/dev/null 2>&1 && p+="chain ws_$id; "
		nft list chain inet enclave "ws_${id}_host" >/dev/null 2>&1 && p+="chain ws_${id}_host; "
	fi
	if [ -n "$ifn" ]; then
		nft list map inet enclave ws_fwd 2>/dev/null | grep -qF "\"$ifn\"" && p+="ws_fwd element; "
		nft list set inet enclave ws_ifaces 2>/dev/null | grep -qF "\"$ifn\"" && p+="ws_ifaces element; "
	fi
	[ -e "$ENCLAVE_RUNTIME_DIR/workspaces/$SB/$ws/net" ] && p+="net record; "
	[ -n "$slot" ] && grep -Eqs "^[0-9]+ $SB/$ws( |\$)" "/run/enclave/net/$slot" && p+="pool slot $slot; "
	echo "$p"
}

# Stop every workspace of this test that still runs (at exit).
stop_all() {
	# The wait is in the pipeline's subshell: the main shell's children
	# include the listeners, which never exit by themselves.
	enclave-spawn ps "$SB" 2>/dev/null | awk -F '\t' '$3 == "running" { print $2 }' | {
		while read -r w; do
			enclave-spawn stop --time 1 "$SB" "$w" &
		done
		wait
	}
}

# ---- topology -----------------------------------------------------------------

topology() {
	ip netns add "$INET" || return 1
	at_exit "ip netns del '$INET'"
	ip link add "$TINET" type veth peer name up0 netns "$INET" || return 1
	at_exit "ip link del '$TINET'"
	local in=(ip -n "$INET")
	ip addr add "$LINK.1/24" dev "$TINET" &&
		ip -6 addr add "$LINK6::1/64" dev "$TINET" nodad &&
		ip link set "$TINET" up &&
		"${in[@]}" link set lo up &&
		"${in[@]}" link set up0 up &&
		"${in[@]}" addr add "$LINK.2/24" dev up0 &&
		"${in[@]}" -6 addr add "$LINK6::2/64" dev up0 nodad &&
		"${in[@]}" addr add "$ALLOW.10/32" dev lo &&
		"${in[@]}" addr add "$OUTSIDE.10/32" dev lo &&
		"${in[@]}" addr add "$META/32" dev lo &&
		"${in[@]}" -6 addr add "$ALLOW6/128" dev lo &&
		"${in[@]}" -6 addr add "$OUTSIDE6/128" dev lo &&
		"${in[@]}" route add default via "$LINK.1" &&
		"${in[@]}" -6 route add default via "$LINK6::1" &&
		ip route add "$ALLOW.0/24" via "$LINK.2" dev "$TINET" &&
		ip route add "$OUTSIDE.0/24" via "$LINK.2" dev "$TINET" &&
		ip route add "$META/32" via "$LINK.2" dev "$TINET" &&
		ip -6 route add "fd42:1918:$((K + 1))::/64" via "$LINK6::2" dev "$TINET" &&
		ip -6 route add "fd42:1918:$((K + 2))::/64" via "$LINK6::2" dev "$TINET" || return 1
	ip netns exec "$INET" "$PROBE" serve \
		"$ALLOW.10:8080/tcp" "$ALLOW.10:9090/tcp" "$ALLOW.10:5300/tcp" \
		"$ALLOW.10:5300/udp" "$ALLOW.10:9090/udp" \
		"$OUTSIDE.10:8080/tcp" "$OUTSIDE.10:8080/udp" \
		"$META:80/tcp" "$META:8080/tcp" \
		"[$ALLOW6]:8080/tcp" "[$OUTSIDE6]:8080/tcp" >"$T_TMP/inet.log" 2>&1 &
	at_exit "kill $!"
	wait_listening "$T_TMP/inet.log"
}

ok "topology: an internet namespace with listeners" topology
INET_LOG=$T_TMP/inet.log

# The host's address on its default route's interface: a "LAN address".
HOSTDEV=$(ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
HOSTIP=
[ -n "$HOSTDEV" ] && HOSTIP=$(ip -4 -o addr show dev "$HOSTDEV" scope global | awk '{ split($4, a, "/"); print a[1]; exit }')
host_targets=("127.0.0.1:$HP/tcp" "$LINK.1:$HP/tcp")
[ -n "$HOSTIP" ] && host_targets+=("$HOSTIP:$HP/tcp")
ok "host listeners on loopback and the host's addresses" \
	serve_host "$T_TMP/host.log" "${host_targets[@]}"

# The listeners answer from the host (so a "timeout" below is the policy).
scan_ns $$ "$ALLOW.10:8080/tcp" "$ALLOW.10:5300/udp" "$OUTSIDE.10:8080/tcp" \
	"$META:80/tcp" "[$ALLOW6]:8080/tcp" "${host_targets[@]}"
expect "$ALLOW.10:8080/tcp" "open $ALLOW.10:8080/tcp" "topology: from the host"
expect "$ALLOW.10:5300/udp" "open $ALLOW.10:5300/udp" "topology: from the host"
expect "$OUTSIDE.10:8080/tcp" "open $OUTSIDE.10:8080/tcp" "topology: from the host"
expect "$META:80/tcp" "open $META:80/tcp" "topology: from the host"
expect "[$ALLOW6]:8080/tcp" "open [$ALLOW6]:8080/tcp" "topology: from the host"
for t in "${host_targets[@]}"; do
	expect "$t" "open $t" "topology: host listener"
done

# ---- deny with an allowlist ---------------------------------------------------

at_exit stop_all
ok "sandbox from the test rootfs" t_sandbox "$SB"

ok "start b (deny, a listener inside)" enclave-spawn start --net deny "$SB" b -- \
	probe serve 0.0.0.0:7000/tcp '[::]:7000/tcp'
remember b B
like "$B_ADDR4" '^10\.213\.[0-9]+\.[0-9]+$' "b: an IPv4 address from the pool"

ok "start a (deny, allow $ALLOW.0/24:8080/tcp and :5300/udp)" enclave-spawn start \
	--net deny --allow "$ALLOW.0/24:8080/tcp" --allow "$ALLOW.0/24:5300/udp" \
	--allow "[fd42:1918:$((K + 1))::/64]:8080/tcp" "$SB" a -- sleep 600
remember a A
is "$(net_get a mode)" deny "a: record says mode=deny"
like "$A_ADDR4" '^10\.213\.[0-9]+\.[0-9]+$' "a: an IPv4 address from the pool"
like "$A_IF" '^en[0-9a-f]{8}$' "a: host end named en + 8 hex"
is "$(ip -o link show dev "$A_IF" 2>/dev/null | grep -c .)" 1 "a: its host end exists"
like "$(ip -4 -o addr show dev "$A_IF" 2>/dev/null)" " $A_HOST4/30 " "a: the host end has host4/30"
isnt_a_b() { [ "$A_ADDR4" != "$B_ADDR4" ] && [ "$A_IF" != "$B_IF" ]; }
ok "a and b differ in address and interface" isnt_a_b

ok "host listeners on a's host end" serve_host "$T_TMP/hostend.log" \
	"$A_HOST4:$HP/tcp" ${A_HOST6:+"[$A_HOST6]:$HP/tcp"}
scan_ns $$ "$A_HOST4:$HP/tcp"
expect "$A_HOST4:$HP/tcp" "open $A_HOST4:$HP/tcp" "host end listener answers the host"
b_self() {
	local i
	for ((i = 0; i < 30; i++)); do
		enclave-spawn enter "$SB" b -- probe connect "$B_ADDR4" 7000 && return 0
		sleep 0.1
	done
	return 1
}
ok "b's listener answers inside b" b_self
is "$(tail -n1 "$OUT")" "open 0.0.0.0:7000/tcp" "b: its own listener"

deny_targets=(
	"$ALLOW.10:8080/tcp" "$ALLOW.10:5300/udp"
	"$ALLOW.10:9090/tcp" "$ALLOW.10:5300/tcp" "$ALLOW.10:9090/udp"
	"$OUTSIDE.10:8080/tcp" "$OUTSIDE.10:8080/udp"
	"$META:80/tcp"
	"$A_HOST4:$HP/tcp" "$LINK.1:$HP/tcp" ${HOSTIP:+"$HOSTIP:$HP/tcp"}
	"127.0.0.1:$HP/tcp"
	"$B_ADDR4:7000/tcp"
	"[$ALLOW6]:8080/tcp" "[$OUTSIDE6]:8080/tcp"
)
[ -n "$A_HOST6" ] && deny_targets+=("[$A_HOST6]:$HP/tcp")
[ -n "$B_ADDR6" ] && deny_targets+=("[$B_ADDR6]:7000/tcp")

# check_deny WHO: the expectations of a deny-mode scan of a.
check_deny() {
	local who=$1
	expect "$ALLOW.10:8080/tcp" "open $ALLOW.10:8080/tcp" "$who: allowed CIDR and port"
	expect "$ALLOW.10:5300/udp" "open $ALLOW.10:5300/udp" "$who: allowed CIDR and UDP port"
	expect "$ALLOW.10:9090/tcp" timeout "$who: same host, other port"
	expect "$ALLOW.10:5300/tcp" timeout "$who: allowed port, other protocol"
	expect "$ALLOW.10:9090/udp" timeout "$who: same host, other UDP port"
	expect "$OUTSIDE.10:8080/tcp" timeout "$who: outside the allowed CIDR"
	expect "$OUTSIDE.10:8080/udp" timeout "$who: outside the allowed CIDR, UDP"
	expect "$META:80/tcp" timeout "$who: link-local (metadata) stand-in"
	expect "$A_HOST4:$HP/tcp" timeout "$who: the host end"
	expect "$LINK.1:$HP/tcp" timeout "$who: the host's address on another link"
	[ -n "$HOSTIP" ] && expect "$HOSTIP:$HP/tcp" timeout "$who: the host's LAN address"
	expect "127.0.0.1:$HP/tcp" refused "$who: 127.0.0.1 is the workspace's own loopback"
	expect "$B_ADDR4:7000/tcp" timeout "$who: another workspace"
	[ -n "$B_ADDR6" ] && expect "[$B_ADDR6]:7000/tcp" timeout "$who: another workspace, IPv6"
	[ -n "$A_HOST6" ] && expect "[$A_HOST6]:$HP/tcp" timeout "$who: the host end, IPv6"
	expect "[$OUTSIDE6]:8080/tcp" timeout "$who: outside the allowed IPv6 range"
	# IPv6 forwarding is never switched on by enclave (lib/wsnet.h): without
	# it there is no IPv6 egress at all, allowed or not.
	if [ "$V6FWD" = 1 ]; then
		expect "[$ALLOW6]:8080/tcp" "open [$ALLOW6]:8080/tcp" "$who: allowed IPv6 range"
	else
		expect "[$ALLOW6]:8080/tcp" timeout "$who: no IPv6 egress without host forwarding"
	fi
}

mark=$(wc -l <"$INET_LOG")
scan a "${deny_targets[@]}"
check_deny "deny, workspace user"
# Nothing denied reached the internet namespace, not even one packet.
is "$(tail -n +"$((mark + 1))" "$INET_LOG" | awk '{ print $3 }' | sort | tr '\n' ' ')" \
	"$ALLOW.10:5300/udp $ALLOW.10:8080/tcp " "only the allowed listeners saw a connection"
like "$(tail -n +"$((mark + 1))" "$INET_LOG" | awk '{ sub(/:[0-9]+$/, "", $2); print $2 }' | sort -u | tr '\n' ' ')" \
	"^$LINK\.1 $" "deny mode masquerades the workspace's source to the host's"
is "$(grep -c "^tcp .* $A_HOST4:$HP/tcp" "$T_TMP/hostend.log")" 1 "the host end listener saw only the host's own probe"
is "$(grep -c '^tcp ' "$T_TMP/host.log")" "${#host_targets[@]}" "the host listeners saw only the host's own probes"

# ---- the ruleset ---------------------------------------------------------------

ruleset=$(nft list table inet enclave 2>&1)
like "$ruleset" "chain ws_$A_ID \\{" "table inet enclave has a's chain"
like "$(nft list set inet enclave meta4 2>&1)" "169\\.254\\.0\\.0/16" "meta4 holds 169.254.0.0/16 (metadata)"
like "$(nft list set inet enclave meta6 2>&1)" "fd00:ec2::254" "meta6 holds fd00:ec2::254"
ok "a's chain drops @meta4" sh -c "nft list chain inet enclave ws_$A_ID | grep -E 'ip daddr @meta4 .*drop'"
ok "a's chain drops @meta6" sh -c "nft list chain inet enclave ws_$A_ID | grep -E 'ip6 daddr @meta6 .*drop'"
like "$(nft list map inet enclave ws_fwd 2>&1)" "\"$A_IF\" : jump ws_$A_ID" "ws_fwd sends a's host end to its chain"

# ---- the audit log ----------------------------------------------------------------

is "$(audit_of a "$OUTSIDE.10" 8080 tcp)" "deny deny" "audit: outside CIDR (dst, dport, tcp)"
is "$(audit_of a "$OUTSIDE.10" 8080 udp)" "deny deny" "audit: outside CIDR, udp"
is "$(audit_of a "$ALLOW.10" 9090 tcp)" "deny deny" "audit: other port"
is "$(audit_of a "$META" 80 tcp)" "deny metadata" "audit: metadata stand-in"
is "$(audit_of a "$A_HOST4" "$HP" tcp)" "deny host" "audit: the host end"
is "$(audit_of a "$B_ADDR4" 7000 tcp)" "deny pool" "audit: another workspace"
if [ -n "$A_HOST6" ]; then
	is "$(audit_of a "$A_HOST6" "$HP" tcp)" "deny host" "audit: the host end, IPv6"
fi
is "$(enclave-spawn audit "$SB" a | jq -r 'select(.event == "net" and .verdict == "allow") | .dst' | head -n1)" \
	"" "audit: allowed connections are not logged without --log-allowed"
if enclave-net log --help >/dev/null 2>&1; then
	like "$(enclave-net log "$SB" a 2>&1)" "$OUTSIDE\\.10" "enclave-net log shows the denied destination"
else
	skip "enclave-net log shows the denied destination" "no enclave-net log"
fi

# ---- root inside the workspace -----------------------------------------------------

# enter --root has no CAP_NET_ADMIN or CAP_NET_RAW (enclave-spawn(1),
# SECURITY): every attempt to change the network is refused.
exit_is 1 "root: nft flush ruleset (netlink)" enclave-spawn enter --root "$SB" a -- probe nft-flush
is "$(cat "$OUT")" "nft-flush EPERM" "root: nft flush is refused"
fails "root: ip route flush" enclave-spawn enter --root "$SB" a -- busybox ip route flush table main
like "$(cat "$ERR")" "Operation not permitted" "root: route flush is refused"
fails "root: ip route replace default" enclave-spawn enter --root "$SB" a -- \
	busybox ip route replace default via "$A_HOST4" dev eth0 src "$B_ADDR4"
like "$(cat "$ERR")" "Operation not permitted" "root: route replace is refused"
fails "root: ip addr add a spoofed source" enclave-spawn enter --root "$SB" a -- \
	busybox ip addr add "$ALLOW.99/32" dev eth0
like "$(cat "$ERR")" "Operation not permitted" "root: addr add is refused"
exit_is 1 "root: raw socket send" enclave-spawn enter --root "$SB" a -- probe raw "$ALLOW.99" "$ALLOW.10" 5300
is "$(cat "$OUT")" "raw EPERM" "root: raw sockets are refused"
mark=$(wc -l <"$INET_LOG")
scan a --root "${deny_targets[@]}" "$OUTSIDE.10:8080/tcp@$ALLOW.99"
check_deny "deny, root inside"
unlike "$(res "$OUTSIDE.10:8080/tcp@$ALLOW.99")" "^open" "root: a forged source (IP_FREEBIND) gets nowhere"

# Stronger than the workspace's root: full root in the workspace's network
# namespace (every capability there, as a workload would have if its user
# namespace granted CAP_NET_ADMIN). The rules live in the host's namespace,
# so flushing, rerouting, forging and raw sockets inside change nothing.
APID=$(init_pid a)
NSA=(nsenter --net="/proc/$APID/ns/net")
udp_seen() { grep -c " $ALLOW.10:5300/udp\$" "$INET_LOG"; }
ok "netns root: nft flush ruleset" "${NSA[@]}" nft flush ruleset
exit_is 0 "netns root: nft flush (netlink)" "${NSA[@]}" "$PROBE" nft-flush
ok "netns root: a forged address on eth0" "${NSA[@]}" ip addr add "$ALLOW.99/32" dev eth0
ok "netns root: another workspace's address on eth0" "${NSA[@]}" ip addr add "$B_ADDR4/32" dev eth0
ok "netns root: outside range routed on-link" "${NSA[@]}" ip route replace "$OUTSIDE.0/24" dev eth0
scan_ns "$APID" "$ALLOW.10:8080/tcp" "$ALLOW.10:9090/tcp" "$OUTSIDE.10:8080/tcp" "$META:80/tcp" \
	"$A_HOST4:$HP/tcp" "$ALLOW.10:8080/tcp@$ALLOW.99"
expect "$ALLOW.10:8080/tcp" "open $ALLOW.10:8080/tcp" "netns root: allowed still allowed"
expect "$ALLOW.10:9090/tcp" timeout "netns root: other port still denied"
expect "$OUTSIDE.10:8080/tcp" timeout "netns root: outside range on-link still denied"
expect "$META:80/tcp" timeout "netns root: metadata still denied"
expect "$A_HOST4:$HP/tcp" timeout "netns root: host end still denied"
expect "$ALLOW.10:8080/tcp@$ALLOW.99" timeout "netns root: forged source, tcp"
# A forged source cannot get an answer back whatever the policy, so the
# proof is on the receiving side: not one forged datagram arrives.
seen=$(udp_seen)
scan_ns "$APID" "$ALLOW.10:5300/udp@$ALLOW.99" "$ALLOW.10:5300/udp@$B_ADDR4"
expect "$ALLOW.10:5300/udp@$ALLOW.99" timeout "netns root: forged source, udp"
expect "$ALLOW.10:5300/udp@$B_ADDR4" timeout "netns root: another workspace's source, udp"
ok "netns root: default route with a forged preferred source" \
	"${NSA[@]}" ip route replace default via "$A_HOST4" dev eth0 src "$ALLOW.99"
scan_ns "$APID" "$ALLOW.10:5300/udp"
expect "$ALLOW.10:5300/udp" timeout "netns root: everything from the forged source is dropped"
ok "netns root: default route back to the real source" \
	"${NSA[@]}" ip route replace default via "$A_HOST4" dev eth0 src "$A_ADDR4"
exit_is 0 "netns root: raw send, forged source" "${NSA[@]}" "$PROBE" raw "$ALLOW.99" "$ALLOW.10" 5300
exit_is 0 "netns root: raw send, another workspace's source" "${NSA[@]}" "$PROBE" raw "$B_ADDR4" "$ALLOW.10" 5300
exit_is 0 "netns root: raw send, real source, denied port" "${NSA[@]}" "$PROBE" raw "$A_ADDR4" "$OUTSIDE.10" 8080
sleep 0.5
is "$(udp_seen)" "$seen" "netns root: not one forged datagram arrived"
is "$(tail -n +"$((mark + 1))" "$INET_LOG" | grep -c -e " $OUTSIDE.10:8080/udp" -e "^udp $ALLOW.99:" -e "^udp $B_ADDR4:")" \
	0 "netns root: no denied datagram arrived"
is "$(audit_of a "$ALLOW.10" 5300 udp)" "deny spoof" "audit: a forged source is a spoof denial"
# The raw path itself works: the real source to an allowed port arrives.
exit_is 0 "netns root: raw send, real source, allowed port" "${NSA[@]}" "$PROBE" raw "$A_ADDR4" "$ALLOW.10" 5300
for ((i = 0; i < 20; i++)); do
	[ "$(udp_seen)" -gt "$seen" ] && break
	sleep 0.1
done
is "$(udp_seen)" "$((seen + 1))" "netns root: the allowed raw datagram arrived"
ok "a's rules are intact after all that" nft list chain inet enclave "ws_$A_ID"
# a's network as it was, for the scans of a further down: the forged
# addresses would make another workspace's address local to a.
ok "netns root: the forged addresses and route removed again" "${NSA[@]}" sh -c \
	"ip addr del $ALLOW.99/32 dev eth0 && ip addr del $B_ADDR4/32 dev eth0 &&
	 ip route del $OUTSIDE.0/24 dev eth0"

# ---- modes: first instruction, default, none, host, nat -------------------------------

exit_is 0 "deny: the workload's first instruction reaches the allowed port" \
	enclave-spawn run --net deny --allow "$ALLOW.0/24:8080/tcp" "$SB" r -- \
	probe connect "$ALLOW.10" 8080 tcp 3000
is "$(cat "$OUT")" "open $ALLOW.10:8080/tcp" "deny: first instruction, allowed"
exit_is 4 "default mode is deny" enclave-spawn run "$SB" r -- probe connect "$OUTSIDE.10" 8080 tcp 700
is "$(cat "$OUT")" timeout "default deny: outside address times out"
exit_is 4 "default deny without an allowlist" enclave-spawn run "$SB" r -- probe connect "$ALLOW.10" 8080 tcp 700
# run returns with the result; its monitor then removes the network and
# lets go of the workspace, which wait waits for.
ok "wait for the ended run's monitor" enclave-spawn wait "$SB" r
ok "a finished run leaves no record" test ! -e "$ENCLAVE_RUNTIME_DIR/workspaces/$SB/r/net"

exit_is 0 "none: interfaces" enclave-spawn run --net none "$SB" n -- probe ifaces
is "$(cat "$OUT")" "lo" "none: only loopback"
exit_is 5 "none: connect" enclave-spawn run --net none "$SB" n -- probe connect "$ALLOW.10" 8080 tcp 500
is "$(cat "$OUT")" "ENETUNREACH" "none: nothing is routable"

if t_user; then
	# The host's network is root's to give (enclave-spawn(1)): refused
	# before anything starts.
	exit_is 125 "host: refused for an ordinary user" enclave-spawn run --net host "$SB" h -- probe ifaces
	is "$(cat "$ERR")" "enclave-spawn: network mode host is not supported for ordinary users; use --net none" \
		"host: the refusal says why"
	is "$(cat "$OUT")" "" "host: the command never ran"
else
	exit_is 0 "host: interfaces" enclave-spawn run --net host "$SB" h -- probe ifaces
	like "$(cat "$OUT")" "(^|
)$TINET(
|\$)" "host: the host's interfaces are visible"
fi

ok "start c (nat, --log-allowed)" enclave-spawn start --net nat --log-allowed "$SB" c -- sleep 600
remember c C
is "$(net_get c mode)" nat "c: record says mode=nat"
is "$(net_get c log_allowed)" 1 "c: record says log_allowed=1"
ok "host listener on c's host end" serve_host "$T_TMP/hostend-c.log" "$C_HOST4:$HP/tcp"
scan c "$OUTSIDE.10:8080/tcp" "$OUTSIDE.10:8080/udp" "$ALLOW.10:9090/tcp" "$META:80/tcp" \
	"$META:8080/tcp" "$C_HOST4:$HP/tcp" "$LINK.1:$HP/tcp" "$B_ADDR4:7000/tcp" "$A_ADDR4:7000/tcp"
expect "$OUTSIDE.10:8080/tcp" "open $OUTSIDE.10:8080/tcp" "nat: outside address reachable"
expect "$OUTSIDE.10:8080/udp" "open $OUTSIDE.10:8080/udp" "nat: outside address reachable, UDP"
expect "$ALLOW.10:9090/tcp" "open $ALLOW.10:9090/tcp" "nat: any port"
expect "$META:80/tcp" timeout "nat: metadata stand-in blocked"
expect "$META:8080/tcp" timeout "nat: metadata stand-in blocked, other port"
expect "$C_HOST4:$HP/tcp" timeout "nat: its host end blocked"
expect "$LINK.1:$HP/tcp" timeout "nat: the host's other address blocked"
expect "$B_ADDR4:7000/tcp" timeout "nat: another workspace blocked"
is "$(audit_of c "$META" 80 tcp)" "deny metadata" "nat audit: metadata denial"
is "$(audit_of c "$C_HOST4" "$HP" tcp)" "deny host" "nat audit: host denial"
is "$(audit_of c "$OUTSIDE.10" 8080 tcp allow)" "allow allow" "nat --log-allowed: the allowed connection is logged"

# ---- teardown, the host replacing the ruleset -------------------------------------

# c goes first, with its rules in place (what stop removes is checked for
# real); a and b after the host removed the table and the monitors put it
# back.
ok "stop c" enclave-spawn stop "$SB" c
is "$(leftovers c "$C_IF" "$C_ID" "$C_SLOT")" "" "c: nothing left after stop"

# The host's root (never the workspace) removing enclave's table, as a
# reload of nftables.service ("flush ruleset") does: each monitor sees the
# change and puts its workspace's policy back within moments. Done after
# the root-inside checks so those run against the policy as installed.
ok "host: delete table inet enclave" nft delete table inet enclave
restored() {
	local i
	for ((i = 0; i < 50; i++)); do
		nft list chain inet enclave "ws_$A_ID" >/dev/null 2>&1 &&
			nft list chain inet enclave "ws_$B_ID" >/dev/null 2>&1 &&
			nft list chain inet enclave forward >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
ok "the monitors put both workspaces' chains back" restored
like "$(enclave-spawn audit "$SB" a 2>&1)" '"event":"net_policy_restored"' \
	"a: the audit log records the restore"
scan a "${deny_targets[@]}"
check_deny "deny, after the host removed the table"
if t_user; then
	# For an ordinary user the watch is enclave-helper's: a process of
	# root's the user cannot signal, holding CAP_NET_ADMIN alone.
	w=$(pgrep -x enclave-helper | head -n 1)
	ok "user: a policy watcher runs" test -n "$w"
	is "$(awk '/^Uid:/ { print $2, $3, $4 }' "/proc/$w/status" 2>&1)" "0 0 0" "user: the watcher's ids are root's"
	is "$(awk '/^CapEff:/ { print $2 }' "/proc/$w/status" 2>&1)" "0000000000001000" \
		"user: the watcher holds CAP_NET_ADMIN alone"
	fails "user: the user cannot signal the watcher" as_user kill -STOP "$w"
fi

ok "stop a" enclave-spawn stop "$SB" a
is "$(leftovers a "$A_IF" "$A_ID" "$A_SLOT")" "" "a: nothing left after stop"
ok "stop b" enclave-spawn stop "$SB" b
is "$(leftovers b "$B_IF" "$B_ID" "$B_SLOT")" "" "b: nothing left after stop"

ok "start k" enclave-spawn start --net deny --allow "$ALLOW.0/24:8080/tcp" "$SB" k -- sleep 600
remember k KW
ok "k has a veth" ip link show dev "$KW_IF"
mpid=$(awk '{ print $1; exit }' "$ENCLAVE_RUNTIME_DIR/workspaces/$SB/k/monitor")
ok "SIGKILL k's monitor" kill -9 "$mpid"
for ((i = 0; i < 50; i++)); do
	kill -0 "$mpid" 2>/dev/null || break
	sleep 0.1
done
ok "ps after the crash (sweeps)" enclave-spawn ps
is "$(leftovers k "$KW_IF" "$KW_ID" "$KW_SLOT")" "" "k: nothing left after SIGKILL of the monitor and a sweep"

# ---- fail closed ---------------------------------------------------------------------

# When the policy is gone and cannot be put back, the workspace is killed
# rather than left unfiltered. Made to happen deterministically in a
# network namespace of this test's own (so no other test's workspaces see
# the broken table): the monitor is stopped, the table replaced by one
# whose pool4 set has the wrong type (so the reinstall must fail), and the
# monitor continued.
failclosed() {
	unshare --net bash -c '
		set -e
		enclave-spawn start --net deny "$1" fc -- sleep 600
		mon=$(awk "{ print \$1; exit }" "$ENCLAVE_RUNTIME_DIR/workspaces/$1/fc/monitor")
		# An ordinary user'"'"'s watch is enclave-helper'"'"'s watcher
		# process, listening in this namespace: held too.
		watch=
		for p in $(pgrep -x enclave-helper); do
			[ "$(readlink "/proc/$p/ns/net")" = "$(readlink /proc/self/ns/net)" ] && watch="$watch $p"
		done
		kill -STOP "$mon" $watch
		nft delete table inet enclave
		nft add table inet enclave
		nft add set inet enclave pool4 "{ type inet_service; }"
		kill -CONT "$mon" $watch
		for i in $(seq 100); do
			kill -0 "$mon" 2>/dev/null || break
			sleep 0.1
		done
		nft delete table inet enclave
	' failclosed "$SB"
}
ok "fail closed: a policy that cannot be put back" failclosed
is "$(jq -r .reason "$ENCLAVE_STATE_DIR/workspaces/$SB/fc/result.json" 2>&1)" net_policy_lost \
	"fail closed: the workspace was killed, reason net_policy_lost"
if t_user; then
	# The helper's watcher cut the workspace off (no veth) and said why.
	like "$(enclave-spawn audit "$SB" fc 2>&1)" '"event":"net_policy_lost","error":"enclave-helper: the nftables policy of en[0-9a-f]+ could not be put back, its veth is deleted: nftables: cannot add set pool4' \
		"fail closed: the audit log says why"
else
	like "$(enclave-spawn audit "$SB" fc 2>&1)" '"event":"net_policy_lost","error":"nftables: cannot add set pool4' \
		"fail closed: the audit log says why"
fi
ok "fail closed: ps sweeps what the broken table kept" enclave-spawn ps
ok "fail closed: no record left" test ! -e "$ENCLAVE_RUNTIME_DIR/workspaces/$SB/fc/net"

# ---- 50 concurrent starts -----------------------------------------------------------

N=50
pids=()
for ((i = 1; i <= N; i++)); do
	enclave-spawn start --net deny "$SB" "p$i" -- sleep 600 >"$T_TMP/p$i.out" 2>&1 &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do
	wait "$p" || failed=$((failed + 1))
done
is "$failed" 0 "$N concurrent starts all succeeded"
[ "$failed" = 0 ] || cat "$T_TMP"/p*.out | sort | uniq -c | head -n 5 | sed 's/^/#   /'
for ((i = 1; i <= N; i++)); do
	echo "$(net_get "p$i" addr4) $(net_get "p$i" ifname) $(net_get "p$i" slot) $(net_get "p$i" id)"
done >"$T_TMP/pool"
is "$(awk '$1 != "" { print $1 }' "$T_TMP/pool" | sort -u | wc -l)" "$N" "$N distinct IPv4 addresses"
is "$(awk '$2 != "" { print $2 }' "$T_TMP/pool" | sort -u | wc -l)" "$N" "$N distinct host ends"
is "$(awk '$3 != "" { print $3 }' "$T_TMP/pool" | sort -u | wc -l)" "$N" "$N distinct pool slots"
is "$(awk '$1 != "" { split($1, o, "."); print o[1] "." o[2] "." o[3] "." int(o[4] / 4) }' "$T_TMP/pool" |
	sort -u | wc -l)" "$N" "$N distinct /30 blocks"
pids=()
for ((i = 1; i <= N; i++)); do
	enclave-spawn stop --time 2 "$SB" "p$i" >/dev/null 2>&1 &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do
	wait "$p" || failed=$((failed + 1))
done
is "$failed" 0 "$N concurrent stops all succeeded"
left=
i=0
while read -r a ifn slot id; do
	i=$((i + 1))
	left+=$(leftovers "p$i" "$ifn" "$id" "$slot")
done <"$T_TMP/pool"
is "$left" "" "all $N stopped: nothing left"
if t_user; then
	# enclave-helper's policy watchers end with their workspaces (they
	# exit when told; the host's init reaps them a moment later).
	# (A zombie waiting for the host's init to reap it holds nothing.)
	live_watchers() {
		local p
		for p in $(pgrep -x enclave-helper); do
			[ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" = Z ] || printf '%s ' "$p"
		done
	}
	w0=$(live_watchers)
	for _ in $(seq 50); do [ -z "$(live_watchers)" ] && break; sleep 0.1; done
	echo "# policy watchers alive right after the stops: ${w0:-none}"
	is "$(live_watchers)" "" "all $N stopped: no policy watcher is left"
fi
