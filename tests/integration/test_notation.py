# -*- coding: utf-8 -*-
"""notation_sign and notation_verify with the real notation 1.3 on the real registry."""

import os
import subprocess

from conftest import common, run_module
from ocitools import attacker_move_tag, binding, make_notation_pki, notation_binary, push_image, real_notation_verify, registry_state


def _openssl_fingerprint(certificate_path):
    """SHA-256 fingerprint of a certificate, as openssl prints it, in the module's form (lowercase hex)."""
    out = subprocess.run(['openssl', 'x509', '-in', certificate_path, '-noout', '-fingerprint', '-sha256'], check=True,
                         stdout=subprocess.PIPE, timeout=30).stdout.decode()
    return out.strip().split('=', 1)[1].replace(':', '').lower()


def test_notation_sign_verifies_with_real_notation_and_is_idempotent(stack, docker_config, tmp_path):
    binary = notation_binary()
    pki = make_notation_pki(str(tmp_path / 'pki'))
    other = make_notation_pki(str(tmp_path / 'other'), org='Other')
    repo = stack.repo('notation')
    d1 = push_image(stack, docker_config, repo, ['v1', 'latest'])
    d2 = push_image(stack, docker_config, repo, ['v2'])
    args = common(stack, docker_config, repository=repo, tags=['v1', 'v2', 'latest'], key=pki['key'],
                  certificate_chain=pki['chain'], notation_cli=binary)
    before = registry_state(stack, repo)
    planned = run_module('notation_sign', args, check_mode=True, diff=True)
    # Each signature binds one tag: `latest`, on v1's digest, gets a signature of its own.
    assert not planned.failed and [r['signed'] for r in planned['results']] == [True, True, True], planned
    assert registry_state(stack, repo) == before
    signer = {'certificate_fingerprint': _openssl_fingerprint(os.path.join(str(tmp_path / 'pki'), 'signer.crt'))}
    unsigned = {'signer': signer, 'signed_tags': {repo + ':v1': None, repo + ':v2': None, repo + ':latest': None}}
    all_signed = {'signer': signer, 'signed_tags': {repo + ':v1': d1, repo + ':v2': d2, repo + ':latest': d1}}
    assert planned['diff']['before'] == unsigned and planned['diff']['after'] == all_signed, planned['diff']

    signed = run_module('notation_sign', args, diff=True)
    assert not signed.failed, signed
    assert [(r['tag'], r['digest'], r['signed']) for r in signed['results']] == \
        [('v1', d1, True), ('v2', d2, True), ('latest', d1, True)]
    assert signed['diff']['before'] == unsigned and signed['diff']['after'] == all_signed, signed['diff']
    with open(pki['key']) as f:
        assert f.read().strip() not in str(signed) and 'PRIVATE KEY' not in str(signed)
    for digest in (d1, d2):
        ok = real_notation_verify(binary, '%s@%s' % (repo, digest), pki['ca'], repo)
        assert ok.returncode == 0, ok.stdout.decode()
        bad = real_notation_verify(binary, '%s@%s' % (repo, digest), other['ca'], repo)
        assert bad.returncode != 0, bad.stdout.decode()

    state = registry_state(stack, repo)
    again = run_module('notation_sign', args, diff=True)
    assert not again.failed and not again['changed'], again
    assert again['diff']['before'] == again['diff']['after'] == all_signed, again['diff']
    assert registry_state(stack, repo) == state, 'a re-run changed the registry'
    # The key is used in place: nothing was copied next to it.
    assert sorted(os.listdir(str(tmp_path / 'pki'))) == sorted(
        ['ca.crt', 'ca.key', 'ca.srl', 'leaf.ext', 'signer-chain.pem', 'signer.crt', 'signer.csr', 'signer.key'])

    with open(pki['ca']) as f:
        ca_pem = f.read()
    with open(other['ca']) as f:
        other_pem = f.read()
    # Fail closed: a verification that names no identity would trust every certificate the CA issued.
    anyone = run_module('notation_verify', common(stack, docker_config, repository=repo, tags=['v1'],
                                                  ca_certificates=[ca_pem], notation_cli=binary))
    assert anyone.failed and anyone['error_kind'] == 'bad_input' and 'trust_any_identity' in anyone['msg'], anyone
    wildcard = run_module('notation_verify', common(stack, docker_config, repository=repo, tags=['v1'],
                                                    ca_certificates=[ca_pem], notation_cli=binary,
                                                    trusted_identities=['*']))
    assert wildcard.failed and wildcard['error_kind'] == 'bad_input', wildcard
    on_purpose = run_module('notation_verify', common(stack, docker_config, repository=repo, tags=['v1'],
                                                      ca_certificates=[ca_pem], notation_cli=binary,
                                                      trust_any_identity=True))
    assert not on_purpose.failed and on_purpose['verified'], on_purpose
    good = run_module('notation_verify', common(stack, docker_config, repository=repo, tags=['v1', 'v2', 'latest'],
                                                ca_certificates=[ca_pem], notation_cli=binary,
                                                trusted_identities=[pki['identity']]))
    assert not good.failed and good['verified'] and [r['digest'] for r in good['results']] == [d1, d2, d1], good
    fail = run_module('notation_verify', common(stack, docker_config, repository=repo, tags=['v1', 'v2'],
                                                ca_certificates=[other_pem], notation_cli=binary,
                                                trusted_identities=[pki['identity']]))
    assert fail.failed and 'v1 (' in fail['msg'] and 'v2 (' in fail['msg'], fail
    report = run_module('notation_verify', common(stack, docker_config, repository=repo, tags=['v1'],
                                                  ca_certificates=[other_pem], fail_on_unverified=False,
                                                  notation_cli=binary, trusted_identities=[pki['identity']]))
    assert not report.failed and report['unverified'] == ['v1'], report
    named = run_module('notation_verify', common(
        stack, docker_config, repository=repo, tags=['v1'], ca_certificates=[ca_pem], notation_cli=binary,
        trusted_identities=['x509.subject: C=GB, ST=London, O=Acme, CN=release signer']))
    assert not named.failed and named['verified'], named
    stranger = run_module('notation_verify', common(
        stack, docker_config, repository=repo, tags=['v1'], ca_certificates=[ca_pem], notation_cli=binary,
        trusted_identities=['x509.subject: C=GB, ST=London, O=Acme, CN=somebody else'], fail_on_unverified=False))
    assert not stranger.failed and not stranger['verified'], stranger

    # Withdrawn: the diff lists the signature bound to `latest` that stops verifying, and nothing after; v1, on the
    # same digest, still verifies.  Again: nothing to withdraw, an equal diff.
    revoke = common(stack, docker_config, repository=repo, tags=['latest'])
    revoked = run_module('notation_revoke', revoke, diff=True)
    assert not revoked.failed and revoked['changed'], revoked
    withdrawn = ['notation %s' % s['digest'] for s in revoked['results'][0]['signatures']]
    assert len(withdrawn) == 1 and revoked['diff']['before'] == {'signatures': {repo + ':latest': withdrawn}} and \
        revoked['diff']['after'] == {'signatures': {repo + ':latest': []}}, revoked['diff']
    ref = '%s@%s' % (repo, d1)
    assert real_notation_verify(binary, ref, pki['ca'], repo, binding(repo, 'latest')).returncode != 0
    assert real_notation_verify(binary, ref, pki['ca'], repo, binding(repo, 'v1')).returncode == 0
    once_more = run_module('notation_revoke', dict(revoke, missing='ignore'), diff=True)
    assert not once_more['changed'] and once_more['diff']['before'] == once_more['diff']['after'] == \
        {'signatures': {repo + ':latest': []}}, once_more


def test_notation_sign_refuses_unsafe_or_unusable_files(stack, docker_config, tmp_path):
    binary = notation_binary()
    pki = make_notation_pki(str(tmp_path / 'pki'))
    repo = stack.repo('notation')
    push_image(stack, docker_config, repo, ['v1'])
    before = registry_state(stack, repo)
    args = common(stack, docker_config, repository=repo, tags=['v1'], key=pki['key'], certificate_chain=pki['chain'],
                  notation_cli=binary)
    os.chmod(pki['key'], 0o644)
    res = run_module('notation_sign', args)
    assert res.failed and 'chmod 600' in res['msg'], res
    os.chmod(pki['key'], 0o600)
    res = run_module('notation_sign', dict(args, certificate_chain=pki['ca']))
    assert res.failed and 'code-signing' in res['msg'], res
    other = make_notation_pki(str(tmp_path / 'other'))
    res = run_module('notation_sign', dict(args, key=other['key']))
    assert res.failed and 'not the private key of the leaf' in res['msg'], res
    assert registry_state(stack, repo) == before


def test_a_digest_signed_for_more_tags_than_notation_looks_at_by_default_verifies_for_every_tag(
        stack, docker_config, tmp_path):
    """notation verify and inspect look at the first 100 signatures of a digest unless told otherwise; one image
    released under 101 tags carries 101 signatures (one per tag), and the last tag must verify too."""
    binary = notation_binary()
    pki = make_notation_pki(str(tmp_path / 'pki'))
    repo = stack.repo('notation-many')
    tags = ['t%03d' % i for i in range(101)]
    digest = push_image(stack, docker_config, repo, tags)
    args = common(stack, docker_config, repository=repo, tags=tags, key=pki['key'], certificate_chain=pki['chain'],
                  notation_cli=binary)
    signed = run_module('notation_sign', args)
    assert not signed.failed and all(r['signed'] for r in signed['results']), signed
    last = dict(repo=repo, tag='t100')
    # What the real tool says with its default: the condition this test is about holds.
    capped = real_notation_verify(binary, '%s@%s' % (repo, digest), pki['ca'], repo, metadata=binding(**last))
    assert capped.returncode != 0 and 'signature verification failed' in capped.stdout.decode(), capped.stdout
    with open(pki['ca']) as f:
        ca_pem = f.read()
    verified = run_module('notation_verify', common(stack, docker_config, repository=repo, tags=['t000', 't100'],
                                                    ca_certificates=[ca_pem], trusted_identities=[pki['identity']],
                                                    notation_cli=binary))
    assert not verified.failed and [(r['tag'], r['verified']) for r in verified['results']] == \
        [('t000', True), ('t100', True)], verified
    # and the plan of a re-run finds the last tag's signature (inspect lists past the first 100): nothing to sign
    again = run_module('notation_sign', dict(args, tags=['t100']))
    assert not again.failed and not again['changed'], again

    # The attacker (the registry is theirs, our key is not) points a tag of their own at the digest and signs it,
    # bound to that tag, with their own PKI: looking past 100 signatures must not let the 102nd admit it.
    attacker = make_notation_pki(str(tmp_path / 'attacker'), org='Acme')
    attacker_move_tag(stack, repo, 'evil', digest)
    forged = run_module('notation_sign', common(stack, docker_config, repository=repo, tags=['evil'],
                                                key=attacker['key'], certificate_chain=attacker['chain'],
                                                notation_cli=binary))
    assert not forged.failed and forged['changed'], forged
    refused = run_module('notation_verify', common(stack, docker_config, repository=repo, tags=['evil', 't100'],
                                                   ca_certificates=[ca_pem], trusted_identities=[pki['identity']],
                                                   notation_cli=binary))
    assert refused.failed and refused['error_kind'] == 'unverified', refused
    assert '1 of 2 tag(s)' in refused['msg'] and 'no valid Notation signature: evil (' in refused['msg'], refused
