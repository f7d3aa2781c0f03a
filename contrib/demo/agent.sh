#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A stand-in for an AI coding agent: it works in its own project directory,
# keeps notes in its own home, reports a structured result, and stays up
# (so one can look at it with `enclave workspace enter`) until told to
# finish by a /tmp/done file, or its timeout.
role=${1:?role}
echo "[$role] starting in $(pwd) as $(id -un) on $(hostname)"
mkdir -p "$HOME/notes"
date -u +%FT%TZ >"$HOME/notes/started"
n=0
for step in read plan write check; do
	echo "$role: $step" >>"work.log"
	n=$((n + 1))
done
echo "[$role] done, $n steps; waiting to be told to finish"
cat >/run/enclave/result.json <<JSON
{"role": "$role", "steps": $n, "files": $(ls | wc -l)}
JSON
while [ ! -e /tmp/done ]; do sleep 0.2; done
echo "[$role] finished"
