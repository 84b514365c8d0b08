# -*- coding: utf-8 -*-
"""Who may write to the Notary that the notary_server role deploys.

The stack's Notary is deployed by the role with its default, content_trust_notary_auth mtls:
nginx answers on the Notary URL, lets anyone read, and passes writes (POST, PUT, DELETE) to
notary-server only with a publisher's client certificate issued by the role's CA.  The
docker_config fixture installs that certificate (tls/<host:port>/client.cert, client.key);
the tests here take it away to act as anyone else on the network.  The modes token and none
are checked on role runs of their own.
"""

import base64
import datetime
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from conftest import JEFF_PASS, SHARED_BIN, common, run_module
from test_notary_server import Notary, _base_vars, foreign_client_certificate, run_role
from test_trust_push import make_repo, push, signed_tags

DOCKER_29 = os.path.join(SHARED_BIN, 'docker-29')
ROLES = ('root', 'targets', 'snapshot', 'timestamp', 'targets/releases', 'targets/jeff')


def hostport(stack):
    return stack.notary_url.split('://', 1)[1]


def without_client_certificate(docker_config, stack):
    """The same docker config, as a host that holds no publisher certificate."""
    tls = os.path.join(docker_config, 'tls', hostport(stack))
    for name in ('client.cert', 'client.key'):
        if os.path.exists(os.path.join(tls, name)):
            os.unlink(os.path.join(tls, name))


def notary_request(stack, method, gun, body=None, headers=None, cert=None):
    """One request to the Notary's repository endpoint; returns the HTTP status."""
    ctx = ssl.create_default_context(cafile=stack.ca)
    if cert:
        ctx.load_cert_chain(*cert)
    req = urllib.request.Request('%s/v2/%s/_trust/tuf/' % (stack.notary_url, gun), data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=20) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def multipart(files):
    """A multipart/form-data body as the notary client posts metadata: one part per role."""
    boundary = uuid.uuid4().hex
    parts = []
    for role, data in files.items():
        parts.append(('--%s\r\nContent-Disposition: form-data; name="files"; filename="%s"\r\n'
                      'Content-Type: application/octet-stream\r\n\r\n' % (boundary, role)).encode() + data + b'\r\n')
    return b''.join(parts) + ('--%s--\r\n' % boundary).encode(), {
        'Content-Type': 'multipart/form-data; boundary=%s' % boundary}


def served(stack, gun):
    """Every role's metadata as the Notary serves it, byte for byte (None where there is none)."""
    ctx = ssl.create_default_context(cafile=stack.ca)
    out = {}
    for role in ROLES:
        try:
            with urllib.request.urlopen('%s/v2/%s/_trust/tuf/%s.json' % (stack.notary_url, gun, role), context=ctx,
                                        timeout=10) as resp:
                out[role] = resp.read()
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
            out[role] = None
    return out


@pytest.fixture
def published(stack, docker_config, tmp_path):
    """A repository with signer jeff and one signed tag, published with the stack's publisher certificate."""
    assert os.path.isfile(os.path.join(docker_config, 'tls', hostport(stack), 'client.cert'))
    repo = make_repo(stack, docker_config, tmp_path)
    stack.build_image(docker_config, repo + ':v1')
    res = push(stack, docker_config, repo, ['v1'], docker_cli='docker')
    assert not res.failed, res
    return repo


def test_anonymous_delete_and_post_are_refused_and_change_nothing(stack, docker_config, published, tmp_path):
    repo = published
    before = served(stack, repo)
    versions = stack.versions(repo)
    assert before['root'] and before['targets/releases'], 'the repository was not published'

    # Delete the trust data: refused without a certificate, and with one the CA did not issue.
    assert notary_request(stack, 'DELETE', repo) in (401, 403)
    intruder = foreign_client_certificate(str(tmp_path))
    assert notary_request(stack, 'DELETE', repo, cert=intruder) in (400, 401, 403)
    # Post metadata (what a publish sends; here the current roles again): refused before notary-server sees it.
    files = dict((role, data) for role, data in before.items()
                 if data and role in ('root', 'targets', 'targets/releases'))
    body, headers = multipart(files)
    assert notary_request(stack, 'POST', repo, body=body, headers=headers) in (401, 403)
    assert notary_request(stack, 'PUT', repo, body=body, headers=headers) in (401, 403)

    assert served(stack, repo) == before
    assert stack.versions(repo) == versions
    assert signed_tags(stack, docker_config, repo)['v1'][1] == ['jeff']

    # The refusal is the front's, not a broken server: the publisher's certificate may delete.
    assert notary_request(stack, 'DELETE', repo, cert=(stack.client_cert, stack.client_key)) == 200
    assert served(stack, repo)['root'] is None


@pytest.mark.parametrize('cli', ['docker', DOCKER_29], ids=['cli28', 'cli29-without-plugin'])
def test_publisher_with_its_certificate_signs_with_trust_push(stack, docker_config, tmp_path, cli):
    if not os.access(cli, os.X_OK) and os.path.sep in cli:
        pytest.skip('%s not found' % cli)
    repo = make_repo(stack, docker_config, tmp_path)
    stack.build_image(docker_config, repo + ':v1')
    res = push(stack, docker_config, repo, ['v1'], docker_cli=cli)
    assert not res.failed, res
    assert [r['tag'] for r in res['results'] if r['signed']] == ['v1']
    assert signed_tags(stack, docker_config, repo)['v1'][1] == ['jeff']

    # The same host without its certificate publishes nothing, and is told why.
    versions = stack.versions(repo)
    without_client_certificate(docker_config, stack)
    stack.build_image(docker_config, repo + ':v2')
    res = push(stack, docker_config, repo, ['v2'], docker_cli=cli)
    assert res.failed, res
    assert 'not authorized' in (res['msg'] + res.get('stdout', '')), res
    assert stack.versions(repo) == versions
    assert 'v2' not in signed_tags(stack, docker_config, repo)


def notary_cli(stack, docker_config, args, client_cert=True, env=None):
    """The plain notary CLI with a configuration of its own (CA, and the client certificate when asked)."""
    tls = os.path.join(docker_config, 'tls', hostport(stack))
    remote = {'url': stack.notary_url, 'root_ca': stack.ca}
    if client_cert:
        remote.update(tls_client_cert=os.path.join(tls, 'client.cert'), tls_client_key=os.path.join(tls, 'client.key'))
    config_dir = tempfile.mkdtemp(prefix='notary-cli-')
    config = os.path.join(config_dir, 'config.json')
    with open(config, 'w') as f:
        json.dump({'trust_dir': os.path.join(docker_config, 'trust'), 'remote_server': remote}, f)
    run_env = dict((k, v) for k, v in os.environ.items() if not k.endswith('_PASSPHRASE'))
    run_env.update(env or {})
    try:
        return subprocess.run(['notary', '-c', config] + list(args), env=run_env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, check=False)
    finally:
        shutil.rmtree(config_dir, ignore_errors=True)


def test_publisher_signs_with_the_notary_cli(stack, docker_config, tmp_path):
    if not shutil.which('notary'):
        pytest.skip('the notary CLI is not installed')
    repo = make_repo(stack, docker_config, tmp_path)
    content = b'a manifest signed with the notary CLI ' + repo.encode()
    args = ['addhash', repo, 'v1', str(len(content)), '--sha256', hashlib.sha256(content).hexdigest(),
            '-r', 'targets/jeff,targets/releases', '-p']
    versions = stack.versions(repo)
    refused = notary_cli(stack, docker_config, args, client_cert=False, env={'NOTARY_DELEGATION_PASSPHRASE': JEFF_PASS})
    assert refused.returncode != 0, refused.stdout.decode()
    assert 'not authorized' in refused.stdout.decode(), refused.stdout.decode()
    assert stack.versions(repo) == versions
    # The staged change stays in the changelist; the publisher's next publish carries it.
    proc = notary_cli(stack, docker_config, ['publish', repo], env={'NOTARY_DELEGATION_PASSPHRASE': JEFF_PASS})
    assert proc.returncode == 0, proc.stdout.decode()
    tags = signed_tags(stack, docker_config, repo)
    assert tags['v1'] == ('sha256:' + hashlib.sha256(content).hexdigest(), ['jeff'])


def test_anonymous_consumer_reads_and_verifies(stack, docker_config, published, tmp_path):
    repo = published
    consumer = str(tmp_path / 'consumer-config')
    os.mkdir(consumer, 0o700)
    assert not os.path.exists(os.path.join(consumer, 'tls'))
    # docker trust inspect (the reference CLI) and the collection's modules, with no certificate at all.
    assert signed_tags(stack, consumer, repo)['v1'][1] == ['jeff']
    res = run_module('trust_info', common(stack, consumer, references=[repo + ':v1']))
    assert not res.failed, res
    assert [t['tag'] for t in res['repositories'][0]['signed_tags']] == ['v1']
    pin = res['repositories'][0]['root_key_ids']
    res = run_module('trust_verify', common(stack, consumer, images=[{'repository': repo, 'tags': ['v1']}], signer='jeff',
                                            root_key_ids={repo: pin}))
    assert not res.failed and res['verified'] and res['verified_with']['trust_data'] == 'notary with trust pinning', res
    # A trusted pull on CLI 28 verifies through the same anonymous reads.
    proc = stack.trusted_pull(repo + ':v1')
    assert proc.returncode == 0, proc.stderr.decode()


# --- the other modes, on role runs of their own ------------------------------------------------

def test_mtls_renders_a_front_nginx_accepts_once(tmp_path):
    workdir = str(tmp_path)
    role_vars = dict(_base_vars(workdir, 4714, 7914), content_trust_notary_storage='memory',
                     content_trust_notary_auth='mtls', content_trust_notary_backend_listen='127.0.0.1:5714',
                     content_trust_notary_publisher_cert_fetch_dest=os.path.join(workdir, 'controller', 'publisher.crt'),
                     content_trust_notary_publisher_key_fetch_dest=os.path.join(workdir, 'controller', 'publisher.key'))
    del role_vars['content_trust_notary_allow_anonymous_writes']
    first = run_role(workdir, role_vars)
    second = run_role(workdir, role_vars)
    assert first.recap['changed'] > 0 and second.recap['changed'] == 0, second.output[-3000:]
    d = role_vars['content_trust_notary_config_dir']
    with open(os.path.join(d, 'server.json')) as f:
        assert json.load(f)['server']['http_addr'] == '127.0.0.1:5714'
    for name in ('publisher.key',):
        assert os.stat(os.path.join(d, name)).st_mode & 0o777 == 0o600
        assert os.stat(role_vars['content_trust_notary_publisher_key_fetch_dest']).st_mode & 0o777 == 0o600
    with open(os.path.join(d, 'publisher.crt'), 'rb') as f, \
            open(role_vars['content_trust_notary_publisher_cert_fetch_dest'], 'rb') as g:
        assert f.read() == g.read()
    with open(os.path.join(d, 'front.conf')) as f:
        front = f.read()
    assert 'listen 127.0.0.1:4714 ssl;' in front and 'server 127.0.0.1:5714;' in front
    assert 'ssl_verify_client optional;' in front
    nginx = shutil.which('nginx') or '/usr/sbin/nginx'
    if not os.access(nginx, os.X_OK):
        pytest.skip('nginx is not installed; the front was rendered but not checked')
    proc = subprocess.run([nginx, '-t', '-e', os.path.join(d, 'front', 'error.log'), '-c', os.path.join(d, 'front.conf')],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout.decode()


def test_none_without_the_opt_in_is_refused_and_with_it_warns(tmp_path):
    workdir = str(tmp_path)
    role_vars = dict(_base_vars(workdir, 4711, 7911), content_trust_notary_storage='memory',
                     content_trust_notary_signer='local', content_trust_notary_auth='none')
    del role_vars['content_trust_notary_allow_anonymous_writes']
    run = run_role(workdir, role_vars, fail=True)
    assert 'content_trust_notary_auth none lets anyone' in run.output, run.output[-3000:]
    assert not os.path.exists(role_vars['content_trust_notary_config_dir'])
    run = run_role(workdir, dict(role_vars, content_trust_notary_allow_anonymous_writes=True))
    assert 'WARNING: content_trust_notary_auth is none' in run.output
    with open(os.path.join(role_vars['content_trust_notary_config_dir'], 'server.json')) as f:
        server = json.load(f)
    assert 'auth' not in server and server['server']['http_addr'] == '127.0.0.1:4711'
    # ...on every run, not only the first.
    run = run_role(workdir, dict(role_vars, content_trust_notary_allow_anonymous_writes=True))
    assert run.recap['changed'] == 0 and 'WARNING: content_trust_notary_auth is none' in run.output


def test_mtls_backend_elsewhere_than_loopback_is_refused(tmp_path):
    workdir = str(tmp_path)
    role_vars = dict(_base_vars(workdir, 4712, 7912), content_trust_notary_storage='memory',
                     content_trust_notary_signer='local', content_trust_notary_auth='mtls',
                     content_trust_notary_backend_listen='0.0.0.0:5712')
    run = run_role(workdir, role_vars, fail=True)
    assert 'must listen on the loopback only' in run.output, run.output[-3000:]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def mint_token(issuer_key, issuer_cert_der, gun, actions, service='notary.example.test', issuer='auth.example.test'):
    """A registry-style bearer token (ES256 JWT, the issuer's certificate in x5c) granting ``actions`` on
    ``gun``, made offline as the site's token service would."""
    now = int(time.time())
    header = {'typ': 'JWT', 'alg': 'ES256', 'x5c': [base64.b64encode(issuer_cert_der).decode()]}
    claims = {'iss': issuer, 'sub': 'publisher', 'aud': service, 'iat': now - 5, 'nbf': now - 5, 'exp': now + 300,
              'jti': uuid.uuid4().hex, 'access': [{'type': 'repository', 'name': gun, 'actions': list(actions)}]}
    signing_input = '%s.%s' % (b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()))
    r, s_ = decode_dss_signature(issuer_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + '.' + b64url(r.to_bytes(32, 'big') + s_.to_bytes(32, 'big'))


def token_issuer(directory, name):
    """A token service's signing key and self-signed certificate (the rootcertbundle is that certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def test_token_mode_renders_what_notary_server_accepts_and_authorizes_minted_tokens(tmp_path):
    workdir = str(tmp_path)
    issuer_key, issuer_cert = token_issuer(workdir, 'test token issuer')
    bundle = issuer_cert.public_bytes(serialization.Encoding.PEM).decode()
    port = 4713
    role_vars = dict(_base_vars(workdir, port, 7913), content_trust_notary_storage='memory',
                     content_trust_notary_signer='local', content_trust_notary_auth='token',
                     content_trust_notary_token_realm='https://auth.example.test/token',
                     content_trust_notary_token_service='notary.example.test',
                     content_trust_notary_token_issuer='auth.example.test',
                     content_trust_notary_token_rootcertbundle=bundle)
    run_role(workdir, role_vars)
    config_dir = role_vars['content_trust_notary_config_dir']
    with open(os.path.join(config_dir, 'server.json')) as f:
        server = json.load(f)
    assert server['auth'] == {'type': 'token', 'options': {
        'realm': 'https://auth.example.test/token', 'service': 'notary.example.test', 'issuer': 'auth.example.test',
        'rootcertbundle': os.path.join(config_dir, 'token-root.crt')}}
    assert server['server']['http_addr'] == '127.0.0.1:%d' % port
    assert not os.path.exists(os.path.join(config_dir, 'front.conf'))
    notary = Notary(config_dir, port)
    try:
        notary.start()  # it starts and reports healthy with that configuration
        ctx = ssl.create_default_context(cafile=notary.ca)
        gun = 'registry.example.test/acme/app'
        for method in ('DELETE', 'POST'):
            req = urllib.request.Request('%s/v2/%s/_trust/tuf/' % (notary.url, gun), data=b'' if method == 'POST'
                                         else None, method=method)
            with pytest.raises(urllib.error.HTTPError) as raised:
                urllib.request.urlopen(req, context=ctx, timeout=10)
            assert raised.value.code == 401
            challenge = raised.value.headers.get('WWW-Authenticate', '')
            assert 'realm="https://auth.example.test/token"' in challenge and 'service="notary.example.test"' in challenge

        # Tokens minted offline by the test issuer: notary-server authorizes per repository and action.
        der = issuer_cert.public_bytes(serialization.Encoding.DER)

        def status(method, token, body=None, headers=None):
            req = urllib.request.Request('%s/v2/%s/_trust/tuf/' % (notary.url, gun), data=body, method=method,
                                         headers=dict(headers or {}, Authorization='Bearer ' + token))
            try:
                with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
                    return resp.status
            except urllib.error.HTTPError as exc:
                return exc.code

        body, headers = multipart({'root': b'{}'})
        # push and pull on this repository: past authentication (the made-up metadata is then refused, 400)
        assert status('POST', mint_token(issuer_key, der, gun, ['push', 'pull']), body, headers) == 400
        # only pull, another repository, or a token from another issuer: refused
        assert status('POST', mint_token(issuer_key, der, gun, ['pull']), body, headers) == 401
        assert status('POST', mint_token(issuer_key, der, gun + '-other', ['push', 'pull']), body, headers) == 401
        other_key, other_cert = token_issuer(workdir, 'test token issuer')
        forged = mint_token(other_key, other_cert.public_bytes(serialization.Encoding.DER), gun, ['push', 'pull', '*'])
        assert status('POST', forged, body, headers) == 401
        assert status('DELETE', forged) == 401
        # deleting needs '*' on the repository
        assert status('DELETE', mint_token(issuer_key, der, gun, ['push', 'pull'])) == 401
        assert status('DELETE', mint_token(issuer_key, der, gun, ['*'])) == 200
    finally:
        notary.stop()
