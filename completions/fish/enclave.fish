# SPDX-License-Identifier: GPL-2.0-or-later
# fish completion for enclave(1)

set --local commands init config up down ps stats logs workspace create doctor auth help bootstrap

# Workspaces declared in ./Enclavefile (or the one given with -f/--file).
function __enclave_file_ws
	set --local f Enclavefile
	set --local argv (commandline -opc)
	for i in (seq (count $argv))
		if contains -- $argv[$i] -f --file; and test $i -lt (count $argv)
			set f $argv[(math $i + 1)]
		end
	end
	test -r $f; and sed -n 's/^[[:space:]]*\[workspace\.\([A-Za-z0-9_.-]*\)\].*/\1/p' $f
end

function __enclave_store_sandboxes
	enclave-bootstrap list 2>/dev/null | cut -f1
end

function __enclave_store_workspaces
	enclave-spawn ps 2>/dev/null | cut -f2
end

complete -c enclave -f
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -s h -l help -d 'Show help and exit'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -l version -d 'Show the version and exit'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a init -d 'Write a commented starter Enclavefile'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a config -d 'Print the validated Enclavefile as JSON'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a up -d 'Create the sandbox and start the workspaces'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a down -d 'Stop the workspaces'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a ps -d "List the sandbox's workspaces"
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a stats -d 'State, CPU, memory, pids, net, denials'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a logs -d "A workspace's output"
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a workspace -d 'enclave-spawn and enclave-net verbs'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a create -d 'Create a sandbox (enclave-bootstrap create)'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a doctor -d 'Check the kernel and host for what enclave needs'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a auth -d 'Provider tokens (enclave-auth)'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a help -d 'Show help'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a bootstrap -d 'Build and keep sandboxes'

complete -c enclave -n "__fish_seen_subcommand_from init config up down ps stats" -s f -l file -r -F -d 'Enclavefile'
complete -c enclave -n "__fish_seen_subcommand_from logs" -l file -r -F -d 'Enclavefile'
complete -c enclave -n "__fish_seen_subcommand_from init" -l force -d 'Replace an existing file'
complete -c enclave -n "__fish_seen_subcommand_from config" -l pretty -d 'Indent the JSON'
complete -c enclave -n "__fish_seen_subcommand_from down" -l purge -d 'Also remove homes and upper layers'
complete -c enclave -n "__fish_seen_subcommand_from doctor ps stats" -l json -d 'JSON output'
complete -c enclave -n "__fish_seen_subcommand_from logs" -s f -l follow -d 'Keep printing new output'
complete -c enclave -n "__fish_seen_subcommand_from logs" -s n -l tail -x -d 'Only the last N lines'
complete -c enclave -n "__fish_seen_subcommand_from up down stats logs" -a '(__enclave_file_ws)' -d 'Workspace'
complete -c enclave -n "__fish_seen_subcommand_from init config doctor up down ps stats logs workspace" -s h -l help -d 'Show help'
complete -c enclave -n "__fish_seen_subcommand_from workspace; and not __fish_seen_subcommand_from enter exec logs stats stop kill wait rm audit start run ps port" -a 'enter exec logs stats stop kill wait rm audit start run ps port' -d 'Verb'
complete -c enclave -n "__fish_seen_subcommand_from port; and not __fish_seen_subcommand_from list publish unpublish" -a 'list publish unpublish' -d 'Port verb'
complete -c enclave -n "__fish_seen_subcommand_from workspace; and __fish_seen_subcommand_from enter exec logs stats stop kill wait rm audit start run list publish unpublish" -a '(__enclave_store_sandboxes) (__enclave_file_ws) (__enclave_store_workspaces)' -d 'Sandbox or workspace'
complete -c enclave -n "__fish_seen_subcommand_from create auth bootstrap" -a '(__fish_complete_subcommand --fcs-skip=1)'
