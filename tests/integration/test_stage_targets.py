# -*- coding: utf-8 -*-
"""Staging many targets in one step (``NotaryRepository.stage_targets``) against the REAL notary CLI.

trust_push and trust_migrate write the changelist of a whole release themselves instead of running
``notary addhash`` once per tag.  notary must read that changelist exactly as its own: the same
changes in ``notary status``, and a ``notary publish`` of it gives the targets the Notary server then
serves, with their digests and lengths, in the signer's role and in targets/releases.
"""

import base64
import binascii
import hashlib
import os
import shutil
import stat
import subprocess

from conftest import JEFF_PASS, REPO_PASS, ROOT_PASS, common, run_module

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import NotaryRepository

ROLES = ['targets/jeff', 'targets/releases']


def notary_cli():
    path = shutil.which('notary')
    assert path, 'the notary CLI is part of the test stack'
    return path


def notary(stack, trust_dir, *args, **env):
    # the stack's publisher certificate: its Notary refuses writes (publish) without one
    publisher = ['--tlscert', stack.client_cert, '--tlskey', stack.client_key] if stack.client_cert else []
    proc = subprocess.run([notary_cli(), '-s', stack.notary_url, '-d', trust_dir, '--tlscacert', stack.ca] + publisher
                          + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=120,
                          env=dict(os.environ, **env), check=False)
    assert proc.returncode == 0, 'notary %s failed: %s' % (' '.join(args), proc.stdout.decode())
    return proc.stdout.decode()


def fake_targets(count):
    """``(tag, length, bare hex sha256)`` of ``count`` distinct targets, with docker's tag characters."""
    out = []
    for i in range(count):
        digest = hashlib.sha256(('target %d' % i).encode()).hexdigest()
        out.append(('v1.%d.0-rc_%d' % (i, i) if i % 3 else 't%03d' % i, 400 + i * 7, digest))
    return out


class _Dir(object):
    """What ``NotaryRepository.stage_targets`` uses of a TrustCLI: nothing (it names the trust dir)."""


def stage(trust_dir, gun, targets):
    return NotaryRepository(_Dir(), parse_reference(gun, allow_tag=False), trust_dir=trust_dir).stage_targets(
        targets, ROLES)


def status_rows(text):
    return [line.split() for line in text.splitlines() if line[:1].isdigit()]


def test_stage_targets_stages_what_notary_addhash_stages(stack, tmp_path):
    gun = stack.repo()
    targets = fake_targets(12)
    by_cli, by_writer = str(tmp_path / 'by-addhash'), str(tmp_path / 'by-writer')
    for d in (by_cli, by_writer):
        os.mkdir(d, 0o700)
    for tag, length, digest in targets:
        notary(stack, by_cli, 'addhash', gun, tag, str(length), '--sha256', digest, '-r', ','.join(ROLES))
    assert stage(by_writer, gun, targets) == 2 * len(targets)

    expected = notary(stack, by_cli, 'status', gun)
    got = notary(stack, by_writer, 'status', gun)
    assert len(status_rows(expected)) == 2 * len(targets), expected
    assert [r[1:] for r in status_rows(got)] == [r[1:] for r in status_rows(expected)]
    assert got == expected

    # the same JSON changes, file by file in the order notary applies them, 0600 in 0700 directories
    def changes(d):
        cl = os.path.join(d, 'tuf', *gun.split('/'), 'changelist')
        names = sorted(os.listdir(cl))
        for n in names:
            assert stat.S_IMODE(os.stat(os.path.join(cl, n)).st_mode) == 0o600
        return [open(os.path.join(cl, n)).read() for n in names]

    assert changes(by_writer) == changes(by_cli)
    for dirpath, dummy, dummy2 in os.walk(os.path.join(by_writer, 'tuf')):
        assert stat.S_IMODE(os.stat(dirpath).st_mode) == 0o700, dirpath


def test_published_staged_changelist_is_what_the_notary_server_serves(stack, docker_config):
    jeff = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS))
    gun = stack.repo()
    res = run_module('trust_signer', common(stack, docker_config, repository=gun, signer='jeff',
                                            public_keys=[jeff['public_key']], root_passphrase=ROOT_PASS,
                                            repository_passphrase=REPO_PASS))
    assert res['changed'] and not res.failed, res
    trust_dir = os.path.join(docker_config, 'trust')
    before = stack.versions(gun, ('root', 'targets', 'snapshot', 'targets/releases', 'targets/jeff'))
    first = fake_targets(40)
    # a change staged by notary itself stays first: the writer's names sort after it
    notary(stack, trust_dir, 'addhash', gun, 'by-cli', '99', '--sha256', 'f' * 64, '-r', ','.join(ROLES))
    stage(trust_dir, gun, first)
    rows = status_rows(notary(stack, trust_dir, 'status', gun))
    assert [r[2:] for r in rows[:2]] == [[role, 'target', 'by-cli'] for role in ROLES]
    assert len(rows) == 2 + 2 * len(first)

    notary(stack, trust_dir, 'publish', gun, NOTARY_DELEGATION_PASSPHRASE=JEFF_PASS)
    assert 'No unpublished changes' in notary(stack, trust_dir, 'status', gun)
    wanted = dict((tag, (digest, length)) for tag, length, digest in first + [('by-cli', 99, 'f' * 64)])
    for role in ROLES:
        served = stack.tuf(gun, role)['signed']['targets']
        got = dict((tag, (binascii.hexlify(base64.b64decode(meta['hashes']['sha256'])).decode(), meta['length']))
                   for tag, meta in served.items())
        assert got == wanted, role
    after = stack.versions(gun, ('root', 'targets', 'snapshot', 'targets/releases', 'targets/jeff'))
    # one publish: each role of the release moved by one version, root and targets not at all
    assert after == dict(before, snapshot=before['snapshot'] + 1, **{
        'targets/releases': before['targets/releases'] + 1, 'targets/jeff': before['targets/jeff'] + 1})
    entry = stack.inspect(docker_config, gun)[gun]
    assert sorted((t['SignedTag'], t['Digest'], t['Signers']) for t in entry['SignedTags']) == \
        sorted((tag, digest, ['jeff']) for tag, (digest, dummy) in wanted.items())
