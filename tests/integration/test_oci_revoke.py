# -*- coding: utf-8 -*-
"""Withdrawing one tag's cosign and Notation signatures (issue 20): two tags on one digest, each signed with
cosign 2.5 (the ``sha256-<hex>.sig`` manifest), cosign 3.1 (bundles in the ``sha256-<hex>`` fallback index, which
docker-registry 2.8 needs for want of a referrers API) and Notation (in the same index) by the collection's sign
modules, and by hand with cosign 3.1 ``--new-bundle-format=false`` (layers of the same ``.sig`` manifest, one of
them bound to no tag).  cosign_revoke and notation_revoke withdraw one tag: what the real ``cosign verify`` and
``notation verify`` report with that tag's ``-a`` / ``--user-metadata`` requirements, and with the other tag's, is
the test.  A registry with deletes disabled refuses, naming the setting, and nothing changes."""

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import COSIGN_PASS, common, install_publisher_certificate, run_module
from ocitools import (
    ACCEPT, binding, cosign_binary, cosign_cli, make_notation_pki, notation_binary, real_cosign_verify,
    real_notation_verify, registry_manifest, registry_state,
)

REVOKED, KEPT = 'v2.0', 'v2.0.0'


def _digest(registry, repo, tag):
    path = repo[len(registry) + 1:]
    req = urllib.request.Request('http://%s/v2/%s/manifests/%s' % (registry, path, tag), method='HEAD',
                                 headers={'Accept': ACCEPT})
    try:
        return urllib.request.urlopen(req, timeout=10).headers['Docker-Content-Digest']
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def _state(registry, repo):
    """Every tag of the repository (signature tags and fallback indexes included) with its digest."""
    path = repo[len(registry) + 1:]
    tags = json.loads(urllib.request.urlopen('http://%s/v2/%s/tags/list' % (registry, path), timeout=10).read())
    return dict((t, _digest(registry, repo, t)) for t in tags.get('tags') or [])


def _push(stack, docker_config, repo, tags):
    first = '%s:%s' % (repo, tags[0])
    stack.build_image(docker_config, first)
    for tag in tags:
        if tag != tags[0]:
            stack.docker(docker_config, 'tag', first, '%s:%s' % (repo, tag))
        stack.docker(docker_config, 'push', '-q', '%s:%s' % (repo, tag))
    return _digest(repo.split('/', 1)[0], repo, tags[0])


def _sign_all(stack, docker_config, keys, pki, repo, tags):
    for version in ('2.5', '3.1'):
        signed = run_module('cosign_sign', common(stack, docker_config, repository=repo, tags=tags,
                                                  key=keys[version]['private_key_path'], key_passphrase=COSIGN_PASS,
                                                  cosign_cli=cosign_binary(version)))
        assert not signed.failed and all(r['signed'] for r in signed['results']), signed
    signed = run_module('notation_sign', common(stack, docker_config, repository=repo, tags=tags, key=pki['key'],
                                                certificate_chain=pki['chain'], notation_cli=notation_binary()))
    assert not signed.failed and all(r['signed'] for r in signed['results']), signed


@pytest.fixture(scope='module')
def signers(stack, tmp_path_factory):
    """A docker configuration, a cosign key per cosign version and a Notation PKI, for the module."""
    d = tmp_path_factory.mktemp('oci-revoke')
    docker_config = str(d / 'docker-config')
    os.mkdir(docker_config, 0o700)
    install_publisher_certificate(docker_config)
    keys = {}
    for version in ('2.5', '3.1'):
        keys[version] = run_module('cosign_key', common(stack, docker_config, path=str(d / ('cosign-' + version)),
                                                        passphrase=COSIGN_PASS, cosign_cli=cosign_binary(version)))
        assert not keys[version].failed, keys[version]
    return dict(docker_config=docker_config, keys=keys, pki=make_notation_pki(str(d / 'pki')))


def _legacy_sign(signers, repo, digest, annotations):
    """cosign 3.1 by hand, in the format of 2.x (``--new-bundle-format=false``: a layer of ``sha256-<hex>.sig``)."""
    argv = ['sign', '--yes', '--key', signers['keys']['3.1']['private_key_path'], '--tlog-upload=false',
            '--use-signing-config=false', '--new-bundle-format=false', '--allow-http-registry']
    for k, v in sorted(annotations.items()):
        argv += ['-a', '%s=%s' % (k, v)]
    proc = cosign_cli(cosign_binary('3.1'), *(argv + ['%s@%s' % (repo, digest)]), env={'COSIGN_PASSWORD': COSIGN_PASS})
    assert proc.returncode == 0, proc.stderr.decode()


def _legacy_verifies(signers, repo, digest, annotations):
    argv = ['verify', '--key', signers['keys']['3.1']['public_key_path'], '--insecure-ignore-tlog=true',
            '--new-bundle-format=false']
    for k, v in sorted(annotations.items()):
        argv += ['-a', '%s=%s' % (k, v)]
    return cosign_cli(cosign_binary('3.1'), *(argv + ['%s@%s' % (repo, digest)])).returncode == 0


def _verifies(signers, repo, digest, tag):
    """What the real tools report for ``tag`` (its binding required): {cosign 2.5, cosign 3.1 (bundles), cosign 3.1
    --new-bundle-format=false, notation: rc == 0}."""
    ref = '%s@%s' % (repo, digest)
    out = {'cosign 3.1 legacy': _legacy_verifies(signers, repo, digest, binding(repo, tag))}
    for version in ('2.5', '3.1'):
        public_key_path = signers['keys'][version]['public_key_path']
        out['cosign ' + version] = real_cosign_verify(cosign_binary(version), public_key_path, ref,
                                                      binding(repo, tag)).returncode == 0
    out['notation'] = real_notation_verify(notation_binary(), ref, signers['pki']['ca'], repo,
                                           binding(repo, tag)).returncode == 0
    return out


ALL = {'cosign 2.5': True, 'cosign 3.1': True, 'cosign 3.1 legacy': True, 'notation': True}
NONE = dict((k, False) for k in ALL)


def _revoke(stack, signers, module, repo, tags, **kwargs):
    return run_module(module, common(stack, signers['docker_config'], repository=repo, tags=tags,
                                     **kwargs.pop('options', {})), **kwargs)


def _sig_layers(stack, repo, digest):
    body, dummy = registry_manifest(stack, repo, 'sha256-%s.sig' % digest[7:])
    return [layer['digest'] for layer in json.loads(body.decode())['layers']]


def _index(stack, repo, digest):
    body, dummy = registry_manifest(stack, repo, 'sha256-%s' % digest[7:])
    return [m['digest'] for m in json.loads(body.decode())['manifests']]


def test_withdrawing_one_tag_keeps_the_other_tags_signatures_in_every_format(stack, signers):
    repo = stack.repo('revoke')
    digest = _push(stack, signers['docker_config'], repo, [REVOKED, KEPT])
    _sign_all(stack, signers['docker_config'], signers['keys'], signers['pki'], repo, [REVOKED, KEPT])
    # cosign 3.x in the 2.x format, by hand: a layer per tag beside cosign 2.5's, and one bound to no tag (signed
    # before the binding), which no revocation of a tag may remove.
    for tag in (REVOKED, KEPT):
        _legacy_sign(signers, repo, digest, binding(repo, tag))
    _legacy_sign(signers, repo, digest, {'release': 'unbound'})
    assert _verifies(signers, repo, digest, REVOKED) == ALL and _verifies(signers, repo, digest, KEPT) == ALL
    assert len(_sig_layers(stack, repo, digest)) == 5
    index_before = _index(stack, repo, digest)
    assert len(index_before) == 4  # two cosign 3.1 bundles, two Notation signatures, in one fallback index

    # Check mode: the plan, with its diff, and nothing written.
    before = registry_state(stack, repo)
    planned = _revoke(stack, signers, 'cosign_revoke', repo, [REVOKED], check_mode=True, diff=True)
    assert not planned.failed and planned['changed'] and planned['revoked'] == [REVOKED], planned
    assert sorted(s['kind'] for s in planned['results'][0]['signatures']) == \
        ['bundle', 'simple-signing', 'simple-signing'], planned
    assert len(planned['diff']['before']['signatures']['%s:%s' % (repo, REVOKED)]) == 3 and \
        planned['diff']['after']['signatures'] == {'%s:%s' % (repo, REVOKED): []}, planned
    assert registry_state(stack, repo) == before

    # cosign first: the fallback index loses exactly the revoked tag's bundle; the Notation signatures and the other
    # tag's bundle stay, and still verify.
    cosign = _revoke(stack, signers, 'cosign_revoke', repo, [REVOKED])
    assert not cosign.failed and cosign['changed'], cosign
    assert [(r['tag'], r['digest'], r['format'], r['revoked'], r['unsigned']) for r in cosign['results']] == \
        [(REVOKED, digest, 'cosign', True, False)], cosign
    bundle = [s['digest'] for s in cosign['results'][0]['signatures'] if s['kind'] == 'bundle']
    assert _index(stack, repo, digest) == [d for d in index_before if d not in bundle] and len(bundle) == 1
    assert _verifies(signers, repo, digest, REVOKED) == dict(NONE, notation=True)
    assert _verifies(signers, repo, digest, KEPT) == ALL
    layers = [s['digest'] for s in cosign['results'][0]['signatures'] if s['kind'] == 'simple-signing']
    assert len(_sig_layers(stack, repo, digest)) == 3 and not set(layers) & set(_sig_layers(stack, repo, digest))
    assert _legacy_verifies(signers, repo, digest, {'release': 'unbound'})

    notation = _revoke(stack, signers, 'notation_revoke', repo, [REVOKED])
    assert not notation.failed and notation['changed'] and notation['revoked'] == [REVOKED], notation
    assert [s['kind'] for s in notation['results'][0]['signatures']] == ['notation'], notation
    assert _verifies(signers, repo, digest, REVOKED) == NONE
    assert _verifies(signers, repo, digest, KEPT) == ALL
    assert len(_index(stack, repo, digest)) == 2

    # Again: nothing to do, nothing written; the tag is reported unsigned, with a warning, or a failure if asked.
    after = registry_state(stack, repo)
    for module in ('cosign_revoke', 'notation_revoke'):
        again = _revoke(stack, signers, module, repo, [REVOKED], diff=True)
        assert not again.failed and not again['changed'] and again['unsigned'] == [REVOKED], again
        assert again['diff']['before'] == again['diff']['after'], again
        assert 'bound to %s' % KEPT in json.dumps(again.get('warnings')), again
        refused = _revoke(stack, signers, module, repo, [REVOKED], options=dict(missing='fail'))
        assert refused.failed and refused['error_kind'] == 'bad_input' and REVOKED in refused['msg'], refused
    assert registry_state(stack, repo) == after


@pytest.fixture
def registry_without_deletes(tmp_path):
    """A second docker-registry, as stack.sh starts one, without storage.delete.enabled; its host:port."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    config = tmp_path / 'registry.yml'
    config.write_text('version: 0.1\nlog: {level: warn}\nstorage:\n  filesystem: {rootdirectory: %s}\nhttp:\n'
                      '  addr: 127.0.0.1:%d\n' % (tmp_path / 'data', port))
    with open(str(tmp_path / 'registry.log'), 'w') as log:
        proc = subprocess.Popen(['docker-registry', 'serve', str(config)], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen('http://127.0.0.1:%d/v2/' % port, timeout=2).read()
                break
            except (urllib.error.URLError, OSError):
                assert time.time() < deadline and proc.poll() is None, (tmp_path / 'registry.log').read_text()
                time.sleep(0.1)
        yield '127.0.0.1:%d' % port
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_registry_that_refuses_deletes_fails_naming_the_setting_and_nothing_changes(
        stack, signers, registry_without_deletes):
    registry = registry_without_deletes
    repo = '%s/acme/no-deletes' % registry
    digest = _push(stack, signers['docker_config'], repo, [REVOKED, KEPT])
    _sign_all(stack, signers['docker_config'], signers['keys'], signers['pki'], repo, [REVOKED])
    before = _state(registry, repo)
    assert 'sha256-%s.sig' % digest[7:] in before and 'sha256-%s' % digest[7:] in before
    for module in ('cosign_revoke', 'notation_revoke'):
        for check_mode in (True, False):
            refused = _revoke(stack, signers, module, repo, [REVOKED], check_mode=check_mode)
            assert refused.failed and 'storage.delete.enabled: true' in refused['msg'], refused
            assert 'nothing was changed' in refused['msg'] and registry in refused['msg'], refused
    # Not even cosign 2.x's signature manifest, which needs no DELETE, was rewritten.
    assert _state(registry, repo) == before
    ref = '%s@%s' % (repo, digest)
    for version in ('2.5', '3.1'):
        assert real_cosign_verify(cosign_binary(version), signers['keys'][version]['public_key_path'], ref,
                                  binding(repo, REVOKED)).returncode == 0
    assert real_notation_verify(notation_binary(), ref, signers['pki']['ca'], repo,
                                binding(repo, REVOKED)).returncode == 0
