# SPDX-License-Identifier: GPL-2.0-or-later
# fish completion for enclave-bootstrap(1)

set --local commands create list show rm prune
set --local methods debootstrap mmdebstrap cached_rootfs dir tar

function __enclave_bootstrap_sandboxes
	enclave-bootstrap list 2>/dev/null | cut -f1
end

complete -c enclave-bootstrap -f
complete -c enclave-bootstrap -s q -l quiet -d 'No progress messages'
complete -c enclave-bootstrap -s h -l help -d 'Show help and exit'
complete -c enclave-bootstrap -n "not __fish_seen_subcommand_from $commands" -l version -d 'Show the version and exit'
complete -c enclave-bootstrap -n "not __fish_seen_subcommand_from $commands" -a create -d 'Build a sandbox, or with --update a new generation'
complete -c enclave-bootstrap -n "not __fish_seen_subcommand_from $commands" -a list -d 'List the sandboxes'
complete -c enclave-bootstrap -n "not __fish_seen_subcommand_from $commands" -a show -d "Show a sandbox's recipe and generations"
complete -c enclave-bootstrap -n "not __fish_seen_subcommand_from $commands" -a rm -d 'Remove a sandbox and all its generations'
complete -c enclave-bootstrap -n "not __fish_seen_subcommand_from $commands" -a prune -d 'Remove generations that no workspace uses'

complete -c enclave-bootstrap -n "__fish_seen_subcommand_from create" -l method -x -a "$methods" -d 'How to make the root file system'
complete -c enclave-bootstrap -n "__fish_seen_subcommand_from create" -l bootstrap-method -x -a "$methods" -d 'The same as --method'
complete -c enclave-bootstrap -n "__fish_seen_subcommand_from create" -l suite -x -a 'bookworm trixie sid bullseye noble jammy' -d 'Debian suite'
complete -c enclave-bootstrap -n "__fish_seen_subcommand_from create" -l mirror -x -d 'Archive mirror URL'
complete -c enclave-bootstrap -n "__fish_seen_subcommand_from create" -l variant -x -a 'minbase buildd fakechroot' -d 'debootstrap variant'
complete -c enclave-bootstrap -n "__fish_seen_subcommand_from create" -l include -x -d 'Extra packages, comma separated'
complete -c enclave-bootstrap -n "__fish_seen_subcommand_from create" -l components -x -a 'main contrib non-free non-free-firmware' -d 'Archive components'
complete -c enclave-bootstrap -n "__fish_seen_subcommand_from create" -l source -r -F -d 'Directory or archive to import'
complete -c enclave-bootstrap -n "__fish_seen_subcommand_from create" -l setup -x -d 'Run a command as root in the new generation'
complete -c enclave-bootstrap -n "__fish_seen_subcommand_from create" -l file -r -F -d 'Take the recipe from an Enclavefile'
complete -c enclave-bootstrap -n "__fish_seen_subcommand_from create" -l update -d 'Build a new generation of an existing sandbox'
complete -c enclave-bootstrap -n "__fish_seen_subcommand_from list show" -l json -d 'JSON output'
complete -c enclave-bootstrap -n "__fish_seen_subcommand_from rm" -s f -l force -d 'Remove even while stopped workspaces use it'
complete -c enclave-bootstrap -n "__fish_seen_subcommand_from prune" -s n -l dry-run -d 'Only list what would be removed'
complete -c enclave-bootstrap -n "__fish_seen_subcommand_from show rm prune" -a '(__enclave_bootstrap_sandboxes)' -d 'Sandbox'
