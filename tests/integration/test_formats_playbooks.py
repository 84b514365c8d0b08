# -*- coding: utf-8 -*-
"""publish_release and verify_release with content_trust_signature_formats [notary, cosign, notation],
run with ansible-playbook against the real stack and the real cosign and notation."""

import json
import os

import pytest

from conftest import COSIGN_PASS, common, run_module
from ocitools import cosign_binary, notation_binary, real_cosign_verify, real_notation_verify, registry_state
from test_playbooks import FOUR, SECRETS, Scenario


@pytest.fixture(scope='module')
def formats(stack, tmp_path_factory):
    base = str(tmp_path_factory.mktemp('formats'))
    scenario = Scenario(stack, base)
    cosign = cosign_binary('3.1')
    key = run_module('cosign_key', common(stack, scenario.docker_config, path=os.path.join(base, 'cosign', 'release'),
                                          passphrase=COSIGN_PASS, cosign_cli=cosign))
    assert not key.failed, key
    from ocitools import make_notation_pki
    pki = make_notation_pki(os.path.join(base, 'pki'))
    with open(scenario.inventory) as f:
        inventory = json.load(f)
    with open(pki['ca']) as f:
        ca = f.read()
    # signing_host installs the tools from binaries on the controller.
    bin_dir = os.path.join(base, 'bin')
    os.mkdir(bin_dir)
    inventory['all']['vars'].update({
        'content_trust_signature_formats': ['notary', 'cosign', 'notation'],
        'content_trust_cosign_package': cosign,
        'content_trust_notation_package': notation_binary(),
        'content_trust_tools_bin_dir': bin_dir,
        'content_trust_cosign_key': key['private_key_path'],
        'content_trust_cosign_cli': os.path.join(bin_dir, 'cosign'),
        'content_trust_cosign_annotations': {'release': 'v1.0.0'},
        'content_trust_notation_key': pki['key'],
        'content_trust_notation_certificate_chain': pki['chain'],
        'content_trust_notation_ca_certificates': [ca],
        'content_trust_notation_trusted_identities': [pki['identity']],
        'content_trust_notation_cli': os.path.join(bin_dir, 'notation'),
    })
    with open(scenario.inventory, 'w') as f:
        json.dump(inventory, f, indent=1)
    with open(scenario.secrets) as f:
        secrets = json.load(f)
    secrets['content_trust_cosign_key_passphrase'] = COSIGN_PASS
    with open(scenario.secrets, 'w') as f:
        json.dump(secrets, f)
    scenario.cosign = cosign
    scenario.bin_dir = bin_dir
    scenario.cosign_pub = key['public_key_path']
    scenario.cosign_public_key = key['public_key']
    scenario.pki = pki
    return scenario


def _no_secret(run):
    for secret in SECRETS:
        assert secret not in run.out, 'a secret appeared in the output of %s' % ' '.join(run.argv)


def test_publish_in_three_formats_then_verify_release(formats, stack):
    run = formats.playbook(*(FOUR + ['-vvv']))
    _no_secret(run)
    assert run.rc == 0, str(run)
    # signing_host brought the cosign public key to the controller, as it does the signer keys.
    with open(os.path.join(formats.key_dir, 'release.cosign.pub')) as f:
        assert f.read().strip() == formats.cosign_public_key.strip()
    for tool in ('cosign', 'notation'):
        path = os.path.join(formats.bin_dir, tool)
        assert os.access(path, os.X_OK) and oct(os.stat(path).st_mode & 0o777) == '0o755'
    with open(os.path.join(formats.report_dir, 'release-v1.0.0.json')) as f:
        report = json.load(f)
    assert report['verified'] is True and report['signature_formats'] == ['notary', 'cosign', 'notation']
    assert len(report['images']) == 3
    for image in report['images']:
        assert image['signatures'] == {'notary': True, 'cosign': True, 'notation': True}, image
        ref = '%s@%s' % (image['repository'], image['digest'])
        # The same digest Notary signed, verified by the real tools themselves.
        proc = real_cosign_verify(formats.cosign, formats.cosign_pub, ref, {'release': 'v1.0.0'})
        assert proc.returncode == 0, proc.stderr.decode()
        proc = real_notation_verify(notation_binary(), ref, formats.pki['ca'], image['repository'])
        assert proc.returncode == 0, proc.stdout.decode()
    with open(os.path.join(formats.report_dir, 'release-v1.0.0.md')) as f:
        markdown = f.read()
    assert '| notary | cosign | notation | Verified |' in markdown
    assert '| jeff | yes | yes | yes | yes |' in markdown
    formats.registry_after_first = dict((r, registry_state(stack, r)) for r in (formats.repo1, formats.repo2))
    formats.tuf_after_first = formats.versions()


def test_second_run_changes_nothing_in_any_format(formats, stack):
    run = formats.playbook(*FOUR)
    _no_secret(run)
    assert run.rc == 0, str(run)
    assert run.recap['changed'] == 0, run
    assert 'cosign: already signed' in run.out and 'notation: already signed' in run.out, run
    assert dict((r, registry_state(stack, r)) for r in (formats.repo1, formats.repo2)) == formats.registry_after_first
    assert formats.versions() == formats.tuf_after_first


def test_verify_release_with_another_cosign_key_fails_naming_the_images(formats, stack, tmp_path):
    other = run_module('cosign_key', common(stack, formats.docker_config, path=str(tmp_path / 'other' / 'key'),
                                            passphrase=COSIGN_PASS, cosign_cli=formats.cosign))
    run = formats.playbook('verify_release.yml', '-e', json.dumps({
        'content_trust_cosign_public_keys': [other['public_key']],
        'content_trust_signature_formats': ['cosign'], 'content_trust_report_dir': str(tmp_path / 'reports')}))
    _no_secret(run)
    assert run.rc != 0, run
    assert '%s:v1.0.0' % formats.repo1 in run.out and '%s:v1.0.0' % formats.repo2 in run.out, run
    with open(str(tmp_path / 'reports' / 'release-v1.0.0.json')) as f:
        report = json.load(f)
    assert report['verified'] is False
    assert all(i['signatures'] == {'cosign': False} for i in report['images'])


def test_revoke_release_withdraws_one_tag_in_every_format_and_keeps_the_other_tag_of_its_digest(formats, stack):
    """repo1's v1.0.0 and stable share a digest, signed in three formats; revoke_release.yml withdraws stable: Notary
    no longer lists it, the real cosign and notation no longer verify it, and v1.0.0 still verifies in all three.
    A second run changes nothing. trust_pull and verify_release then refuse stable in every format; the attacker
    pushes the deleted signatures again, and consumers given the revocation list still refuse it."""
    from ocitools import attacker_put_manifest, binding, registry_manifest
    repo = formats.repo1
    listed = [{'repository': repo, 'tags': ['stable'], 'reason': 'built from the wrong branch'}]
    revoked = json.dumps({'content_trust_revoked_images': listed})
    digest = 'sha256:' + formats.signed_tags(repo)['stable'][0]
    # What an attacker who controls the registry keeps: the cosign 3.x bundles and Notation signatures of the digest
    # (referrers in the sha256-<hex> fallback index), to push them again after they are deleted.
    index_tag = digest.replace(':', '-')
    index, index_type = registry_manifest(stack, repo, index_tag)
    saved = [(m['digest'], registry_manifest(stack, repo, m['digest'])) for m in json.loads(index)['manifests']]
    run = formats.playbook('revoke_release.yml', '-e', revoked, '--check')
    assert run.rc == 0 and '%s:stable  cosign: would be withdrawn' % repo in run.out, run
    assert formats.signed_tags(repo).get('stable'), 'check mode revoked in Notary'
    run = formats.playbook('revoke_release.yml', '-e', revoked)
    _no_secret(run)
    assert run.rc == 0, run
    for fmt in ('notary', 'cosign', 'notation'):
        assert '%s:stable  %s: withdrawn  (built from the wrong branch)' % (repo, fmt) in run.out, run
    tags = formats.signed_tags(repo)
    assert 'stable' not in tags and 'v1.0.0' in tags, tags
    ref_v1 = '%s@sha256:%s' % (repo, tags['v1.0.0'][0])  # docker trust inspect shows the hex digest
    assert ref_v1 == '%s@%s' % (repo, digest)
    for tag, ok in (('stable', False), ('v1.0.0', True)):
        proc = real_cosign_verify(formats.cosign, formats.cosign_pub, ref_v1, binding(repo, tag))
        assert (proc.returncode == 0) is ok, (tag, proc.stderr.decode())
        proc = real_notation_verify(notation_binary(), ref_v1, formats.pki['ca'], repo, binding(repo, tag))
        assert (proc.returncode == 0) is ok, (tag, proc.stdout.decode())
    state, versions = registry_state(stack, repo), formats.versions()
    run = formats.playbook('revoke_release.yml', '-e', revoked)
    assert run.rc == 0 and run.recap['changed'] == 0, run
    assert '%s:stable  cosign: no signature (already withdrawn)' % repo in run.out, run
    assert registry_state(stack, repo) == state and formats.versions() == versions

    # The consumers: the withdrawn tag no longer verifies in any format, for trust_pull and for verify_release.
    pins = dict((r['repository'], r['root_key_ids']) for r in run_module('trust_info', common(
        stack, formats.docker_config, references=[repo]))['repositories'])
    consumer = dict(images=[{'repository': repo, 'tags': ['stable']}], root_key_ids=pins,
                    cosign_public_keys=[formats.cosign_public_key], cosign_cli=formats.cosign,
                    notation_ca_certificates=[open(formats.pki['ca']).read()],
                    notation_trusted_identities=[formats.pki['identity']], notation_cli=notation_binary())

    def pull(fmt, **extra):
        args = dict(consumer, formats=[fmt], **extra)
        if fmt != 'notary':
            args.pop('root_key_ids')
        return run_module('trust_pull', common(stack, formats.docker_config, **args), check_mode=True)

    for fmt in ('notary', 'cosign', 'notation'):
        res = pull(fmt)
        assert res.failed and res['error_kind'] == 'unverified' and 'stable' in res['msg'], (fmt, res)
    run = formats.playbook('verify_release.yml')
    assert run.rc != 0 and '%s:stable' % repo in run.out[run.out.index('does not verify'):], run

    # The attacker pushes the deleted signatures again: the real tools verify stable again, so without the list a
    # cosign or Notation consumer would take it; with the list every consumer refuses it in every format.
    for ref, (body, media_type) in saved:
        attacker_put_manifest(stack, repo, ref, body, media_type)
    attacker_put_manifest(stack, repo, index_tag, index, index_type)
    assert real_cosign_verify(formats.cosign, formats.cosign_pub, ref_v1, binding(repo, 'stable')).returncode == 0
    assert real_notation_verify(notation_binary(), ref_v1, formats.pki['ca'], repo,
                                binding(repo, 'stable')).returncode == 0
    assert not pull('cosign').failed
    for fmt in ('cosign', 'notation'):
        res = pull(fmt, revoked=listed)
        assert res.failed and res['error_kind'] == 'unverified' and 'built from the wrong branch' in res['msg'], res
