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
complete -c proj -n "__fish_proj_needs_command" -f -a "up" -d 'Start the project\'s processes and supervise them in the foreground (cloning and setting up first when given a git URL)'
complete -c proj -n "__fish_proj_needs_command" -f -a "clone" -d 'Clone a project and set it up; start nothing'
complete -c proj -n "__fish_proj_needs_command" -f -a "setup" -d 'Run the setup steps (each skipped while its rule says it is done)'
complete -c proj -n "__fish_proj_needs_command" -f -a "init" -d 'Write proj.toml from another tool\'s config: a Procfile, supervisord.conf, process-compose.yaml or a pm2 ecosystem file (JSON or YAML)'
complete -c proj -n "__fish_proj_needs_command" -f -a "check" -d 'Validate the config and print the plan: instances, start order, ports, commands'
complete -c proj -n "__fish_proj_needs_command" -f -a "ps" -d 'The running supervisor\'s instances and their states'
complete -c proj -n "__fish_proj_needs_command" -f -a "start" -d 'Start processes of the running supervisor (a name without `.N` means all its instances)'
complete -c proj -n "__fish_proj_needs_command" -f -a "stop" -d 'Stop processes of the running supervisor'
complete -c proj -n "__fish_proj_needs_command" -f -a "restart" -d 'Restart processes of the running supervisor (every instance when no name is given)'
complete -c proj -n "__fish_proj_needs_command" -f -a "scale" -d 'Change how many instances of processes run now (the highest-numbered stop first, through their stop sequence)'
complete -c proj -n "__fish_proj_needs_command" -f -a "signal" -d 'Send a signal to processes of the running supervisor: to each instance\'s main process, or with --group to every process of the instance (`proj signal HUP web` reloads gunicorn without a restart)'
complete -c proj -n "__fish_proj_needs_command" -f -a "run" -d 'Run a one-off command with the stack\'s environment, in the foreground, outside supervision (as `heroku run`, `docker compose run`); exits with its exit code'
complete -c proj -n "__fish_proj_needs_command" -f -a "logs" -d 'Recent output of the running supervisor\'s processes, merged in time order'
complete -c proj -n "__fish_proj_needs_command" -f -a "wait" -d 'Wait until instances are running (a oneshot: exited 0); exit 1 as soon as one failed, or at the timeout, naming what is not there'
complete -c proj -n "__fish_proj_needs_command" -f -a "why" -d 'Why an instance is in its state: its failure or last exit and its cause, the last probe answer, restarts in the window, its last state changes and lines'
complete -c proj -n "__fish_proj_needs_command" -f -a "events" -d 'One line per state change of any instance, until the supervisor ends'
complete -c proj -n "__fish_proj_needs_command" -f -a "reload" -d 'Re-read proj.toml: restart what changed, start what is new, stop what is gone'
complete -c proj -n "__fish_proj_needs_command" -f -a "down" -d 'Stop everything (reverse dependency order) and end the supervisor'
complete -c proj -n "__fish_proj_needs_command" -f -a "attach" -d 'The TUI on the running supervisor (`q` detaches, the processes keep running)'
complete -c proj -n "__fish_proj_needs_command" -f -a "connect" -d 'Type into a `tty = true` process: your terminal becomes its terminal (`Ctrl-]` detaches)'
complete -c proj -n "__fish_proj_needs_command" -f -a "mcp" -d 'A Model Context Protocol server on stdin/stdout, for coding agents: tools to start, watch, restart and question the running supervisor (see the README for the Claude Code, Cursor and Codex settings)'
complete -c proj -n "__fish_proj_needs_command" -f -a "export" -d 'Write what runs the project elsewhere: systemd units, Kubernetes manifests, a Compose file'
complete -c proj -n "__fish_proj_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c proj -n "__fish_proj_needs_command" -f -a "man" -d 'Write the man pages: proj(1) and one per subcommand (without -o: proj(1) on stdout)'
complete -c proj -n "__fish_proj_needs_command" -f -a "__guardian" -d 'The guardian that cleans up if proj is killed (internal)'
complete -c proj -n "__fish_proj_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c proj -n "__fish_proj_using_subcommand up" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand up" -s b -l branch -d 'The branch to check out when cloning a URL' -r
complete -c proj -n "__fish_proj_using_subcommand up" -l scrollback -d 'Lines of output the TUI keeps per instance' -r
complete -c proj -n "__fish_proj_using_subcommand up" -s m -l formation -d 'Instances per process for this run, over the file\'s `scale`: `web=2,worker=3`; `all=N` for every process; `NAME=0` runs none of it' -r
complete -c proj -n "__fish_proj_using_subcommand up" -s p -l port -d 'The base port in Procfile mode: the first line\'s process gets it, the next line\'s PORT + 100, ... (default: $PORT, else PORT in .env, else 5000)' -r
complete -c proj -n "__fish_proj_using_subcommand up" -l auto-port -d '(internal) A port already chosen for `port = "auto"`: NAME=PORT (from `up -d`)' -r
complete -c proj -n "__fish_proj_using_subcommand up" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand up" -l tui -d 'Show the TUI even when stdout is not a terminal (default: when it is)'
complete -c proj -n "__fish_proj_using_subcommand up" -l no-tui -d 'Print plain prefixed lines even on a terminal'
complete -c proj -n "__fish_proj_using_subcommand up" -l no-setup -d 'Skip the setup steps'
complete -c proj -n "__fish_proj_using_subcommand up" -s d -l detach -d 'Return once everything is running and leave the supervisor in the background'
complete -c proj -n "__fish_proj_using_subcommand up" -l no-pull -d 'Leave an existing clone as it is: do not fetch or fast-forward it'
complete -c proj -n "__fish_proj_using_subcommand up" -l exit-on-failure -d 'When any instance becomes `failed`, stop everything and exit 1 naming it (for CI smoke tests of a stack)'
complete -c proj -n "__fish_proj_using_subcommand up" -l detached-child -d '(internal) This is the background supervisor that `up -d` started'
complete -c proj -n "__fish_proj_using_subcommand up" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand up" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand clone" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand clone" -s b -l branch -d 'The branch to check out (default: the remote\'s default branch)' -r
complete -c proj -n "__fish_proj_using_subcommand clone" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand clone" -l no-setup -d 'Clone only; skip the setup steps'
complete -c proj -n "__fish_proj_using_subcommand clone" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand clone" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand setup" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand setup" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand setup" -l force -d 'Run every step (or every named one), whatever its rules say'
complete -c proj -n "__fish_proj_using_subcommand setup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand setup" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand init" -s f -l file -d 'The proj.toml to write (default: proj.toml in the current directory)' -r -F
complete -c proj -n "__fish_proj_using_subcommand init" -l from -d 'The file to convert (default: the first of Procfile.dev, Procfile, supervisord.conf, process-compose.yaml, ecosystem.config.json, … found here)' -r -F
complete -c proj -n "__fish_proj_using_subcommand init" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand init" -l force -d 'Overwrite an existing proj.toml'
complete -c proj -n "__fish_proj_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand init" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand check" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand check" -s m -l formation -d 'Instances per process for this run, over the file\'s `scale`: `web=2,worker=3`; `all=N` for every process; `NAME=0` runs none of it' -r
complete -c proj -n "__fish_proj_using_subcommand check" -s p -l port -d 'The base port in Procfile mode: the first line\'s process gets it, the next line\'s PORT + 100, ... (default: $PORT, else PORT in .env, else 5000)' -r
complete -c proj -n "__fish_proj_using_subcommand check" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand check" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand ps" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand ps" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand ps" -l json -d 'One JSON array (fields: name, process, state, pid, restarts, exit_code, port, ...)'
complete -c proj -n "__fish_proj_using_subcommand ps" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand ps" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand start" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand start" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand start" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand start" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand stop" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand stop" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand stop" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand stop" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand restart" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand restart" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand restart" -l rolling -d 'One instance at a time, the next once the previous is ready again (as `rolling = true` does for every restart of the process)'
complete -c proj -n "__fish_proj_using_subcommand restart" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand restart" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand scale" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand scale" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand scale" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand scale" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand signal" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand signal" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand signal" -l group -d 'Every process of each instance, not only its main process'
complete -c proj -n "__fish_proj_using_subcommand signal" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand signal" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand run" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand run" -l in -d 'Take the environment, working directory and user of this instance (or of the first instance of this process); default: the project\'s `[env]` and env files' -r
complete -c proj -n "__fish_proj_using_subcommand run" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand run" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand logs" -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand logs" -s n -l lines -d 'How many recent lines to print' -r
complete -c proj -n "__fish_proj_using_subcommand logs" -l since -d 'Only lines since then: a duration back from now (`5m`, `1h`) or an RFC 3339 time' -r
complete -c proj -n "__fish_proj_using_subcommand logs" -l grep -d 'Only lines matching this regular expression' -r
complete -c proj -n "__fish_proj_using_subcommand logs" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand logs" -s f -l follow -d 'Keep printing new lines as they come'
complete -c proj -n "__fish_proj_using_subcommand logs" -l json -d 'One JSON object per line: {"time": RFC 3339, "name": INSTANCE, "line": TEXT}'
complete -c proj -n "__fish_proj_using_subcommand logs" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand logs" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand wait" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand wait" -l timeout -d 'Give up after this long (`30s`, `2m`; default: wait as long as it takes)' -r
complete -c proj -n "__fish_proj_using_subcommand wait" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand wait" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand wait" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand why" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand why" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand why" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand why" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand events" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand events" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand events" -l json -d 'One JSON object per line: time, name, state, pid, exit_code, reason'
complete -c proj -n "__fish_proj_using_subcommand events" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand events" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand reload" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand reload" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand reload" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand reload" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand down" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand down" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand down" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand down" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand attach" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand attach" -l scrollback -d 'Lines of output the TUI keeps per instance' -r
complete -c proj -n "__fish_proj_using_subcommand attach" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand attach" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand attach" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand connect" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand connect" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand connect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand connect" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand mcp" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand mcp" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand mcp" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand mcp" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose help" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose help" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose help" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose help" -f -a "systemd" -d 'systemd unit(s): PROJECT.service running `proj up`, or one unit per instance'
complete -c proj -n "__fish_proj_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose help" -f -a "kubernetes" -d 'Kubernetes manifests: PROJECT.k8s.yaml (Deployments, Services, Jobs, a ConfigMap and a Secret)'
complete -c proj -n "__fish_proj_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose help" -f -a "compose" -d 'A Compose file: compose.yaml, one service per process'
complete -c proj -n "__fish_proj_using_subcommand export; and not __fish_seen_subcommand_from systemd kubernetes compose help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from systemd" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from systemd" -s o -l output -d 'The directory to write the files into (default: the current directory)' -r -F
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from systemd" -l watchdog -d 'WatchdogSec=: systemd restarts proj when its supervisor stops answering for this long (e.g. 30s)' -r
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from systemd" -l user -d 'User=: the account proj itself runs as (with --per-process: every process without its own `user`)' -r
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from systemd" -l type -d 'Type= of PROJECT.service (default: notify-reload when this machine\'s systemd has it, version 253 or later; notify otherwise)' -r -f -a "notify\t'Type=notify, ExecReload= sends SIGHUP (any systemd)'
notify-reload\t'Type=notify-reload: `systemctl reload` waits until the reload is done (systemd 253+)'"
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from systemd" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from systemd" -l per-process -d 'One unit per instance plus PROJECT.target (foreman\'s layout): systemd runs each process itself, without proj\'s probes, dependency gating or log files'
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from systemd" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from systemd" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l image -d 'The container image every process runs in (the project built into an image, with `sh`), e.g. registry.example.com/shop:1.4' -r
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -s o -l output -d 'The directory to write PROJECT.k8s.yaml into (default: the current directory)' -r -F
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l namespace -d 'metadata.namespace of every object (default: none, so kubectl\'s current namespace)' -r
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l workdir -d 'The project\'s directory in the image (its WORKDIR): every process\'s working directory (or its `cwd` inside it) and PROJ_ROOT' -r
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l no-init-oneshots -d 'Do not hold the pods of the processes that depend on a oneshot until its Job has completed (no init container, service account or Role for it)'
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from compose" -s f -l file -d 'The config file (default: proj.toml or Procfile, found by walking up)' -r -F
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from compose" -l image -d 'The image every service runs (default: each service builds the project directory, `build: .`)' -r
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from compose" -s o -l output -d 'The directory to write compose.yaml into (default: the current directory)' -r -F
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from compose" -l workdir -d 'The project\'s directory in the image (its WORKDIR): every process\'s working directory (or its `cwd` inside it) and PROJ_ROOT' -r
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from compose" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from compose" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from compose" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "systemd" -d 'systemd unit(s): PROJECT.service running `proj up`, or one unit per instance'
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "kubernetes" -d 'Kubernetes manifests: PROJECT.k8s.yaml (Deployments, Services, Jobs, a ConfigMap and a Secret)'
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "compose" -d 'A Compose file: compose.yaml, one service per process'
complete -c proj -n "__fish_proj_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c proj -n "__fish_proj_using_subcommand completions" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand completions" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand man" -s o -l output -d 'The directory to write proj.1, proj-up.1, ... into' -r -F
complete -c proj -n "__fish_proj_using_subcommand man" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand man" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand __guardian" -l color -d 'When to use colours' -r -f -a "auto\t'Colours when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c proj -n "__fish_proj_using_subcommand __guardian" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proj -n "__fish_proj_using_subcommand __guardian" -s V -l version -d 'Print version'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "up" -d 'Start the project\'s processes and supervise them in the foreground (cloning and setting up first when given a git URL)'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "clone" -d 'Clone a project and set it up; start nothing'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "setup" -d 'Run the setup steps (each skipped while its rule says it is done)'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "init" -d 'Write proj.toml from another tool\'s config: a Procfile, supervisord.conf, process-compose.yaml or a pm2 ecosystem file (JSON or YAML)'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "check" -d 'Validate the config and print the plan: instances, start order, ports, commands'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "ps" -d 'The running supervisor\'s instances and their states'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "start" -d 'Start processes of the running supervisor (a name without `.N` means all its instances)'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "stop" -d 'Stop processes of the running supervisor'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "restart" -d 'Restart processes of the running supervisor (every instance when no name is given)'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "scale" -d 'Change how many instances of processes run now (the highest-numbered stop first, through their stop sequence)'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "signal" -d 'Send a signal to processes of the running supervisor: to each instance\'s main process, or with --group to every process of the instance (`proj signal HUP web` reloads gunicorn without a restart)'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "run" -d 'Run a one-off command with the stack\'s environment, in the foreground, outside supervision (as `heroku run`, `docker compose run`); exits with its exit code'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "logs" -d 'Recent output of the running supervisor\'s processes, merged in time order'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "wait" -d 'Wait until instances are running (a oneshot: exited 0); exit 1 as soon as one failed, or at the timeout, naming what is not there'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "why" -d 'Why an instance is in its state: its failure or last exit and its cause, the last probe answer, restarts in the window, its last state changes and lines'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "events" -d 'One line per state change of any instance, until the supervisor ends'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "reload" -d 'Re-read proj.toml: restart what changed, start what is new, stop what is gone'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "down" -d 'Stop everything (reverse dependency order) and end the supervisor'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "attach" -d 'The TUI on the running supervisor (`q` detaches, the processes keep running)'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "connect" -d 'Type into a `tty = true` process: your terminal becomes its terminal (`Ctrl-]` detaches)'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "mcp" -d 'A Model Context Protocol server on stdin/stdout, for coding agents: tools to start, watch, restart and question the running supervisor (see the README for the Claude Code, Cursor and Codex settings)'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "export" -d 'Write what runs the project elsewhere: systemd units, Kubernetes manifests, a Compose file'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "completions" -d 'Print shell completions'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "man" -d 'Write the man pages: proj(1) and one per subcommand (without -o: proj(1) on stdout)'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "__guardian" -d 'The guardian that cleans up if proj is killed (internal)'
complete -c proj -n "__fish_proj_using_subcommand help; and not __fish_seen_subcommand_from up clone setup init check ps start stop restart scale signal run logs wait why events reload down attach connect mcp export completions man __guardian help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c proj -n "__fish_proj_using_subcommand help; and __fish_seen_subcommand_from export" -f -a "systemd" -d 'systemd unit(s): PROJECT.service running `proj up`, or one unit per instance'
complete -c proj -n "__fish_proj_using_subcommand help; and __fish_seen_subcommand_from export" -f -a "kubernetes" -d 'Kubernetes manifests: PROJECT.k8s.yaml (Deployments, Services, Jobs, a ConfigMap and a Secret)'
complete -c proj -n "__fish_proj_using_subcommand help; and __fish_seen_subcommand_from export" -f -a "compose" -d 'A Compose file: compose.yaml, one service per process'
