#!/usr/bin/env bash
# Idempotent setup for a fresh Debian 12 machine with Rust: apt packages, cargo-pgrx, pgrx init.
# Safe to run repeatedly; each step is skipped when already done.
set -euo pipefail

PGRX_VERSION=0.18.0
PG_MAJOR=15
PG_CONFIG=/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config
APT_PACKAGES=(postgresql-${PG_MAJOR} postgresql-server-dev-${PG_MAJOR} libclang-dev clang pkg-config sudo)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# docs/migrating.md's cron.job conversion runs against a real pg_cron (scripts/docs_test.sh).
APT_PACKAGES+=(postgresql-${PG_MAJOR}-cron)
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

PGRX_HOME=${PGRX_HOME:-$HOME/.pgrx}
if ! grep -qs "pg${PG_MAJOR} = \"${PG_CONFIG}\"" "$PGRX_HOME/config.toml"; then
  echo "setup: cargo pgrx init against $PG_CONFIG"
  cargo pgrx init --pg${PG_MAJOR} "$PG_CONFIG"
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
