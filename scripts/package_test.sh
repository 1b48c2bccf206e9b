#!/usr/bin/env bash
# `make test-package`: the Debian package, installed with apt into the system PostgreSQL 15.
#   1. builds the 0.1.0 package (an export of the release commit) and the current one;
#   2. apt-get installs 0.1.0, creates the extension in a fresh cluster, adds a schedule;
#   3. apt-get installs the current package over it (a package upgrade), restarts the server,
#      ALTER EXTENSION ... UPDATE, and a psql client LISTENing receives a one-time schedule's
#      fire; CREATE EXTENSION in a second database gives the current version;
#   4. apt-get remove, then every file the package installed is gone and dpkg knows it.
# `make install` writes the same files outside dpkg, and dpkg silently takes over files no
# package owns (and deletes them on removal). So the files found there are saved first and put
# back at the end: the system is left as found, whatever checkout installed it, with no rebuild.
# Steps 2-4 run under `flock -x /tmp/system-pg15.lock`, as everything that writes there does
# (WS_SYSTEM_PG_LOCK_HELD=1: the caller holds it already).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

RELEASE_COMMIT=a6c57db # 0.1.0 was released from this commit (no tag)
# a6c57db froze the 0.1.0 install script and moved 15 files without updating their module
# declarations, so its tree does not compile; its parent has the same files under the old
# paths. The 0.1.0 package is built from the parent's tree plus the frozen script, and the
# test first checks that the two commits differ by exactly that.
BUILD_COMMIT=$RELEASE_COMMIT^
MAJOR=15
PACKAGE=postgresql-$MAJOR-workflow-scheduler
PG_BIN=/usr/lib/postgresql/$MAJOR/bin
dir=${WS_PKG_DIR:-/tmp/pk-test}
port=${WS_PKG_PORT:-55201}
backup=$dir-saved
lock=/tmp/system-pg15.lock
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# ---- Phase 1: build both packages (writes only under target/) ----------------------------
if [ "${1:-}" != --installed-phase ]; then
  old_src=$repo/target/ws-release-0.1.0
  if ! git cat-file -e "$RELEASE_COMMIT^{commit}" 2>/dev/null; then
    echo "package_test: commit $RELEASE_COMMIT (release 0.1.0) is not in this clone; fetch the full history" >&2
    exit 1
  fi
  unexpected=$(git diff -M --name-status "$BUILD_COMMIT" "$RELEASE_COMMIT" |
    grep -Ev '^R100'$'\t''|^A'$'\t''sql/released/' || true)
  if [ -n "$unexpected" ]; then
    echo "package_test: $RELEASE_COMMIT differs from its parent by more than moves and sql/released/:" >&2
    echo "$unexpected" >&2
    exit 1
  fi
  # A fresh export, but its target directory is kept: git archive gives every file the
  # commit's time, so a second run rebuilds nothing.
  mkdir -p "$old_src"
  find "$old_src" -mindepth 1 -maxdepth 1 ! -name target -exec rm -rf {} +
  git archive "$BUILD_COMMIT" | tar -x -C "$old_src"
  git archive "$RELEASE_COMMIT" sql/released | tar -x -C "$old_src"
  old_deb=$(WS_PACKAGE_SRC=$old_src bash scripts/package.sh "$MAJOR" | tail -n 1)
  new_deb=$(bash scripts/package.sh "$MAJOR" | tail -n 1)

  # Debian's package checker, errors and warnings fatal. initial-upload-closes-no-bugs is about
  # uploads to the Debian archive (an ITP bug), which this package is not.
  if ! command -v lintian >/dev/null; then
    echo "package_test: installing lintian"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lintian
  fi
  for deb in "$old_deb" "$new_deb"; do
    echo "== lintian $(basename "$deb")"
    status=0
    report=$(lintian --fail-on error,warning --suppress-tags initial-upload-closes-no-bugs "$deb" 2>&1) || status=$?
    echo "$report" | grep -v 'running with root privileges is not recommended' || true
    [ "$status" -eq 0 ] || { echo "package_test: FAIL: lintian $(basename "$deb")" >&2; exit 1; }
  done
  # A caller that already holds the lock (flock -x ... make test-package) says so, or this
  # would wait for itself.
  if [ "${WS_SYSTEM_PG_LOCK_HELD:-}" = 1 ]; then
    exec bash "$0" --installed-phase "$old_deb" "$new_deb"
  fi
  if ! flock -x -w 1 "$lock" true; then
    echo "package_test: waiting for $lock (if your own command holds it, set WS_SYSTEM_PG_LOCK_HELD=1)"
  fi
  # -o: the lock is held by flock itself, not inherited by the servers the test starts.
  exec flock -x -o "$lock" bash "$0" --installed-phase "$old_deb" "$new_deb"
fi

# ---- Phase 2: install, use, upgrade, remove (under the exclusive lock) ---------------------
old_deb=$2
new_deb=$3
old_version=$(dpkg-deb -f "$old_deb" Version) # Debian versions: 0.1.0-1
new_version=$(dpkg-deb -f "$new_deb" Version)
new_upstream=${new_version%-*}                   # the extension's version: 0.2.0
[ "${old_version%-*}" = 0.1.0 ] || { echo "package_test: $old_deb is version $old_version" >&2; exit 1; }

fail() { echo "package_test: FAIL: $*" >&2; exit 1; }
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}
apt_get() { as_root env DEBIAN_FRONTEND=noninteractive apt-get -y -q "$@"; }
sql() { as_pg "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres "$@"; }
installed_version() { dpkg-query -W -f='${db:Status-Status} ${Version}' "$PACKAGE" 2>/dev/null || true; }
# The files (not directories) a .deb installs, as absolute paths.
deb_files() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }'; }

if installed_version | grep -q '^installed'; then
  fail "$PACKAGE is already installed; remove it first (apt-get remove $PACKAGE)"
fi

# Save what is there now (from `make install`, or nothing), to put back at the end.
rm -rf "$backup"
mkdir -p "$backup"
: >"$backup/list"
for file in $( (deb_files "$old_deb"; deb_files "$new_deb") | sort -u); do
  if [ -e "$file" ]; then
    mkdir -p "$backup$(dirname "$file")"
    cp -p "$file" "$backup$file"
    echo "$file" >>"$backup/list"
  fi
done
# Their checksums, to check the restore.
saved_sums=$(while IFS= read -r file; do md5sum "$file"; done <"$backup/list")

restore() {
  # Each file back by rename, as scripts/install.sh writes them.
  while IFS= read -r file; do
    cp -p "$backup$file" "$file.pkgtest.$$"
    mv -f "$file.pkgtest.$$" "$file"
  done <"$backup/list"
  rm -rf "$backup"
}
cleanup() {
  bash scripts/cluster.sh stop "$dir"
  [ -n "${listener:-}" ] && kill "$listener" 2>/dev/null
  if installed_version | grep -q '^installed'; then apt_get remove "$PACKAGE" >/dev/null; fi
  [ -d "$backup" ] && restore
  return 0
}
trap cleanup EXIT

echo "== apt-get install $(basename "$old_deb")"
apt_get install "$old_deb" >/dev/null
[ "$(installed_version)" = "installed $old_version" ] || fail "dpkg reports '$(installed_version)'"
libfile=/usr/lib/postgresql/$MAJOR/lib/workflow_scheduler.so
extdir=/usr/share/postgresql/$MAJOR/extension
grep -qx "$libfile" <<<"$(dpkg -L "$PACKAGE")" || fail "dpkg -L does not list $libfile"
[ -f "$extdir/workflow_scheduler--0.1.0.sql" ] || fail "no 0.1.0 install script"

bash scripts/cluster.sh start "$dir" "$port" \
  "workflow_scheduler.database_name = 'pk_app'" \
  "workflow_scheduler.poll_interval = '200ms'"
as_pg "$PG_BIN/createdb" -h "$dir" -p "$port" -U postgres pk_app
sql -d pk_app -c "CREATE EXTENSION workflow_scheduler" >/dev/null
v=$(sql -d pk_app -c "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'workflow_scheduler'")
[ "$v" = 0.1.0 ] || fail "CREATE EXTENSION with the 0.1.0 package gave version '$v'"
cron_id=$(sql -d pk_app -c "SELECT workflow_scheduler.schedule_add(
    '6b0e4a5c-0000-4000-8000-000000000010',
    '{\"schedule_type\": \"cron\", \"cron_expression\": \"0 9 * * mon-fri\", \"timezone\": \"Europe/Berlin\"}',
    42, 1) ->> 'schedule_id'")
[ -n "$cron_id" ] || fail "schedule_add under 0.1.0 returned no schedule_id"
echo "0.1.0: extension created, cron schedule $cron_id added"

echo "== apt-get install $(basename "$new_deb") (upgrade of the package)"
apt_get install "$new_deb" >/dev/null
[ "$(installed_version)" = "installed $new_version" ] || fail "dpkg reports '$(installed_version)'"
for script in "workflow_scheduler--0.1.0.sql" "workflow_scheduler--$new_upstream.sql" \
  "workflow_scheduler--0.1.0--$new_upstream.sql"; do
  grep -qx "$extdir/$script" <<<"$(dpkg -L "$PACKAGE")" || fail "the package lacks $script"
done
cmp -s "$libfile" <(dpkg-deb --fsys-tarfile "$new_deb" | tar -xO ".$libfile") ||
  fail "$libfile is not the new package's library"

as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null
sql -d pk_app -c "ALTER EXTENSION workflow_scheduler UPDATE"
v=$(sql -d pk_app -c "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'workflow_scheduler'")
[ "$v" = "$new_upstream" ] || fail "ALTER EXTENSION UPDATE gave version '$v'"
kept=$(sql -d pk_app -c "SELECT workflow_scheduler.schedule_get('$cron_id') ->> 'cron_expression'")
[ "$kept" = "0 9 * * mon-fri" ] || fail "the 0.1.0 schedule after the upgrade: '$kept'"
echo "$new_upstream: extension updated, the 0.1.0 schedule kept"

# A real client: psql LISTENs, then runs one short statement after another, printing each
# notification as it arrives; it is stopped once the fire is seen (or after 60 statements).
{
  echo "LISTEN workflow_scheduler;"
  echo "SELECT 'listening';"
  for _ in $(seq 1 60); do echo "SELECT pg_catalog.pg_sleep(1);"; done
} >"$dir/listen.sql"
as_pg "$PG_BIN/psql" -X -At -h "$dir" -p "$port" -U postgres -d pk_app <"$dir/listen.sql" >"$dir/listen.out" 2>&1 &
listener=$!
for _ in $(seq 1 100); do grep -q '^listening$' "$dir/listen.out" && break; sleep 0.1; done
grep -q '^listening$' "$dir/listen.out" || fail "the psql listener did not start: $(cat "$dir/listen.out")"

one_time_id=$(sql -d pk_app -c "SELECT workflow_scheduler.schedule_add(
    '6b0e4a5c-0000-4000-8000-000000000011',
    pg_catalog.jsonb_build_object('schedule_type', 'one_time',
        'scheduled_time', pg_catalog.to_char((pg_catalog.now() + interval '4 seconds') AT TIME ZONE 'UTC',
                                             'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')),
    42, 1) ->> 'schedule_id'")
[ -n "$one_time_id" ] || fail "schedule_add under $new_upstream returned no schedule_id"
echo "one-time schedule $one_time_id due in about 4 s; waiting for its NOTIFY"
fired=""
while kill -0 "$listener" 2>/dev/null; do
  fired=$(grep -o 'Asynchronous notification "workflow_scheduler" with payload ".*" received' "$dir/listen.out" |
    grep -E "\"schedule_id\": ?\"$one_time_id\"" || true)
  [ -n "$fired" ] && break
  sleep 0.5
done
kill "$listener" 2>/dev/null || true
wait "$listener" 2>/dev/null || true
listener=""
[ -n "$fired" ] || fail "no notification for $one_time_id; the listener saw: $(grep -c notification "$dir/listen.out") notifications"
echo "received: $fired"

as_pg "$PG_BIN/createdb" -h "$dir" -p "$port" -U postgres pk_fresh
sql -d pk_fresh -c "CREATE EXTENSION workflow_scheduler" >/dev/null 2>&1
v=$(sql -d pk_fresh -c "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'workflow_scheduler'")
[ "$v" = "$new_upstream" ] || fail "CREATE EXTENSION in a second database gave version '$v'"
echo "second database: CREATE EXTENSION gives $v"
bash scripts/cluster.sh stop "$dir"

echo "== apt-get remove $PACKAGE"
owned=$(dpkg -L "$PACKAGE")
apt_get remove "$PACKAGE" >/dev/null
status=$(installed_version)
case "$status" in
  "" | "not-installed "* | "config-files "*) ;;
  *) fail "after removal dpkg reports '$status'" ;;
esac
dpkg -L "$PACKAGE" >/dev/null 2>&1 && fail "dpkg -L still lists files of $PACKAGE"
left=""
for path in $owned; do
  # Directories shared with PostgreSQL stay; every file and the package's own doc dir go.
  if [ -e "$path" ] && { [ ! -d "$path" ] || [ "$path" = "/usr/share/doc/$PACKAGE" ]; }; then left="$left $path"; fi
done
[ -z "$left" ] || fail "left behind after removal:$left"
echo "removed: dpkg reports '${status:-unknown package}', none of its $(echo "$owned" | wc -l) paths is left"

trap - EXIT
saved=$(wc -l <"$backup/list")
restore
if [ -n "$saved_sums" ]; then
  echo "$saved_sums" | md5sum --quiet -c - || fail "the files found before the test were not restored"
fi
echo "restored the $saved files found before the test, byte for byte"
echo "package test passed"
