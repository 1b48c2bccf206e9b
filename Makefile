# workflow_scheduler: every entry point a developer or CI needs.
#   make demo    the main job: a throwaway cluster, schedules firing, notifications printed
#   make test    formatting and lints, then every test layer (unit, in-database, pg_regress
#                golden files, end-to-end)
#   make bench   benchmarks; figures go to docs/benchmarks.md by hand
#   make package PG=<major>   the Debian package (target/debian/), see docs/installation.md
# Each target first runs scripts/setup.sh, which installs what is missing, idempotently.

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
PGRX_TEST_DIR ?= /tmp/ws-pgrx-test
ROOT := $(shell [ "$$(id -u)" -eq 0 ] && echo yes)

.PHONY: setup install lint test test-unit test-pg test-e2e demo bench clean package test-package

setup:
	@bash scripts/setup.sh

# Installs by writing new files and renaming them over the old ones (scripts/install.sh), so a
# running server keeps its library until it restarts.
install: setup
	PG_CONFIG=$(PG_CONFIG) bash scripts/install.sh

test: setup lint test-unit test-pg test-e2e test-package

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
	cargo pgrx test pg15 --runas postgres --pgdata $(PGRX_TEST_DIR)/data
else
	cargo pgrx test pg15
endif

# Layers 3 and 4: pg_regress golden files and Rust end-to-end tests against a real cluster.
test-e2e: install
	bash scripts/e2e.sh

# The Debian package postgresql-$(PG)-workflow-scheduler_<version>-<revision>_amd64.deb in target/debian/.
# PG_CONFIG given on the command line builds against another server's headers.
PG ?= 15
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
