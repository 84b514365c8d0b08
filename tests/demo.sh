#!/usr/bin/env bash
# The demo that `make demo` runs (after the virtualenv and the collection symlink
# exist): the manual runbook of the conformance suite, done by the collection's
# playbooks against the local trust stack.
#
#   1. start the local stack (tests/stack/stack.sh: dockerd, registry, and a Notary
#      server + signer deployed by the notary_server role)
#   2. build a small image FROM scratch as openbanking/conformance-suite:demo
#   3. provision_signing_host.yml  jeff's signer key on the signing host (localhost)
#   4. sync_signers.yml            jeff may sign <registry>/openbanking/conformance-suite
#   5. publish_release.yml         push and sign v1.0.0 as jeff, verify, write the report
#   6. verify_release.yml          verify again, as a consumer or auditor would
#   7. show what the Notary serves for v1.0.0 (the collection's trust_info, on any docker CLI; also
#      `docker trust inspect --pretty` where the CLI has it), cosign and notation verify, the release report
#
# Running it again changes nothing: every PLAY RECAP then says changed=0 (the summary
# at the end lists them). The stack keeps running afterwards so that the result can be
# looked at; `make stack-down` (tests/stack/stack.sh stop) stops it. The Notary server
# keeps its data in memory only: after a restart of the stack the demo signs again
# from scratch.
#
# Settings (environment): CT_STACK_DIR, CT_REGISTRY_PORT, CT_NOTARY_PORT (the stack,
# see tests/stack/stack.sh), CT_DEMO_DIR (the demo's state: signing docker config,
# generated passphrases, public keys, reports, logs; default build/demo), DOCKER_CLI (the
# docker CLI the playbooks use, default docker; e.g. ../shared/bin/docker-29, which without
# its docker-trust plugin makes the modules use the notary CLI and the Docker SDK),
# CT_DEMO_COLLECTIONS (the collections path the playbooks run from: default
# build/collections, the symlink to this clone; `make installed` gives it the
# collection installed from the built tarball, and the playbooks are then those of the
# installed copy; the demo inventory and image are always this clone's: the tarball
# leaves them out, as they need the clone's stack and secrets).
# Passphrases are generated once into $CT_DEMO_DIR/secrets.yml (mode 0600) and given
# to the playbooks with -e @file; they are never printed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
stack=$root/tests/stack/stack.sh
venv=$root/build/venv
collections=${CT_DEMO_COLLECTIONS:-$root/build/collections}
collection=$collections/ansible_collections/openbanking/content_trust
export CT_DEMO_DIR=${CT_DEMO_DIR:-$root/build/demo}
demo=$CT_DEMO_DIR
secrets=$demo/secrets.yml
image=openbanking/conformance-suite:demo
release=v1.0.0

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ -x "$venv/bin/ansible-playbook" ] || die "no virtualenv in $venv: run 'make venv' first"
[ -e "$collection/galaxy.yml" ] || [ -e "$collection/MANIFEST.json" ] ||
  die "no collection at $collection: run 'make collection' (or 'make installed') first"

say "Starting the local trust stack"
"$stack" start
eval "$("$stack" env)"
export PATH="$venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH=$collections
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
export ANSIBLE_HOST_KEY_CHECKING=False
unset PYTHONPATH
repository=$CT_REGISTRY/openbanking/conformance-suite
# A relative DOCKER_CLI is relative to the repository root, where `make demo` runs.
DOCKER_CLI=${DOCKER_CLI:-docker}
case $DOCKER_CLI in
  */*) DOCKER_CLI=$(cd "$root" && cd "$(dirname "$DOCKER_CLI")" && pwd)/$(basename "$DOCKER_CLI") ;;
esac
export CT_DEMO_DOCKER_CLI=$DOCKER_CLI
echo "demo: the playbooks use the docker CLI $DOCKER_CLI ($("$DOCKER_CLI" --version))"

mkdir -p "$demo/logs"
chmod 700 "$demo"
if [ ! -s "$secrets" ]; then
  say "Generating the demo passphrases into $secrets (mode 0600, never printed)"
  (umask 077 && "$venv/bin/python" - >"$secrets.tmp" <<'PY'
import secrets
for name in ('content_trust_root_passphrase', 'content_trust_repository_passphrase',
             'content_trust_signer_passphrase'):
    print('%s: "%s"' % (name, secrets.token_urlsafe(24)))
PY
  )
  mv "$secrets.tmp" "$secrets"
fi
chmod 600 "$secrets"
# The cosign key password joins them (a demo made before cosign lacks it); printf is a builtin.
grep -q '^content_trust_cosign_key_passphrase:' "$secrets" \
  || printf 'content_trust_cosign_key_passphrase: "%s"\n' "$(openssl rand -hex 24)" >>"$secrets"

# Notation signs with a certificate from the team's CA: a demo CA and a code-signing leaf, with
# openssl as docs/after-notary-v1.md shows (the key is the signer's own 0600 file).
if [ ! -s "$demo/notation/signer-chain.pem" ]; then
  say "Making the Notation signing certificate (demo CA, code-signing leaf) in $demo/notation"
  mkdir -p "$demo/notation" && chmod 700 "$demo/notation"
  (cd "$demo/notation" \
    && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 3650 \
         -subj "/C=GB/ST=London/O=Open Banking/CN=Demo Signing CA" \
         -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null \
    && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout signer.key -out signer.csr \
         -subj "/C=GB/ST=London/O=Open Banking/CN=jeff" 2>/dev/null \
    && printf 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' >leaf.ext \
    && openssl x509 -req -in signer.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -extfile leaf.ext \
         -out signer.crt 2>/dev/null \
    && cat signer.crt ca.crt >signer-chain.pem && chmod 600 signer.key ca.key)
fi

# The Notary server keeps its trust data in memory. When the stack was restarted since
# the last demo, the signing host's cached trust metadata describes repositories the
# server has forgotten; drop the cache and the pins of those roots (never the keys) so that the demo
# starts over: sync_signers.yml pins the new roots.
server_id=$(cat "$CT_STACK_DIR/notary-server.pid" 2>/dev/null || echo none)
if [ -d "$demo/docker/trust/tuf" ] && [ "$(cat "$demo/notary-server.id" 2>/dev/null)" != "$server_id" ]; then
  say "The Notary server was restarted since the last demo: clearing the cached trust metadata"
  rm -rf "$demo/docker/trust/tuf" "$demo/docker/trust/pinned" "$demo/content_trust_pins.yml"
fi
echo "$server_id" >"$demo/notary-server.id"

say "Building $image (FROM scratch, offline)"
mkdir -p "$demo/docker"
chmod 700 "$demo/docker"
DOCKER_BUILDKIT=0 DOCKER_CONFIG=$demo/docker "$DOCKER_CLI" -H "$CT_DOCKER_HOST" build -q -t "$image" \
  "$root/playbooks/files/demo-image" >/dev/null
echo "built $image"

recaps=()
run_playbook() { # playbook, title
  local pb=$1 title=$2 log=$demo/logs/$1.log
  say "$title: ansible-playbook -i $root/playbooks/inventory/demo.yml -e @$secrets playbooks/$pb.yml (in $collection)"
  (cd "$collection" && ansible-playbook -i "$root/playbooks/inventory/demo.yml" -e "@$secrets" "playbooks/$pb.yml") 2>&1 \
    | tee "$log"
  recaps+=("$(printf '%-24s %s' "$pb.yml" "$(grep -E '^localhost +:' "$log" | tail -1 | sed 's/^localhost *: *//')")")
}

run_playbook provision_signing_host "Provisioning the signing host (jeff's key)"
run_playbook sync_signers "Reconciling the signers (jeff may sign $repository)"
run_playbook publish_release "Publishing release $release signed by jeff"
run_playbook verify_release "Verifying release $release as a consumer would"

# The consumer's view, from a clean docker configuration that holds only the Notary's CA: what the Notary serves for
# the release, read by the collection's own trust_info, which works on every docker CLI (on docker 29 without the
# docker-trust plugin it reads with the notary CLI, verifying the TUF metadata as docker does). The same data as
# `docker trust inspect --pretty`, which is shown too where the demo's docker CLI has `docker trust`.
clean=$(mktemp -d)
trap 'rm -rf "$clean"' EXIT
hostport=${CT_NOTARY_URL#https://}
mkdir -p "$clean/tls/$hostport"
cp "$CT_NOTARY_CA" "$clean/tls/$hostport/ca.crt"
say "openbanking.content_trust.trust_info $repository:$release (a consumer's view: clean docker config, $DOCKER_CLI)"
ANSIBLE_LOAD_CALLBACK_PLUGINS=1 ANSIBLE_STDOUT_CALLBACK=ansible.builtin.minimal \
  ansible localhost -c local -i localhost, -e ansible_python_interpreter="$venv/bin/python" \
  -m openbanking.content_trust.trust_info \
  -a "references=$repository:$release docker_cli=$DOCKER_CLI docker_config=$clean server=$CT_NOTARY_URL" \
  >"$demo/logs/trust_info.json" 2>"$demo/logs/trust_info.log" || { cat "$demo/logs/trust_info".*; die "trust_info failed"; }
"$venv/bin/python" - "$demo/logs/trust_info.json" <<'PY'
import json, sys
# The minimal callback: "localhost | SUCCESS => {the result}".
result = json.loads(open(sys.argv[1]).read().split('=>', 1)[1])
for repo in result['repositories']:
    print('Signatures for %s\n' % repo['repository'])
    print('%-18s %-71s %s' % ('SIGNED TAG', 'DIGEST', 'SIGNERS'))
    for tag in repo['signed_tags']:
        print('%-18s %-71s %s' % (tag['tag'], tag['digest'], ' '.join(tag['signers'])))
    print('\nList of signers and their keys for %s\n' % repo['repository'])
    print('%-18s %s' % ('SIGNER', 'KEYS'))
    for signer in repo['signers']:
        print('%-18s %s' % (signer['name'], ' '.join(k[:12] for k in signer['key_ids'])))
    print('\nRoot key:       %s' % ' '.join(k[:12] for k in repo['root_key_ids']))
    print('Repository key: %s' % ' '.join(k[:12] for k in repo['repository_key_ids']))
PY
if "$DOCKER_CLI" trust inspect --help 2>&1 | grep -q -- --pretty; then
  say "docker trust inspect --pretty $repository:$release (the same, with $DOCKER_CLI)"
  DOCKER_CONFIG=$clean DOCKER_CONTENT_TRUST_SERVER=$CT_NOTARY_URL "$DOCKER_CLI" trust inspect --pretty "$repository:$release"
fi

digest=$("$venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["images"][0]["digest"])' \
  "$demo/reports/release-$release.json")
say "cosign verify --key $demo/cosign/release.pub $repository@$digest (the real cosign)"
# cosign prints its checks on stderr and the verified payload (JSON) on stdout.
{ "$demo/bin/cosign" verify --key "$demo/cosign/release.pub" --insecure-ignore-tlog=true "$repository@$digest" >/dev/null; } 2>&1

say "notation verify $repository@$digest (the real notation, strict policy trusting the demo CA)"
consumer=$demo/notation-consumer
mkdir -p "$consumer/notation/truststore/x509/ca/demo"
cp "$demo/notation/ca.crt" "$consumer/notation/truststore/x509/ca/demo/ca.crt"
printf '{"version":"1.0","trustPolicies":[{"name":"demo","registryScopes":["%s"],"signatureVerification":{"level":"strict"},"trustStores":["ca:demo"],"trustedIdentities":["x509.subject: C=GB, ST=London, O=Open Banking, CN=jeff"]}]}\n' \
  "$repository" >"$consumer/notation/trustpolicy.json"
XDG_CONFIG_HOME=$consumer "$demo/bin/notation" verify --insecure-registry "$repository@$digest"

say "Release report ($demo/reports/release-$release.md; JSON next to it)"
cat "$demo/reports/release-$release.md"

say "PLAY RECAPs (a second run of the demo shows changed=0 everywhere)"
printf '%s\n' "${recaps[@]}"

say "Done"
echo "The local stack is still running (registry $CT_REGISTRY, Notary $CT_NOTARY_URL)."
echo "Stop it with: make stack-down   (or: tests/stack/stack.sh stop)"
