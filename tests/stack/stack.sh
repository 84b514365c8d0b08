#!/usr/bin/env bash
# The real local trust stack shared by the tests, the demo and the benchmarks:
# dockerd on its own socket, a docker-registry, and notary-server with notary-signer
# behind it over mutual TLS, all on loopback.  The Notary part is deployed by the
# collection's own role (playbooks/notary_server.yml with service_manager none, run
# with build/venv's ansible-playbook: `make venv collection` first), and its daemons are
# started from the configuration the role rendered, as the role's systemd units would.
# Usage:
#   stack.sh install | start | stop | status | env
# Settings (environment): CT_STACK_DIR (state, default build/stack), CT_REGISTRY_PORT
# (5000), CT_NOTARY_PORT (4443: the Notary's front, nginx), CT_NOTARY_BACKEND_PORT
# (notary-server itself, on loopback behind the front, default CT_NOTARY_PORT + 1000),
# CT_SIGNER_PORT (notary-signer's gRPC port, default CT_NOTARY_PORT + 3000).  `env` prints
# shell exports for the stack in CT_STACK_DIR: its directory and the ports it was started with
# (recorded in CT_STACK_DIR/settings.env), its URLs and certificates, and the tools.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
STACK_DIR=${CT_STACK_DIR:-$root/build/stack}
REGISTRY_PORT=${CT_REGISTRY_PORT:-5000}
NOTARY_PORT=${CT_NOTARY_PORT:-4443}
SIGNER_PORT=${CT_SIGNER_PORT:-$((NOTARY_PORT + 3000))}
BACKEND_PORT=${CT_NOTARY_BACKEND_PORT:-$((NOTARY_PORT + 1000))}
# A name that never resolves: docker then treats the repository as non-loopback and
# verifies the Notary certificate against the CA, as it does for real registries.
NONLOOPBACK_HOST=${CT_NONLOOPBACK_HOST:-registry.content-trust.test}

VENV=$root/build/venv
COLLECTIONS=$root/build/collections
# What the notary_server role renders (content_trust_notary_config_dir), and where its
# CA is fetched to (content_trust_notary_ca_fetch_dest): the CA that signed the server
# certificate, printed as CT_NOTARY_CA.
NOTARY_DIR=$STACK_DIR/notary
CA_CERT=$STACK_DIR/tls/ca.crt
# The publisher's client certificate the role issues (content_trust_notary_publisher_*_fetch_dest):
# writes through the front need it; printed as CT_NOTARY_CLIENT_CERT and CT_NOTARY_CLIENT_KEY.
CLIENT_CERT=$STACK_DIR/tls/publisher.crt
CLIENT_KEY=$STACK_DIR/tls/publisher.key
ROLE_DIR=$STACK_DIR/notary-role
ROLE_LOG=$STACK_DIR/logs/notary-role.log

log() { printf 'stack: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  { command -v notary-server && command -v notary-signer; } >/dev/null || missing+=(notary)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  command -v nginx >/dev/null || missing+=(nginx-light)
  # The SSH leg (tests/integration/test_ssh_become.py): its fixture runs an sshd of its own on loopback.
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v sudo >/dev/null || missing+=(sudo)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # No package may start a system service (openssh-server would start sshd on port 22): policy-rc.d says no.
    local policy=/usr/sbin/policy-rc.d own_policy=
    if [ ! -e $policy ]; then printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy && own_policy=1; fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ -n "$own_policy" ]; then rm -f $policy; fi
  fi
  "$here/tools.sh" install  # cosign 2.x/3.x and notation under build/tools (newer Debian suites)
  # Debian's docker.io enables a system dockerd through systemd where systemd runs;
  # the stack never uses it, it runs its own daemon on its own socket.
}

wait_for() { # description, seconds, command...
  local what=$1 secs=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then log "$what did not become ready in ${secs}s"; return 1; fi
    sleep 0.2
  done
}

running() { # name: its pid file names a live process
  local pidf=$STACK_DIR/$1.pid
  [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null
}

start_daemon() { # name, logfile, environment file ('' for none), command...
  local name=$1 logf=$2 envf=$3; shift 3
  running "$name" && return 0
  # The environment file holds secrets (systemd EnvironmentFile syntax, which a POSIX
  # shell reads too): read it in the subshell that becomes the daemon, never into argv.
  (
    if [ -n "$envf" ]; then
      set -a
      # shellcheck source=/dev/null
      . "$envf"
      set +a
    fi
    exec setsid "$@" >"$logf" 2>&1 </dev/null
  ) &
  echo $! >"$STACK_DIR/$name.pid"
}

stop_daemon() { # name
  local pidf=$STACK_DIR/$1.pid pid
  [ -s "$pidf" ] || return 0
  pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
}

# --- Notary, deployed by the collection's notary_server role ---------------------------

# The signer's key passphrase: random, generated once, mode 0600, given to the role with
# -e @file only (never printed, never in argv).  The role writes it into signer.env for SQL
# storage only: with the stack's memory storage notary-signer keeps its keys in memory.
notary_secrets() {
  local f=$ROLE_DIR/secrets.yml
  [ -s "$f" ] && return 0
  (umask 077 && printf 'content_trust_notary_signer_key_passphrase: "%s"\n' "$(openssl rand -hex 24)" >"$f.tmp")
  mv "$f.tmp" "$f"
}

notary_inventory() {
  cat >"$ROLE_DIR/inventory.yml.tmp" <<YAML
# Written by tests/stack/stack.sh: the stack's Notary, deployed by the collection's
# notary_server role on this machine, with the processes started by stack.sh.
notary_servers:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: "$VENV/bin/python"
      content_trust_install_packages: false
      content_trust_notary_create_user: false
      content_trust_notary_user: root
      content_trust_notary_group: root
      content_trust_notary_service_manager: none
      content_trust_notary_storage: memory
      content_trust_notary_signer: remote
      content_trust_notary_listen: "127.0.0.1:$NOTARY_PORT"
      content_trust_notary_auth: mtls
      content_trust_notary_backend_listen: "127.0.0.1:$BACKEND_PORT"
      content_trust_notary_front_binary: "$(command -v nginx || echo /usr/sbin/nginx)"
      content_trust_notary_signer_listen: "127.0.0.1:$SIGNER_PORT"
      content_trust_notary_hostname: localhost
      content_trust_notary_extra_sans: [127.0.0.1, notary-server]
      content_trust_notary_tls_ca_common_name: content-trust test CA
      content_trust_notary_log_level: warn
      content_trust_notary_config_dir: "$NOTARY_DIR"
      content_trust_notary_ca_fetch_dest: "$CA_CERT"
      content_trust_notary_publisher_cert_fetch_dest: "$CLIENT_CERT"
      content_trust_notary_publisher_key_fetch_dest: "$CLIENT_KEY"
YAML
  mv "$ROLE_DIR/inventory.yml.tmp" "$ROLE_DIR/inventory.yml"
}

# What the last successful role run deployed: its inventory and secrets, the role and the
# playbook.  When that has not changed and everything runs, `start` skips the role.
notary_fingerprint() {
  {
    cat "$ROLE_DIR/inventory.yml" "$ROLE_DIR/secrets.yml"
    (cd "$root" && find roles/notary_server playbooks/notary_server.yml -type f -print0 | sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -d' ' -f1
}

need_ansible() {
  if [ ! -x "$VENV/bin/ansible-playbook" ] || [ ! -e "$COLLECTIONS/ansible_collections/openbanking/content_trust/galaxy.yml" ]; then
    die "the Notary is deployed with the collection's notary_server role, which needs $VENV/bin/ansible-playbook and the collection linked under $COLLECTIONS: run 'make venv collection' first"
  fi
}

# Runs the role; prints how many tasks it changed.
notary_role() {
  local rc=0 recap
  (cd "$root" && env -u PYTHONPATH ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 \
    ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_PIPELINING=1 \
    "$VENV/bin/ansible-playbook" -i "$ROLE_DIR/inventory.yml" -e "@$ROLE_DIR/secrets.yml" \
    playbooks/notary_server.yml) >"$ROLE_LOG" 2>&1 </dev/null || rc=$?
  recap=$(grep -E '^localhost +: ok=' "$ROLE_LOG" | tail -1 || true)
  if [ $rc -ne 0 ] || [ -z "$recap" ]; then
    log "the notary_server role failed (exit $rc); the end of $ROLE_LOG:"
    tail -n 40 "$ROLE_LOG" >&2
    exit 1
  fi
  sed -E 's/.* changed=([0-9]+).*/\1/' <<<"$recap"
}

# The stack's files from before the role deployed its Notary (a CA made with openssl here):
# replaced by links to the role's server certificate and key, which tests that start a
# second notary-server with the stack's certificate use.
notary_tls_links() {
  local name
  mkdir -p "$STACK_DIR/tls"
  chmod 700 "$STACK_DIR/tls"
  if [ -f "$STACK_DIR/tls/notary-server.crt" ] && [ ! -L "$STACK_DIR/tls/notary-server.crt" ]; then
    rm -f "$STACK_DIR/tls"/{ca.key,ca.srl,ext.cnf,notary-server.csr,notary-server.crt,notary-server.key}
  fi
  for name in crt key; do
    [ "$(readlink "$STACK_DIR/tls/notary-server.$name" 2>/dev/null)" = "../notary/server.$name" ] \
      || ln -sfn "../notary/server.$name" "$STACK_DIR/tls/notary-server.$name"
  done
}

# notary-signer answers gRPC over TLS, and only to a client certificate from the CA: ask
# its gRPC health service (grpc.health.v1.Health/Check, empty request) with the client
# certificate notary-server uses; the answer SERVING is the message 08 01.
signer_healthy() {
  local answer
  answer=$(printf '\0\0\0\0\0' | curl -sS --http2 --max-time 5 --cacert "$CA_CERT" \
    --cert "$NOTARY_DIR/signer-client.crt" --key "$NOTARY_DIR/signer-client.key" \
    -H 'content-type: application/grpc' -H 'te: trailers' --data-binary @- \
    "https://127.0.0.1:$SIGNER_PORT/grpc.health.v1.Health/Check" | od -An -tx1 | tr -d ' \n')
  [ "$answer" = 00000000020801 ]
}

server_healthy() {
  curl -fsS -o /dev/null --max-time 5 --cacert "$CA_CERT" "https://127.0.0.1:$NOTARY_PORT/_notary_server/health"
}

start_notary() {
  local changed=0 stamp=$ROLE_DIR/deployed
  mkdir -p "$ROLE_DIR"
  chmod 700 "$ROLE_DIR"
  notary_secrets
  notary_inventory
  if running notary-signer && running notary-server && running notary-front && [ -s "$NOTARY_DIR/server.json" ] \
     && [ "$(cat "$stamp" 2>/dev/null)" = "$(notary_fingerprint)" ]; then
    return 0
  fi
  changed=$(notary_role)
  notary_fingerprint >"$stamp"
  notary_tls_links
  # As the role's systemd handlers would: what runs restarts when its configuration changed.
  if [ "$changed" -gt 0 ]; then stop_daemon notary-front; stop_daemon notary-server; stop_daemon notary-signer; fi
  # notary-server checks the signer as soon as it starts (its health stays red for a while
  # after an early failure), so the signer goes first.  A new signer (memory storage) has
  # none of the keys the running server's repositories use: restart the server with it.
  if ! running notary-signer; then
    stop_daemon notary-server
    start_daemon notary-signer "$STACK_DIR/logs/notary-signer.log" "$NOTARY_DIR/signer.env" \
      notary-signer -config "$NOTARY_DIR/signer.json"
  fi
  wait_for notary-signer 30 signer_healthy || { tail -n 20 "$STACK_DIR/logs/notary-signer.log" >&2; return 1; }
  start_daemon notary-server "$STACK_DIR/logs/notary-server.log" "$NOTARY_DIR/server.env" \
    notary-server -config "$NOTARY_DIR/server.json"
  # The front (nginx, in the foreground: the rendered configuration says daemon off), as the
  # role's notary-front unit runs it.
  start_daemon notary-front "$STACK_DIR/logs/notary-front.log" '' \
    nginx -e "$NOTARY_DIR/front/error.log" -c "$NOTARY_DIR/front.conf"
}

start() {
  need_ansible
  install_packages
  mkdir -p "$STACK_DIR"/{docker,registry,logs}
  # What this stack runs on, for `env` in a shell whose CT_* settings differ (or are unset).
  cat >"$STACK_DIR/settings.env" <<SETTINGS
REGISTRY_PORT=$REGISTRY_PORT
NOTARY_PORT=$NOTARY_PORT
SIGNER_PORT=$SIGNER_PORT
BACKEND_PORT=$BACKEND_PORT
NONLOOPBACK_HOST=$NONLOOPBACK_HOST
SETTINGS
  # dockerd: own socket, data root, exec root; no host networking changes.
  start_daemon dockerd "$STACK_DIR/logs/dockerd.log" '' dockerd \
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
  start_daemon registry "$STACK_DIR/logs/registry.log" '' docker-registry serve "$STACK_DIR/registry/config.yml"
  # The role runs while dockerd and the registry come up.
  start_notary
  wait_for dockerd 60 docker -H "unix://$STACK_DIR/docker.sock" version
  wait_for registry 30 curl -fsS "http://127.0.0.1:$REGISTRY_PORT/v2/"
  wait_for notary-server 30 server_healthy || {
    tail -n 20 "$STACK_DIR/logs/notary-server.log" "$STACK_DIR/logs/notary-front.log" "$NOTARY_DIR/front/error.log" >&2
    return 1
  }
  log "up: docker unix://$STACK_DIR/docker.sock, registry 127.0.0.1:$REGISTRY_PORT, notary https://127.0.0.1:$NOTARY_PORT (nginx; notary-server 127.0.0.1:$BACKEND_PORT, signer 127.0.0.1:$SIGNER_PORT)"
}

stop() {
  local name
  for name in notary-front notary-server notary-signer registry dockerd; do
    stop_daemon "$name"
  done
  # dockerd's own containerd child goes with it; make sure nothing of ours is left.
  pkill -f "containerd.*$STACK_DIR/docker/exec" 2>/dev/null || true
  log "stopped"
}

status() {
  local name rc=0
  for name in dockerd registry notary-signer notary-server notary-front; do
    if running "$name"; then
      echo "$name: running"
    else
      echo "$name: stopped"; rc=1
    fi
  done
  return $rc
}

env_exports() {
  # The ports the stack in CT_STACK_DIR was started with (start records them), whatever this shell's CT_* say.
  # shellcheck disable=SC1091
  [ ! -s "$STACK_DIR/settings.env" ] || . "$STACK_DIR/settings.env"
  cat <<ENV
export CT_STACK_DIR=$STACK_DIR
export CT_REGISTRY_PORT=$REGISTRY_PORT
export CT_NOTARY_PORT=$NOTARY_PORT
export CT_SIGNER_PORT=$SIGNER_PORT
export CT_NOTARY_BACKEND_PORT=$BACKEND_PORT
export CT_DOCKER_HOST=unix://$STACK_DIR/docker.sock
export CT_REGISTRY=127.0.0.1:$REGISTRY_PORT
export CT_NOTARY_URL=https://127.0.0.1:$NOTARY_PORT
export CT_NOTARY_CA=$CA_CERT
export CT_NOTARY_CLIENT_CERT=$CLIENT_CERT
export CT_NOTARY_CLIENT_KEY=$CLIENT_KEY
export CT_NOTARY_BACKEND_URL=https://127.0.0.1:$BACKEND_PORT
export CT_NONLOOPBACK_HOST=$NONLOOPBACK_HOST
ENV
  "$here/tools.sh" env
}

case "${1:-}" in
  install) install_packages ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) env_exports ;;
  *) echo "usage: $0 install|start|stop|status|env" >&2; exit 2 ;;
esac
