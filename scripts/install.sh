#!/usr/bin/env bash
# `make install`: builds the extension and installs it into the system PostgreSQL 15, or into the
# major whose pg_config is $PG_CONFIG (`make install PG=17`).
#
# Every file is written next to its destination under a temporary name and renamed over the
# old one. A running server that has the old library mapped keeps using the old file (the
# rename leaves its inode alone) until it restarts; copying over it in place, as
# `cargo pgrx install` does, crashed such a server.
#
# Besides what `cargo pgrx package` produces (the library, the control file, the current
# version's install script and the upgrade scripts in sql/), it installs the frozen install
# scripts of released versions (sql/released/), so `CREATE EXTENSION ... VERSION '0.1.0'`
# followed by `ALTER EXTENSION ... UPDATE` works, as in the upgrade test.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
# Cargo.toml's default feature is pg15; another major builds with its own feature only.
major=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
# One folder per major, so that installs into two majors at once do not mix their files.
package=target/ws-package-$major
rm -rf "$package"
features=()
[ "$major" = 15 ] || features=(--no-default-features --features "pg$major")
cargo pgrx package --pg-config "$PG_CONFIG" --out-dir "$package" "${features[@]}"

libdir=$("$PG_CONFIG" --pkglibdir)
extdir=$("$PG_CONFIG" --sharedir)/extension

# install_file SRC DIR: an atomic replace of DIR/basename(SRC).
install_file() {
  local name tmp
  name=$(basename "$1")
  tmp="$2/.$name.new.$$"
  cp "$1" "$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$2/$name"
  echo "installed $2/$name"
}

find "$package" -name '*.so' -type f -print0 | while IFS= read -r -d '' file; do install_file "$file" "$libdir"; done
find "$package" -path '*/extension/*' -type f -print0 | while IFS= read -r -d '' file; do install_file "$file" "$extdir"; done
for file in sql/released/*.sql; do install_file "$file" "$extdir"; done
