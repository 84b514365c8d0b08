#!/usr/bin/env bash
# `ansible-test sanity` and `ansible-test units` on the collection as Galaxy users get it,
# for every ansible-core of the support matrix (meta/runtime.yml: requires_ansible >=2.17).
#
#   1. (build) `ansible-galaxy collection build`, and `ansible-galaxy collection install` of the
#      tarball into an empty collections path, build/installed (the copy `make installed-demo` runs);
#   2. (test) for each ansible-core of CT_CORE_MATRIX, side by side: a virtualenv with that
#      ansible-core and tests/requirements-units.txt (build/core-<version>; the newest is
#      build/venv, which tests/requirements.txt pins to it), an install of the tarball of its own
#      (build/installed-<version>, in a git repository of its own: ansible-test lists the files to
#      test with git, and writes tests/output there), then `ansible-test sanity --local` and
#      `ansible-test units --local` on it, with a HOME of its own for ansible-test's per-test
#      virtualenvs (build/sanity-home-<version>).
#
# Usage: tests/installed-tests.sh [build|test|all]   (default all; test needs a build first)
#
# Run by `make installed-sanity` (and so `make installed` and `make test`).  Settings
# (environment): CT_CORE_MATRIX (the ansible-core versions, default below), SANITY_PYTHON
# (default 3.11), SANITY_ARGS (more ansible-test sanity options for every version).
# pylint is not run here: `make sanity` runs it on the same files (the clone's, byte for byte)
# with the newest ansible-core, and it is the slowest sanity test by far; set
# CT_INSTALLED_PYLINT=1 to run it for every version (about a minute more each).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
venv=$build/venv
installed=$build/installed
python_version=${SANITY_PYTHON:-3.11}
# The newest patch release of each ansible-core the collection supports.
matrix=${CT_CORE_MATRIX:-2.17.14 2.18.19 2.19.14}
skip=(--skip-test pylint)
[ "${CT_INSTALLED_PYLINT:-0}" = 1 ] && skip=()

say() { printf '== installed: %s\n' "$*"; }

# build: the tarball, and the copy the installed demo runs (build/installed); test: the matrix; all: both.
mode=${1:-all}
case $mode in build|test|all) ;; *) echo "usage: $0 [build|test|all]" >&2; exit 2 ;; esac
if [ "$mode" != test ]; then
  rm -rf "$build/dist" "$build"/installed*
  mkdir -p "$build/dist" "$installed"
  "$venv/bin/ansible-galaxy" collection build --output-path "$build/dist" "$root"
  env -u PYTHONPATH ANSIBLE_COLLECTIONS_PATH="$installed" "$venv/bin/ansible-galaxy" collection install --offline \
    --no-deps -p "$installed" "$build"/dist/*.tar.gz
  [ "$mode" = build ] && exit 0
fi
newest=$("$venv/bin/python" -c 'from ansible.release import __version__; print(__version__)')
read -r -a extra <<<"${SANITY_ARGS:-}"

# One ansible-core: its virtualenv, its own installed copy (ansible-test writes tests/output in the
# collection it tests, so the versions, which run side by side, each get one), sanity, units.
run_version() {
  local version=$1 bin home core stamp dest collection command start result rc=0
  dest=$installed-$version
  if [ "$version" = "$newest" ]; then
    bin=$venv/bin home=$build/sanity-home
  else
    core=$build/core-$version bin=$build/core-$version/bin home=$build/sanity-home-$version
    stamp=$core/.requirements-installed
    if [ ! -e "$stamp" ] || [ "$root/tests/requirements-units.txt" -nt "$stamp" ]; then
      say "ansible-core $version: virtualenv $core"
      rm -rf "$core"
      "${PYTHON:-python3}" -m venv "$core"
      "$bin/python" -m pip install -q "ansible-core==$version" -r "$root/tests/requirements-units.txt"
      touch "$stamp"
    fi
  fi
  collection=$dest/ansible_collections/openbanking/content_trust
  rm -rf "$dest"
  mkdir -p "$dest"
  env -u PYTHONPATH ANSIBLE_COLLECTIONS_PATH="$dest" "$bin/ansible-galaxy" collection install --offline --no-deps \
    -p "$dest" "$build"/dist/*.tar.gz
  git -C "$collection" init -q
  "$bin/python" "$root/.ci/sanity-get-pip.py" "$home"
  for command in sanity units; do
    say "ansible-core $version: ansible-test $command"
    args=(--local --python "$python_version" --color no)
    [ "$command" = sanity ] && args+=("${skip[@]}" "${extra[@]}")
    start=$SECONDS
    result=passed
    (cd "$collection" && env -u PYTHONPATH -u ANSIBLE_COLLECTIONS_PATH HOME="$home" PATH="$bin:$PATH" \
      "$bin/ansible-test" "$command" "${args[@]}") || { result=FAILED; rc=1; }
    printf 'ansible-core %-8s ansible-test %-6s %s in %ss\n' "$version" "$command" "$result" "$((SECONDS - start))" \
      >>"$build/installed-summary.txt"
  done
  return $rc
}

start=$SECONDS
rm -f "$build/installed-summary.txt"
pids=()
for version in $matrix; do
  run_version "$version" >"$build/installed-$version.log" 2>&1 &
  pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
for version in $matrix; do say "ansible-core $version (build/installed-$version.log):"; cat "$build/installed-$version.log"; done
say "summary (the versions ran side by side; $((SECONDS - start))s in all)"
sed 's/^/  /' "$build/installed-summary.txt"
exit $rc
