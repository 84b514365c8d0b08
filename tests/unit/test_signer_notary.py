# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_notary: the cached TUF data notary and docker keep, key IDs, and notary's failure texts."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import datetime
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.openbanking.content_trust.plugins.module_utils._dockerinspect import (
    STALE_CACHE_RE, _PING_RE,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import (
    canonical_key_id, parse_public_pem, public_key_id, tuf_key_ids,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import (
    cached_metadata, changelist_dir, delegation_key_ids, delegation_roles, signature_key_ids,
    signed_targets,
)

GUN = '127.0.0.1:5000/acme/app'


def certificate():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'carol')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()) \
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)) \
        .sign(key, hashes.SHA256())
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


def test_cached_metadata_reads_the_gun_layout(tmp_path):
    trust = str(tmp_path)
    meta = os.path.join(trust, 'tuf', '127.0.0.1:5000', 'acme', 'app', 'metadata', 'targets')
    os.makedirs(meta)
    with open(os.path.join(meta, 'releases.json'), 'w') as f:
        json.dump({'signed': {'targets': {'v1': {}}}, 'signatures': [{'keyid': 'a'}, {'keyid': 'a'}]}, f)
    doc = cached_metadata(trust, GUN, 'targets/releases')
    assert signed_targets(doc) == ['v1'] and signature_key_ids(doc) == ['a']
    assert cached_metadata(trust, GUN, 'targets') is None
    assert changelist_dir(trust, GUN) == os.path.join(trust, 'tuf', '127.0.0.1:5000', 'acme', 'app', 'changelist')


def test_delegation_roles_and_key_ids_of_a_targets_json():
    key, cert_pem = certificate()
    cert_tuf_id = parse_public_pem(cert_pem)['key_id']
    plain = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = plain.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    plain_id = public_key_id(plain)
    doc = {'signed': {'delegations': {
        'keys': {
            cert_tuf_id: {'keytype': 'ecdsa-x509', 'keyval': {'private': None,
                                                              'public': base64.b64encode(cert_pem.encode()).decode()}},
            plain_id: {'keytype': 'ecdsa', 'keyval': {'private': None, 'public': base64.b64encode(der).decode()}},
        },
        # notary writes "keyids": null for a role whose last key was removed
        'roles': [{'name': 'targets/carol', 'keyids': [plain_id, cert_tuf_id], 'threshold': 1, 'paths': ['']},
                  {'name': 'targets/releases', 'keyids': None, 'threshold': 1, 'paths': ['']}],
    }}}
    roles = delegation_roles(doc)
    assert roles['targets/carol']['key_ids'] == sorted([plain_id, cert_tuf_id])
    assert roles['targets/releases'] == {'key_ids': [], 'threshold': 1, 'paths': ['']}
    ids = delegation_key_ids(doc)
    # docker trust inspect shows the ID of the certificate's public key, not the certificate's
    assert ids[plain_id] == plain_id
    assert ids[cert_tuf_id] == public_key_id(key.public_key()) != cert_tuf_id
    assert tuf_key_ids(cert_pem) == (cert_tuf_id, ids[cert_tuf_id])
    assert canonical_key_id('ecdsa', der) == plain_id
    assert delegation_roles(None) == {} and delegation_key_ids(None) == {}


def test_docker_answering_from_its_cache_is_detected():
    # what docker -l warn / -D print when the Notary server is down and trust data is cached
    warn = ('time="2026-11-25T14:21:59Z" level=warning msg="Error while downloading remote metadata, using cached '
            'timestamp - this might not be the latest version available remotely"')
    assert STALE_CACHE_RE.search(warn)
    debug = ('time="2026-11-25T14:21:54Z" level=debug msg="Error pinging notary server \\"https://127.0.0.1:1/v2/\\": '
             'Get \\"https://127.0.0.1:1/v2/\\": dial tcp 127.0.0.1:1: connect: connection refused"')
    m = _PING_RE.search(debug)
    assert m.group('url') == 'https://127.0.0.1:1/v2/'
    assert m.group('cause').endswith('connection refused"')
