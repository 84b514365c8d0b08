# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The diffs of the cosign and Notation writers (issue 22): cosign_sign, notation_sign, cosign_key, cosign_revoke and
notation_revoke, each action run whole (inputs, plan, apply, verify, result) on recorded tools or a recorded
registry, for a change, in check mode, and again with nothing to do; and no secret in any of them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.openbanking.content_trust.plugins.module_utils import _module, _ocirevoke
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocifiles import public_key_fingerprint
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocisig import PENDING_DIGEST, signing_state
from ansible_collections.openbanking.content_trust.plugins.modules import (
    cosign_key, cosign_revoke, cosign_sign, notation_revoke, notation_sign,
)

from ansible_collections.openbanking.content_trust.tests.unit.test_oci_revoke import DIGEST, GUN, RecordedRegistry

PASSPHRASE = 'Diff-Secret-Passphrase-1'
REPO = '127.0.0.1:5000/acme/app'
D1, D2 = 'sha256:' + '1' * 64, 'sha256:' + '2' * 64


class FakeModule(object):
    def __init__(self, params, check_mode=False, secrets=()):
        self.params = params
        self.check_mode = check_mode
        self.no_log_values = set(secrets)
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)


class FakeCli(object):
    docker_config = '/nonexistent/docker-config'
    timeout = 30


def _private_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(PASSPHRASE.encode())).decode()


def _public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _fingerprint(key):
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return digest.finalize().hex()


KEY = ec.generate_private_key(ec.SECP256R1())
OTHER = ec.generate_private_key(ec.SECP256R1())


def _no_secret(result, *secrets):
    text = json.dumps(result)
    for secret in (PASSPHRASE, 'PRIVATE KEY', _private_pem(KEY)) + secrets:
        assert secret not in text, secret


# --- the shared helper ---------------------------------------------------------------------------------------------

def test_before_after_has_one_shape_and_a_header():
    assert _module.before_after({'a': 1}, {'a': 2}) == {'before': {'a': 1}, 'after': {'a': 2}}
    headed = dict(before={}, after={}, before_header='r (x)', after_header='r (x)')
    assert _module.before_after({}, {}, header='r (x)') == headed


def test_before_after_withholds_any_secret_a_caller_puts_in():
    diff = _module.before_after({'k': ['ok', 'pass=%s' % PASSPHRASE]}, {'k': {'pem': _private_pem(KEY)}, 'n': None},
                                secrets={PASSPHRASE, '', None})
    assert diff == {'before': {'k': ['ok', _module.WITHHELD]}, 'after': {'k': {'pem': _module.WITHHELD}, 'n': None}}


def test_the_signed_tags_before_and_after_name_the_repository_and_tag():
    results = [dict(tag='v1', digest=D1, signed=True), dict(tag='v2', digest=D2, signed=False),
               dict(tag='new', digest=None, signed=True)]
    before, after = signing_state(REPO, results, {'public_key_fingerprint': 'ab'})
    assert before == {'signer': {'public_key_fingerprint': 'ab'},
                      'signed_tags': {REPO + ':v1': None, REPO + ':v2': D2, REPO + ':new': None}}
    assert after == {'signer': {'public_key_fingerprint': 'ab'},
                     'signed_tags': {REPO + ':v1': D1, REPO + ':v2': D2, REPO + ':new': PENDING_DIGEST}}


def test_the_fingerprint_is_the_sha256_of_the_der_public_key():
    assert public_key_fingerprint('cosign says:\n' + _public_pem(KEY)) == _fingerprint(KEY)
    assert public_key_fingerprint('no key here') is None and public_key_fingerprint(None) is None
    assert public_key_fingerprint('-----BEGIN PUBLIC KEY-----\nnot base64\n') is None


# --- cosign_sign ---------------------------------------------------------------------------------------------------

class CosignTools(object):
    """cosign as the module sees it: the signatures by the key, digest to the tags they are bound to."""

    signed = {}

    def __init__(self, cli, cosign_cli=None, secrets=()):
        self.secrets = secrets

    def cosign_features(self):
        return {'major': 3}

    def cosign_public_key(self, path, password, option='key_passphrase'):
        assert password == PASSPHRASE
        return _public_pem(KEY)

    def write_public_keys(self, pems):
        return ['/tmp/never-read.pub']

    def cosign_signed_digests(self, reference, digests, paths, annotations=None, tlog=False):
        return dict((d, (bool(self.signed.get(d)), set(self.signed.get(d, ())), None)) for d in digests if d)

    def cosign_sign(self, reference, digest, key, password, annotations, tlog, containers_form=False):
        self.signed.setdefault(digest, set()).add(annotations['org.openbanking.content_trust.tag'])


@pytest.fixture
def registry_tags(monkeypatch):
    """The registry's tags (tag to digest); the sign modules resolve through it."""
    tags = {'v1': D1, 'v2': D1}

    def resolve(cli, reference, wanted, missing_ok=False):
        assert missing_ok or all(t in tags for t in wanted)
        return dict((t, tags.get(t)) for t in wanted)

    monkeypatch.setattr(cosign_sign, 'resolve_digests', resolve)
    monkeypatch.setattr(notation_sign, 'resolve_digests', resolve)
    monkeypatch.setattr(cosign_sign, 'OciTools', CosignTools)
    CosignTools.signed = {}
    return tags


def _cosign_sign(check_mode=False, tags=('v1', 'v2')):
    params = dict(repository=REPO, tags=list(tags), origin=None, digests={}, key='/keys/release.key',
                  key_passphrase=PASSPHRASE, annotations={}, transparency_log=False, signature_form='default',
                  cosign_cli='cosign')
    return cosign_sign.Sign(FakeModule(params, check_mode, secrets=[PASSPHRASE]), FakeCli())()


def test_cosign_sign_diff_shows_what_gets_signed_in_check_mode_and_for_real(registry_tags):
    signer = {'public_key_fingerprint': _fingerprint(KEY)}
    CosignTools.signed = {D1: {'v2'}}  # v2 already signed by this key, v1 not
    planned = _cosign_sign(check_mode=True, tags=('v1', 'v2', 'unpushed'))
    assert planned['changed'] and CosignTools.signed == {D1: {'v2'}}
    assert planned['diff'] == {
        'before': {'signer': signer, 'signed_tags': {REPO + ':v1': None, REPO + ':v2': D1, REPO + ':unpushed': None}},
        'after': {'signer': signer, 'signed_tags': {REPO + ':v1': D1, REPO + ':v2': D1,
                                                    REPO + ':unpushed': PENDING_DIGEST}},
        'before_header': REPO + ' (cosign signatures)', 'after_header': REPO + ' (cosign signatures)'}
    signed = _cosign_sign()
    assert signed['changed'] and CosignTools.signed == {D1: {'v1', 'v2'}}
    assert signed['diff']['before']['signed_tags'] == {REPO + ':v1': None, REPO + ':v2': D1}
    assert signed['diff']['after']['signed_tags'] == {REPO + ':v1': D1, REPO + ':v2': D1}
    again = _cosign_sign()
    assert not again['changed'] and again['diff']['before'] == again['diff']['after'] == signed['diff']['after']
    for result in (planned, signed, again):
        _no_secret(result['diff'])


# --- notation_sign -------------------------------------------------------------------------------------------------

class NotationTools(object):
    signed = {}

    def __init__(self, cli, notation_cli=None):
        pass

    def notation_path(self):
        return '/usr/bin/notation'

    def notation_use_key(self, key, chain):
        pass

    def notation_trust(self, reference, cas):
        pass

    def notation_signed_digests(self, reference, digests, fingerprint):
        return dict((d, set(self.signed.get(d, ()))) for d in digests if d)

    def notation_verified(self, reference, digest, metadata):
        return metadata['org.openbanking.content_trust.tag'] in self.signed.get(digest, ()), ''

    def notation_sign(self, reference, digest, metadata):
        self.signed.setdefault(digest, set()).add(metadata['org.openbanking.content_trust.tag'])


def _notation_sign(monkeypatch, check_mode=False):
    monkeypatch.setattr(notation_sign, 'OciTools', NotationTools)
    monkeypatch.setattr(notation_sign, 'check_notation_signing_files',
                        lambda key, chain, owners: ('9a41' * 16, ['-----BEGIN CERTIFICATE-----\n']))
    params = dict(repository=REPO, tags=['v1', 'v2'], origin=None, digests={}, key='/keys/notation.key',
                  key_owner=None, certificate_chain='/keys/chain.pem', notation_cli='notation')
    return notation_sign.Sign(FakeModule(params, check_mode), FakeCli())()


def test_notation_sign_diff_shows_the_certificate_and_what_gets_signed(registry_tags, monkeypatch):
    NotationTools.signed = {D1: {'v1'}}
    signer = {'certificate_fingerprint': '9a41' * 16}
    planned = _notation_sign(monkeypatch, check_mode=True)
    assert planned['changed'] and NotationTools.signed == {D1: {'v1'}}
    assert planned['diff']['before'] == {'signer': signer, 'signed_tags': {REPO + ':v1': D1, REPO + ':v2': None}}
    assert planned['diff']['after'] == {'signer': signer, 'signed_tags': {REPO + ':v1': D1, REPO + ':v2': D1}}
    assert planned['diff']['before_header'] == REPO + ' (Notation signatures)'
    signed = _notation_sign(monkeypatch)
    assert signed['changed'] and NotationTools.signed == {D1: {'v1', 'v2'}} and signed['diff'] == planned['diff']
    again = _notation_sign(monkeypatch)
    assert not again['changed'] and again['diff']['before'] == again['diff']['after'] == signed['diff']['after']
    for result in (planned, signed, again):
        _no_secret(result['diff'])


# --- cosign_key ----------------------------------------------------------------------------------------------------

class KeyTools(object):
    """cosign's key commands: generate-key-pair writes an encrypted key and its .pub; public-key reads the .pub."""

    generated = KEY

    def __init__(self, cli, cosign_cli=None, secrets=()):
        pass

    def cosign_path(self):
        return '/usr/bin/cosign'

    def run_pty(self, argv, password, what, pass_fds=(), option=None):
        prefix = argv[argv.index('--output-key-prefix') + 1]
        with open(prefix + '.key', 'w') as f:
            f.write(_private_pem(self.generated))
        with open(prefix + '.pub', 'w') as f:
            f.write(_public_pem(self.generated))
        return 0, ''

    def cosign_public_key(self, key_file, password, option=None):
        assert password == PASSPHRASE
        with open(key_file) as f:
            pem = f.read()
        key = serialization.load_pem_private_key(pem.encode(), PASSPHRASE.encode())
        return _public_pem(key)


def _cosign_key(monkeypatch, prefix, check_mode=False, force=False, generated=KEY):
    monkeypatch.setattr(cosign_key, 'OciTools', KeyTools)
    KeyTools.generated = generated
    params = dict(path=prefix, passphrase=PASSPHRASE, private_key_path=None, private_key_passphrase=None, force=force,
                  cosign_cli='cosign')
    return cosign_key.EnsureKeyPair(FakeModule(params, check_mode, secrets=[PASSPHRASE]), FakeCli())()


def test_cosign_key_diff_shows_the_files_created_with_their_fingerprint(monkeypatch, tmp_path):
    prefix = str(tmp_path / 'keys' / 'release')
    key_file, pub_file = prefix + '.key', prefix + '.pub'
    planned = _cosign_key(monkeypatch, prefix, check_mode=True)
    assert planned['changed'] and not os.path.exists(key_file)
    assert planned['diff']['before'] == {}
    assert planned['diff']['after'] == {key_file: {'mode': '0600', 'public_key_fingerprint': cosign_key.GENERATED},
                                        pub_file: {'public_key_fingerprint': cosign_key.GENERATED}}
    assert planned['diff']['before_header'] == prefix + ' (cosign key pair)'
    made = _cosign_key(monkeypatch, prefix)
    fingerprint = _fingerprint(KEY)
    assert made['changed'] and made['diff']['before'] == {}
    assert made['diff']['after'] == {key_file: {'mode': '0600', 'public_key_fingerprint': fingerprint},
                                     pub_file: {'public_key_fingerprint': fingerprint}}
    again = _cosign_key(monkeypatch, prefix)
    assert not again['changed'] and again['diff']['before'] == again['diff']['after'] == made['diff']['after']
    for result in (planned, made, again):
        _no_secret(result['diff'])
        assert 'passphrase' not in json.dumps(result['diff'])


def test_cosign_key_diff_shows_the_mode_and_public_key_file_it_puts_right(monkeypatch, tmp_path):
    prefix = str(tmp_path / 'release')
    key_file, pub_file = prefix + '.key', prefix + '.pub'
    _cosign_key(monkeypatch, prefix)
    os.chmod(key_file, 0o640)
    with open(pub_file, 'w') as f:
        f.write(_public_pem(OTHER))  # someone put another key's .pub beside it
    planned = _cosign_key(monkeypatch, prefix, check_mode=True)
    assert planned['changed'] and stat.S_IMODE(os.stat(key_file).st_mode) == 0o640
    assert planned['diff']['before'] == {key_file: {'mode': '0640', 'public_key_fingerprint': _fingerprint(KEY)},
                                         pub_file: {'public_key_fingerprint': _fingerprint(OTHER)}}
    assert planned['diff']['after'] == {key_file: {'mode': '0600', 'public_key_fingerprint': _fingerprint(KEY)},
                                        pub_file: {'public_key_fingerprint': _fingerprint(KEY)}}
    fixed = _cosign_key(monkeypatch, prefix)
    assert fixed['changed'] and fixed['diff'] == planned['diff']
    assert not _cosign_key(monkeypatch, prefix)['changed']


def test_cosign_key_diff_of_a_key_replaced_with_force(monkeypatch, tmp_path):
    prefix = str(tmp_path / 'release')
    key_file, pub_file = prefix + '.key', prefix + '.pub'
    _cosign_key(monkeypatch, prefix)
    replaced = _cosign_key(monkeypatch, prefix, force=True, generated=OTHER)
    assert replaced['changed']
    assert replaced['diff']['before'] == {key_file: {'mode': '0600', 'public_key_fingerprint': cosign_key.REPLACED},
                                          pub_file: {'public_key_fingerprint': _fingerprint(KEY)}}
    assert replaced['diff']['after'][pub_file] == {'public_key_fingerprint': _fingerprint(OTHER)}
    _no_secret(replaced['diff'], _private_pem(OTHER))


# --- cosign_revoke and notation_revoke -----------------------------------------------------------------------------

def _revoke(module, registry, monkeypatch, check_mode=False):
    monkeypatch.setattr(_ocirevoke, 'RegistryClient', lambda *args, **kwargs: registry)
    params = dict(repository=GUN, tags=['v1'], digests={'v1': DIGEST}, missing='warn', origin=None)
    return module.Revoke(FakeModule(params, check_mode), FakeCli())()


@pytest.mark.parametrize('module, kinds', [(cosign_revoke, ['bundle', 'simple-signing']), (notation_revoke, ['notation'])])
def test_revoke_diff_lists_the_signatures_that_stop_verifying_for_the_tag(module, kinds, monkeypatch):
    registry = RecordedRegistry()
    ref = '%s:v1' % GUN
    planned = _revoke(module, registry, monkeypatch, check_mode=True)
    assert planned['changed'] and registry.writes == []
    before = planned['diff']['before']['signatures'][ref]
    assert sorted(label.split()[0] for label in before) == kinds
    assert planned['diff']['after'] == {'signatures': {ref: []}}
    assert planned['diff']['before_header'].startswith(GUN + ' (')
    revoked = _revoke(module, registry, monkeypatch)
    assert revoked['changed'] and registry.writes and revoked['diff'] == planned['diff']
    again = _revoke(module, registry, monkeypatch)
    assert not again['changed'] and again['diff']['before'] == again['diff']['after'] == {'signatures': {ref: []}}
    for result in (planned, revoked, again):
        _no_secret(result['diff'])
