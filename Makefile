# Build and test entry points for openbanking.content_trust.
#
#   make demo   sign and verify images against a local Notary (see README.md)
#   make test   everything CI runs: sanity, lint, unit and integration tests
#
# Everything is built under build/: the virtualenv (build/venv), the collection
# path (build/collections), the sanity copy (build/sanity) and the local trust
# stack's state (build/stack).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# `make test` runs its steps in order and stops at the first failure, even under -j.
.NOTPARALLEL:

PYTHON ?= python3
SANITY_PYTHON ?= 3.11

BUILD := $(CURDIR)/build
VENV := $(BUILD)/venv
BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.requirements-installed
COLLECTIONS := $(BUILD)/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/openbanking/content_trust
SANITY_ROOT := $(BUILD)/sanity/ansible_collections/openbanking/content_trust
# ansible-test keeps its per-test virtualenvs and its pip bootstrap under ~/.ansible;
# give it a HOME of its own so they live (and get cleaned) with the rest of build/.
SANITY_HOME := $(BUILD)/sanity-home
STACK := $(CURDIR)/tests/stack/stack.sh
# The real docker CLI 29 and its docker-trust plugin live beside the clone (../shared/bin);
# where they are absent, the CLI 29 legs of the test matrix are skipped and pytest says why.
SHARED_BIN := $(abspath $(CURDIR)/../shared/bin)
# make demo DOCKER_CLI=../shared/bin/docker-29 runs the demo's playbooks with that docker CLI.
DOCKER_CLI ?= docker

# The environment of every ansible, ansible-lint and pytest run.  The interpreter is
# pinned because discovery on localhost can pick a pyenv shim that does not run.
ANSIBLE_ENV := \
	PATH="$(BIN):$$PATH" \
	ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)" \
	ANSIBLE_PYTHON_INTERPRETER="$(BIN)/python" \
	ANSIBLE_HOST_KEY_CHECKING=False \
	ANSIBLE_NOCOLOR=1 \
	PYTHONPATH="$(COLLECTIONS)"

# ansible-lint also checks the collection metadata (galaxy rule, meta/runtime.yml).
LINT_PATHS = galaxy.yml meta/runtime.yml $(wildcard roles playbooks)

.PHONY: help venv collection stack-up stack-down sanity lint unit integration test checks \
	demo bench clean installed installed-sanity installed-demo sanity-tools changelog release-notes

help:
	@echo 'make demo         sign and verify images against a local Notary'
	@echo 'make test         venv, collection, checks, integration, installed'
	@echo 'make checks       sanity beside lint, changelog, unit and the stack tools download'
	@echo 'make venv         build/venv with tests/requirements.txt'
	@echo 'make collection   build/collections/ansible_collections/openbanking/content_trust -> .'
	@echo 'make stack-up     start the local docker/registry/notary stack (tests/stack/stack.sh)'
	@echo 'make stack-down   stop it'
	@echo 'make sanity       ansible-test sanity on a copy of the tracked and new files'
	@echo 'make lint         ansible-lint over roles/, playbooks/ and the collection metadata'
	@echo 'make unit         pytest tests/unit'
	@echo 'make integration  pytest tests/integration against the local stack (stopped afterwards)'
	@echo 'make installed    build the tarball; sanity + units on it for ansible-core 2.17-2.19; the demo from it on CLI 29'
	@echo 'make changelog    antsibull-changelog lint of changelogs/fragments'
	@echo 'make release-notes fold the fragments into CHANGELOG.rst for the version in galaxy.yml'
	@echo 'make bench        benchmarks against the bare docker CLI (build/bench.json)'
	@echo 'make clean        stop the stack and remove build/ and test output'

venv: $(VENV_STAMP)

$(VENV_STAMP): tests/requirements.txt tests/requirements-units.txt
	$(PYTHON) -m venv "$(VENV)"
	"$(BIN)/python" -m pip install -r tests/requirements.txt
	touch "$@"

collection:
	mkdir -p "$(dir $(COLLECTION_LINK))"
	ln -sfn "$(CURDIR)" "$(COLLECTION_LINK)"

stack-up: venv collection
	"$(STACK)" start

stack-down:
	"$(STACK)" stop

# ansible-test runs on a plain copy of the collection (tracked files plus new files
# git does not ignore), fresh each time: it refuses symlinked collection roots in
# some cases, and a copy keeps build/ and other local state out of the test.  The
# copy gets its own (empty) git repository: ansible-test lists its files with the
# nearest enclosing git repository, which would otherwise be this one, where build/
# is ignored, and it would then find nothing to test.  Runs in one tree take turns
# (flock), as they share the copy and ansible-test's virtualenvs.
# `--requirements` is not used: the pip bootstrap of the per-test virtualenvs is
# served by .ci/sanity-get-pip.py's stand-in instead (see that file for why), and the
# controller requirements are already in build/venv.
# shellcheck for ansible-test's shellcheck test, from Debian's package when root (apt is not run beside another apt).
sanity-tools:
	@if ! command -v shellcheck >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo 'sanity: installing shellcheck (Debian package) for the shellcheck sanity test'; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null; \
	  else \
	    echo 'sanity: WARNING shellcheck is not installed; ansible-test skips the shellcheck test' >&2; \
	  fi; \
	fi

sanity: venv sanity-tools
	@exec 9>"$(BUILD)/sanity.lock"; \
	if ! flock -n 9; then echo 'sanity: waiting for another make sanity in this tree'; flock 9; fi; \
	start=$$SECONDS; \
	rm -rf "$(BUILD)/sanity"; \
	mkdir -p "$(SANITY_ROOT)"; \
	git ls-files -z -co --exclude-standard \
	  | while IFS= read -r -d '' f; do if [ -e "$$f" ]; then printf '%s\0' "$$f"; fi; done \
	  | xargs -0 -r cp --parents -P -t "$(SANITY_ROOT)"; \
	git -C "$(SANITY_ROOT)" init -q; \
	"$(BIN)/python" .ci/sanity-get-pip.py "$(SANITY_HOME)"; \
	rc=0; \
	(cd "$(SANITY_ROOT)" && env -u PYTHONPATH -u ANSIBLE_COLLECTIONS_PATH HOME="$(SANITY_HOME)" \
	  PATH="$(BIN):$$PATH" "$(BIN)/ansible-test" sanity --local --python $(SANITY_PYTHON) --color no \
	  $(SANITY_ARGS)) || rc=$$?; \
	echo "sanity: finished in $$((SECONDS - start))s (exit $$rc)"; \
	exit $$rc

lint: venv collection
	$(ANSIBLE_ENV) "$(BIN)/ansible-lint" --nocolor $(LINT_PATHS)

# pytest exits 5 when it collects no tests: that fails the target, as it should.
unit: venv collection
	$(ANSIBLE_ENV) "$(BIN)/python" -m pytest tests/unit $(PYTEST_ARGS)

# The docker CLI matrix: the whole suite with the preinstalled CLI 28 and with CLI 29 without the
# docker-trust plugin; the tests marked cli_matrix (runbook, a release, a revoke, a verify) with
# Debian's 20.10 and with 29 plus the plugin (copied into each test's docker config).  The tests'
# own checks use CLI 28 whatever the leg.
#
# Two lanes run side by side, each on a local stack of its own (its own dockerd, registry and
# Notary, state and ports): lane A runs the CLI 28 leg on the default stack; lane B a few CLI-independent
# files with CLI 28 (LANE_B_INDEPENDENT in tests/integration/conftest.py, to even the lanes out), the CLI 29
# leg, then the two cli_matrix legs, on a second stack (INTEGRATION_B_PORTS).  No test shares state with
# the other lane (every test makes its own repositories, configurations and servers), and the suite
# waits mostly on the tools, so two lanes take about two thirds of the time of one.  Each lane's
# output is kept in build/integration-<lane>.log and printed whole when both are done.  Every leg
# runs; the exit code is the first failing leg's.  The stacks are stopped afterwards whatever happens.
INTEGRATION_LANE_A := \
	'docker CLI 28 (all tests but those of tests/integration/conftest.py LANE_B_INDEPENDENT)|CT_INDEPENDENT_SET=a|'
INTEGRATION_LANE_B := \
	'docker CLI 28 (the CLI-independent tests of LANE_B_INDEPENDENT)|CT_INDEPENDENT_SET=b|' \
	'docker CLI 29 without the docker-trust plugin (all tests)|CT_DOCKER_CLI=$(SHARED_BIN)/docker-29|' \
	'docker CLI 20.10 (cli_matrix)|CT_DOCKER_CLI=/usr/bin/docker|-m cli_matrix' \
	'docker CLI 29 with the docker-trust plugin (cli_matrix)|CT_DOCKER_CLI=$(SHARED_BIN)/docker-29 CT_DOCKER_TRUST_PLUGIN=$(SHARED_BIN)/docker-trust|-m cli_matrix'
# Lane B's stack (lane A's is tests/stack/stack.sh's default: build/stack, 5000, 4443, 7443).
INTEGRATION_B_STACK := CT_STACK_DIR=$(BUILD)/stack-b CT_REGISTRY_PORT=5001 CT_NOTARY_PORT=4444 CT_SIGNER_PORT=7444 \
	CT_NOTARY_BACKEND_PORT=5444
INTEGRATION_A_STACK :=

# $(call lane,NAME,STACK ENV,LEGS): start the lane's stack, run its legs in order, stop the stack.
define lane
( rc=0; \
  if env $(2) "$(STACK)" start && eval "$$(env $(2) "$(STACK)" env)"; then \
    for leg in $(3); do \
      IFS='|' read -r title cli_env marker <<<"$$leg"; \
      echo "== integration: $$title"; \
      env $$cli_env $(ANSIBLE_ENV) "$(BIN)/python" -m pytest tests/integration -rs --durations=15 $$marker $(PYTEST_ARGS) \
        || { r=$$?; [ $$rc -ne 0 ] || rc=$$r; }; \
    done; \
  else rc=1; echo "integration: the lane's stack did not start"; fi; \
  env $(2) "$(STACK)" stop; exit $$rc ) >"$(BUILD)/integration-$(1).log" 2>&1
endef

integration: venv collection
	@trap 'env $(INTEGRATION_A_STACK) "$(STACK)" stop; env $(INTEGRATION_B_STACK) "$(STACK)" stop' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	[ -x "$(SHARED_BIN)/docker-29" ] || echo "integration: $(SHARED_BIN) is absent: the docker CLI 29 legs will be skipped"; \
	"$(STACK)" install; \
	echo "integration: lane A (CLI 28) and lane B (CLI 29, then the cli_matrix legs) run side by side"; \
	start=$$SECONDS; \
	$(call lane,a,$(INTEGRATION_A_STACK),$(INTEGRATION_LANE_A)) & a=$$!; \
	$(call lane,b,$(INTEGRATION_B_STACK),$(INTEGRATION_LANE_B)) & b=$$!; \
	ra=0; wait $$a || ra=$$?; rb=0; wait $$b || rb=$$?; \
	for l in a b; do echo "== integration lane $$l (build/integration-$$l.log):"; cat "$(BUILD)/integration-$$l.log"; done; \
	echo "integration: both lanes finished in $$((SECONDS - start))s (lane A exit $$ra, lane B exit $$rb)"; \
	[ $$ra -ne 0 ] && exit $$ra; exit $$rb

test: venv collection checks integration installed

# The static checks of `make test`: ansible-test sanity runs on one core while lint, the changelog
# lint, the unit tests and the tools' download for the integration stack run one after another on
# the other.  Sanity's output is kept in build/checks-sanity.log and printed whole when it is done;
# every check runs, and the exit code is the first failing one's.
checks: venv collection sanity-tools
	@mkdir -p "$(BUILD)"; \
	$(MAKE) --no-print-directory sanity >"$(BUILD)/checks-sanity.log" 2>&1 & s=$$!; \
	trap 'kill $$s 2>/dev/null; exit 130' INT; trap 'kill $$s 2>/dev/null; exit 143' TERM; \
	rc=0; \
	for t in lint changelog unit; do $(MAKE) --no-print-directory $$t || { r=$$?; [ $$rc -ne 0 ] || rc=$$r; }; done; \
	"$(STACK)" install || { r=$$?; [ $$rc -ne 0 ] || rc=$$r; }; \
	rs=0; wait $$s || rs=$$?; \
	echo "== sanity (build/checks-sanity.log):"; cat "$(BUILD)/checks-sanity.log"; \
	[ $$rs -ne 0 ] && exit $$rs; exit $$rc

# What a user gets from Galaxy: the tarball `ansible-galaxy collection build` makes,
# installed into an empty collections path.  ansible-test sanity runs on that installed
# copy (in a git repository of its own, as for `make sanity`), then the demo playbooks
# run from it, against the local stack, which is stopped afterwards as for
# `make integration`.
INSTALLED := $(BUILD)/installed
INSTALLED_ROOT := $(INSTALLED)/ansible_collections/openbanking/content_trust
# The build, then the matrix and the demo side by side (the one waits mostly on pip and ansible-test, the other on the
# stack's tools); the demo's output is kept in build/installed-demo.log and printed after the matrix's.
installed: venv sanity-tools
	@exec 9>"$(BUILD)/sanity.lock"; \
	if ! flock -n 9; then echo 'installed: waiting for another make sanity in this tree'; flock 9; fi; \
	start=$$SECONDS; \
	PYTHON="$(PYTHON)" bash tests/installed-tests.sh build; \
	$(MAKE) --no-print-directory installed-demo >"$(BUILD)/installed-demo.log" 2>&1 & demo=$$!; \
	trap 'kill $$demo 2>/dev/null; exit 130' INT; trap 'kill $$demo 2>/dev/null; exit 143' TERM; \
	rc=0; PYTHON="$(PYTHON)" SANITY_PYTHON="$(SANITY_PYTHON)" bash tests/installed-tests.sh test || rc=$$?; \
	rd=0; wait $$demo || rd=$$?; \
	echo '== installed: the demo from the installed copy (build/installed-demo.log):'; cat "$(BUILD)/installed-demo.log"; \
	echo "installed: finished in $$((SECONDS - start))s (ansible-core matrix exit $$rc, demo exit $$rd)"; \
	[ $$rc -ne 0 ] && exit $$rc; exit $$rd

# The demo runs as a new user on a host whose only docker CLI is 29 (without the docker-trust plugin) would run it:
# in a mount namespace of its own, every docker on PATH is the real CLI 29 of ../shared/bin (bind-mounted over it).
# Without that CLI (or without root, which the mount needs) it runs with the docker on PATH, and says so.
installed-demo: venv
	@trap '"$(STACK)" stop' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	demo=(env -u PYTHONPATH PATH="$(BIN):$$PATH" CT_DEMO_COLLECTIONS="$(INSTALLED)" \
	  CT_DEMO_DIR="$(BUILD)/installed-demo" DOCKER_CLI=docker bash tests/demo.sh); \
	if [ -x "$(SHARED_BIN)/docker-29" ] && [ "$$(id -u)" = 0 ] && command -v unshare >/dev/null; then \
	  unshare --mount --propagation private sh -c \
	    'for cli in $$(which -a docker); do mount --bind "$$0" "$$cli" || exit 1; done; \
	     echo "installed: the demo on a host whose only docker CLI is 29:"; \
	     for cli in $$(which -a docker); do echo "  $$cli: $$("$$cli" --version)"; done; exec "$$@"' \
	    "$(SHARED_BIN)/docker-29" "$${demo[@]}"; \
	else \
	  echo "installed: $(SHARED_BIN)/docker-29, root or unshare missing: the demo runs with the docker on PATH"; \
	  "$${demo[@]}"; \
	fi

# The build, then ansible-test sanity and units on the installed copy for every ansible-core of the
# support matrix (2.17, 2.18, 2.19: meta/runtime.yml's requires_ansible), side by side, each in a
# virtualenv and an installed copy of its own (no stack needed; tests/installed-tests.sh says how).
# The installed copy's files are the clone's, byte for byte (ansible-galaxy collection build copies
# them); what only the installed copy can show is what the tarball lacks or carries (import,
# validate-modules, ansible-doc ...).  pylint, the slowest sanity test by far, reads the same files in
# `make sanity` and is not run again (CT_INSTALLED_PYLINT=1 runs it for every version).
installed-sanity: venv sanity-tools
	@exec 9>"$(BUILD)/sanity.lock"; \
	if ! flock -n 9; then echo 'installed: waiting for another make sanity in this tree'; flock 9; fi; \
	PYTHON="$(PYTHON)" SANITY_PYTHON="$(SANITY_PYTHON)" bash tests/installed-tests.sh

# Fragments are checked on every `make test`.  Right before publishing, `make
# release-notes` folds the fragments into the release galaxy.yml names (it may be run
# again while that version is unpublished: later fragments join the same release).
changelog: venv
	PATH="$(BIN):$$PATH" "$(BIN)/antsibull-changelog" lint

# --reload-plugins: the module and plugin list is read from the collection each time (a cached list
# missed every module added after it was made); --update-existing: a rerun for the unpublished release
# moves its date to the day of the rerun.  Roles and playbooks are listed by an `add object.*` fragment.
release-notes: venv collection
	$(ANSIBLE_ENV) "$(BIN)/antsibull-changelog" release --reload-plugins --update-existing \
	  --version "$$(sed -n 's/^version: *//p' galaxy.yml)"

# The demo leaves the stack running so that its result can be looked at; stop it
# with `make stack-down`.  tests/demo.sh, where it exists, is the demo's own driver
# (it prepares the demo's secrets and prints what the Notary holds afterwards).
demo: venv collection
	$(ANSIBLE_ENV) DOCKER_CLI="$(DOCKER_CLI)" bash tests/demo.sh

# Starts the local stack, measures the playbooks against the bare CLI loops, writes
# build/bench.json, and stops the stack again.
bench: venv collection
	@trap '"$(STACK)" stop' EXIT; \
	"$(STACK)" start; \
	eval "$$("$(STACK)" env)"; \
	$(ANSIBLE_ENV) "$(BIN)/python" tests/bench/bench.py $(BENCH_ARGS)

clean:
	-"$(STACK)" stop
	rm -rf build tests/output .pytest_cache .hypothesis .ansible
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
