# SPDX-License-Identifier: GPL-2.0-or-later
# fish completion for enclave-spawn(1)

# Options that take an argument (the next word, unless given as --opt=VALUE).
set -g __enclave_spawn_argopts --dir -e --env -u --user --hostname --memory --swap --cpus --pids --timeout --tmp-size --overlay --hide --protect --auth --env-token --net --allow -p --publish --result -n --tail -s --signal --time

# Parse the command line so far. Prints three lines: the command (verb),
# the number of names given (SANDBOX, WORKSPACE) and the first name, then
# the index of the token where the workload's command starts (0: not yet).
function __enclave_spawn_parse
    set --local tokens (commandline -opc)
    set --local verb $tokens[2]
    set --local npos 0
    set --local sandbox ''
    set --local cmd 0
    set --local takes_cmd 0
    contains -- "$verb" run start enter exec; and set takes_cmd 1
    set --local i 3
    while test $i -le (count $tokens)
        set --local w $tokens[$i]
        if test "$w" = --
            if test $takes_cmd = 1 -a $npos -ge 2
                set cmd (math $i + 1)
                break
            end
        else if contains -- $w $__enclave_spawn_argopts
            set i (math $i + 1)
        else if string match -q -- '-?*' $w
            # another option, or --opt=VALUE
        else if test $npos -lt 2
            test $npos = 0; and set sandbox $w
            set npos (math $npos + 1)
        else if test $takes_cmd = 1
            set cmd $i
            break
        end
        set i (math $i + 1)
    end
    printf '%s\n' "$verb" $npos "$sandbox" $cmd
end

# No command yet.
function __enclave_spawn_needs_verb
    test (count (commandline -opc)) -eq 1
end

# The verb is one of the arguments, and the workload's command has not
# started yet.
function __enclave_spawn_verb_is
    set --local p (__enclave_spawn_parse)
    test $p[4] = 0; or return 1
    contains -- $p[1] $argv
end

# Completing the NAME at position $argv[1] (0: SANDBOX, 1: WORKSPACE) of
# one of the verbs in $argv[2..].
function __enclave_spawn_at_name
    set --local p (__enclave_spawn_parse)
    test $p[4] = 0; or return 1
    test $p[2] = $argv[1]; or return 1
    contains -- $p[1] $argv[2..-1]; or return 1
    # Not the argument of an option.
    set --local prev (commandline -opc)[-1]
    not contains -- $prev $__enclave_spawn_argopts
end

# Completing the workload's command (run, start, enter, exec).
function __enclave_spawn_in_command
    set --local p (__enclave_spawn_parse)
    contains -- $p[1] run start enter exec; or return 1
    if test $p[4] != 0
        return 0
    end
    # The first word after both names that is not an option starts the
    # command.
    set --local prev (commandline -opc)[-1]
    string match -q -- '-*' (commandline -ct); and return 1
    test $p[2] -ge 2; and not contains -- $prev $__enclave_spawn_argopts
end

function __enclave_spawn_complete_command
    set --local p (__enclave_spawn_parse)
    set --local tokens (commandline -opc) (commandline -ct)
    set --local start $p[4]
    test $start = 0; and set start (count $tokens)
    # A command does not start with '-'.
    if test $start = (count $tokens)
        string match -q -- '-*' $tokens[-1]; and return
    end
    __fish_complete_subcommand --commandline $tokens[$start..-1]
end

function __enclave_spawn_sandboxes
    enclave-bootstrap list 2>/dev/null | string split -f1 \t
end

function __enclave_spawn_workspaces
    set --local p (__enclave_spawn_parse)
    test -n "$p[3]"; or return
    enclave-spawn ps $p[3] 2>/dev/null | string split -f2 \t
end

complete -c enclave-spawn -f

# Commands.
complete -c enclave-spawn -n __enclave_spawn_needs_verb -a run -d 'Run in the foreground; exit with its status'
complete -c enclave-spawn -n __enclave_spawn_needs_verb -a start -d 'Start detached; return once it runs'
complete -c enclave-spawn -n __enclave_spawn_needs_verb -a enter -d 'Run a command in a running workspace'
complete -c enclave-spawn -n __enclave_spawn_needs_verb -a exec -d 'The same as enter'
complete -c enclave-spawn -n __enclave_spawn_needs_verb -a ps -d 'List workspaces'
complete -c enclave-spawn -n __enclave_spawn_needs_verb -a list -d 'The same as ps'
complete -c enclave-spawn -n __enclave_spawn_needs_verb -a stop -d 'SIGTERM, grace period, then SIGKILL'
complete -c enclave-spawn -n __enclave_spawn_needs_verb -a kill -d 'Send a signal to the workload'
complete -c enclave-spawn -n __enclave_spawn_needs_verb -a wait -d 'Wait for the end and print the result'
complete -c enclave-spawn -n __enclave_spawn_needs_verb -a logs -d "Print the workload's output"
complete -c enclave-spawn -n __enclave_spawn_needs_verb -a stats -d 'State, uptime, CPU, memory, pids'
complete -c enclave-spawn -n __enclave_spawn_needs_verb -a rm -d 'Remove a stopped workspace'
complete -c enclave-spawn -n __enclave_spawn_needs_verb -a audit -d 'Print or verify the audit log'
complete -c enclave-spawn -n __enclave_spawn_needs_verb -s h -l help -d 'Show help and exit'
complete -c enclave-spawn -n __enclave_spawn_needs_verb -l version -d 'Show the version and exit'

# Names.
complete -c enclave-spawn -n '__enclave_spawn_at_name 0 run start enter exec ps list stop kill wait logs stats rm audit' -a '(__enclave_spawn_sandboxes)' -d Sandbox
complete -c enclave-spawn -n '__enclave_spawn_at_name 1 run start enter exec stop kill wait logs stats rm audit' -a '(__enclave_spawn_workspaces)' -d Workspace

# The workload's command.
complete -c enclave-spawn -n __enclave_spawn_in_command -x -a '(__enclave_spawn_complete_command)'

# run and start.
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l dir -x -a '(__fish_complete_directories)' -d 'Mount a project directory (HOST[:INSIDE])'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start enter exec' -s e -l env -x -d 'Set an environment variable (NAME=VALUE)'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -s u -l user -x -d 'The workspace user (NAME or UID)'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l hostname -x -d "The workspace's host name"
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l memory -x -d 'Memory limit (e.g. 512M, 2G)'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l swap -x -d 'Swap limit beyond memory'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l cpus -x -d 'CPU quota (e.g. 1.5)'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l pids -x -d 'Process limit'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l timeout -x -d 'Wall-clock limit (e.g. 90s, 1h30m)'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l tmp-size -x -d "Size cap of the tmp overlay's upper layer"
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l overlay -x -a 'tmp persistent readonly' -d 'How the root is written'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l hide -x -a none -d 'Hide matching files in the project'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l protect -r -F -d 'Make a project path read-only'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l auth -x -a 'github npm enclave' -d "Hand the workspace the provider's stored token"
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l env-token -x -a 'GITHUB_TOKEN GH_TOKEN NPM_TOKEN ENCLAVE_TOKEN' -d 'Set a variable from a stored token'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l net -x -a 'deny nat none host' -d 'The workspace\'s network'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l allow -x -d 'Let deny/nat reach CIDR[:PORT[/PROTO]]'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l log-allowed -d 'Also log allowed connections'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -s p -l publish -x -d 'Publish a port [ADDR:]HOSTPORT:PORT[/PROTO]'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start' -l rm -d 'Keep nothing but result.json and the audit log'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run' -l result -r -F -d 'Also write the result to FILE'

# run and enter.
complete -c enclave-spawn -n '__enclave_spawn_verb_is run enter exec' -s t -l tty -d 'Give the command a terminal'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run enter exec' -s i -l interactive -d 'Pass standard input on'
complete -c enclave-spawn -n '__enclave_spawn_verb_is enter exec' -l root -d 'Enter as uid 0 with the root capability set'

# The other commands.
complete -c enclave-spawn -n '__enclave_spawn_verb_is ps list stats start audit wait' -l json -d 'Machine-readable output'
complete -c enclave-spawn -n '__enclave_spawn_verb_is logs' -s f -l follow -d 'Keep printing new output'
complete -c enclave-spawn -n '__enclave_spawn_verb_is logs' -s n -l tail -x -d 'Only the last N lines'
complete -c enclave-spawn -n '__enclave_spawn_verb_is kill' -s s -l signal -x -a 'TERM KILL INT HUP QUIT USR1 USR2 STOP CONT TSTP ALRM WINCH PIPE ABRT' -d 'The signal to send'
complete -c enclave-spawn -n '__enclave_spawn_verb_is stop rm' -l time -x -d 'Grace period in seconds (default 10)'
complete -c enclave-spawn -n '__enclave_spawn_verb_is rm' -l force -d 'Stop a running workspace first'
complete -c enclave-spawn -n '__enclave_spawn_verb_is audit' -l verify -d 'Check the hash chain'
complete -c enclave-spawn -n '__enclave_spawn_verb_is run start enter exec ps list stop kill wait logs stats rm audit' -s h -l help -d 'Show help and exit'
