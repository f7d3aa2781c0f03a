# SPDX-License-Identifier: GPL-2.0-or-later
# test/bench/lib.sh - timing helpers shared by the benchmark scripts.

# interleave ROUNDS PAUSE F...: ROUNDS rounds (after 3 warm-up rounds) of
# every function F in turn, so load from elsewhere on the machine hits all
# of them alike; with PAUSE (seconds, 0 for none) a sleep before each run.
# Prints one line per round: the wall time of each F in ms, in the order
# given. A run that fails is timed all the same (a failure is usually
# quick) and its name is appended to $BENCH_FAILS when that is set.
interleave() {
	local n=$1 pause=$2 i f t0 t1 line
	shift 2
	for i in 1 2 3; do
		for f in "$@"; do "$f" >/dev/null 2>&1; done
	done
	for ((i = 0; i < n; i++)); do
		line=
		for f in "$@"; do
			[ "$pause" = 0 ] || sleep "$pause"
			t0=$EPOCHREALTIME
			"$f" >/dev/null 2>&1 || { [ -z "${BENCH_FAILS:-}" ] || echo "$f" >>"$BENCH_FAILS"; }
			t1=$EPOCHREALTIME
			line+=" $t0 $t1"
		done
		echo "$line"
	done | awk '{ s = ""; for (i = 1; i < NF; i += 2) s = s sprintf(" %.3f", ($(i + 1) - $i) * 1000)
		print substr(s, 2) }'
}

# col_stats C: "median p90" of column C (1-based) of the lines on stdin
# ("- -" when there are none).
col_stats() {
	awk -v c="$1" '{ print $c }' | sort -n | awk '{ v[NR] = $1 } END {
		if (!NR) { print "- -"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		p = v[int(NR * 0.9 + 0.5)]
		printf "%.2f %.2f\n", m, p }'
}

# median C: the median of column C of the lines on stdin.
median() {
	local m _
	read -r m _ < <(col_stats "${1:-1}")
	echo "$m"
}
