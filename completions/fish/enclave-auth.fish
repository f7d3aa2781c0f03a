# SPDX-License-Identifier: GPL-2.0-or-later
# fish completion for enclave-auth(1)

set --local commands login logout list

function __enclave_auth_providers
	enclave-auth list 2>/dev/null | cut -f1
end

complete -c enclave-auth -f
complete -c enclave-auth -s h -l help -d 'Show help and exit'
complete -c enclave-auth -n "not __fish_seen_subcommand_from $commands" -l version -d 'Show the version and exit'
complete -c enclave-auth -n "not __fish_seen_subcommand_from $commands" -a login -d 'Store a token, read hidden or from standard input'
complete -c enclave-auth -n "not __fish_seen_subcommand_from $commands" -a logout -d "Remove a provider's token"
complete -c enclave-auth -n "not __fish_seen_subcommand_from $commands" -a list -d 'Provider, date stored and state of each token'

complete -c enclave-auth -n "__fish_seen_subcommand_from list" -l json -d 'JSON output'
complete -c enclave-auth -n "__fish_seen_subcommand_from login" -a 'github npm enclave' -d 'Provider'
complete -c enclave-auth -n "__fish_seen_subcommand_from login logout" -a '(__enclave_auth_providers)' -d 'Stored provider'
