# SPDX-License-Identifier: GPL-2.0-or-later
# fish completion for enclave-net(1)

# The verb and the names given so far: prints the verb, the number of
# names, the sandbox and the workspace.
function __enclave_net_parse
    set --local tokens (commandline -opc)
    set --local npos 0
    set --local sandbox ''
    set --local ws ''
    set --local i 3
    while test $i -le (count $tokens)
        set --local w $tokens[$i]
        if contains -- $w -n --tail
            set i (math $i + 1)
        else if string match -q -- '-?*' $w
            # an option
        else
            test $npos = 0; and set sandbox $w
            test $npos = 1; and set ws $w
            set npos (math $npos + 1)
        end
        set i (math $i + 1)
    end
    printf '%s\n' "$tokens[2]" $npos "$sandbox" "$ws"
end

function __enclave_net_needs_verb
    test (count (commandline -opc)) -eq 1
end

function __enclave_net_verb_is
    set --local p (__enclave_net_parse)
    contains -- $p[1] $argv
end

# Completing the NAME at position $argv[1] (0: SANDBOX, 1: WORKSPACE,
# 2: a SPEC) of one of the verbs in $argv[2..].
function __enclave_net_at
    set --local p (__enclave_net_parse)
    contains -- $p[1] $argv[2..-1]; or return 1
    if test $argv[1] = 2
        test $p[2] -ge 2; or return 1
    else
        test $p[2] = $argv[1]; or return 1
    end
    set --local prev (commandline -opc)[-1]
    not contains -- $prev -n --tail
end

function __enclave_net_sandboxes
    enclave-bootstrap list 2>/dev/null | string split -f1 \t
end

function __enclave_net_workspaces
    set --local p (__enclave_net_parse)
    test -n "$p[3]"; or return
    enclave-spawn ps $p[3] 2>/dev/null | string split -f2 \t
end

function __enclave_net_ports
    set --local p (__enclave_net_parse)
    test -n "$p[3]" -a -n "$p[4]"; or return
    enclave-net ports $p[3] $p[4] 2>/dev/null | string split -f1 \t
end

complete -c enclave-net -f

# Commands.
complete -c enclave-net -n __enclave_net_needs_verb -a show -d 'Mode, addresses, rules and counters, ports'
complete -c enclave-net -n __enclave_net_needs_verb -a publish -d 'Publish ports of a running workspace'
complete -c enclave-net -n __enclave_net_needs_verb -a unpublish -d 'Stop publishing ports'
complete -c enclave-net -n __enclave_net_needs_verb -a ports -d 'List the published ports'
complete -c enclave-net -n __enclave_net_needs_verb -a log -d 'Print the network records of the audit log'
complete -c enclave-net -n __enclave_net_needs_verb -s h -l help -d 'Show help and exit'
complete -c enclave-net -n __enclave_net_needs_verb -l version -d 'Show the version and exit'

# Names and specs.
complete -c enclave-net -n '__enclave_net_at 0 show publish unpublish ports log' -a '(__enclave_net_sandboxes)' -d Sandbox
complete -c enclave-net -n '__enclave_net_at 1 show publish unpublish ports log' -a '(__enclave_net_workspaces)' -d Workspace
complete -c enclave-net -n '__enclave_net_at 2 unpublish' -a '(__enclave_net_ports)' -d 'Published port'

# Options.
complete -c enclave-net -n '__enclave_net_verb_is show ports log' -l json -d 'Machine-readable output'
complete -c enclave-net -n '__enclave_net_verb_is log' -s f -l follow -d 'Keep printing new records'
complete -c enclave-net -n '__enclave_net_verb_is log' -s n -l tail -x -d 'Only the last N records'
complete -c enclave-net -n '__enclave_net_verb_is show publish unpublish ports log' -s h -l help -d 'Show help and exit'
