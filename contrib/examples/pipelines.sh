#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# contrib/examples/pipelines.sh - enclave from shell pipelines. Each example
# is one line; run this file to see them all against ./Enclavefile.
set -u
ex() { printf '\n$ %s\n' "$1"; sh -c "$1"; }

# Which workspaces run, and for how long.
ex "enclave ps --json | jq -r '.[] | select(.state == \"running\") | \"\(.workspace)\t\(.uptime_s)s\"'"

# The workspaces that ended, and why (exited, oom, pids_exceeded, timeout...).
ex "enclave ps --json | jq -r '.[] | select(.state == \"stopped\") | [.workspace, .last_reason, .last_status] | @tsv'"

# Memory use, largest first, in MiB.
ex "enclave stats --json | jq -r 'sort_by(-(.memory // 0)) | .[] | \"\(.workspace)\t\((.memory // 0) / 1048576 | floor) MiB\"'"

# Who tried to reach something the policy denies.
ex "enclave stats --json | jq -r '.[] | select((.denials // 0) > 0) | \"\(.workspace): \(.denials) denied\"'"

# The same from the tab-separated form (columns in enclave(1)).
ex "enclave stats | awk -F'\t' 'NR > 1 && \$2 == \"running\" { cpu += \$5 } END { print cpu \" ms of CPU in all\" }'"

# Restart every stopped workspace of the file.
ex "enclave ps --json | jq -r '.[] | select(.state == \"stopped\") | .workspace' | xargs -r enclave up"

# Follow every workspace's log at once, each line prefixed with its name.
# (Runs until the workspaces stop; interrupt with ^C.)
printf '\n$ %s\n' "for ws in \$(enclave ps | cut -f2); do enclave logs -f \"\$ws\" | sed \"s/^/\$ws: /\" & done; wait"
