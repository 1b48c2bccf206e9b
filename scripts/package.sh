#!/usr/bin/env bash
# `make package PG=<major>`: builds postgresql-<major>-workflow-scheduler_<version>-<rev>_amd64.deb
# in the layout of Debian's own postgresql-<major>-* extension packages:
#   /usr/lib/postgresql/<major>/lib/workflow_scheduler.so
#   /usr/share/postgresql/<major>/extension/   control file, the current install script,
#                                              every frozen released install script, every upgrade script
#   /usr/share/doc/postgresql-<major>-workflow-scheduler/   copyright, changelog.Debian.gz
#
#   scripts/package.sh [MAJOR]      (default 15)
# Environment:
#   PG_CONFIG       the pg_config to build against (default /usr/lib/postgresql/MAJOR/bin/pg_config)
#   WS_PACKAGE_SRC  the source tree to build (default this checkout); the package test points it
#                   at an export of the 0.1.0 release commit
#   WS_PACKAGE_OUT  where the .deb goes (default target/debian); its path is printed last
# The packaging templates (packaging/debian/) always come from this checkout.
# The Debian version is Cargo.toml's version plus the revision of its newest entry in
# packaging/debian/changelog (0.2.0-1): the packaging of upstream code, as Debian's own
# postgresql-<major>-* packages are, so its changelog is changelog.Debian.gz.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
major=${1:-15}
src=$(realpath "${WS_PACKAGE_SRC:-$repo}")
out=$(realpath -m "${WS_PACKAGE_OUT:-$repo/target/debian}")
pg_config=${PG_CONFIG:-/usr/lib/postgresql/$major/bin/pg_config}
templates=$repo/packaging/debian

# dpkg-shlibdeps comes with dpkg-dev, which a machine with only Rust may lack.
if ! command -v dpkg-shlibdeps >/dev/null; then
  echo "package: installing dpkg-dev (for dpkg-shlibdeps)"
  apt_root=(); [ "$(id -u)" -eq 0 ] || apt_root=(sudo)
  "${apt_root[@]}" apt-get update -qq
  "${apt_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev
fi

[ -x "$pg_config" ] || { echo "package: no pg_config at $pg_config (set PG_CONFIG)" >&2; exit 1; }
built_major=$("$pg_config" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
if [ "$built_major" != "$major" ]; then
  echo "package: $pg_config is PostgreSQL $built_major, not $major" >&2
  exit 1
fi

version=$(sed -n '/^\[package\]/,/^\[/ s/^version = "\(.*\)"$/\1/p' "$src/Cargo.toml" | head -n 1)
[ -n "$version" ] || { echo "package: no version in $src/Cargo.toml" >&2; exit 1; }
name=postgresql-$major-workflow-scheduler
# The newest changelog entry of this version: `workflow-scheduler (0.2.0-1) unstable; ...`.
entry=$(grep -m 1 -E "^workflow-scheduler \(${version//./\\.}-[0-9]+\) " "$templates/changelog" || true)
[ -n "$entry" ] || { echo "package: packaging/debian/changelog has no entry for $version-<revision>" >&2; exit 1; }
debversion=$(echo "$entry" | sed -E 's/^[^(]*\(([^)]*)\).*/\1/')
deb=$out/${name}_${debversion}_amd64.deb

# A release build through pgrx: the library, the control file, the generated install script of
# this version and the upgrade scripts in sql/ (the same build scripts/install.sh does).
work=$src/target/ws-deb-$major
rm -rf "$work"
(cd "$src" && cargo pgrx package --pg-config "$pg_config" --out-dir "$work/pgrx")

# The package always uses Debian's paths, whatever pg_config says (a server under /opt is only
# a build host: the package is for Debian's postgresql-<major>).
# Laid out as debian/<package>/ so dpkg-shlibdeps finds it where it expects.
root=$work/debian/$name
libdir=$root/usr/lib/postgresql/$major/lib
extdir=$root/usr/share/postgresql/$major/extension
docdir=$root/usr/share/doc/$name
mkdir -p "$libdir" "$extdir" "$docdir"
find "$work/pgrx" -name '*.so' -type f -exec cp {} "$libdir/" \;
find "$work/pgrx" -path '*/extension/*' -type f -exec cp {} "$extdir/" \;
# Frozen install scripts of released versions: CREATE EXTENSION ... VERSION '<old>' and the
# upgrade path from it. For a release build the frozen script replaces the generated one.
for file in "$src"/sql/released/*.sql; do
  [ -e "$file" ] && cp "$file" "$extdir/"
done
[ -f "$libdir/workflow_scheduler.so" ] || { echo "package: pgrx built no workflow_scheduler.so" >&2; exit 1; }
[ -f "$extdir/workflow_scheduler--$version.sql" ] || { echo "package: no install script for $version" >&2; exit 1; }
# Debug symbols and the .comment section are not shipped, as in Debian's packages.
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$libdir/workflow_scheduler.so"

cp "$templates/copyright" "$docdir/copyright"
# The changelog from this version's entry down: a package of an older version does not
# announce what came later.
awk -v head="$entry" '$0 == head { found = 1 } found' "$templates/changelog" |
  gzip -9nc >"$docdir/changelog.Debian.gz"

find "$root" -type d -exec chmod 755 {} +
find "$root" -type f -exec chmod 644 {} +

# Shared-library dependencies as Debian computes them. dpkg-shlibdeps wants a debian/control;
# the symbols the library takes from the postgres executable are not in any library, so its
# warnings about them are silenced.
mkdir -p "$root/DEBIAN"
printf 'Source: workflow-scheduler\n\nPackage: %s\nArchitecture: amd64\n' "$name" >"$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O --warnings=0 -e"debian/$name/usr/lib/postgresql/$major/lib/workflow_scheduler.so" |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "package: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@MAJOR@/$major/g" -e "s/@VERSION@/$debversion/g" \
  -e "s/@INSTALLED_SIZE@/$installed_size/g" -e "s/@SHLIBS_DEPENDS@/$shlibs/g" \
  "$templates/control.in" >"$root/DEBIAN/control"
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

mkdir -p "$out"
dpkg-deb --build --root-owner-group -Zxz "$root" "$deb" >/dev/null
echo "package: $(dpkg-deb --show "$deb" | tr '\t' ' ')"
echo "$deb"
