#!/usr/bin/env bash
# Local PostgreSQL for development and tests: TCP on 127.0.0.1:${PGPORT:-55432} only, superuser nmd / password nmd,
# databases partners, stories, newsletter, pages, staff.
#
#   postgres.sh start|stop|status
#
# `start` is idempotent, installs Debian's postgresql package if no server is found, and prints on stdout:
#   DATABASE_URL=postgresql+psycopg://nmd:nmd@127.0.0.1:55432/<db>
#   TEST_POSTGRES_URL=postgresql+psycopg://nmd:nmd@127.0.0.1:55432/postgres
# The cluster lives in <repo>/var/postgres/data. PostgreSQL refuses to run as root, so under root the server runs as
# the system user nmdpg; if nmdpg cannot reach <repo>/var (a parent directory without o+x), the data goes to
# /var/tmp/nmd-postgres-<hash of the var path>/data instead and <repo>/var/postgres/data is a symlink to it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VAR=${NMD_VAR_DIR:-$REPO/var}
PORT=${PGPORT:-55432}
USER_NAME=nmd
PASSWORD=nmd
DATABASES=(partners stories newsletter pages staff)
RUN_USER=nmdpg
START_TIMEOUT=${PG_START_TIMEOUT:-60}

die() { echo "postgres.sh: $*" >&2; exit 1; }
say() { echo "postgres.sh: $*" >&2; }

find_bin() {
    local postgres
    latest() { printf '%s\n' /usr/lib/postgresql/*/bin/postgres | sort -V | tail -n 1; }
    postgres=$(latest)
    if [[ ! -x $postgres ]]; then
        [[ $(id -u) == 0 ]] || die "no PostgreSQL server found; install Debian's postgresql package (needs root)"
        say "installing Debian's postgresql package"
        # Without this the package creates and starts a 'main' cluster on 5432 that nothing here uses.
        mkdir -p /etc/postgresql-common
        echo "create_main_cluster = false" >>/etc/postgresql-common/createcluster.conf
        apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confold postgresql >&2
        postgres=$(latest)
    fi
    BIN=$(dirname "$postgres")
}

# Prefix for commands that must run as the cluster's owner.
AS_SERVER=()
[[ $(id -u) == 0 ]] && AS_SERVER=(runuser -u "$RUN_USER" --)
as_server() { "${AS_SERVER[@]}" "$@"; }

choose_data_dir() {
    local home=$VAR/postgres
    mkdir -p "$home"
    DATA=$home/data
    LOG=$home/postgres.log
    [[ $(id -u) == 0 ]] || return 0
    id "$RUN_USER" >/dev/null 2>&1 ||
        useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$RUN_USER"
    chown "$RUN_USER:" "$home"
    if ! runuser -u "$RUN_USER" -- test -w "$home" -a -x "$home"; then
        local alt
        alt=/var/tmp/nmd-postgres-$(printf %s "$VAR" | sha256sum | cut -c1-12)
        [[ -d $alt/data ]] || say "$RUN_USER cannot reach $home (a parent directory is not traversable); using $alt"
        mkdir -p "$alt" && chown "$RUN_USER:" "$alt" && chmod 700 "$alt"
        [[ -L $DATA || ! -e $DATA ]] && ln -sfn "$alt/data" "$DATA"
        DATA=$alt/data
        LOG=$alt/postgres.log
    fi
}

init_cluster() {
    [[ -f $DATA/PG_VERSION ]] && return 0
    say "initdb in $DATA"
    local pwfile
    pwfile=$(mktemp)
    echo "$PASSWORD" >"$pwfile"
    [[ $(id -u) == 0 ]] && chown "$RUN_USER" "$pwfile"
    as_server "$BIN/initdb" -D "$DATA" -U "$USER_NAME" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
        --auth-host=scram-sha-256 --auth-local=reject >"$DATA.initdb.log" 2>&1 ||
        { rm -f "$pwfile"; cat "$DATA.initdb.log" >&2; die "initdb failed"; }
    rm -f "$pwfile"
    # A throwaway test/dev server: durability settings off for speed (per-test CREATE DATABASE, fast commits).
    as_server tee -a "$DATA/postgresql.conf" >/dev/null <<EOF

# --- added by infra/postgres/postgres.sh ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

running() { [[ -f $DATA/PG_VERSION ]] && as_server "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

psql_admin() { PGPASSWORD=$PASSWORD "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U "$USER_NAME" "$@"; }

create_databases() {
    local db
    for db in "${DATABASES[@]}"; do
        if [[ -z $(psql_admin -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
            psql_admin -d postgres -c "CREATE DATABASE $db"
            say "created database $db"
        fi
    done
}

print_urls() {
    echo "DATABASE_URL=postgresql+psycopg://$USER_NAME:$PASSWORD@127.0.0.1:$PORT/<db>"
    echo "TEST_POSTGRES_URL=postgresql+psycopg://$USER_NAME:$PASSWORD@127.0.0.1:$PORT/postgres"
}

start() {
    if running; then
        say "already running"
    else
        port_busy "$PORT" && die "port $PORT is already in use by another process"
        init_cluster
        # setsid: the server outlives the shell or pytest session that started it and ignores their Ctrl-C.
        # 9>&- : the start lock must not be inherited by the long-lived server.
        setsid "${AS_SERVER[@]}" "$BIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t "$START_TIMEOUT" -o "-p $PORT" \
            >&2 9>&- ||
            { tail -n 30 "$LOG" >&2; die "PostgreSQL did not start"; }
    fi
    local deadline=$((SECONDS + START_TIMEOUT))
    until "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; do
        ((SECONDS < deadline)) || die "pg_isready failed for ${START_TIMEOUT}s on 127.0.0.1:$PORT"
        sleep 0.2
    done
    create_databases
    print_urls
}

stop() {
    running || { say "not running"; return 0; }
    as_server "$BIN/pg_ctl" stop -D "$DATA" -m fast -w -t 30 >&2 ||
        as_server "$BIN/pg_ctl" stop -D "$DATA" -m immediate -w -t 10 >&2
}

status() {
    if running && "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
        echo "running ($DATA, 127.0.0.1:$PORT)"
        print_urls
    else
        echo "stopped ($DATA)"
        return 3
    fi
}

cmd=${1:-}
[[ $cmd =~ ^(start|stop|status)$ ]] || die "usage: postgres.sh start|stop|status"
find_bin
choose_data_dir
if [[ $cmd != status ]]; then
    exec 9>"$VAR/.postgres.lock"
    flock 9  # concurrent starts (e.g. parallel test workers) queue up
fi
"$cmd"
