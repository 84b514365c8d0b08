# -*- coding: utf-8 -*-
"""The cosign commands the modules build, and the decisions around them (no binaries run)."""

import pytest

from ansible_collections.openbanking.content_trust.plugins.module_utils import _ocibinding, _ocifiles, _ocisig, _ociverify
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError

HELP_2_5 = '''  cosign sign --key cosign.key --tlog-upload=false <IMAGE DIGEST>
    --allow-http-registry=false:
    --registry-referrers-mode=:
    --tlog-upload=true:
'''
HELP_3_1 = HELP_2_5 + '''    --signing-config='':
    --use-signing-config=true:
'''


def test_features_tell_cosign_2_from_3():
    assert _ocisig.cosign_features_from_help(HELP_2_5) == {'major': 2, 'signing_config_flag': False, 'allow_http': True}
    assert _ocisig.cosign_features_from_help(HELP_3_1) == {'major': 3, 'signing_config_flag': True, 'allow_http': True}


def test_sign_without_transparency_log_on_cosign_3_turns_off_the_signing_config():
    f3 = _ocisig.cosign_features_from_help(HELP_3_1)
    argv = _ocisig.cosign_sign_argv('cosign', f3, 'r.example/a@sha256:' + 'a' * 64, '/k/release.key',
                                    {'b': '2', 'a': '1'}, transparency_log=False, loopback=False)
    assert argv == ['cosign', 'sign', '--yes', '--key', '/k/release.key', '--tlog-upload=false',
                    '--use-signing-config=false', '-a', 'a=1', '-a', 'b=2', 'r.example/a@sha256:' + 'a' * 64]
    f2 = _ocisig.cosign_features_from_help(HELP_2_5)
    argv2 = _ocisig.cosign_sign_argv('cosign', f2, '127.0.0.1:5000/a@sha256:' + 'a' * 64, '/k', None, loopback=True)
    assert '--use-signing-config=false' not in argv2 and '--tlog-upload=false' in argv2
    assert argv2[-2:] == ['--allow-http-registry', '127.0.0.1:5000/a@sha256:' + 'a' * 64]


def test_sign_with_transparency_log_uploads_as_cosign_is_configured():
    for text in (HELP_2_5, HELP_3_1):
        argv = _ocisig.cosign_sign_argv('cosign', _ocisig.cosign_features_from_help(text), 'r/a@sha256:' + 'b' * 64,
                                        '/k', transparency_log=True)
        assert not [a for a in argv if a.startswith(('--tlog-upload', '--use-signing-config'))]
        verify = _ocisig.cosign_verify_argv('cosign', {}, 'r/a@sha256:' + 'b' * 64, '/k.pub', transparency_log=True)
        assert not [a for a in verify if 'insecure-ignore-tlog' in a]
    verify = _ocisig.cosign_verify_argv('cosign', {}, 'r/a@sha256:' + 'b' * 64, '/k.pub')
    assert '--insecure-ignore-tlog=true' in verify


def test_no_secret_ever_in_the_commands():
    argv = _ocisig.cosign_sign_argv('cosign', {}, 'r/a@sha256:' + 'c' * 64, '/k.key', {'x': 'y'})
    assert all('pass' not in a.lower() for a in argv)


@pytest.mark.parametrize('annotations,msg', [
    ({'a=b': 'c'}, 'without "="'),
    ({'a': ['x']}, 'must be a string'),
    ({'a': True}, 'must be a string'),
])
def test_bad_annotations_are_named(annotations, msg):
    with pytest.raises(ValueError) as exc:
        _ocibinding.check_annotations(annotations)
    assert msg in str(exc.value)


def test_bad_public_keys_are_named():
    with pytest.raises(ValueError) as exc:
        _ocifiles.check_public_keys(['not a key'])
    assert 'public_keys[0]' in str(exc.value)
    with pytest.raises(ValueError):
        _ocifiles.check_public_keys([])


def test_trust_policy_is_strict_and_scoped():
    policy = _ocifiles.notation_trust_policy('127.0.0.1:5000/acme/app')
    tp = policy['trustPolicies'][0]
    assert tp['registryScopes'] == ['127.0.0.1:5000/acme/app']
    assert tp['signatureVerification'] == {'level': 'strict'}
    assert tp['trustedIdentities'] == ['*']


# --- PEM: _pem's linear parser and its size cap ----------------------------------------------

def _fixture(name):
    import os
    with open(os.path.join(os.path.dirname(__file__), 'fixtures', 'keys', name)) as f:
        return f.read()


@pytest.mark.parametrize('body', [
    '-----BEGIN PUBLIC KEY-----\n' + 'A' * 64 + '\n',       # the shape the old regex backtracked on
    '-----BEGIN PUBLIC KEY-----\n',                        # many BEGIN lines
    '-----BEGIN CERTIFICATE-----\n' + 'A' * 64 + '\n',
])
def test_a_216_kib_pem_is_refused_in_under_a_second(body):
    import time
    text = body * (216 * 1024 // len(body))
    for check in (lambda: _ocifiles.check_public_keys([text], 'cosign_public_keys'),
                  lambda: _ocifiles.check_ca_certificates([text], 'notation_ca_certificates'),
                  lambda: _ocifiles.public_key_pem(text)):
        start = time.time()
        with pytest.raises(ValueError) as exc:
            check()
        assert time.time() - start < 1
        assert '64 KiB' in str(exc.value)


def test_a_public_key_is_found_after_text_and_in_crlf():
    pub = _fixture('openssl-ec.pub')
    found = _ocifiles.check_public_keys(['Public key written by cosign:\r\n' + pub.replace('\n', '\r\n')])
    assert ''.join(found[0].split()) == ''.join(pub.split())


def test_a_bundle_keeps_every_certificate_in_order():
    with pytest.raises(ValueError) as exc:
        _ocifiles.check_ca_certificates(['no certificate here'])
    assert 'ca_certificates[0] holds no PEM certificate' in str(exc.value)
    with pytest.raises(ValueError) as exc:
        _ocifiles.check_ca_certificates(['-----BEGIN CERTIFICATE-----\nAAAA\n'])
    assert 'ca_certificates[0]' in str(exc.value) and '-----END CERTIFICATE-----' in str(exc.value)
    certs = [_self_signed(name) for name in ('root', 'intermediate')]
    bundle = '# a comment\n' + certs[0] + 'text between\n' + certs[1]
    assert _ocifiles.check_ca_certificates([bundle]) == certs


def _self_signed(cn):
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime(2026, 1, 1)
    cert = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()) \
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)) \
        .sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')


# --- the tag binding: decisions and parsing, on answers recorded from cosign 2.5, 3.1.1 and notation 1.3.2 --------

GUN = '127.0.0.1:5020/exp/app'
DIGEST = 'sha256:570b16afbdd315b8fb069fc4bd69102b511ab64acef84b8fcd633e77cdfe36f4'
# `cosign verify --output json` stdout of cosign 2.5 (.sig) and 3.1.1 (bundle), a digest signed for two tags.
COSIGN_2_5_VERIFIED = (
    '[{"critical":{"identity":{"docker-reference":"127.0.0.1:5020/exp/app"},"image":{"docker-manifest-digest":'
    '"%s"},"type":"cosign container image signature"},"optional":{"org.openbanking.content_trust.repository":'
    '"127.0.0.1:5020/exp/app","org.openbanking.content_trust.tag":"v1.0.0"}},{"critical":{"identity":'
    '{"docker-reference":"127.0.0.1:5020/exp/app"},"image":{"docker-manifest-digest":"%s"},"type":'
    '"cosign container image signature"},"optional":{"org.openbanking.content_trust.repository":'
    '"127.0.0.1:5020/exp/app","org.openbanking.content_trust.tag":"v2.0.0"}}]\n' % (DIGEST, DIGEST))
COSIGN_3_1_VERIFIED = (
    '\n[{"critical":{"identity":{"docker-reference":"127.0.0.1:5020/exp/app@%s"},"image":{"docker-manifest-digest":'
    '"%s"},"type":"https://sigstore.dev/cosign/sign/v1"},"optional":{"org.openbanking.content_trust.repository":'
    '"127.0.0.1:5020/exp/app","org.openbanking.content_trust.tag":"v1.0.0"}}]\n' % (DIGEST, DIGEST))
COSIGN_UNBOUND = ('[{"critical":{"identity":{"docker-reference":"127.0.0.1:5020/exp/app"},"image":'
                  '{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}]'
                  % DIGEST)


class _Ref(object):
    gun = GUN


def test_the_binding_names_the_repository_and_the_tag():
    assert _ocibinding.tag_binding(_Ref(), 'v2.0.0') == {
        'org.openbanking.content_trust.repository': GUN, 'org.openbanking.content_trust.tag': 'v2.0.0'}


@pytest.mark.parametrize('key', ['org.openbanking.content_trust.repository', 'org.openbanking.content_trust.tag'])
def test_user_annotations_cannot_claim_the_binding(key):
    with pytest.raises(InputError) as exc:
        _ocibinding.check_annotations({key: 'v2.0.0', 'release': 'v1'})
    assert exc.value.kind == 'bad_input' and 'reserved' in str(exc.value) and key in str(exc.value)


def test_the_binding_is_merged_with_the_users_annotations_and_wins():
    merged = _ocibinding.with_binding({'release': 'v1', 'org.openbanking.content_trust.tag': 'forged'},
                                      _ocibinding.tag_binding(_Ref(), 'v1.0.0'))
    assert merged == {'release': 'v1', 'org.openbanking.content_trust.repository': GUN,
                      'org.openbanking.content_trust.tag': 'v1.0.0'}
    argv = _ocisig.cosign_sign_argv('cosign', {}, GUN + '@' + DIGEST, '/k.key', merged)
    assert argv[argv.index('-a'):-1] == ['-a', 'org.openbanking.content_trust.repository=' + GUN,
                                         '-a', 'org.openbanking.content_trust.tag=v1.0.0', '-a', 'release=v1']
    verify = _ocisig.cosign_verify_argv('cosign', {}, GUN + '@' + DIGEST, '/k.pub', merged)
    assert '-a' in verify and 'org.openbanking.content_trust.tag=v1.0.0' in verify


@pytest.mark.parametrize('stdout,tags', [
    (COSIGN_2_5_VERIFIED, ['v1.0.0', 'v2.0.0']),
    (COSIGN_3_1_VERIFIED, ['v1.0.0']),
    (COSIGN_UNBOUND, [None]),
    ('not json', []),
    ('', []),
])
def test_tags_are_read_from_the_payloads_cosign_verified(stdout, tags):
    assert _ocisig.bound_tags(_ocibinding.cosign_payloads(stdout), GUN) == tags


def test_a_payload_bound_to_another_repository_binds_nothing_here():
    other = COSIGN_3_1_VERIFIED.replace('"127.0.0.1:5020/exp/app","org', '"127.0.0.1:5020/exp/other","org')
    assert _ocisig.bound_tags(_ocibinding.cosign_payloads(other), GUN) == []


def test_the_refusal_says_moved_tag_or_re_sign():
    moved = _ocibinding.binding_problem(GUN, 'v2.0.0', DIGEST, ['v1.0.0'], 'cosign')
    assert 'bound to tag v1.0.0' in moved and 'not to v2.0.0' in moved and 'moved tag' in moved
    assert 're-sign' not in moved
    old = _ocibinding.binding_problem(GUN, 'v2.0.0', DIGEST, [None], 'notation')
    assert 'no tag binding' in old and 'openbanking.content_trust.notation_sign' in old
    assert 'require_tag_binding: false' in old and 're-sign' in old


def test_signing_plan_asks_per_tag_so_two_tags_of_one_digest_get_two_signatures():
    asked = []

    def unsigned(digest, tag):
        asked.append((digest, tag))
        return tag != 'v1.0.0'
    plan = _ocisig.signing_plan(['v1.0.0', 'latest', 'new'], {'v1.0.0': DIGEST, 'latest': DIGEST, 'new': None},
                                unsigned)
    assert asked == [(DIGEST, 'v1.0.0'), (DIGEST, 'latest')]
    assert plan['results'] == [{'tag': 'v1.0.0', 'digest': DIGEST, 'signed': False},
                               {'tag': 'latest', 'digest': DIGEST, 'signed': True},
                               {'tag': 'new', 'digest': None, 'signed': True}]
    assert plan['to_sign'] == [{'tag': 'latest', 'digest': DIGEST}] and plan['changed']
    assert not _ocisig.signing_plan(['v1.0.0'], {'v1.0.0': DIGEST}, lambda d, t: False)['changed']


def test_verification_asks_per_tag():
    asked = []

    def check(digest, tag):
        asked.append(tag)
        return (tag == 'v1.0.0'), (None if tag == 'v1.0.0' else 'not for this tag')
    results = _ociverify._verify_results(['v1.0.0', 'v2.0.0', 'gone'], {'v1.0.0': DIGEST, 'v2.0.0': DIGEST}, check)
    assert sorted(asked) == ['v1.0.0', 'v2.0.0']
    assert [(r['tag'], r['verified'], r['problems']) for r in results] == [
        ('v1.0.0', True, []), ('v2.0.0', False, ['not for this tag']),
        ('gone', False, ['the registry has no tag gone'])]


# `notation inspect --output json` of notation 1.3.2 (one signature shown, certificates cut to the leaf's print).
NOTATION_INSPECT = {
    'mediaType': 'application/vnd.docker.distribution.manifest.v2+json',
    'Signatures': [
        {'mediaType': 'application/jose+json', 'digest': 'sha256:' + '7' * 64,
         'signedAttributes': {'signingScheme': 'notary.x509', 'signingTime': '2026-12-06T22:14:33Z'},
         'userDefinedAttributes': {'org.openbanking.content_trust.repository': GUN,
                                   'org.openbanking.content_trust.tag': 'v1.0.0'},
         'certificates': [{'SHA256Fingerprint': 'AB' * 32}]},
        {'mediaType': 'application/jose+json', 'digest': 'sha256:' + '8' * 64, 'userDefinedAttributes': None,
         'certificates': [{'SHA256Fingerprint': 'cd' * 32}]},
    ]}


def test_notation_signatures_carry_their_leaf_and_metadata():
    sigs = _ocibinding.notation_inspect_signatures(NOTATION_INSPECT)
    bound = {'org.openbanking.content_trust.repository': GUN, 'org.openbanking.content_trust.tag': 'v1.0.0'}
    assert sigs == [{'fingerprint': 'ab' * 32, 'metadata': bound}, {'fingerprint': 'cd' * 32, 'metadata': {}}]
    assert _ocibinding.notation_inspect_signatures({}) == []
    assert _ocibinding.notation_bound_tags(sigs, GUN) == ['v1.0.0', None]
    assert _ocibinding.notation_bound_tags(sigs, GUN, 'ab' * 32) == ['v1.0.0']
    assert _ocibinding.notation_bound_tags(sigs, GUN, 'cd' * 32) == [None]
    assert _ocibinding.notation_bound_tags(sigs, '127.0.0.1:5020/exp/other', 'ab' * 32) == []


class _RecordedCosign(object):
    """A TrustCLI stand-in answering with recorded cosign output: ``sign --help`` of 3.1, and ``verify`` with
    ``verify_stdout`` and exit code 0 whatever ``-a`` asked (what a cosign that checks no annotations does)."""

    timeout = 30

    def __init__(self, verify_stdout):
        self.verify_stdout = verify_stdout
        self.calls = []

    def _binary(self, name, option):
        return '/recorded/cosign-3.1'

    def env(self):
        return {}

    def run(self, argv, **kwargs):
        return 0, HELP_3_1

    def run_split(self, argv, **kwargs):
        self.calls.append(argv)
        return 0, self.verify_stdout, ''


class _Loopback(_Ref):
    def is_loopback(self):
        return True


def test_a_cosign_that_passes_verify_a_without_the_binding_in_its_payload_binds_no_tag():
    """One cosign verify per digest: the tags come from the payloads cosign verified, never from its -a check."""
    cli = _RecordedCosign(COSIGN_UNBOUND)
    tools = _ocisig.OciTools(cli, cosign_cli='cosign')
    answer = tools.cosign_signed_for(_Loopback(), DIGEST, ['/k.pub'])
    assert answer[0] is True and 'v2.0.0' not in answer[1]
    ok, problem = _ociverify.cosign_verdict(GUN, 'v2.0.0', DIGEST, answer)
    assert not ok and 'none for tag v2.0.0' in problem
    # Without the binding asked for, a signature that verifies counts.
    assert _ociverify.cosign_verdict(GUN, 'v2.0.0', DIGEST, answer, require_tag_binding=False) == (True, None)
    # The binding is never passed as -a (one question per digest); user annotations are, and are checked again in
    # the payloads: a cosign that passes -a without them in its payload verifies nothing.
    assert not any('org.openbanking.content_trust.tag=v2.0.0' in a for a in cli.calls[0])
    verified, tags, problem = tools.cosign_signed_for(_Loopback(), DIGEST, ['/k.pub'], {'release': 'v9'})
    assert not verified and tags == [] and 'sigstore/cosign#4508' in problem and '-a' in ' '.join(cli.calls[-1])
    ok, problem = _ociverify.cosign_verdict(GUN, 'v2.0.0', DIGEST, (verified, tags, problem))
    assert not ok and 'no cosign signature on %s verifies' % DIGEST in problem
    # Payloads bound to the tag asked for pass.
    bound = _ocisig.OciTools(_RecordedCosign(COSIGN_3_1_VERIFIED), cosign_cli='cosign')
    answer = bound.cosign_signed_for(_Loopback(), DIGEST, ['/k.pub'])
    assert _ociverify.cosign_verdict(GUN, 'v1.0.0', DIGEST, answer) == (True, None)


def test_cosign_asks_once_per_distinct_digest():
    cli = _RecordedCosign(COSIGN_3_1_VERIFIED)
    tools = _ocisig.OciTools(cli, cosign_cli='cosign')
    answers = tools.cosign_signed_digests(_Loopback(), [DIGEST, DIGEST, None, DIGEST], ['/k.pub'])
    assert list(answers) == [DIGEST] and len(cli.calls) == 1


def test_signing_groups_rows_by_digest_in_order():
    rows = [{'tag': 'a', 'digest': 'd1'}, {'tag': 'b', 'digest': 'd2'}, {'tag': 'c', 'digest': 'd1'}]
    assert _ocisig.by_digest(rows) == [[rows[0], rows[2]], [rows[1]]]


def test_payloads_with_keeps_those_that_carry_every_annotation():
    payloads = [{'optional': {'release': 'v1', 'x': 'y'}}, {'optional': {'release': 'v2'}}, {'optional': None}, 'junk']
    assert _ocibinding.payloads_with(payloads, {'release': 'v1'}) == [payloads[0]]
    assert _ocibinding.payloads_with(payloads, {}) == payloads


# --- Notation's trusted identities: named subjects, "*" only on purpose ----------------------

def test_trusted_identities_are_subjects_with_c_st_and_o_and_any_only_when_asked_for():
    check = _ocifiles.check_trusted_identities
    assert check(['x509.subject: C=GB, ST=London, O=Acme, CN=release signer']) == [
        'x509.subject: C=GB, ST=London, O=Acme, CN=release signer']
    assert check(['x509.subject:C=GB,ST=London,O=Acme\\, Ltd,CN=x']) == ['x509.subject: C=GB, ST=London, O=Acme\\, Ltd, CN=x']
    assert check([], trust_any=True) == ['*']
    for identities, words in [([], 'must name the subjects'), (None, 'trust_any_identity: true'),
                              (['*'], 'set trust_any_identity: true'),
                              (['CN=release'], 'is not "x509.subject:'),
                              (['x509.subject: CN=release, O=Acme'], 'lacks C, ST'),
                              (['x509.subject: C=GB, ST, O=Acme'], 'KEY=value')]:
        with pytest.raises(InputError) as exc:
            check(identities)
        assert words in str(exc.value) and exc.value.kind == 'bad_input'
    with pytest.raises(InputError) as exc:
        check(['x509.subject: C=GB, ST=L, O=A'], trust_any=True)
    assert 'both set' in str(exc.value)
    with pytest.raises(InputError) as exc:
        check([], what='notation_trusted_identities', any_option='notation_trust_any_identity')
    assert 'notation_trusted_identities must' in str(exc.value) and 'notation_trust_any_identity: true' in str(exc.value)
