#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the test suite.
#
#   scripts/postgres.sh start    # initdb + start; last stdout line is the admin URL
#   scripts/postgres.sh stop     # stop the cluster and delete its data dir
#   scripts/postgres.sh url      # print the admin URL of the running cluster
#   scripts/postgres.sh status   # exit 0 if the recorded cluster is running
#   scripts/postgres.sh log      # print the end of the server's log
#
# The cluster lives in a fresh temp dir (/tmp/allmenning-pg-XXXXXX), listens on
# 127.0.0.1 only (port 55432 or the next free one), trusts loopback connections,
# and runs with fsync off: it is for tests, never for data you care about.
# PostgreSQL refuses to run as root, so as root the server runs as the
# `postgres` OS user (created by Debian's postgresql package). It does not use
# systemd or Debian's own clusters (pg_ctlcluster), so the `main` cluster that
# the package may create is left alone.
#
# Environment:
#   ALLMENNING_PG_STATE  state file (default /tmp/allmenning-pg.state)
#   ALLMENNING_PG_PORT   first port to try (default 55432)
#   ALLMENNING_PG_BIN    directory with initdb/pg_ctl (default: PostgreSQL 15's,
#                        else the newest under /usr/lib/postgresql)
set -euo pipefail

STATE_FILE="${ALLMENNING_PG_STATE:-/tmp/allmenning-pg.state}"
FIRST_PORT="${ALLMENNING_PG_PORT:-55432}"
PORT_ATTEMPTS=50

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Directory holding initdb and pg_ctl.
find_bindir() {
    if [[ -n "${ALLMENNING_PG_BIN:-}" ]]; then
        echo "$ALLMENNING_PG_BIN"
        return
    fi
    if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
        echo /usr/lib/postgresql/15/bin
        return
    fi
    local newest
    newest="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    if [[ -n "$newest" && -x "$newest/initdb" ]]; then
        echo "$newest"
        return
    fi
    if command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/initdb" ]]; then
        pg_config --bindir
        return
    fi
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    die "PostgreSQL server binaries not found; install them with: apt-get install -y postgresql"
}

# Run a command as the OS user that owns the cluster: `postgres` when we are
# root (PostgreSQL refuses to run as root), otherwise ourselves.
as_pg() {
    if [[ $EUID -ne 0 ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u postgres -- "$@"
    else
        # su takes one command string; quote every argument.
        su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    fi
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

read_state() {
    PG_DIR=""
    PG_PORT=""
    PG_BINDIR=""
    [[ -f "$STATE_FILE" ]] || return 1
    # The state file is ours and holds only KEY=value lines we wrote.
    while IFS='=' read -r key value; do
        case "$key" in
            dir) PG_DIR="$value" ;;
            port) PG_PORT="$value" ;;
            bindir) PG_BINDIR="$value" ;;
        esac
    done <"$STATE_FILE"
    [[ -n "$PG_DIR" && -n "$PG_PORT" && -n "$PG_BINDIR" ]]
}

url_for() { echo "postgres://postgres@127.0.0.1:$1/postgres"; }

is_running() {
    [[ -d "$PG_DIR/data" ]] && as_pg "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1
}

cmd_start() {
    if read_state; then
        if is_running; then
            log "already running (data dir $PG_DIR, port $PG_PORT)"
            url_for "$PG_PORT"
            return 0
        fi
        log "stale state file $STATE_FILE; cleaning up"
        cmd_stop
    fi

    local bindir
    bindir="$(find_bindir)"
    if [[ $EUID -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        die "running as root but there is no 'postgres' OS user (apt-get install -y postgresql creates it)"
    fi

    local dir
    dir="$(mktemp -d /tmp/allmenning-pg-XXXXXX)"
    if [[ $EUID -eq 0 ]]; then
        chown postgres: "$dir"
    fi
    chmod 700 "$dir"

    log "initdb in $dir/data ($("$bindir/postgres" --version))"
    if ! as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        die "initdb failed"
    fi

    # Only loopback, trust: the cluster is throwaway and reachable only from
    # this machine.
    as_pg tee "$dir/data/pg_hba.conf" >/dev/null <<'EOF'
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
EOF

    local port="$FIRST_PORT" attempt started=""
    for ((attempt = 0; attempt < PORT_ATTEMPTS; attempt++, port++)); do
        if port_in_use "$port"; then
            continue
        fi
        as_pg tee "$dir/data/postgresql.auto.conf" >/dev/null <<EOF
# Written by scripts/postgres.sh: test-only settings.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOF
        if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
            started=1
            break
        fi
        # Lost a race for the port (or another failure): show why, try the next.
        log "could not start on port $port:"
        tail -n 5 "$dir/server.log" >&2 || true
        if ! grep -qiE 'could not (bind|create listen)|address already in use' "$dir/server.log" 2>/dev/null; then
            rm -rf "$dir"
            die "PostgreSQL failed to start"
        fi
    done
    if [[ -z "$started" ]]; then
        rm -rf "$dir"
        die "no free port in $FIRST_PORT..$((FIRST_PORT + PORT_ATTEMPTS - 1))"
    fi

    printf 'dir=%s\nport=%s\nbindir=%s\n' "$dir" "$port" "$bindir" >"$STATE_FILE"
    log "started on 127.0.0.1:$port (data dir $dir, log $dir/server.log)"
    url_for "$port"
}

cmd_stop() {
    if ! read_state; then
        log "not running (no state file $STATE_FILE)"
        rm -f "$STATE_FILE"
        return 0
    fi
    if is_running; then
        if ! as_pg "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
            log "fast shutdown failed; using immediate"
            as_pg "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
        fi
        log "stopped (port $PG_PORT)"
    fi
    # Only ever delete a dir that looks like one of ours.
    case "$PG_DIR" in
        /tmp/allmenning-pg-*) rm -rf "$PG_DIR" ;;
        *) log "not deleting unexpected data dir '$PG_DIR'" ;;
    esac
    rm -f "$STATE_FILE"
}

cmd_url() {
    if ! read_state || ! is_running; then
        die "not running"
    fi
    url_for "$PG_PORT"
}

cmd_status() {
    if read_state && is_running; then
        log "running on 127.0.0.1:$PG_PORT (data dir $PG_DIR)"
    else
        log "not running"
        return 1
    fi
}

cmd_log() {
    read_state || die "no cluster recorded in $STATE_FILE"
    tail -n "${LINES_OF_LOG:-100}" "$PG_DIR/server.log"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    url) cmd_url ;;
    status) cmd_status ;;
    log) cmd_log ;;
    *)
        echo "usage: $0 start|stop|url|status|log" >&2
        exit 2
        ;;
esac
