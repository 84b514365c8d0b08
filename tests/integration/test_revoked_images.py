# -*- coding: utf-8 -*-
"""The revocation list (content_trust_revoked_images, the modules' `revoked`): consumers refuse a listed tag on their
own side, in every format, while the registry and Notary still serve valid signatures for it - as after an attacker who
controls the registry pushed the deleted signatures again - and publish_release refuses to sign it.

One repository, one image: `gone` (listed) and `kept` on the same digest, each signed with Notary, cosign 3.1 and
Notation; `orphan` on that digest too, with no signature of its own (as a tag whose own signature was deleted); `next`,
another image, signed with Notary only.
"""

import json
import os
import subprocess
import sys
import uuid

import pytest

from conftest import COSIGN_PASS, JEFF_PASS, ROOT, common, install_publisher_certificate, run_module
from ocitools import (
    binding, cosign_binary, make_notation_pki, notation_binary, real_cosign_verify, real_notation_verify,
    registry_state,
)
from test_trust_pull import add_signers, forget, image_id, sign

BIN = os.path.dirname(sys.executable)
REASON = 'CVE-2026-0001 in the TLS library'


class Scenario(object):
    pass


@pytest.fixture(scope='module')
def signed(stack, tmp_path_factory):
    s = Scenario()
    s.base = str(tmp_path_factory.mktemp('revoked'))
    s.config = os.path.join(s.base, 'publisher')
    os.makedirs(s.config, mode=0o700)
    install_publisher_certificate(s.config)
    s.cosign, s.notation = cosign_binary('3.1'), notation_binary()
    s.repo = stack.repo('revoked')
    add_signers(stack, s.config, s.repo, [('jeff', JEFF_PASS)])
    source = stack.build_image(s.config, 'revoked-src-%s:build' % uuid.uuid4().hex[:8])
    digests = sign(stack, s.config, s.repo, ['gone', 'kept'], 'jeff', JEFF_PASS, source)
    s.digest = digests['gone']
    assert digests['kept'] == s.digest
    stack.docker(s.config, 'tag', source, '%s:orphan' % s.repo)
    stack.docker(s.config, 'push', '-q', '%s:orphan' % s.repo)
    s.next_source = stack.build_image(s.config, 'revoked-next-%s:build' % uuid.uuid4().hex[:8])
    s.next_digest = sign(stack, s.config, s.repo, ['next'], 'jeff', JEFF_PASS, s.next_source)['next']
    entry = stack.inspect(s.config, s.repo)[s.repo]
    s.root = [k['ID'] for a in entry['AdministrativeKeys'] if a['Name'] == 'Root' for k in a['Keys']][0]

    key = run_module('cosign_key', common(stack, s.config, path=os.path.join(s.base, 'keys', 'release'),
                                          passphrase=COSIGN_PASS, cosign_cli=s.cosign))
    assert not key.failed, key
    s.cosign_key, s.cosign_pub, s.cosign_pub_path = key['private_key_path'], key['public_key'], key['public_key_path']
    pins = {'gone': s.digest, 'kept': s.digest}
    res = run_module('cosign_sign', common(stack, s.config, repository=s.repo, tags=['gone', 'kept'], digests=pins,
                                           key=s.cosign_key, key_passphrase=COSIGN_PASS, cosign_cli=s.cosign))
    assert not res.failed and res['changed'], res
    s.pki = make_notation_pki(os.path.join(s.base, 'pki'))
    res = run_module('notation_sign', common(stack, s.config, repository=s.repo, tags=['gone', 'kept'], digests=pins,
                                             key=s.pki['key'], certificate_chain=s.pki['chain'],
                                             notation_cli=s.notation))
    assert not res.failed and res['changed'], res
    with open(s.pki['ca']) as f:
        s.ca_pem = f.read()
    forget(stack, s.config, s.repo, [s.digest, s.next_digest])
    return s


def revoked(s):
    return [{'repository': s.repo, 'tags': ['gone'], 'reason': REASON}]


def pull(stack, config, s, tags, formats, check_mode=True, **kwargs):
    args = dict(images=[{'repository': s.repo, 'tags': tags}], formats=formats, cosign_cli=s.cosign,
                notation_cli=s.notation)
    if 'notary' in formats:
        args['root_key_ids'] = {s.repo: [s.root]}
    if 'cosign' in formats:
        args['cosign_public_keys'] = [s.cosign_pub]
    if 'notation' in formats:
        args.update(notation_ca_certificates=[s.ca_pem], notation_trusted_identities=[s.pki['identity']])
    args.update(kwargs)
    return run_module('trust_pull', common(stack, config, docker_cli=stack.reference_cli, **args),
                      check_mode=check_mode)


@pytest.mark.parametrize('formats', [['notary'], ['cosign'], ['notation']])
def test_a_listed_tag_is_refused_in_every_format_while_its_signatures_still_verify(stack, signed, docker_config,
                                                                                   formats):
    s = signed
    ref = '%s@%s' % (s.repo, s.digest)
    # What the attacker serves: every signature of `gone` is there and verifies with the real tools.
    if formats == ['cosign']:
        assert real_cosign_verify(s.cosign, s.cosign_pub_path, ref, binding(s.repo, 'gone')).returncode == 0
    if formats == ['notation']:
        assert real_notation_verify(s.notation, ref, s.pki['ca'], s.repo, binding(s.repo, 'gone')).returncode == 0
    unlisted = pull(stack, docker_config, s, ['gone'], formats)
    assert not unlisted.failed and unlisted['results'][0]['digest'] == s.digest, unlisted

    res = pull(stack, docker_config, s, ['gone', 'kept'], formats, check_mode=False, revoked=revoked(s))
    assert res.failed and res['error_kind'] == 'unverified', res
    assert 'nothing was pulled or tagged' in res['msg'] and '%s:gone: revoked: %s' % (s.repo, REASON) in res['msg']
    assert 'kept' not in res['msg'].split('do not verify:')[1], res['msg']
    assert image_id(stack, docker_config, '%s:kept' % s.repo) is None  # nothing pulled or tagged, kept neither

    kept = pull(stack, docker_config, s, ['kept'], formats, revoked=revoked(s))
    assert not kept.failed and [(r['tag'], r['digest'], r['formats']) for r in kept['results']] == \
        [('kept', s.digest, formats)], kept


def test_trust_verify_reports_a_listed_tag_as_not_verified_with_the_reason(stack, signed, docker_config):
    s = signed
    res = run_module('trust_verify', common(stack, docker_config, images=[{'repository': s.repo, 'tags': ['gone', 'kept']}],
                                            root_key_ids={s.repo: [s.root]}, pull='none', revoked=revoked(s)))
    assert not res.failed and not res['verified'] and res['unverified'] == ['%s:gone' % s.repo], res
    gone, kept = res['results']
    assert gone['signed_digest'] == s.digest and any(REASON in p for p in gone['problems']), gone
    assert kept['verified'] and kept['problems'] == [], kept


@pytest.mark.parametrize('formats, words', [(['cosign'], 'cosign signature'), (['notation'], 'Notation signature')])
def test_a_tag_without_its_own_signature_fails_though_its_digest_carries_another_tags(
        stack, signed, docker_config, formats, words):
    """Tag binding: `orphan` points at the digest `kept` is signed for; its own signature is missing (deleted)."""
    s = signed
    res = pull(stack, docker_config, s, ['orphan'], formats)
    assert res.failed and res['error_kind'] == 'unverified' and words in res['msg'] and 'orphan' in res['msg'], res


def _write_inventory(path, hosts_group, variables):
    with open(path, 'w') as f:
        json.dump({'all': {
            'hosts': {'localhost': {'ansible_connection': 'local',
                                    'ansible_python_interpreter': '{{ ansible_playbook_python }}'}},
            'children': {hosts_group: {'hosts': {'localhost': {}}}},
            'vars': variables}}, f, indent=1)


def _playbook(inventory, playbook):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'), ANSIBLE_NOCOLOR='1',
               PATH=BIN + os.pathsep + os.environ['PATH'])
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', inventory,
                           os.path.join(ROOT, 'playbooks', playbook)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env=env, cwd=ROOT, timeout=600, check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    recap = [line for line in out.splitlines() if line.startswith('localhost ') and 'ok=' in line]
    assert recap, out[-3000:]
    counts = dict(part.split('=') for part in recap[-1].split(':', 1)[1].split())
    return proc.returncode, dict((k, int(v)) for k, v in counts.items()), out


def _release_inventory(stack, s, path, **more):
    variables = {
        'content_trust_docker_host': stack.docker_host, 'content_trust_docker_config': s.config,
        'content_trust_docker_cli': stack.reference_cli, 'content_trust_server': stack.notary_url,
        'content_trust_timeout': 60,
        'content_trust_release_version': 'v9', 'content_trust_release_signer': 'jeff',
        'content_trust_signer_passphrase': JEFF_PASS,
        'content_trust_release_images': [{'repository': s.repo, 'source': s.next_source, 'tags': ['gone']}],
        'content_trust_signature_formats': ['notary', 'cosign', 'notation'],
        'content_trust_cosign_key': s.cosign_key, 'content_trust_cosign_key_passphrase': COSIGN_PASS,
        'content_trust_cosign_cli': s.cosign, 'content_trust_notation_cli': s.notation,
        'content_trust_notation_key': s.pki['key'], 'content_trust_notation_certificate_chain': s.pki['chain'],
        'content_trust_pinned_repositories': [{'repository': s.repo, 'root_key_ids': [s.root]}],
        'content_trust_revoked_images': revoked(s),
    }
    variables.update(more)
    _write_inventory(path, 'signing_hosts', variables)
    return path


def test_publish_release_refuses_to_sign_a_listed_tag_and_changes_nothing(stack, signed):
    s = signed
    versions = stack.versions(s.repo)
    registry = registry_state(stack, s.repo)  # every tag, the cosign and Notation signature tags included
    inventory = _release_inventory(stack, s, os.path.join(s.base, 'release.json'))
    rc, recap, out = _playbook(inventory, 'publish_release.yml')
    assert rc != 0 and recap['failed'] == 1 and recap['changed'] == 0, out[-4000:]
    for words in ('Nothing was pushed or signed', '%s:gone: %s' % (s.repo, REASON),
                  'remove the tag from content_trust_revoked_images'):
        assert words in out, (words, out[-3000:])
    assert stack.versions(s.repo) == versions
    assert registry_state(stack, s.repo) == registry  # no tag moved, no new cosign or Notation signature
    assert 'v9' not in registry


def test_verify_release_fails_while_a_listed_tag_still_verifies_somewhere(stack, signed):
    s = signed
    reports = os.path.join(s.base, 'reports')
    inventory = _release_inventory(
        stack, s, os.path.join(s.base, 'verify.json'), content_trust_release_version='kept',
        content_trust_release_images=[{'repository': s.repo}], content_trust_report_dir=reports,
        content_trust_cosign_public_keys=[s.cosign_pub], content_trust_notation_ca_certificates=[s.ca_pem],
        content_trust_notation_trusted_identities=[s.pki['identity']], content_trust_verify_pull=False)
    rc, recap, out = _playbook(inventory, 'verify_release.yml')
    still = 'revoked (%s) but still verifies in notary, cosign, notation' % REASON
    assert rc != 0 and still in out, out[-4000:]
    with open(os.path.join(reports, 'release-kept.json')) as f:
        report = json.load(f)
    assert report['verified'] is False
    assert [(i['tag'], i['verified'], i['problems']) for i in report['images']] == [
        ('kept', True, []), ('gone', False, [still])], report['images']
    with open(os.path.join(reports, 'release-kept.md')) as f:
        assert still in f.read()


def test_trusted_consumer_removes_the_local_tags_of_a_withdrawn_digest(stack, signed):
    """The host pulled `gone` (and tagged it `stable` by hand) before the release was withdrawn; its inventory now
    pulls `next` and lists `gone`: the digest of `gone` is withdrawn, both local tags go and are reported."""
    s = signed
    host = os.path.join(s.base, 'deploy-docker')
    os.makedirs(host, mode=0o700)
    first = run_module('trust_pull', common(stack, host, docker_cli=stack.reference_cli,
                                            images=[{'repository': s.repo, 'tags': ['gone']}],
                                            root_key_ids={s.repo: [s.root]}))
    assert not first.failed and first['results'][0]['tagged'], first
    stack.docker(host, 'tag', '%s:gone' % s.repo, '%s:stable' % s.repo)
    with open(stack.ca) as f:
        ca = f.read()
    inventory = os.path.join(s.base, 'deploy.json')
    _write_inventory(inventory, 'deploy_hosts', {
        'content_trust_install_packages': False, 'content_trust_docker_cli': os.path.join(s.base, 'no-docker-cli'),
        'content_trust_docker_host': stack.docker_host, 'content_trust_docker_config': host,
        'content_trust_server': stack.notary_url, 'content_trust_server_ca': ca, 'content_trust_timeout': 60,
        'content_trust_notary_config': os.path.join(s.base, 'notary', 'config.json'),
        'content_trust_pinned_repositories': [{'repository': s.repo, 'root_key_ids': [s.root]}],
        'content_trust_pull_images': [{'repository': s.repo, 'tags': ['next']}],
        'content_trust_revoked_images': revoked(s),
    })
    rc, recap, out = _playbook(inventory, 'pull_verified.yml')
    assert rc == 0 and recap['failed'] == 0 and recap['changed'] > 0, out[-4000:]
    assert '"tag": "gone"' in out and '"tag": "stable"' in out and REASON in out, out[-4000:]
    assert image_id(stack, host, '%s:gone' % s.repo) is None
    assert image_id(stack, host, '%s:stable' % s.repo) is None
    assert image_id(stack, host, '%s:next' % s.repo) == image_id(stack, host, '%s@%s' % (s.repo, s.next_digest))
    rc, recap, out = _playbook(inventory, 'pull_verified.yml')
    assert rc == 0 and recap['changed'] == 0, out[-4000:]


def test_the_bridge_never_carries_a_listed_tag_over(stack, signed):
    """With a key of its own, so that what the bridge signed is told apart from the fixture's signatures."""
    s = signed
    key = run_module('cosign_key', common(stack, s.config, path=os.path.join(s.base, 'keys', 'bridge'),
                                          passphrase=COSIGN_PASS, cosign_cli=s.cosign))
    assert not key.failed, key
    reports = os.path.join(s.base, 'bridge-reports')
    inventory = os.path.join(s.base, 'bridge.json')
    _write_inventory(inventory, 'signing_hosts', {
        'content_trust_docker_config': s.config, 'content_trust_docker_cli': stack.reference_cli,
        'content_trust_docker_host': stack.docker_host, 'content_trust_server': stack.notary_url,
        'content_trust_timeout': 60, 'content_trust_bridge_repositories': [s.repo],
        'content_trust_bridge_formats': ['cosign'], 'content_trust_cosign_key': key['private_key_path'],
        'content_trust_cosign_key_passphrase': COSIGN_PASS, 'content_trust_cosign_cli': s.cosign,
        'content_trust_pinned_repositories': [{'repository': s.repo, 'root_key_ids': [s.root]}],
        'content_trust_bridge_report_dir': reports, 'content_trust_revoked_images': revoked(s)})
    rc, recap, out = _playbook(inventory, 'bridge_signatures.yml')
    assert rc == 0 and recap['failed'] == 0, out[-4000:]
    with open(os.path.join(reports, 'bridge-report.json')) as f:
        report = json.load(f)
    assert [(r['tag'], REASON in r['reason']) for r in report['refused']] == [('gone', True)], report['refused']
    ref = '%s@%s' % (s.repo, s.digest)
    assert real_cosign_verify(s.cosign, key['public_key_path'], ref, binding(s.repo, 'kept')).returncode == 0
    assert real_cosign_verify(s.cosign, key['public_key_path'], ref, binding(s.repo, 'gone')).returncode != 0
