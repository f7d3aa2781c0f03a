# SPDX-License-Identifier: GPL-2.0-or-later
# fish completion for enclave(1)

set --local commands init config create doctor help bootstrap
complete -c enclave -f
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -s h -l help -d 'Show help and exit'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -l version -d 'Show the version and exit'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a init -d 'Write a commented starter Enclavefile'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a config -d 'Print the validated Enclavefile as JSON'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a create -d 'Create a sandbox (enclave-bootstrap create)'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a doctor -d 'Check the kernel and host for what enclave needs'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a help -d 'Show help'
complete -c enclave -n "not __fish_seen_subcommand_from $commands" -a bootstrap -d 'Build and keep sandboxes'

complete -c enclave -n "__fish_seen_subcommand_from init config" -s f -l file -r -F -d 'Enclavefile'
complete -c enclave -n "__fish_seen_subcommand_from init" -l force -d 'Replace an existing file'
complete -c enclave -n "__fish_seen_subcommand_from config" -l pretty -d 'Indent the JSON'
complete -c enclave -n "__fish_seen_subcommand_from doctor" -l json -d 'Print one JSON object instead of the table'
complete -c enclave -n "__fish_seen_subcommand_from init config doctor" -s h -l help -d 'Show help'
complete -c enclave -n "__fish_seen_subcommand_from create bootstrap" -a '(__fish_complete_subcommand --fcs-skip=1)'
