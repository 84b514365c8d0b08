# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Signing as one signer: the trust view, the passphrase check, and reading docker's and notary's output."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat
import tempfile

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._keys import (
    generate_private_key, notary_key_pem, public_key_id,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._keystore import write_private_key_file
from ansible_collections.openbanking.content_trust.plugins.module_utils._daemon import pushed_digest, repo_digests
from ansible_collections.openbanking.content_trust.plugins.module_utils import _signing
from ansible_collections.openbanking.content_trust.plugins.module_utils._signing import (
    check_passphrase, signed_by, signer_local_keys,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._views import signer_view
from ansible_collections.openbanking.content_trust.plugins.module_utils._trustdata import parse_inspect_entry

HEX_A = 'a' * 64
HEX_B = 'b' * 64
REPO = parse_reference('127.0.0.1:5000/acme/app', allow_tag=False)


class FakeCLI(object):
    """What the helpers use of TrustCLI; ``outputs`` maps an argv tail to (rc, output)."""

    def __init__(self, docker_config, outputs=None):
        self.docker_config = docker_config
        self.trust_dir = os.path.join(docker_config, 'trust')
        self.outputs = outputs or {}
        self.calls = []
        self._tmp = []

    def tempdir(self):
        # inside the test's docker configuration, as the real views are inside the trust directory: pytest's
        # tmp_path takes it away, nothing is left in /tmp
        d = tempfile.mkdtemp(dir=self.docker_config)
        os.chmod(d, 0o700)
        return d

    def notary_argv(self, reference, trust_dir=None):
        return ['notary']

    def server_for(self, reference):
        return 'https://notary.example.com'

    def run(self, argv, what=None, **kwargs):
        self.calls.append(argv)
        return self.outputs[tuple(argv[1:])]


def add_key(docker_config, role, passphrase):
    key = generate_private_key()
    key_id = public_key_id(key.public_key())
    write_private_key_file(os.path.join(docker_config, 'trust'), key_id, notary_key_pem(key, passphrase, role))
    return key_id


def trust(signers, tags=()):
    entry = {'Name': REPO.gun,
             'SignedTags': [{'SignedTag': t, 'Digest': d, 'Signers': s} for t, d, s in tags],
             'Signers': [{'Name': n, 'Keys': [{'ID': k} for k in ids]} for n, ids in signers.items()],
             'AdministrativeKeys': []}
    return parse_inspect_entry(REPO, entry)


# --- RepoDigests and docker's push output ------------------------------------------------------

def test_repo_digests_only_of_this_repository():
    image = {'RepoDigests': ['127.0.0.1:5000/acme/app@sha256:' + HEX_A, '127.0.0.1:5000/acme/other@sha256:' + HEX_B,
                             'localhost:5000/acme/app@sha256:' + HEX_B]}
    assert repo_digests(image, REPO) == ['sha256:' + HEX_A]
    hub = parse_reference('openbanking/suite', allow_tag=False)
    assert repo_digests({'RepoDigests': ['openbanking/suite@sha256:' + HEX_A]}, hub) == ['sha256:' + HEX_A]
    assert repo_digests({'RepoDigests': None}, REPO) == []


def test_pushed_digest_through_terminal_escapes():
    out = ('The push refers to repository [127.0.0.1:5000/acme/app]\r\n\x1b[1A\x1b[2K\r592db1fbde41: Pushed \r'
           '\x1b[1Bv1.0: digest: sha256:%s size: 524\r\nv1: digest: sha256:%s size: 527\r\n' % (HEX_A, HEX_B))
    assert pushed_digest(out, 'v1.0') == ('sha256:' + HEX_A, 524)
    assert pushed_digest(out, 'v1') == ('sha256:' + HEX_B, 527)
    assert pushed_digest(out, 'v2') is None


def test_signed_by_needs_signer_and_digest():
    t = trust({'jeff': [HEX_A]}, [('v1', HEX_A, ['jeff']), ('v2', HEX_B, ['alice'])])
    assert signed_by(t, 'v1', 'jeff') == 'sha256:' + HEX_A
    assert signed_by(t, 'v1', 'jeff', ['sha256:' + HEX_B]) is None
    assert signed_by(t, 'v2', 'jeff') is None
    assert signed_by(t, 'v3', 'jeff') is None


# --- the signer's keys and the view ------------------------------------------------------------

def test_signer_keys_checked_against_the_repository(tmp_path):
    config = str(tmp_path)
    jeff = add_key(config, 'jeff', 'jeff-pass-1')
    stale = add_key(config, 'jeff', 'jeff-pass-1')
    add_key(config, 'alice', 'alice-pass-1')
    cli = FakeCLI(config)
    keys = signer_local_keys(cli, trust({'jeff': [jeff], 'alice': ['c' * 64]}), 'jeff')
    assert [k['key_id'] for k in keys] == [jeff]
    assert stale not in [k['key_id'] for k in keys]
    with pytest.raises(TrustError) as exc:
        signer_local_keys(cli, trust({'jeff': [jeff]}), 'bob')
    assert 'bob is not a signer' in exc.value.msg and 'trust_signer' in exc.value.msg
    with pytest.raises(TrustError) as exc:
        signer_local_keys(cli, trust({'jeff': [jeff], 'carol': ['d' * 64]}), 'carol')
    assert 'no private key' in exc.value.msg and 'trust_key' in exc.value.msg
    with pytest.raises(TrustError) as exc:
        signer_local_keys(cli, trust({'alice': ['c' * 64]}), 'alice')
    assert 'not keys of signer alice' in exc.value.msg


def test_passphrase_checked_before_docker_runs(tmp_path):
    config = str(tmp_path)
    jeff = add_key(config, 'jeff', 'jeff-pass-1')
    keys = signer_local_keys(FakeCLI(config), trust({'jeff': [jeff]}), 'jeff')
    check_passphrase(keys, 'jeff-pass-1', 'jeff', 'signer_passphrase')
    with pytest.raises(TrustError) as exc:
        check_passphrase(keys, 'wrong-pass', 'jeff', 'signer_passphrase')
    assert 'passphrase incorrect for the signer key "jeff" %s' % jeff[:7] in exc.value.msg
    assert 'wrong-pass' not in exc.value.msg
    with pytest.raises(TrustError) as exc:
        check_passphrase(keys, None, 'jeff', 'repository_passphrase')
    assert 'signer_passphrase' in exc.value.msg


def test_view_holds_copies_of_the_signer_keys_only(tmp_path):
    config = str(tmp_path / 'cfg')
    os.makedirs(os.path.join(config, 'tls', 'notary:4443'))
    with open(os.path.join(config, 'config.json'), 'w') as f:
        f.write('{}')
    jeff = add_key(config, 'jeff', 'jeff-pass-1')
    alice = add_key(config, 'alice', 'alice-pass-1')
    gun = os.path.join(config, 'trust', 'tuf', 'reg.example', 'app')
    os.makedirs(os.path.join(gun, 'metadata'))
    os.makedirs(os.path.join(gun, 'changelist'))
    with open(os.path.join(gun, 'metadata', 'root.json'), 'w') as f:
        f.write('{"signed": {}}')
    with open(os.path.join(gun, 'changelist', '1.change'), 'w') as f:
        f.write('{}')
    cli = FakeCLI(config)
    keys = signer_local_keys(cli, trust({'jeff': [jeff], 'alice': [alice]}), 'jeff')
    view = signer_view(cli, keys)
    private = os.path.join(view, 'trust', 'private')
    assert os.listdir(private) == [jeff + '.key']
    copied = os.path.join(private, jeff + '.key')
    # notary ignores symlinked key files: a copy, 0600 in a 0700 directory
    assert not os.path.islink(copied) and stat.S_IMODE(os.stat(copied).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o700
    # a private TUF cache: the real metadata (pinned trust), none of the real changelists, and
    # whatever is staged in the view stays there
    view_gun = os.path.join(view, 'trust', 'tuf', 'reg.example', 'app')
    assert not os.path.islink(os.path.join(view, 'trust', 'tuf'))
    assert os.listdir(view_gun) == ['metadata'] and os.listdir(os.path.join(view_gun, 'metadata')) == ['root.json']
    assert stat.S_IMODE(os.stat(os.path.join(view, 'trust', 'tuf')).st_mode) == 0o700
    assert os.path.islink(os.path.join(view, 'config.json')) and os.path.islink(os.path.join(view, 'tls'))
    assert os.path.exists(os.path.join(config, 'trust', 'private', alice + '.key'))


def test_a_release_repository_typo_names_the_repository_meant_and_does_not_suggest_creating_it(tmp_path):
    for gun in ('127.0.0.1:5000/acme/widget', '127.0.0.1:5000/acme/gadget', 'docker.io/library/busybox'):
        metadata = tmp_path / 'tuf' / gun / 'metadata'
        metadata.mkdir(parents=True)
        (metadata / 'root.json').write_text('{}')
    (tmp_path / 'tuf' / '127.0.0.1:5000' / 'acme' / 'empty').mkdir()  # no root.json: not trust data
    known = _signing.cached_repositories(str(tmp_path))
    assert known == ['127.0.0.1:5000/acme/gadget', '127.0.0.1:5000/acme/widget', 'docker.io/library/busybox']
    msg = _signing.unknown_repository_message('127.0.0.1:5000/acme/widgte', 'https://notary:4443', known)
    assert 'did you mean 127.0.0.1:5000/acme/widget?' in msg and 'initialize' not in msg, msg
    # a repository unlike any this host knows: how to create it, by the inventory variable and the playbook
    msg = _signing.unknown_repository_message('127.0.0.1:5000/other/thing', 'https://notary:4443', known)
    assert 'did you mean' not in msg and 'content_trust_repositories' in msg and 'sync_signers.yml' in msg, msg
    assert _signing.cached_repositories(str(tmp_path / 'none')) == []
