# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_proj_global_optspecs
    string join \n f/file= color= h/help V/version
end

function __fish_proj_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_proj_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_proj_using_subcommand
    set -l cmd (__fish_proj_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c proj -n "__fish_proj_needs_command" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_needs_command" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_needs_command" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_needs_command" -f -a "up" -d 'Start the project\'s processes and supervise them in the foreground'
complete -c proj -n "__fish_proj_needs_command" -f -a "check" -d 'Validate the config and print the plan: instances, start order, ports, commands'
complete -c proj -n "__fish_proj_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c proj -n "__fish_proj_needs_command" -f -a "__guardian" -d 'The guardian that cleans up if proj is killed (internal)'
complete -c proj -n "__fish_proj_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c proj -n "__fish_proj_using_subcommand up" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand up" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand up" -l no-tui -d 'Print plain prefixed lines (the TUI is not available yet: this is the only mode)'
complete -c proj -n "__fish_proj_using_subcommand up" -l no-setup -d 'Skip the setup steps'
complete -c proj -n "__fish_proj_using_subcommand up" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand up" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand check" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand check" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand check" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand completions" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand completions" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand completions" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand __guardian" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand __guardian" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand __guardian" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand __guardian" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up check completions __guardian help" -f -a "up" -d 'Start the project\'s processes and supervise them in the foreground'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up check completions __guardian help" -f -a "check" -d 'Validate the config and print the plan: instances, start order, ports, commands'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up check completions __guardian help" -f -a "completions" -d 'Print shell completions'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up check completions __guardian help" -f -a "__guardian" -d 'The guardian that cleans up if proj is killed (internal)'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up check completions __guardian help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
