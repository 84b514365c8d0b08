#!/usr/bin/env bash
# cosign and notation for the tests and the demo: the real binaries Debian packages (static,
# Depends: libc6 only), fetched from newer suites than the machine runs WITHOUT touching the
# system: a private sources list and apt state under build/tools/apt serve `apt-get download`
# only, and each package is unpacked with `dpkg-deb -x` into a versioned directory:
#   build/tools/cosign-2.5/usr/bin/cosign     Debian 13 "trixie"  (cosign 2.x)
#   build/tools/cosign-3/usr/bin/cosign       unstable "sid"      (cosign 3.x)
#   build/tools/notation-1/usr/bin/notation   unstable "sid"      (notation 1.x)
# Idempotent: a tool already unpacked and running is left alone.
# Usage:
#   tools.sh install   fetch what is missing (needs the Debian mirror; root not required)
#   tools.sh env       print CT_COSIGN2, CT_COSIGN3 and CT_NOTATION exports for what is there
# Settings (environment): CT_TOOLS_DIR (default build/tools), CT_DEBIAN_MIRROR (default: the
# first mirror of the system's own sources).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
TOOLS_DIR=${CT_TOOLS_DIR:-$root/build/tools}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

log() { printf 'tools: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# name  suite  package  binary
TOOLS=(
  "cosign-2.5 trixie cosign cosign"
  "cosign-3 sid cosign cosign"
  "notation-1 sid notation notation"
)

mirror() {
  if [ -n "${CT_DEBIAN_MIRROR:-}" ]; then echo "$CT_DEBIAN_MIRROR"; return; fi
  local m=''
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

works() { # binary
  [ -x "$1" ] && "$1" version >/dev/null 2>&1
}

# One private apt state per suite; used for `apt-get download` and nothing else.
fetch() { # suite package destdir
  local suite=$1 pkg=$2 dest=$3 apt=$TOOLS_DIR/apt/$1 opts deb
  [ -r "$KEYRING" ] || die "$KEYRING is missing (package debian-archive-keyring): it verifies the $suite index"
  mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/debs"
  echo "deb [signed-by=$KEYRING] $(mirror) $suite main" >"$apt/sources.list"
  opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=/nonexistent"
        -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::archives=$apt/archives"
        -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "Debug::NoLocking=1"
        -o "APT::Sandbox::User=root" -qq)
  if [ ! -s "$apt/updated" ] || [ -z "$(find "$apt/lists" -maxdepth 1 -name '*_Packages*' -print -quit)" ]; then
    log "reading the $suite package index from $(mirror)"
    apt-get "${opts[@]}" update >/dev/null
    date -u +%FT%TZ >"$apt/updated"
  fi
  rm -f "$apt/debs/${pkg}"_*.deb
  (cd "$apt/debs" && apt-get "${opts[@]}" download "$pkg" >/dev/null)
  deb=$(find "$apt/debs" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
  [ -n "$deb" ] || die "apt-get download $pkg from $suite produced no package"
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  dpkg-deb -x "$deb" "$dest.tmp"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  log "$pkg from $suite: $(basename "$deb") unpacked in $dest"
}

install() {
  local entry name suite pkg bin
  mkdir -p "$TOOLS_DIR"
  for entry in "${TOOLS[@]}"; do
    read -r name suite pkg bin <<<"$entry"
    if works "$TOOLS_DIR/$name/usr/bin/$bin"; then
      continue
    fi
    fetch "$suite" "$pkg" "$TOOLS_DIR/$name"
    works "$TOOLS_DIR/$name/usr/bin/$bin" || die "$TOOLS_DIR/$name/usr/bin/$bin does not run"
  done
}

env_exports() {
  local c2=$TOOLS_DIR/cosign-2.5/usr/bin/cosign c3=$TOOLS_DIR/cosign-3/usr/bin/cosign n=$TOOLS_DIR/notation-1/usr/bin/notation
  [ -x "$c2" ] && echo "export CT_COSIGN2=$c2"
  [ -x "$c3" ] && echo "export CT_COSIGN3=$c3"
  [ -x "$n" ] && echo "export CT_NOTATION=$n"
  return 0
}

case "${1:-}" in
  install) install ;;
  env) env_exports ;;
  *) echo "usage: $0 install|env" >&2; exit 2 ;;
esac
