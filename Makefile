# workflow_scheduler: every entry point a developer or CI needs.
#   make demo    the main job: a throwaway cluster, schedules firing, notifications printed
#   make test    formatting and lints, then every test layer (unit, in-database, pg_regress
#                golden files, end-to-end)
#   make bench   benchmarks; figures go to docs/benchmarks.md by hand
#   make test PG=17   the same against another PostgreSQL major (13..18; 15 is the default)
#   make test-all     every layer on every supported major
#   make package PG=<major>   the Debian package (target/debian/), see docs/installation.md
# Each target first runs scripts/setup.sh, which installs what is missing, idempotently.

# The PostgreSQL major to build and test against: 15 is Debian's package, the others are
# installed by scripts/setup.sh under $(PG_HOME)/<major> (see docs/installation.md).
PG ?= 15
PG_MAJORS := 13 14 15 16 17 18
PG_NEWEST := 18
PG_HOME ?= /opt/pgrx-pg
ifeq ($(PG),15)
PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
PGRX_FEATURES :=
else
PG_CONFIG ?= $(PG_HOME)/$(PG)/bin/pg_config
PGRX_FEATURES := --no-default-features --features pg$(PG)
endif
export PG PG_HOME PG_CONFIG
PGRX_TEST_DIR ?= /tmp/ws-pgrx-test-$(PG)
ROOT := $(shell [ "$$(id -u)" -eq 0 ] && echo yes)

.PHONY: setup install lint test test-unit test-pg test-e2e test-regress test-all test-newest demo bench clean package test-package

setup:
	@bash scripts/setup.sh

# Installs by writing new files and renaming them over the old ones (scripts/install.sh), so a
# running server keeps its library until it restarts.
install: setup
	PG_CONFIG=$(PG_CONFIG) bash scripts/install.sh

# The package test installs into the system PostgreSQL 15: it belongs to PG=15's run only.
test: setup lint test-unit test-pg test-e2e $(if $(filter 15,$(PG)),test-package)

# Every layer on every supported major, one after the other.
test-all: lint test-unit
	set -e; for major in $(PG_MAJORS); do \
	  env -u PG_CONFIG -u PGRX_TEST_DIR $(MAKE) --no-print-directory test-pg test-e2e PG=$$major; done

# CI's addition to `make test` (.ci/run): the newest major's in-database and pg_regress layers.
test-newest:
	env -u PG_CONFIG -u PGRX_TEST_DIR $(MAKE) --no-print-directory test-pg test-regress PG=$(PG_NEWEST)

# rustfmt.toml sets the style; clippy's warnings are errors.
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

# Layer 1: the pure crates: time logic (every conformance vector) and HTTP delivery (against
# receivers on 127.0.0.1).
test-unit:
	cargo test -p scheduler_core -p delivery_core

# Layer 2: #[pg_test] functions inside a pgrx-managed Postgres.
test-pg: setup
ifeq ($(ROOT),yes)
	mkdir -p $(PGRX_TEST_DIR) && chown postgres:postgres $(PGRX_TEST_DIR)
	cargo pgrx test pg$(PG) $(PGRX_FEATURES) --runas postgres --pgdata $(PGRX_TEST_DIR)/data
else
	cargo pgrx test pg$(PG) $(PGRX_FEATURES)
endif

# Layers 3 and 4: pg_regress golden files and Rust end-to-end tests against a real cluster.
test-e2e: install
	bash scripts/e2e.sh

# Layer 3 alone, in a cluster of its own (test-e2e runs it too).
test-regress: install
	bash scripts/regress.sh

# The Debian package postgresql-$(PG)-workflow-scheduler_<version>-<revision>_amd64.deb in target/debian/.
# PG_CONFIG given on the command line builds against another server's headers.
package: setup
	bash scripts/package.sh $(PG)

# The package for 15 built at 0.1.0 and now, installed with apt into the system PostgreSQL,
# upgraded, fired, removed. It takes /tmp/system-pg15.lock itself for the apt and cluster part.
test-package: setup
	bash scripts/package_test.sh

demo: install
	bash scripts/demo.sh

bench: install
	bash scripts/bench.sh

clean:
	cargo clean
