#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on 127.0.0.1 for the journal's tests, installing the
# Debian packages when the machine has no server. Prints the URL to use as
# PAYMENT_TEST_POSTGRES_URL on its last line. Usage: .ci/postgres.sh DATA_DIR [PORT] [durable];
# .ci/postgres.sh --stop DATA_DIR stops it. Tests run with fsync off (a throwaway cluster);
# `durable` keeps fsync and synchronous_commit on, as a production server has them (benchmarks).
set -euo pipefail
if [ "${1:-}" = "--stop" ]; then
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bin/pg_ctl" stop -D "$2" -m fast; else "$bin/pg_ctl" stop -D "$2" -m fast; fi
    exit 0
fi
data="$1"
port="${2:-15432}"
sync="-c fsync=off"
[ "${3:-}" = "durable" ] && sync="-c fsync=on -c synchronous_commit=on"

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }
if [ -z "$(bindir)" ] || [ ! -x "$(bindir)/initdb" ]; then
    echo "installing PostgreSQL from the Debian packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || true
    apt-get install -y -qq postgresql >&2
fi
bin="$(bindir)"

# The server refuses to run as root: run it as the packages' postgres user when we are root.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# A cluster left running in DATA_DIR (an earlier run) is stopped before its files go.
if [ -f "$data/postmaster.pid" ]; then as_pg "$bin/pg_ctl" stop -D "$data" -m immediate >&2 || true; fi
rm -rf "$data"
mkdir -p "$data"
[ "$(id -u)" = 0 ] && chown postgres "$data"
as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
as_pg "$bin/pg_ctl" start -D "$data" -w -l "$data/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $data $sync -c max_connections=200" >&2
as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres payment_journal_test
echo "postgres://postgres@127.0.0.1:$port/payment_journal_test"
