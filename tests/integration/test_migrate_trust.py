# -*- coding: utf-8 -*-
"""trust_migrate and playbooks/migrate_trust.yml against two real Notary servers: the stack's
(the source, standing in for notary.docker.io) and a second notary-server started here (the new
one), both with the stack's TLS certificate.

One scenario, shared by the tests of this file in order: repositories with signers jeff and
alice and tags v1 and latest signed by jeff on the source, built with the collection's own
modules. What is checked is what the real tools report afterwards: `docker trust inspect` from
a fresh docker configuration, a trusted `docker pull`, and the TUF versions the new server serves.
"""

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from conftest import (ALICE_PASS, ALL_SECRETS, JEFF_PASS, REPO_PASS, ROOT, ROOT_PASS, assert_trust_modes, common,
                      install_publisher_certificate, run_module)

BIN = os.path.dirname(sys.executable)
ROLES = ('root', 'targets', 'snapshot', 'targets/releases', 'targets/jeff', 'targets/alice')


class NotaryServer(object):
    """A second notary-server: memory storage, local signing, the stack's TLS certificate, a free port."""

    def __init__(self, stack, base):
        probe = socket.socket()
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
        probe.close()
        self.url = 'https://127.0.0.1:%d' % port
        self.ca = stack.ca
        config = os.path.join(base, 'server.json')
        with open(config, 'w') as f:
            json.dump({'server': {'http_addr': '127.0.0.1:%d' % port,
                                  'tls_cert_file': os.path.join(stack.dir, 'tls', 'notary-server.crt'),
                                  'tls_key_file': os.path.join(stack.dir, 'tls', 'notary-server.key')},
                       'trust_service': {'type': 'local'}, 'logging': {'level': 'warning'},
                       'storage': {'backend': 'memory'}}, f)
        self.log = open(os.path.join(base, 'notary-server.log'), 'wb')
        self.proc = subprocess.Popen(['notary-server', '-config', config], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(self.url + '/_notary_server/health', context=self._ctx(), timeout=2).read()
                break
            except Exception:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise AssertionError('the second notary-server did not start: see %s' % self.log.name)
                time.sleep(0.1)

    def _ctx(self):
        return ssl.create_default_context(cafile=self.ca)

    def tuf(self, gun, role):
        url = '%s/v2/%s/_trust/tuf/%s.json' % (self.url, gun, role)
        try:
            return json.loads(urllib.request.urlopen(url, context=self._ctx(), timeout=10).read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def versions(self, gun):
        docs = dict((role, self.tuf(gun, role)) for role in ROLES)
        return dict((role, doc['signed']['version'] if doc else 0) for role, doc in docs.items())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


@pytest.fixture(scope='module')
def new_notary(stack, tmp_path_factory):
    server = NotaryServer(stack, str(tmp_path_factory.mktemp('new-notary')))
    yield server
    server.stop()


class Scenario(object):
    """The signing host's docker configuration and the repositories signed on the source."""

    def __init__(self, stack, new_notary, base):
        self.stack = stack
        self.new = new_notary
        self.base = base
        self.docker_config = os.path.join(base, 'docker')
        os.makedirs(self.docker_config, mode=0o700)
        install_publisher_certificate(self.docker_config)
        self.public_keys = {}
        for name, passphrase in (('jeff', JEFF_PASS), ('alice', ALICE_PASS)):
            res = run_module('trust_key', common(stack, self.docker_config, signer=name, passphrase=passphrase))
            assert not res.failed, res
            self.public_keys[name] = res['public_key']
        self.image = stack.build_image(self.docker_config, 'migrate-source-%s:build' % os.getpid())
        self.repo_playbook = self.source_repo()
        self.repo_module = self.source_repo()

    def source_repo(self, tags=('v1', 'latest'), signers=('jeff', 'alice')):
        """A repository on the source: signers, and ``tags`` of the scenario's image signed by jeff."""
        repo = self.stack.repo('migrate')
        for name in signers:
            res = run_module('trust_signer', common(self.stack, self.docker_config, repository=repo, signer=name,
                                                    public_keys=[self.public_keys[name]], root_passphrase=ROOT_PASS,
                                                    repository_passphrase=REPO_PASS))
            assert not res.failed, res
        if tags:
            res = run_module('trust_push', common(self.stack, self.docker_config, repository=repo, tags=list(tags),
                                                  source=self.image, signer='jeff', signer_passphrase=JEFF_PASS,
                                                  sign_with='notary'))
            assert not res.failed, res
        return repo

    def migrate(self, repositories, check_mode=False, diff=False, docker_config=None, **kwargs):
        args = common(self.stack, docker_config or self.docker_config, server=self.new.url,
                      source_server=self.stack.notary_url, repositories=list(repositories), signer='jeff',
                      signer_passphrase=JEFF_PASS, root_passphrase=ROOT_PASS, repository_passphrase=REPO_PASS)
        args.update(kwargs)
        return run_module('trust_migrate', args, check_mode=check_mode, diff=diff)

    def trust(self, repo, server, docker_config=None):
        """What `docker trust inspect` reports for ``repo`` on ``server``, from a FRESH docker configuration
        unless one is given: ``(signed tags {tag: (digest, signers)}, signers {name: key IDs}, root IDs, repository IDs)``."""
        config = docker_config or tempfile.mkdtemp(prefix='fresh-config-', dir=self.base)
        proc = self.stack.docker(config, 'trust', 'inspect', repo, check=False,
                                 env={'DOCKER_CONTENT_TRUST_SERVER': server})
        assert proc.returncode == 0, proc.stderr.decode()
        assert 'using cached timestamp' not in proc.stderr.decode(), proc.stderr.decode()
        entry = json.loads(proc.stdout.decode())[0]
        admin = dict((a['Name'], sorted(k['ID'] for k in a['Keys'])) for a in entry['AdministrativeKeys'])
        return (dict((t['SignedTag'], (t['Digest'], sorted(t['Signers']))) for t in entry['SignedTags']),
                dict((s['Name'], sorted(k['ID'] for k in s['Keys'])) for s in entry['Signers']),
                admin['Root'], admin['Repository'])

    def private_keys(self, docker_config=None):
        return sorted(os.listdir(os.path.join(docker_config or self.docker_config, 'trust', 'private')))

    def cached(self, repo):
        """The docker configuration's cached TUF metadata of ``repo``: {file: bytes}."""
        base = os.path.join(self.docker_config, 'trust', 'tuf', *(repo.split('/') + ['metadata']))
        files = {}
        for dirpath, dummy, filenames in os.walk(base):
            for fn in filenames:
                with open(os.path.join(dirpath, fn), 'rb') as f:
                    files[os.path.relpath(os.path.join(dirpath, fn), base)] = f.read()
        return files


@pytest.fixture(scope='module')
def scenario(stack, new_notary, tmp_path_factory):
    s = Scenario(stack, new_notary, str(tmp_path_factory.mktemp('migrate')))
    yield s
    assert_trust_modes(s.docker_config)


def test_check_mode_reports_the_plan_and_writes_nothing(scenario):
    repo = scenario.repo_module
    source = scenario.trust(repo, scenario.stack.notary_url)
    cache = scenario.cached(repo)
    keys = scenario.private_keys()

    res = scenario.migrate([repo], check_mode=True, diff=True)
    assert res['changed'] is True, res
    [plan] = res['repositories']
    digest = source[0]['v1'][0]
    assert plan == dict(repository=repo, root_key_id=source[2][0], signers=source[1], initialized=True,
                        added_signers=['alice', 'jeff'], newly_signed_tags=['latest', 'v1'],
                        cache_updated=False, changed=True,
                        signed_tags=[dict(tag='latest', digest='sha256:' + digest),
                                     dict(tag='v1', digest='sha256:' + digest)]), res
    assert res['diff']['before'] == {repo: {}}
    assert res['diff']['after'][repo]['signed_tags'] == {'latest': 'sha256:' + digest, 'v1': 'sha256:' + digest}

    # Nothing on the new server, nothing in the local trust directory.
    assert set(scenario.new.versions(repo).values()) == {0}
    assert scenario.cached(repo) == cache and scenario.private_keys() == keys


def test_what_is_missing_or_wrong_fails_naming_the_repository(scenario, tmp_path):
    repo = scenario.repo_module
    missing = scenario.stack.repo('migrate')

    res = scenario.migrate([repo, missing], check_mode=True)
    assert res.failed and missing in res['msg'] and 'no trust data' in res['msg'], res

    res = scenario.migrate([repo], check_mode=True, root_passphrase='wrong-Passphrase')
    assert res.failed and repo in res['msg'] and 'root_passphrase is incorrect' in res['msg'], res

    res = scenario.migrate([repo], check_mode=True, signer_passphrase='wrong-Passphrase')
    assert res.failed and repo in res['msg'] and 'passphrase incorrect' in res['msg'], res

    # A signing host without the root key: the message names the key it needs.
    other = str(tmp_path / 'no-root')
    shutil.copytree(scenario.docker_config, other, symlinks=True)
    for name in scenario.private_keys(other):
        with open(os.path.join(other, 'trust', 'private', name)) as f:
            if 'role: root' in f.read():
                root_file = name
    os.unlink(os.path.join(other, 'trust', 'private', root_file))
    res = scenario.migrate([repo], check_mode=True, docker_config=other)
    assert res.failed and repo in res['msg'], res
    assert 'root key is not in' in res['msg'] and root_file[:-4] in res['msg'], res
    assert set(scenario.new.versions(repo).values()) == {0}


def test_playbook_migrates_a_repository(scenario, tmp_path):
    repo = scenario.repo_playbook
    inventory = str(tmp_path / 'inventory.yml')
    secrets = str(tmp_path / 'secrets.json')
    with open(inventory, 'w') as f:
        json.dump({'all': {
            'hosts': {'localhost': {'ansible_connection': 'local',
                                    'ansible_python_interpreter': '{{ ansible_playbook_python }}'}},
            'children': {'signing_hosts': {'hosts': {'localhost': {}}}},
            'vars': {'content_trust_docker_cli': scenario.stack.docker_cli,
                     'content_trust_docker_host': scenario.stack.docker_host,
                     'content_trust_docker_config': scenario.docker_config,
                     'content_trust_source_server': scenario.stack.notary_url,
                     'content_trust_server': scenario.new.url,
                     'content_trust_timeout': 60,
                     'content_trust_migrate_signer': 'jeff',
                     'content_trust_migrate_repositories': [repo]}}}, f)
    fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump({'content_trust_root_passphrase': ROOT_PASS, 'content_trust_repository_passphrase': REPO_PASS,
                   'content_trust_signer_passphrase': JEFF_PASS}, f)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'), ANSIBLE_NOCOLOR='1',
               PATH=BIN + os.pathsep + os.environ['PATH'])
    for k in list(env):
        if k.endswith('_PASSPHRASE') or k == 'DOCKER_CONTENT_TRUST':
            del env[k]

    def playbook(*args):
        proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', inventory, '-e', '@' + secrets,
                               os.path.join(ROOT, 'playbooks', 'migrate_trust.yml')] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT, timeout=300,
                              check=False)
        out = proc.stdout.decode()
        assert proc.returncode == 0, out
        for secret in ALL_SECRETS:
            assert secret not in out
        assert 'changed=1' in out and 'failed=0' in out, out
        assert '%s: initialized, root key' % repo in out and '2 signed tag(s) (2 signed now)' in out, out
        return out

    assert 'signers alice, jeff (added alice, jeff), would change' in playbook('--check')
    assert set(scenario.new.versions(repo).values()) == {0}
    assert 'signers alice, jeff (added alice, jeff), migrated' in playbook()

    source = scenario.trust(repo, scenario.stack.notary_url)
    assert scenario.trust(repo, scenario.new.url) == source


def test_module_migrates_the_same_tags_digests_signers_and_root(scenario):
    repo = scenario.repo_module
    source = scenario.trust(repo, scenario.stack.notary_url)
    keys = scenario.private_keys()

    res = scenario.migrate([repo], diff=True)
    assert res['changed'] is True and not res.failed, res
    [done] = res['repositories']
    assert (done['initialized'], done['added_signers'], done['newly_signed_tags'], done['cache_updated']) == \
        (True, ['alice', 'jeff'], ['latest', 'v1'], True), res
    assert 'signed' not in done  # newly_signed_tags only: signed is a bool per tag everywhere else
    assert done['root_key_id'] == source[2][0] and done['signers'] == source[1]
    assert res['diff']['before'] == {repo: {}}
    assert res['diff']['after'][repo] == dict(root_key_id=source[2][0], signers=source[1],
                                              signed_tags=dict((t, 'sha256:' + d) for t, (d, s) in source[0].items()))

    # What docker reports against the new server, from a fresh configuration, is what the source
    # showed: the same tags, digests, signers and keys, root key and even repository key.
    assert scenario.trust(repo, scenario.new.url) == source
    assert sorted(source[0]) == ['latest', 'v1'] and sorted(source[1]) == ['alice', 'jeff']
    # The new server manages the snapshot key, as docker sets repositories up.
    assert scenario.new.tuf(repo, 'snapshot')['signatures'][0]['keyid'] not in [k[:-4] for k in keys]
    # No temporary key of notary init ended up in the signing host's trust directory.
    assert scenario.private_keys() == keys

    # A consumer with nothing but the new server's URL pulls with content trust.
    for ref in (repo + ':v1', repo + ':latest'):
        scenario.stack.docker(scenario.docker_config, 'rmi', ref, check=False)
        clean = tempfile.mkdtemp(prefix='clean-config-', dir=scenario.base)
        pulled = scenario.stack.docker(clean, 'pull', ref, check=False,
                                       env={'DOCKER_CONTENT_TRUST': '1', 'DOCKER_CONTENT_TRUST_SERVER': scenario.new.url})
        assert pulled.returncode == 0, pulled.stderr.decode()
        assert source[0]['v1'][0] in pulled.stdout.decode(), pulled.stdout.decode()


def test_rerun_changes_nothing_and_moves_no_tuf_version(scenario):
    repos = [scenario.repo_playbook, scenario.repo_module]
    versions = dict((r, scenario.new.versions(r)) for r in repos)
    caches = dict((r, scenario.cached(r)) for r in repos)

    res = scenario.migrate(repos, diff=True)
    assert res['changed'] is False, res
    assert [(r['initialized'], r['added_signers'], r['newly_signed_tags'], r['cache_updated'], r['changed'])
            for r in res['repositories']] == [(False, [], [], False, False)] * 2, res
    assert res['diff']['before'] == res['diff']['after']
    assert dict((r, scenario.new.versions(r)) for r in repos) == versions
    assert dict((r, scenario.cached(r)) for r in repos) == caches
    assert versions[scenario.repo_module]['targets/releases'] > 0


def test_signing_host_keeps_signing_on_the_new_server(scenario):
    # The module replaced the signing host's cached trust data with the new server's: with the
    # same docker configuration docker now reads the new server, and jeff signs a new tag there
    # (the repository key and jeff's key carried over, the server signs the snapshot).
    repo = scenario.repo_module
    assert scenario.trust(repo, scenario.new.url, docker_config=scenario.docker_config) == \
        scenario.trust(repo, scenario.new.url)
    res = run_module('trust_push', common(scenario.stack, scenario.docker_config, server=scenario.new.url,
                                          repository=repo, tags=['v2'], source=scenario.image, signer='jeff',
                                          signer_passphrase=JEFF_PASS))  # docker trust sign where it exists
    assert res['changed'] is True and not res.failed, res
    res = run_module('trust_signer', common(scenario.stack, scenario.docker_config, server=scenario.new.url,
                                            repository=repo, signer='alice', state='absent',
                                            repository_passphrase=REPO_PASS))
    assert res['changed'] is True and not res.failed, res
    tags, signers, dummy, dummy = scenario.trust(repo, scenario.new.url)
    assert sorted(tags) == ['latest', 'v1', 'v2'] and sorted(signers) == ['jeff']


def test_tag_signed_for_another_digest_fails_unless_force(scenario, tmp_path):
    repo = scenario.repo_playbook
    # The source moved on after the first migration: v1 is a new build there, signed from a host
    # whose cached trust data is still the source's (the migration host's is the new server's now).
    elsewhere = str(tmp_path / 'elsewhere')
    shutil.copytree(scenario.docker_config, elsewhere, symlinks=True)
    shutil.rmtree(os.path.join(elsewhere, 'trust', 'tuf', *repo.split('/')))
    rebuilt = scenario.stack.build_image(elsewhere, 'migrate-rebuilt-%s:build' % os.getpid())
    res = run_module('trust_push', common(scenario.stack, elsewhere, repository=repo, tags=['v1'],
                                          source=rebuilt, signer='jeff', signer_passphrase=JEFF_PASS,
                                          sign_with='notary'))
    assert res['changed'] is True, res
    new_digest = res['results'][0]['digest']
    versions = scenario.new.versions(repo)

    res = scenario.migrate([repo])
    assert res.failed and repo in res['msg'] and 'v1 (source %s' % new_digest in res['msg'], res
    assert scenario.new.versions(repo) == versions

    res = scenario.migrate([repo], force=True)
    assert res['changed'] is True and res['repositories'][0]['newly_signed_tags'] == ['v1'], res
    assert res['repositories'][0]['newly_signed_tags'] == ['v1']
    tags = scenario.trust(repo, scenario.new.url)[0]
    assert 'sha256:' + tags['v1'][0] == new_digest and tags['latest'][0] != tags['v1'][0]
    after = scenario.new.versions(repo)
    assert after['targets/releases'] == versions['targets/releases'] + 1 and after['targets'] == versions['targets']


def test_different_root_on_the_new_server_is_never_overwritten(scenario, tmp_path):
    repo = scenario.source_repo(tags=(), signers=('jeff',))
    # Someone initialized the same repository on the new server with a root key of their own.
    other = str(tmp_path / 'other')
    os.makedirs(other, mode=0o700)
    res = run_module('trust_signer', common(scenario.stack, other, server=scenario.new.url, repository=repo,
                                            signer='jeff', public_keys=[scenario.public_keys['jeff']],
                                            root_passphrase=ROOT_PASS, repository_passphrase=REPO_PASS))
    assert res['changed'] is True, res
    versions = scenario.new.versions(repo)
    theirs = scenario.trust(repo, scenario.new.url)

    res = scenario.migrate([repo])
    assert res.failed, res
    assert repo in res['msg'] and 'another root key' in res['msg'] and theirs[2][0] in res['msg'], res
    assert scenario.new.versions(repo) == versions
    assert scenario.trust(repo, scenario.new.url) == theirs


def test_interrupted_before_the_server_took_the_snapshot_key_resumes(scenario, tmp_path):
    # A notary CLI that fails where the new server is handed the snapshot key: the trust data is
    # already on the new server then, signed with a snapshot key only this host has.
    repo = scenario.source_repo(tags=('v1',), signers=('jeff',))
    failing = str(tmp_path / 'notary')
    with open(failing, 'w') as f:
        f.write('#!/bin/sh\ncase "$*" in *"key rotate"*snapshot*) echo "simulated failure" >&2; exit 1;; esac\n'
                'exec notary "$@"\n')
    os.chmod(failing, 0o755)
    keys = scenario.private_keys()

    res = scenario.migrate([repo], notary_cli=failing)
    assert res.failed and repo in res['msg'] and 'snapshot key was kept in' in res['msg'], res
    snapshot_id = scenario.new.tuf(repo, 'root')['signed']['roles']['snapshot']['keyids'][0]
    assert scenario.private_keys() == sorted(keys + [snapshot_id + '.key'])

    res = scenario.migrate([repo])
    assert res['changed'] is True and not res.failed, res
    assert (res['repositories'][0]['initialized'], res['repositories'][0]['newly_signed_tags']) == (False, ['v1']), res
    assert scenario.new.tuf(repo, 'root')['signed']['roles']['snapshot']['keyids'][0] != snapshot_id
    assert scenario.trust(repo, scenario.new.url) == scenario.trust(repo, scenario.stack.notary_url)
    # The kept snapshot key signs nothing any more and is gone again.
    assert scenario.private_keys() == keys
