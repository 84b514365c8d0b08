# -*- coding: utf-8 -*-
"""trust_signer against the real stack: docker and the Notary server must see what it did.

After every change the tests ask the real tools: ``docker trust inspect`` for signers and
key IDs, the Notary server for TUF versions and for the keys of targets/releases, and a
``DOCKER_CONTENT_TRUST=1 docker pull`` where a tag is signed.
"""

import datetime
import os
import shutil
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from conftest import ALICE_PASS, JEFF_PASS, REPO_PASS, ROOT_PASS, common, run_module
from helpers import generate_key_cli, sign_cli

ROLES = ('root', 'targets', 'snapshot', 'targets/releases')


def new_key(stack, docker_config, name, passphrase):
    """A signer key in the trust store, made by trust_key; returns (key_id, public key PEM)."""
    res = run_module('trust_key', common(stack, docker_config, signer=name, passphrase=passphrase))
    assert res['changed'] and not res.failed, res
    return res['key_id'], res['public_key']


def signer(stack, docker_config, repo, name, public_keys=None, check_mode=False, diff=True, **kwargs):
    args = common(stack, docker_config, repository=repo, signer=name, root_passphrase=ROOT_PASS,
                  repository_passphrase=REPO_PASS)
    if public_keys is not None:
        args['public_keys'] = public_keys
    args.update(kwargs)
    return run_module('trust_signer', args, check_mode=check_mode, diff=diff)


def signers(stack, docker_config, repo):
    """{signer: sorted key IDs} as docker trust inspect shows them."""
    entry = stack.inspect(docker_config, repo).get(repo)
    if entry is None:
        return None
    return dict((s['Name'], sorted(k['ID'] for k in s['Keys'])) for s in entry['Signers'])


def releases_keys(stack, repo):
    """Key IDs of targets/releases in the targets.json the Notary server serves."""
    doc = stack.tuf(repo, 'targets')
    for role in doc['signed']['delegations']['roles']:
        if role['name'] == 'targets/releases':
            return sorted(role['keyids'] or [])
    return []


def key_files(docker_config):
    d = os.path.join(docker_config, 'trust', 'private')
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_first_add_initializes_then_adding_again_does_not_publish(stack, docker_config):
    repo = stack.repo()
    jeff_id, jeff_pub = new_key(stack, docker_config, 'jeff', JEFF_PASS)

    first = signer(stack, docker_config, repo, 'jeff', [jeff_pub])
    assert first['changed'] is True and first['initialized'] is True, first
    assert first['repository'] == repo and first['signer'] == 'jeff'
    assert first['key_ids'] == [jeff_id]
    assert first['diff'] == {'before': {}, 'after': {'jeff': [jeff_id]}}
    entry = stack.inspect(docker_config, repo)[repo]
    assert signers(stack, docker_config, repo) == {'jeff': [jeff_id]}
    admin = dict((a['Name'], [k['ID'] for k in a['Keys']]) for a in entry['AdministrativeKeys'])
    assert len(admin['Root']) == 1 and len(admin['Repository']) == 1
    # the repository key docker lists is the one created in the local trust store
    assert admin['Repository'][0] + '.key' in key_files(docker_config)
    assert releases_keys(stack, repo) == [jeff_id]
    versions = stack.versions(repo)
    assert versions['root'] >= 1 and versions['targets'] >= 1

    # The same key again: nothing missing, nothing published (docker's signer add would publish).
    again = signer(stack, docker_config, repo, 'jeff', [jeff_pub, jeff_pub])
    assert again['changed'] is False and again['initialized'] is False, again
    assert again['key_ids'] == [jeff_id]
    assert stack.versions(repo) == versions

    # A second signer: one publish, both signers listed, both keys in releases.
    alice_id, alice_pub = new_key(stack, docker_config, 'alice', ALICE_PASS)
    second = signer(stack, docker_config, repo, 'alice', [alice_pub])
    assert second['changed'] is True and second['initialized'] is False, second
    assert second['diff'] == {'before': {}, 'after': {'alice': [alice_id]}}
    assert signers(stack, docker_config, repo) == {'jeff': [jeff_id], 'alice': [alice_id]}
    assert releases_keys(stack, repo) == sorted([jeff_id, alice_id])
    assert stack.version(repo, 'targets') == versions['targets'] + 1
    assert stack.version(repo, 'root') == versions['root']


def test_diff_only_in_diff_mode(stack, docker_config):
    """``diff`` is in the result only when the user asked for it (--diff), check mode or not; with it, the
    documented shape ``{before: {signer: key IDs}, after: {...}}`` matches what docker then lists."""
    repo = stack.repo()
    jeff_id, jeff_pub = new_key(stack, docker_config, 'jeff', JEFF_PASS)
    alice_id, alice_pub = new_key(stack, docker_config, 'alice', ALICE_PASS)

    preview = signer(stack, docker_config, repo, 'jeff', [jeff_pub], check_mode=True, diff=False)
    assert preview['changed'] is True and 'diff' not in preview, preview
    assert signers(stack, docker_config, repo) is None  # check mode published nothing

    added = signer(stack, docker_config, repo, 'jeff', [jeff_pub], diff=False)
    assert added['changed'] is True and 'diff' not in added, added
    assert signers(stack, docker_config, repo) == {'jeff': [jeff_id]}
    versions = stack.versions(repo)

    preview = signer(stack, docker_config, repo, 'alice', [alice_pub], check_mode=True)
    assert preview['diff'] == {'before': {}, 'after': {'alice': [alice_id]}}, preview
    assert stack.versions(repo) == versions

    added = signer(stack, docker_config, repo, 'alice', [alice_pub])
    assert added['diff'] == {'before': {}, 'after': {'alice': [alice_id]}}, added
    assert signers(stack, docker_config, repo) == {'jeff': [jeff_id], 'alice': [alice_id]}

    removed = signer(stack, docker_config, repo, 'alice', state='absent')
    assert removed['changed'] is True, removed
    assert removed['diff'] == {'before': {'alice': [alice_id]}, 'after': {}}, removed
    assert signers(stack, docker_config, repo) == {'jeff': [jeff_id]}
    versions = stack.versions(repo)

    again = signer(stack, docker_config, repo, 'jeff', [jeff_pub], diff=False)
    assert again['changed'] is False and 'diff' not in again, again
    assert stack.versions(repo) == versions


def self_signed_certificate(common_name):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()) \
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5)) \
        .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_docker_public_key_files_and_certificates_are_accepted(stack, docker_config, tmp_path):
    repo = stack.repo()
    # the .pub file docker writes, with its "role: carol" header
    pub_path = generate_key_cli(stack, docker_config, 'carol', ALICE_PASS, str(tmp_path))
    with open(pub_path) as f:
        docker_pub = f.read()
    assert 'role: carol' in docker_pub
    cert = self_signed_certificate('carol')
    res = signer(stack, docker_config, repo, 'carol', [docker_pub, cert])
    assert not res.failed and res['changed'] and res['initialized'] and len(res['key_ids']) == 2, res
    # the key IDs the module computed are the ones docker shows; one is the docker key's file name
    assert signers(stack, docker_config, repo) == {'carol': res['key_ids']}
    assert len(set(res['key_ids']) & set(f[:-4] for f in key_files(docker_config))) == 1
    version = stack.version(repo, 'targets')
    again = signer(stack, docker_config, repo, 'carol', [cert, docker_pub])
    assert again['changed'] is False and stack.version(repo, 'targets') == version, again


def test_exclusive_keys_rotates_a_signers_key(stack, docker_config):
    repo = stack.repo()
    old_id, old_pub = new_key(stack, docker_config, 'jeff', JEFF_PASS)
    new_id, new_pub = new_key(stack, docker_config, 'jeff-2027', JEFF_PASS)
    assert signer(stack, docker_config, repo, 'jeff', [old_pub])['changed']

    # Without exclusive_keys keys are only added.
    added = signer(stack, docker_config, repo, 'jeff', [new_pub])
    assert added['changed'] and added['key_ids'] == sorted([old_id, new_id]), added
    assert signers(stack, docker_config, repo) == {'jeff': sorted([old_id, new_id])}
    version = stack.version(repo, 'targets')

    rotated = signer(stack, docker_config, repo, 'jeff', [new_pub], exclusive_keys=True)
    assert rotated['changed'] is True, rotated
    assert rotated['key_ids'] == [new_id] and rotated['removed_key_ids'] == [old_id]
    assert rotated['diff'] == {'before': {'jeff': sorted([old_id, new_id])}, 'after': {'jeff': [new_id]}}
    assert signers(stack, docker_config, repo) == {'jeff': [new_id]}
    assert releases_keys(stack, repo) == [new_id]
    assert stack.version(repo, 'targets') == version + 1

    again = signer(stack, docker_config, repo, 'jeff', [new_pub], exclusive_keys=True)
    assert again['changed'] is False and stack.version(repo, 'targets') == version + 1


def test_absent_removes_the_signer_and_twice_is_unchanged(stack, docker_config):
    repo = stack.repo()
    jeff_id, jeff_pub = new_key(stack, docker_config, 'jeff', JEFF_PASS)
    alice_id, alice_pub = new_key(stack, docker_config, 'alice', ALICE_PASS)
    assert signer(stack, docker_config, repo, 'jeff', [jeff_pub])['initialized']
    assert signer(stack, docker_config, repo, 'alice', [alice_pub])['changed']
    version = stack.version(repo, 'targets')

    gone = signer(stack, docker_config, repo, 'alice', state='absent')
    assert gone['changed'] is True and gone['key_ids'] == [], gone
    assert gone['removed_key_ids'] == [alice_id]
    assert gone['diff'] == {'before': {'alice': [alice_id]}, 'after': {}}
    assert signers(stack, docker_config, repo) == {'jeff': [jeff_id]}
    assert releases_keys(stack, repo) == [jeff_id]
    assert stack.version(repo, 'targets') == version + 1

    twice = signer(stack, docker_config, repo, 'alice', state='absent')
    assert twice['changed'] is False, twice
    assert stack.version(repo, 'targets') == version + 1

    # absent on a repository without trust data: nothing to do, nothing created
    other = stack.repo()
    nothing = signer(stack, docker_config, other, 'alice', state='absent')
    assert nothing['changed'] is False and stack.version(other, 'root') == 0, nothing


def test_removing_the_last_valid_releases_signer_needs_force(stack, docker_config):
    repo = stack.repo()
    jeff_id, jeff_pub = new_key(stack, docker_config, 'jeff', JEFF_PASS)
    alice_id, alice_pub = new_key(stack, docker_config, 'alice', ALICE_PASS)
    assert signer(stack, docker_config, repo, 'jeff', [jeff_pub])['initialized']
    assert signer(stack, docker_config, repo, 'alice', [alice_pub])['changed']
    stack.build_image(docker_config, repo + ':t1')
    # docker signs targets/releases with every local signer key: jeff's and alice's.
    sign_cli(stack, docker_config, repo + ':t1', {'jeff': JEFF_PASS, 'alice': ALICE_PASS})
    assert stack.trusted_pull(repo + ':t1').returncode == 0

    # jeff's signature on targets/releases stays valid: alice may go without force.
    gone = signer(stack, docker_config, repo, 'alice', state='absent')
    assert gone['changed'] is True and not gone.failed, gone
    assert signers(stack, docker_config, repo) == {'jeff': [jeff_id]}
    assert stack.trusted_pull(repo + ':t1').returncode == 0

    versions = stack.versions(repo)
    refused = signer(stack, docker_config, repo, 'jeff', state='absent')
    assert refused.failed, refused
    assert 't1' in refused['msg'] and 'force' in refused['msg'], refused['msg']
    assert stack.versions(repo) == versions
    assert signers(stack, docker_config, repo) == {'jeff': [jeff_id]}
    assert stack.trusted_pull(repo + ':t1').returncode == 0

    forced = signer(stack, docker_config, repo, 'jeff', state='absent', force=True)
    assert forced['changed'] is True and not forced.failed, forced
    assert 't1' in str(forced.get('warnings')), forced
    assert signers(stack, docker_config, repo) == {}
    assert releases_keys(stack, repo) == []
    # what the module warned about, docker confirms: the release is no longer trusted
    assert stack.trusted_pull(repo + ':t1').returncode != 0


def test_check_mode_reads_and_never_writes(stack, docker_config):
    repo = stack.repo()
    jeff_id, jeff_pub = new_key(stack, docker_config, 'jeff', JEFF_PASS)
    alice_id, alice_pub = new_key(stack, docker_config, 'alice', ALICE_PASS)
    keys = key_files(docker_config)

    would_init = signer(stack, docker_config, repo, 'jeff', [jeff_pub], check_mode=True)
    assert would_init['changed'] is True and would_init['initialized'] is True, would_init
    assert would_init['diff'] == {'before': {}, 'after': {'jeff': [jeff_id]}}
    assert stack.version(repo, 'root') == 0 and signers(stack, docker_config, repo) is None
    assert key_files(docker_config) == keys, 'check mode created keys'

    assert signer(stack, docker_config, repo, 'jeff', [jeff_pub])['initialized']
    versions = stack.versions(repo)
    would_add = signer(stack, docker_config, repo, 'alice', [alice_pub], check_mode=True)
    assert would_add['changed'] is True and would_add['key_ids'] == [alice_id], would_add
    would_rotate = signer(stack, docker_config, repo, 'jeff', [alice_pub], exclusive_keys=True, check_mode=True)
    assert would_rotate['changed'] is True and would_rotate['removed_key_ids'] == [jeff_id], would_rotate
    would_remove = signer(stack, docker_config, repo, 'jeff', state='absent', check_mode=True)
    assert would_remove['changed'] is True and would_remove['key_ids'] == [], would_remove
    assert stack.versions(repo) == versions
    assert signers(stack, docker_config, repo) == {'jeff': [jeff_id]}


def test_non_loopback_repository_needs_the_notary_ca(stack, docker_config):
    repo = '%s/acme/app-%s' % (stack.nonloopback_host, uuid.uuid4().hex[:10])
    jeff_id, jeff_pub = new_key(stack, docker_config, 'jeff', JEFF_PASS)
    keys = key_files(docker_config)
    hostport = stack.notary_url.split('://', 1)[1]
    ca_path = os.path.join(docker_config, 'tls', hostport, 'ca.crt')

    refused = signer(stack, docker_config, repo, 'jeff', [jeff_pub])
    assert refused.failed, refused
    assert 'not trusted' in refused['msg'] and ca_path in refused['msg'], refused['msg']
    assert key_files(docker_config) == keys and stack.version(repo, 'root') == 0

    os.makedirs(os.path.dirname(ca_path), exist_ok=True)
    shutil.copy(stack.ca, ca_path)
    done = signer(stack, docker_config, repo, 'jeff', [jeff_pub])
    assert done['changed'] and done['initialized'] and not done.failed, done
    assert signers(stack, docker_config, repo) == {'jeff': [jeff_id]}
    assert stack.version(repo, 'targets') >= 1

    # the notary CLI verifies the certificate with the same CA: a change goes through it
    alice_id, alice_pub = new_key(stack, docker_config, 'alice', ALICE_PASS)
    version = stack.version(repo, 'targets')
    assert signer(stack, docker_config, repo, 'alice', [alice_pub])['changed']
    assert signers(stack, docker_config, repo) == {'jeff': [jeff_id], 'alice': [alice_id]}
    assert stack.version(repo, 'targets') == version + 1

    # Without the CA again, docker would answer from its cache with exit code 0: the module
    # must not take that stale answer for the server's.
    os.unlink(ca_path)
    stale = signer(stack, docker_config, repo, 'alice', [alice_pub])
    assert stale.failed and 'not trusted' in stale['msg'] and ca_path in stale['msg'], stale


def test_bad_inputs_fail_clearly_and_change_nothing(stack, docker_config):
    repo = stack.repo()
    jeff_id, jeff_pub = new_key(stack, docker_config, 'jeff', JEFF_PASS)
    assert signer(stack, docker_config, repo, 'jeff', [jeff_pub])['initialized']
    versions = stack.versions(repo)
    keys = key_files(docker_config)

    private = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode()
    private_body = [line for line in private.splitlines() if not line.startswith('-----')]
    ed25519_pub = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    cases = [
        (dict(name='Jeff!', public_keys=[jeff_pub]), 'not a valid signer name'),
        (dict(name='releases', public_keys=[jeff_pub]), 'reserved'),
        (dict(name='alice', public_keys=[private]), 'private key'),
        (dict(name='alice', public_keys=['hello, not a key']), 'not a PEM public key'),
        (dict(name='alice', public_keys=[ed25519_pub]), 'not an ECDSA or RSA key'),
        (dict(name='alice', public_keys=[]), 'public_keys must list at least one'),
        (dict(name='alice'), 'public_keys must list at least one'),
        (dict(name='alice', public_keys=[jeff_pub], repository=repo + ':v1'), 'must not contain a tag'),
        (dict(name='alice', public_keys=[jeff_pub], repository='Not A Repo//x'), 'repository'),
        (dict(name='alice', public_keys=[jeff_pub], repository_passphrase=None), 'repository_passphrase is required'),
        (dict(name='jeff', state='absent', public_keys=[jeff_pub]), 'only used with state=present'),
    ]
    for options, expected in cases:
        args = dict(options)
        target = args.pop('repository', repo)
        res = signer(stack, docker_config, target, **args)
        assert res.failed, (options, res)
        assert expected in res['msg'], (options, res['msg'])
        assert 'unexpected error' not in res['msg']
        for line in private_body:
            assert line not in str(res), 'the private key was echoed'
    # a fresh repository without a root passphrase: the missing one is named
    fresh = stack.repo()
    res = signer(stack, docker_config, fresh, 'jeff', [jeff_pub], root_passphrase=None)
    assert res.failed and 'root_passphrase' in res['msg'] and 'repository_passphrase' not in res['msg'], res['msg']
    assert stack.version(fresh, 'root') == 0
    # an unreachable Notary server is named
    res = signer(stack, docker_config, repo, 'alice', [jeff_pub], server='https://127.0.0.1:1')
    assert res.failed and 'https://127.0.0.1:1' in res['msg'] and 'cannot be reached' in res['msg'], res['msg']

    assert stack.versions(repo) == versions
    assert signers(stack, docker_config, repo) == {'jeff': [jeff_id]}
    assert key_files(docker_config) == keys


def test_wrong_passphrases_fail_fast_naming_the_key(stack, docker_config):
    repo = stack.repo()
    jeff_id, jeff_pub = new_key(stack, docker_config, 'jeff', JEFF_PASS)
    alice_id, alice_pub = new_key(stack, docker_config, 'alice', ALICE_PASS)
    assert signer(stack, docker_config, repo, 'jeff', [jeff_pub])['initialized']
    versions = stack.versions(repo)
    repo_key = stack.inspect(docker_config, repo)[repo]['AdministrativeKeys'][1]['Keys'][0]['ID']

    start = time.time()
    res = signer(stack, docker_config, repo, 'alice', [alice_pub], repository_passphrase='wrong-Passphrase')
    assert time.time() - start < 15
    assert res.failed and 'repository key' in res['msg'] and repo_key in res['msg'], res['msg']
    assert stack.versions(repo) == versions
    assert signers(stack, docker_config, repo) == {'jeff': [jeff_id]}

    # Initializing another repository reuses the local root key: a wrong root passphrase
    # is caught before docker creates a repository key that would be left orphaned.
    keys = key_files(docker_config)
    other = stack.repo()
    start = time.time()
    res = signer(stack, docker_config, other, 'jeff', [jeff_pub], root_passphrase='wrong-Passphrase')
    assert time.time() - start < 15
    assert res.failed and 'root key' in res['msg'] and 'root_passphrase' in res['msg'], res['msg']
    assert key_files(docker_config) == keys and stack.version(other, 'root') == 0
