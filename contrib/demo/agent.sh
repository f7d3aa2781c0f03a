#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A stand-in for an AI coding agent: it works in its own project directory,
# keeps notes in its own home, and reports a structured result.
role=${1:?role}
echo "[$role] starting in $(pwd) as $(id -un) on $(hostname)"
mkdir -p "$HOME/notes"
date -u +%FT%TZ >"$HOME/notes/started"
n=0
for step in read plan write check; do
	echo "$role: $step" >>"work.log"
	n=$((n + 1))
done
echo "[$role] done, $n steps"
cat >/run/enclave/result.json <<JSON
{"role": "$role", "steps": $n, "files": $(ls | wc -l)}
JSON
