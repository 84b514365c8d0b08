#!/usr/bin/env bash
# The real local trust stack shared by the tests, the demo and the benchmarks:
# dockerd on its own socket, a docker-registry and a notary-server with TLS from a
# CA generated here, all on loopback.  Usage:
#   stack.sh install | start | stop | status | env
# Settings (environment): CT_STACK_DIR (state, default build/stack), CT_REGISTRY_PORT
# (5000), CT_NOTARY_PORT (4443).  `env` prints shell exports for the running stack.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
STACK_DIR=${CT_STACK_DIR:-$root/build/stack}
REGISTRY_PORT=${CT_REGISTRY_PORT:-5000}
NOTARY_PORT=${CT_NOTARY_PORT:-4443}
# A name that never resolves: docker then treats the repository as non-loopback and
# verifies the Notary certificate against the CA, as it does for real registries.
NONLOOPBACK_HOST=${CT_NONLOOPBACK_HOST:-registry.content-trust.test}

log() { printf 'stack: %s\n' "$*" >&2; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v notary-server >/dev/null || missing+=(notary)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # Debian's docker.io enables a system dockerd through systemd where systemd runs;
  # the stack never uses it, it runs its own daemon on its own socket.
}

make_ca() {
  local d=$STACK_DIR/tls
  [ -s "$d/notary-server.crt" ] && return 0
  mkdir -p "$d"; chmod 700 "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=content-trust test CA" -keyout "$d/ca.key" -out "$d/ca.crt" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=notary-server" \
    -keyout "$d/notary-server.key" -out "$d/notary-server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,DNS:notary-server,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext.cnf"
  openssl x509 -req -in "$d/notary-server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 30 -extfile "$d/ext.cnf" -out "$d/notary-server.crt" 2>/dev/null
  chmod 600 "$d"/*.key
}

wait_for() { # description, seconds, command...
  local what=$1 secs=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then log "$what did not become ready in ${secs}s"; return 1; fi
    sleep 0.2
  done
}

start_daemon() { # name, logfile, command...
  local name=$1 logf=$2; shift 2
  local pidf=$STACK_DIR/$name.pid
  if [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then return 0; fi
  setsid "$@" >"$logf" 2>&1 < /dev/null &
  echo $! >"$pidf"
}

start() {
  install_packages
  mkdir -p "$STACK_DIR"/{docker,registry,notary,logs}
  make_ca
  # dockerd: own socket, data root, exec root; no host networking changes.
  start_daemon dockerd "$STACK_DIR/logs/dockerd.log" dockerd \
    --host "unix://$STACK_DIR/docker.sock" --data-root "$STACK_DIR/docker/data" \
    --exec-root "$STACK_DIR/docker/exec" --pidfile "$STACK_DIR/docker/dockerd.pid" \
    --iptables=false --ip-masq=false --bridge=none --storage-driver=overlay2
  cat >"$STACK_DIR/registry/config.yml" <<YAML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $STACK_DIR/registry/data}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$REGISTRY_PORT
YAML
  start_daemon registry "$STACK_DIR/logs/registry.log" docker-registry serve "$STACK_DIR/registry/config.yml"
  cat >"$STACK_DIR/notary/server.json" <<JSON
{"server": {"http_addr": "127.0.0.1:$NOTARY_PORT",
            "tls_cert_file": "$STACK_DIR/tls/notary-server.crt",
            "tls_key_file": "$STACK_DIR/tls/notary-server.key"},
 "trust_service": {"type": "local"},
 "logging": {"level": "warning"},
 "storage": {"backend": "memory"}}
JSON
  start_daemon notary-server "$STACK_DIR/logs/notary-server.log" notary-server -config "$STACK_DIR/notary/server.json"
  wait_for dockerd 60 docker -H "unix://$STACK_DIR/docker.sock" version
  wait_for registry 30 curl -fsS "http://127.0.0.1:$REGISTRY_PORT/v2/"
  wait_for notary-server 30 curl -fsS --cacert "$STACK_DIR/tls/ca.crt" "https://127.0.0.1:$NOTARY_PORT/_notary_server/health"
  log "up: docker unix://$STACK_DIR/docker.sock, registry 127.0.0.1:$REGISTRY_PORT, notary https://127.0.0.1:$NOTARY_PORT"
}

stop() {
  local name pidf pid
  for name in notary-server registry dockerd; do
    pidf=$STACK_DIR/$name.pid
    [ -s "$pidf" ] || continue
    pid=$(cat "$pidf")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidf"
  done
  # dockerd's own containerd child goes with it; make sure nothing of ours is left.
  pkill -f "containerd.*$STACK_DIR/docker/exec" 2>/dev/null || true
  log "stopped"
}

status() {
  local name rc=0
  for name in dockerd registry notary-server; do
    if [ -s "$STACK_DIR/$name.pid" ] && kill -0 "$(cat "$STACK_DIR/$name.pid")" 2>/dev/null; then
      echo "$name: running"
    else
      echo "$name: stopped"; rc=1
    fi
  done
  return $rc
}

env_exports() {
  cat <<ENV
export CT_STACK_DIR=$STACK_DIR
export CT_DOCKER_HOST=unix://$STACK_DIR/docker.sock
export CT_REGISTRY=127.0.0.1:$REGISTRY_PORT
export CT_NOTARY_URL=https://127.0.0.1:$NOTARY_PORT
export CT_NOTARY_CA=$STACK_DIR/tls/ca.crt
export CT_NONLOOPBACK_HOST=$NONLOOPBACK_HOST
ENV
}

case "${1:-}" in
  install) install_packages ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) env_exports ;;
  *) echo "usage: $0 install|start|stop|status|env" >&2; exit 2 ;;
esac
