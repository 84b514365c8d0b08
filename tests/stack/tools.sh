#!/usr/bin/env bash
# cosign and notation for the tests and the demo: the real binaries Debian packages (static,
# Depends: libc6 only), fetched from newer suites than the machine runs WITHOUT touching the
# system: a private sources list and apt state under build/tools/apt serve `apt-get download`
# only, and each package is unpacked with `dpkg-deb -x` into a versioned directory:
#   build/tools/cosign-2.5/usr/bin/cosign     Debian 13 "trixie"  (cosign 2.x)
#   build/tools/cosign-3/usr/bin/cosign       unstable "sid"      (cosign 3.x)
#   build/tools/notation-1/usr/bin/notation   unstable "sid"      (notation 1.x)
# and the containers tools the containers-policy tests run (install_containers_tools, below):
#   build/tools/containers-13/usr/bin/{podman,skopeo}   Debian 13 "trixie" (sigstore verification works)
#   build/tools/containers-12/usr/bin/{podman,skopeo}   Debian 12 "bookworm" (built with sigstore disabled)
# Idempotent: a tool already unpacked and running is left alone.
# Usage:
#   tools.sh install   fetch what is missing (needs your Debian mirror; root not required)
#   tools.sh mirror    print the Debian mirror it would use
#   tools.sh env       print CT_COSIGN2, CT_COSIGN3, CT_NOTATION and the CT_PODMAN*/CT_SKOPEO*/CT_CONTAINERS_CONF
#                      exports for what is there
# Settings (environment): CT_TOOLS_DIR (default build/tools), CT_DEBIAN_MIRROR (default: the
# Debian mirror of the machine's own apt sources; it fails, saying so, when they name none).
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

# The Debian mirror of the machine's own apt sources, as banks point them at an internal mirror: the first "deb"
# entry for a Debian suite (not the security archive) in /etc/apt/sources.list, sources.list.d/*.list (one-line
# format) or sources.list.d/*.sources (deb822). CT_DEBIAN_MIRROR overrides it; CT_APT_DIR (default /etc/apt) is
# where the sources are read.
DEBIAN_SUITES='^(buster|bullseye|bookworm|trixie|forky|duke|sid|oldoldstable|oldstable|stable|testing|unstable)(-updates|-backports)?$'

sources_oneline() { # file
  sed -e 's/\[[^]]*\]//' "$1" | awk -v suites="$DEBIAN_SUITES" \
    '$1=="deb" && $2 !~ /security/ && $3 ~ suites {print $2}'
}

sources_deb822() { # file
  awk -v suites="$DEBIAN_SUITES" '
    function flush(   n, s, i, j, u) {
      if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled !~ /^[ \t]*no/) {
        n = split(suites_f, s, /[ \t]+/)
        split(uris, u, /[ \t]+/)
        for (i = 1; i <= n; i++) for (j in u)
          if (s[i] ~ suites && u[j] ~ /^[a-z+]+:/ && u[j] !~ /security/) { print u[j]; break }
      }
      types = uris = suites_f = enabled = ""
    }
    /^[ \t]*#/ { next }
    /^[ \t]*$/ { flush(); next }
    tolower($1) == "types:" { sub(/^[^:]*:[ \t]*/, ""); types = $0 }
    tolower($1) == "uris:" { sub(/^[^:]*:[ \t]*/, ""); uris = $0 }
    tolower($1) == "suites:" { sub(/^[^:]*:[ \t]*/, ""); suites_f = $0 }
    tolower($1) == "enabled:" { sub(/^[^:]*:[ \t]*/, ""); enabled = tolower($0) }
    END { flush() }' "$1"
}

mirror() {
  if [ -n "${CT_DEBIAN_MIRROR:-}" ]; then echo "$CT_DEBIAN_MIRROR"; return; fi
  local apt=${CT_APT_DIR:-/etc/apt} f m=''
  for f in "$apt/sources.list" "$apt"/sources.list.d/*.list "$apt"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    case $f in
      *.sources) m=$(sources_deb822 "$f" | head -n 1) ;;
      *) m=$(sources_oneline "$f" | head -n 1) ;;
    esac
    [ -z "$m" ] || break
  done
  [ -n "$m" ] || die "no Debian mirror in the apt sources ($apt/sources.list, $apt/sources.list.d/*.list and *.sources): add your Debian mirror there, or set CT_DEBIAN_MIRROR to it"
  echo "${m%/}"
}

works() { # binary
  [ -x "$1" ] && "$1" version >/dev/null 2>&1
}

# One tool's package from a suite, unpacked in destdir (fetch_set, below, with one package).
fetch() { # suite package destdir
  fetch_set "$1" "$3" "$2"
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

# --- podman and skopeo, Debian 13's and Debian 12's -------------------------------------------------
# Debian 13's podman 5.4 / skopeo 1.18 need glibc 2.38: their packages, trixie's libc6 and the libraries
# Debian 12 lacks or has too old are unpacked into containers-13/, and patchelf points each binary at that
# loader (--set-interpreter) and those libraries first, the system's after (--force-rpath: DT_RPATH also
# serves the libraries' own dependencies, which DT_RUNPATH would not).  A patched copy is a real executable,
# so podman's re-exec of itself works.  Debian 12's podman 4.3 / skopeo 1.9 (sigstore disabled by a Debian
# patch) run with the system's glibc from containers-12/ with their three libraries beside them.  podman
# needs conmon (Debian 12's) and a network helper (Debian 13's netavark) even to pull: containers.conf
# names them, for CONTAINERS_CONF.  Nothing is installed into the system.
CONTAINERS_13_PKGS=(podman skopeo netavark libc6 libgpgme11t64 libassuan9 libgpg-error0 libsqlite3-0 libseccomp2
                    libsubid5)
CONTAINERS_12_PKGS=(podman skopeo conmon libgpgme11 libassuan0 libsubid4 patchelf)

containers_works() { # dir
  "$1/usr/bin/skopeo" --version >/dev/null 2>&1 && "$1/usr/bin/podman" --version >/dev/null 2>&1
}

# One private apt state per suite, used for `apt-get download` and nothing else: the packages, unpacked together
# in destdir (replaced whole).
fetch_set() { # suite destdir package...
  local suite=$1 dest=$2 apt=$TOOLS_DIR/apt/$1 opts deb; shift 2
  [ -n "${MIRROR:-}" ] || MIRROR=$(mirror)
  [ -r "$KEYRING" ] || die "$KEYRING is missing (package debian-archive-keyring): it verifies the $suite index"
  mkdir -p "$apt/lists/partial" "$apt/archives/partial"
  echo "deb [signed-by=$KEYRING] $MIRROR $suite main" >"$apt/sources.list"
  opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=/nonexistent"
        -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::archives=$apt/archives"
        -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "Debug::NoLocking=1"
        -o "APT::Sandbox::User=root" -qq)
  if [ ! -s "$apt/updated" ] || [ -z "$(find "$apt/lists" -maxdepth 1 -name '*_Packages*' -print -quit)" ]; then
    log "reading the $suite package index from $MIRROR"
    apt-get "${opts[@]}" update >/dev/null
    date -u +%FT%TZ >"$apt/updated"
  fi
  rm -rf "$apt/debs-set" "$dest.tmp"
  mkdir -p "$apt/debs-set" "$dest.tmp"
  (cd "$apt/debs-set" && apt-get "${opts[@]}" download "$@" >/dev/null)
  for deb in "$apt/debs-set"/*.deb; do
    [ -e "$deb" ] || die "apt-get download $* from $suite produced no package"
    dpkg-deb -x "$deb" "$dest.tmp"
  done
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  log "$* from $suite unpacked in $dest"
}

install_containers_tools() {
  local c13=$TOOLS_DIR/containers-13 c12=$TOOLS_DIR/containers-12 patchelf lib bin
  if ! containers_works "$c12"; then
    fetch_set bookworm "$c12" "${CONTAINERS_12_PKGS[@]}"
    for bin in podman skopeo conmon; do
      "$c12/usr/bin/patchelf" --force-rpath --set-rpath "$c12/usr/lib/x86_64-linux-gnu" "$c12/usr/bin/$bin"
    done
    containers_works "$c12" || die "Debian 12's podman or skopeo in $c12 does not run"
  fi
  patchelf=$(command -v patchelf || echo "$c12/usr/bin/patchelf")
  if ! containers_works "$c13"; then
    fetch_set trixie "$c13" "${CONTAINERS_13_PKGS[@]}"
    lib=$c13/usr/lib/x86_64-linux-gnu
    for bin in "$c13/usr/bin/podman" "$c13/usr/bin/skopeo" "$c13/usr/lib/podman/netavark"; do
      "$patchelf" --set-interpreter "$lib/ld-linux-x86-64.so.2" \
        --force-rpath --set-rpath "$lib:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu" "$bin"
    done
    containers_works "$c13" || die "Debian 13's podman or skopeo in $c13 does not run"
  fi
  printf '[engine]\nconmon_path = ["%s"]\nhelper_binaries_dir = ["%s"]\n' \
    "$c12/usr/bin/conmon" "$c13/usr/lib/podman" >"$TOOLS_DIR/containers.conf"
}

env_exports() {
  local c2=$TOOLS_DIR/cosign-2.5/usr/bin/cosign c3=$TOOLS_DIR/cosign-3/usr/bin/cosign n=$TOOLS_DIR/notation-1/usr/bin/notation
  [ -x "$c2" ] && echo "export CT_COSIGN2=$c2"
  [ -x "$c3" ] && echo "export CT_COSIGN3=$c3"
  [ -x "$n" ] && echo "export CT_NOTATION=$n"
  local c13=$TOOLS_DIR/containers-13/usr/bin c12=$TOOLS_DIR/containers-12/usr/bin
  if [ -x "$c13/podman" ] && [ -x "$c12/podman" ] && [ -f "$TOOLS_DIR/containers.conf" ]; then
    echo "export CT_PODMAN13=$c13/podman CT_SKOPEO13=$c13/skopeo CT_PODMAN12=$c12/podman CT_SKOPEO12=$c12/skopeo"
    echo "export CT_CONTAINERS_CONF=$TOOLS_DIR/containers.conf"
  fi
  return 0
}

case "${1:-}" in
  install) install; install_containers_tools ;;
  env) env_exports ;;
  mirror) mirror ;;
  *) echo "usage: $0 install|env|mirror" >&2; exit 2 ;;
esac
