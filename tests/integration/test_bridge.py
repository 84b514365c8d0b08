# -*- coding: utf-8 -*-
"""playbooks/bridge_signatures.yml: what the bare docker CLI 28 signed with Notary (`docker trust sign`)
becomes verifiable by the real cosign and notation, on the same digests; a re-pushed tag is refused."""

import json
import os
import subprocess
import sys

from conftest import ALL_SECRETS, COSIGN_PASS, JEFF_PASS, REPO_PASS, ROOT, ROOT_PASS, common, run_module
from helpers import generate_key_cli, sign_cli, signer_add_cli
from ocitools import (
    binding, cosign_binary, make_notation_pki, notation_binary, real_cosign_verify, real_notation_verify, registry_digest,
    registry_state,
)

BIN = os.path.dirname(sys.executable)


def playbook(inventory, secrets, *args):
    argv = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory, '-e', '@' + secrets,
            os.path.join(ROOT, 'playbooks', 'bridge_signatures.yml')] + list(args)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'), ANSIBLE_NOCOLOR='1',
               PATH=BIN + os.pathsep + os.environ['PATH'])
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT, timeout=600,
                          check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    for secret in ALL_SECRETS:
        assert secret not in out, 'a secret appeared in the playbook output'
    return proc.returncode, out


def recap_changed(out):
    line = [l for l in out.splitlines() if l.startswith('localhost') and 'changed=' in l][-1]
    return int(line.split('changed=')[1].split()[0])


def test_bridge_signs_what_notary_signed_and_refuses_a_re_pushed_tag(stack, docker_config, tmp_path):
    repo = stack.repo('bridge')
    # The team's Notary v1 world, made with the bare docker CLI 28.
    pub = generate_key_cli(stack, docker_config, 'jeff', JEFF_PASS, str(tmp_path))
    signer_add_cli(stack, docker_config, 'jeff', pub, repo, ROOT_PASS, REPO_PASS)
    answers = {'jeff': JEFF_PASS, 'root': ROOT_PASS, 'repository': REPO_PASS}
    for tag in ('v1', 'v2', 'v3'):
        stack.build_image(docker_config, '%s:%s' % (repo, tag))
        sign_cli(stack, docker_config, '%s:%s' % (repo, tag), answers)
    notary = dict((t['SignedTag'], 'sha256:' + t['Digest'])
                  for t in stack.inspect(docker_config, repo)[repo]['SignedTags'])
    assert sorted(notary) == ['v1', 'v2', 'v3']
    # v3 is re-pushed with other content after it was signed.
    stack.build_image(docker_config, '%s:v3' % repo, 'other content')
    stack.docker(docker_config, 'push', '-q', '%s:v3' % repo)
    repushed = registry_digest(stack, repo, 'v3')
    assert repushed != notary['v3']

    cosign = cosign_binary('2.5')
    key = run_module('cosign_key', common(stack, docker_config, path=str(tmp_path / 'cosign' / 'bridge'),
                                          passphrase=COSIGN_PASS, cosign_cli=cosign))
    pki = make_notation_pki(str(tmp_path / 'pki'))
    reports = str(tmp_path / 'reports')
    # The bridge runs on a host of its own: one that does not hold the repository's root key (a host that does is
    # pinned to that key without a pins file, test_pinned_roots.py).
    bridge_config = str(tmp_path / 'bridge-host')
    os.makedirs(bridge_config, mode=0o700)
    inventory = str(tmp_path / 'inventory.json')
    with open(inventory, 'w') as f:
        json.dump({'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                                   'ansible_python_interpreter': sys.executable}},
                           'children': {'signing_hosts': {'hosts': {'localhost': {}}}},
                           'vars': {'content_trust_docker_config': bridge_config,
                                    'content_trust_docker_cli': stack.docker_cli,
                                    'content_trust_docker_host': stack.docker_host,
                                    'content_trust_server': stack.notary_url,
                                    'content_trust_timeout': 60,
                                    'content_trust_bridge_repositories': [repo],
                                    'content_trust_bridge_formats': ['cosign', 'notation'],
                                    'content_trust_bridge_signers': ['jeff'],
                                    'content_trust_cosign_key': key['private_key_path'],
                                    'content_trust_cosign_cli': cosign,
                                    'content_trust_notation_key': pki['key'],
                                    'content_trust_notation_certificate_chain': pki['chain'],
                                    'content_trust_notation_cli': notation_binary(),
                                    'content_trust_bridge_report_dir': reports}}}, f)
    secrets = str(tmp_path / 'secrets.json')
    fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump({'content_trust_cosign_key_passphrase': COSIGN_PASS}, f)

    before = registry_state(stack, repo)
    # Without a pin the bridge carries nothing over: it fails closed before it reads the Notary signatures.
    rc, out = playbook(inventory, secrets, '--check')
    assert rc != 0 and 'no pinned root for %s' % repo in out and 'content_trust_pins_file' in out, out
    assert registry_state(stack, repo) == before
    # The team pins the root it made (as trust_info shows it) in the pins file beside the inventory.
    admin = dict((a['Name'], [k['ID'] for k in a['Keys']]) for a in stack.inspect(docker_config, repo)[repo]['AdministrativeKeys'])
    with open(str(tmp_path / 'content_trust_pins.yml'), 'w') as f:
        json.dump([{'repository': repo, 'root_key_ids': admin['Root']}], f)
    rc, out = playbook(inventory, secrets, '--check')
    assert rc == 0, out
    for tag in ('v1', 'v2'):
        assert '%s:%s  %s  cosign: would be signed, notation: would be signed' % (repo, tag, notary[tag]) in out, out
    assert '%s:v3  REFUSED: the registry serves %s, not the digest %s Notary signed' % (repo, repushed, notary['v3']) in out
    assert registry_state(stack, repo) == before, '--check changed the registry'

    rc, out = playbook(inventory, secrets)
    assert rc == 0, out
    assert recap_changed(out) > 0
    for tag in ('v1', 'v2'):
        ref = '%s@%s' % (repo, notary[tag])
        proc = real_cosign_verify(cosign, key['public_key_path'], ref)
        assert proc.returncode == 0, proc.stderr.decode()
        proc = real_notation_verify(notation_binary(), ref, pki['ca'], repo)
        assert proc.returncode == 0, proc.stdout.decode()
    # Neither the digest Notary signed for v3 nor the one re-pushed got a signature.
    for digest in (notary['v3'], repushed):
        ref = '%s@%s' % (repo, digest)
        assert real_cosign_verify(cosign, key['public_key_path'], ref).returncode != 0
        assert real_notation_verify(notation_binary(), ref, pki['ca'], repo).returncode != 0
    with open(os.path.join(reports, 'bridge-report.json')) as f:
        report = json.load(f)
    assert [(t['tag'], t['digest'], t['notary_signers'], t['formats']) for t in report['tags']] == [
        (tag, notary[tag], ['jeff'], {'cosign': 'signed', 'notation': 'signed'}) for tag in ('v1', 'v2')]
    assert [(r['tag'], r['signed_digest'], r['registry_digest']) for r in report['refused']] == \
        [('v3', notary['v3'], repushed)]

    state = registry_state(stack, repo)
    versions = stack.versions(repo)
    rc, out = playbook(inventory, secrets)
    assert rc == 0, out
    assert recap_changed(out) == 0, out
    assert 'cosign: already signed, notation: already signed' in out
    assert registry_state(stack, repo) == state and stack.versions(repo) == versions

    # jeff given with his public key (the inventory's signers[] shape): his signatures still count; given with a
    # key that is not the one targets/jeff is delegated to, none does and nothing would be signed.
    with open(pub) as f:
        jeff_pub = f.read()
    for signers, bridged in (([{'name': 'jeff', 'public_key': jeff_pub}], True),
                             ([{'name': 'jeff', 'key_ids': ['ab' * 32]}], False)):
        extra = str(tmp_path / 'signers.json')
        with open(extra, 'w') as f:
            json.dump({'content_trust_bridge_signers': signers}, f)
        rc, out = playbook(inventory, secrets, '-e', '@' + extra, '--check')
        assert rc == 0, out
        for tag in ('v1', 'v2'):
            if bridged:
                assert '%s:%s  %s  cosign: already signed, notation: already signed' % (repo, tag, notary[tag]) in out, out
            else:
                assert '%s:%s  REFUSED: signed by jeff, none of the bridged signers (jeff); not by the given keys: jeff: ' \
                       'not signed by jeff (key %s) with its keys' % (repo, tag, ('ab' * 32)[:7]) in out, out
    assert registry_state(stack, repo) == state

    # Notary revokes v1. A release signed v1's digest with cosign for another tag, v1-extra (publish_release signs
    # without an origin): that signature is not the bridge's and stays.
    stack.docker(docker_config, 'tag', '%s:v1' % repo, '%s:v1-extra' % repo)
    stack.docker(docker_config, 'push', '-q', '%s:v1-extra' % repo)
    extra = run_module('cosign_sign', common(stack, docker_config, repository=repo, tags=['v1-extra'],
                                             key=key['private_key_path'], key_passphrase=COSIGN_PASS, cosign_cli=cosign))
    assert not extra.failed and extra['changed'], extra
    revoked = run_module('trust_revoke', common(stack, docker_config, repository=repo, tags=['v1'], signer='jeff',
                                                signer_passphrase=JEFF_PASS))
    assert not revoked.failed and revoked['changed'], revoked
    rc, out = playbook(inventory, secrets)
    assert rc == 0, out
    assert '%s:v1  WITHDRAWN: revoked in Notary' % repo in out, out
    v1 = '%s@%s' % (repo, notary['v1'])
    assert real_cosign_verify(cosign, key['public_key_path'], v1, binding(repo, 'v1')).returncode != 0
    assert real_notation_verify(notation_binary(), v1, pki['ca'], repo, binding(repo, 'v1')).returncode != 0
    # what the bridge did not make, and what Notary still signs, still verify
    assert real_cosign_verify(cosign, key['public_key_path'], v1, binding(repo, 'v1-extra')).returncode == 0
    v2 = '%s@%s' % (repo, notary['v2'])
    assert real_cosign_verify(cosign, key['public_key_path'], v2, binding(repo, 'v2')).returncode == 0
    assert real_notation_verify(notation_binary(), v2, pki['ca'], repo, binding(repo, 'v2')).returncode == 0
    with open(os.path.join(reports, 'bridge-report.json')) as f:
        report = json.load(f)
    assert [t['tag'] for t in report['tags']] == ['v2'] and report['pending_withdrawal'] == []
    state = registry_state(stack, repo)
    rc, out = playbook(inventory, secrets)
    assert rc == 0 and recap_changed(out) == 0, out
    assert 'WITHDRAWN' not in out and registry_state(stack, repo) == state
