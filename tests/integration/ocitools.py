# -*- coding: utf-8 -*-
"""The real cosign (2.5 and 3.1) and notation binaries, and what the registry holds.

The binaries come from tests/stack/tools.sh (build/tools); `stack.sh env` exports their
paths as CT_COSIGN2, CT_COSIGN3 and CT_NOTATION, and tools.sh is asked when they are unset.
"""

import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request

import pytest

from conftest import ROOT

ACCEPT = ', '.join([
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.oci.image.index.v1+json',
])


def tool_paths():
    keys = ('CT_COSIGN2', 'CT_COSIGN3', 'CT_NOTATION')
    found = dict((k, os.environ[k]) for k in keys if os.environ.get(k))
    if len(found) < len(keys):
        out = subprocess.run([os.path.join(ROOT, 'tests', 'stack', 'tools.sh'), 'env'], stdout=subprocess.PIPE,
                             check=True).stdout.decode()
        for line in out.splitlines():
            k, v = line.replace('export ', '').split('=', 1)
            found.setdefault(k, v)
    missing = [k for k in keys if not found.get(k) or not os.access(found[k], os.X_OK)]
    if missing:
        pytest.fail('cosign/notation are not installed (%s); run tests/stack/tools.sh install' % ', '.join(missing))
    return found


COSIGN_VERSIONS = ['2.5', '3.1']


def cosign_binary(version):
    return tool_paths()['CT_COSIGN2' if version.startswith('2') else 'CT_COSIGN3']


def notation_binary():
    return tool_paths()['CT_NOTATION']


def push_image(stack, docker_config, repo, tags, content=None):
    """Build one tiny image and push it under every tag; returns the registry digest."""
    first = '%s:%s' % (repo, tags[0])
    stack.build_image(docker_config, first, content)
    for tag in tags:
        ref = '%s:%s' % (repo, tag)
        if tag != tags[0]:
            stack.docker(docker_config, 'tag', first, ref)
        stack.docker(docker_config, 'push', '-q', ref)
    return registry_digest(stack, repo, tags[0])


def _path(stack, repo):
    return repo[len(stack.registry) + 1:]


def registry_digest(stack, repo, tag):
    req = urllib.request.Request('http://%s/v2/%s/manifests/%s' % (stack.registry, _path(stack, repo), tag),
                                 method='HEAD', headers={'Accept': ACCEPT})
    try:
        return urllib.request.urlopen(req, timeout=10).headers['Docker-Content-Digest']
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def registry_manifest(stack, repo, ref):
    """``(bytes, media type)`` of a manifest as the registry serves it (by tag or digest)."""
    req = urllib.request.Request('http://%s/v2/%s/manifests/%s' % (stack.registry, _path(stack, repo), ref),
                                 headers={'Accept': ACCEPT})
    resp = urllib.request.urlopen(req, timeout=10)
    return resp.read(), resp.headers['Content-Type']


def attacker_put_manifest(stack, repo, tag, body, media_type):
    """What anyone who can push to the registry can do, holding no signing key: make ``tag`` serve ``body``.
    Returns the digest the registry gives it."""
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    req = urllib.request.Request('http://%s/v2/%s/manifests/%s' % (stack.registry, _path(stack, repo), tag),
                                 data=body, method='PUT', headers={'Content-Type': media_type})
    return urllib.request.urlopen(req, timeout=10).headers['Docker-Content-Digest']


def attacker_move_tag(stack, repo, tag, digest):
    """Point ``tag`` at the manifest ``digest`` already in the repository (an older signed release)."""
    body, media_type = registry_manifest(stack, repo, digest)
    moved = attacker_put_manifest(stack, repo, tag, body, media_type)
    assert moved == digest and registry_digest(stack, repo, tag) == digest
    return moved


def attacker_annotate(stack, repo, tag, digest, annotations):
    """Re-push the manifest ``digest`` under ``tag`` with unsigned ``annotations`` added (a new digest)."""
    body, media_type = registry_manifest(stack, repo, digest)
    manifest = json.loads(body.decode())
    manifest['annotations'] = dict(manifest.get('annotations') or {}, **annotations)
    return attacker_put_manifest(stack, repo, tag, manifest, media_type)


def registry_state(stack, repo):
    """Every tag of the repository (signature tags included) with its digest, from the registry API."""
    url = 'http://%s/v2/%s/tags/list' % (stack.registry, _path(stack, repo))
    tags = json.loads(urllib.request.urlopen(url, timeout=10).read()).get('tags') or []
    return dict((t, registry_digest(stack, repo, t)) for t in tags)


def cosign_cli(binary, *args, **kwargs):
    """The real cosign, no password needed (verify); returns the process."""
    env = dict(os.environ)
    env.pop('COSIGN_PASSWORD', None)
    env.update(kwargs.pop('env', {}))
    return subprocess.run([binary] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          stdin=subprocess.DEVNULL, timeout=kwargs.pop('timeout', 120), check=False)


def binding(repo, tag):
    """The annotations (cosign) / user metadata (Notation) the collection signs a tag's signature with."""
    return {'org.openbanking.content_trust.repository': repo, 'org.openbanking.content_trust.tag': tag}


def real_cosign_verify(binary, pub_path, ref, annotations=None):
    args = ['verify', '--key', pub_path, '--insecure-ignore-tlog=true']
    for k, v in sorted((annotations or {}).items()):
        args += ['-a', '%s=%s' % (k, v)]
    return cosign_cli(binary, *(args + [ref]))


def make_notation_pki(directory, name='release signer', org='Acme'):
    """A CA and a leaf with the code-signing usage, made with openssl as docs/after-notary-v1.md shows.
    Returns {ca, key, chain} paths; the key is 0600."""
    os.makedirs(directory, exist_ok=True)

    def d(name):
        return os.path.join(directory, name)

    def sh(*argv):
        subprocess.run(list(argv), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    sh('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
       '-keyout', d('ca.key'), '-out', d('ca.crt'), '-days', '30', '-subj', '/C=GB/ST=London/O=%s/CN=%s CA' % (org, org),
       '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
    sh('openssl', 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', d('signer.key'),
       '-out', d('signer.csr'), '-subj', '/C=GB/ST=London/O=%s/CN=%s' % (org, name))
    with open(d('leaf.ext'), 'w') as f:
        f.write('basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n')
    sh('openssl', 'x509', '-req', '-in', d('signer.csr'), '-CA', d('ca.crt'), '-CAkey', d('ca.key'), '-CAcreateserial',
       '-days', '30', '-extfile', d('leaf.ext'), '-out', d('signer.crt'))
    with open(d('signer-chain.pem'), 'w') as f:
        f.write(open(d('signer.crt')).read() + open(d('ca.crt')).read())
    os.chmod(d('signer.key'), 0o600)
    return {'ca': d('ca.crt'), 'key': d('signer.key'), 'chain': d('signer-chain.pem'),
            'identity': notation_identity(name, org)}


def notation_identity(name='release signer', org='Acme'):
    """The trusted identity (Notation trust policy) of the leaf ``make_notation_pki`` issues."""
    return 'x509.subject: C=GB, ST=London, O=%s, CN=%s' % (org, name)


def real_notation_verify(binary, ref, ca_path, scope, metadata=None):
    """The real `notation verify` with a trust store of one CA and a strict policy, in a config of its own."""
    xdg = tempfile.mkdtemp(prefix='notation-verify-')
    store = os.path.join(xdg, 'notation', 'truststore', 'x509', 'ca', 'test')
    os.makedirs(store)
    with open(ca_path) as src, open(os.path.join(store, 'ca.crt'), 'w') as dst:
        dst.write(src.read())
    policy = {'version': '1.0', 'trustPolicies': [{
        'name': 'test', 'registryScopes': [scope], 'signatureVerification': {'level': 'strict'},
        'trustStores': ['ca:test'], 'trustedIdentities': ['*']}]}
    with open(os.path.join(xdg, 'notation', 'trustpolicy.json'), 'w') as f:
        json.dump(policy, f)
    env = dict(os.environ, XDG_CONFIG_HOME=xdg)
    argv = [binary, 'verify', '--insecure-registry']
    for k, v in sorted((metadata or {}).items()):
        argv += ['--user-metadata', '%s=%s' % (k, v)]
    try:
        return subprocess.run(argv + [ref], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=env, timeout=120, check=False)
    finally:
        shutil.rmtree(xdg, ignore_errors=True)
