# -*- coding: utf-8 -*-
"""`make bench`, the cases after Notary (issue 24): releases in three formats, verified pulls and the bridge,
each against the loop a team writes, one process per tool and tag.

  publish3_first      publish_release.yml, formats notary + cosign + notation, fresh repository; docker CLI 28
                      vs per tag `docker tag`, `docker trust sign`, `cosign sign --key`, `notation sign`
  publish3_noop       the same again, nothing to do, vs the same loop again
  pull_verified       pull_verified.yml (formats notary + cosign) on a fresh deploy configuration, 10 repositories
                      x n/10 tags; docker CLI 29 without the docker-trust plugin
                      vs per tag `notary lookup` (pinned), `cosign verify`, `docker pull repo@digest`, `docker tag`
  pull_verified_noop  the same again (images present) vs the same loop again
  bridge              bridge_signatures.yml, formats cosign + notation, n Notary-signed tags; docker CLI 29
                      vs `notary list` (pinned) of the repository, then per tag `cosign sign`, `notation sign`

Both sides sign and verify with the same flags, the same tag binding (`-a` / `--user-metadata` repository and
tag, plus the bridge's origin) and the same user annotations: the bare loop's commands are built with the
collection's own argv builders (`cosign_sign_argv`, `cosign_verify_argv`).  cosign's password is in
COSIGN_PASSWORD for the loop, as a CI script would have it.
"""

import json
import os
import subprocess
import time
import uuid

from ansible_collections.openbanking.content_trust.plugins.module_utils._ocisig import (
    cosign_features_from_help, cosign_sign_argv, cosign_verify_argv,
)

from conftest import common, run_module  # noqa: E402  (the test harness)
from ocitools import cosign_binary, make_notation_pki, notation_binary

SHARED_BIN = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', 'shared', 'bin'))
DOCKER_29 = os.environ.get('CT_BENCH_DOCKER_29') or os.path.join(SHARED_BIN, 'docker-29')
COSIGN_PASS = 'bench-cosign-passphrase'
USER_ANNOTATIONS = {'release': 'bench'}
REPOSITORY = 'org.openbanking.content_trust.repository'
TAG = 'org.openbanking.content_trust.tag'
ORIGIN = 'org.openbanking.content_trust.origin'


def binding(gun, tag, origin=None):
    out = {REPOSITORY: gun, TAG: tag}
    if origin:
        out[ORIGIN] = origin
    return out


class OciCases(object):
    """Mixed into bench.Bench: needs self.stack, self.work, self.config, self.passes, self.keys, self.source,
    self.playbook, self.add, self.reps."""

    def oci_setup(self):
        if getattr(self, 'cosign', None):
            return
        self.cosign = os.environ.get('CT_BENCH_COSIGN') or cosign_binary('2.5')
        self.notation = notation_binary()
        if not os.access(DOCKER_29, os.X_OK):
            raise SystemExit('the consumer and bridge cases need docker CLI 29 at %s (../shared/bin)' % DOCKER_29)
        key = run_module('cosign_key', common(self.stack, self.config, path=os.path.join(self.work, 'cosign', 'bench'),
                                              passphrase=COSIGN_PASS, cosign_cli=self.cosign))
        assert not key.get('failed'), key
        self.cosign_key, self.cosign_pub = key['private_key_path'], key['public_key_path']
        self.cosign_public_key = key['public_key']
        self.pki = make_notation_pki(os.path.join(self.work, 'pki'))
        with open(self.pki['ca']) as f:
            self.notation_ca = f.read()
        help_text = subprocess.run([self.cosign, 'sign', '--help'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   check=False).stdout.decode()
        self.cosign_features = cosign_features_from_help(help_text)
        # The bare loop's notation configuration: the signing key by path, a trust store of the CA and a policy.
        self.notation_xdg = os.path.join(self.work, 'notation-xdg')
        conf = os.path.join(self.notation_xdg, 'notation')
        os.makedirs(conf, 0o700)
        with open(os.path.join(conf, 'signingkeys.json'), 'w') as f:
            json.dump({'default': 'bench', 'keys': [{'name': 'bench', 'keyPath': self.pki['key'],
                                                     'certPath': self.pki['chain']}]}, f)
        self.oci_vars = {
            'content_trust_cosign_key': self.cosign_key,
            'content_trust_cosign_cli': self.cosign,
            'content_trust_cosign_public_keys': [self.cosign_public_key],
            'content_trust_cosign_annotations': USER_ANNOTATIONS,
            'content_trust_notation_key': self.pki['key'],
            'content_trust_notation_certificate_chain': self.pki['chain'],
            'content_trust_notation_ca_certificates': [self.notation_ca],
            'content_trust_notation_trusted_identities': [self.pki['identity']],
            'content_trust_notation_cli': self.notation,
        }
        with open(self.secrets_file) as f:
            secrets = json.load(f)
        secrets['content_trust_cosign_key_passphrase'] = COSIGN_PASS
        with open(self.secrets_file, 'w') as f:
            json.dump(secrets, f)
        self.oci_clis = {}

    # --- the bare side -------------------------------------------------------------------

    def run_timed(self, argv, env, ok_rc=(0,)):
        proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              check=False, timeout=300)
        if proc.returncode not in ok_rc:
            raise SystemExit('%s failed: %s' % (' '.join(argv[:3]), (proc.stderr or proc.stdout).decode()[-800:]))
        return proc.stdout.decode()

    def loop_env(self, docker_cli):
        env = self.stack.cli_env(self.config)
        env['DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE'] = self.passes['root']
        env['DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'] = self.passes['jeff']
        env['COSIGN_PASSWORD'] = COSIGN_PASS
        env['XDG_CONFIG_HOME'] = self.notation_xdg
        env['PATH'] = os.path.dirname(docker_cli) + os.pathsep + env['PATH'] if os.path.isabs(docker_cli) else env['PATH']
        return env

    def cosign_sign_cmd(self, gun, ref, tag, origin=None):
        annotations = dict(USER_ANNOTATIONS, **binding(gun, tag, origin))
        return cosign_sign_argv(self.cosign, self.cosign_features, ref, self.cosign_key, annotations, False, True)

    def notation_sign_cmd(self, gun, ref, tag, origin=None):
        argv = [self.notation, 'sign', '--key', 'bench', '--insecure-registry']
        for k, v in sorted(binding(gun, tag, origin).items()):
            argv += ['--user-metadata', '%s=%s' % (k, v)]
        return argv + [ref]

    def notary_client(self, trust_dir, pins):
        """A consumer's notary CLI configuration: the server, its CA and the root pins."""
        os.makedirs(trust_dir, 0o700)
        path = os.path.join(trust_dir, 'config.json')
        with open(path, 'w') as f:
            json.dump({'trust_dir': trust_dir, 'remote_server': {'url': self.stack.notary_url, 'root_ca': self.stack.ca},
                       'trust_pinning': {'certs': pins}}, f)
        return ['notary', '-c', path]

    # --- set-ups -------------------------------------------------------------------------

    def signed_repository(self, prefix, tags, formats=('notary',), content=None):
        """A repository whose tags are published by publish_release.yml in ``formats`` (one image)."""
        repo = '%s/bench/%s-%s' % (self.stack.registry, prefix, uuid.uuid4().hex[:6])
        self.new_signer(repo)
        source = self.source
        if content:
            source = 'bench/src-%s:latest' % uuid.uuid4().hex[:6]
            self.stack.build_image(self.config, source, content=content)
        release = {'content_trust_release_version': tags[0], 'content_trust_release_signer': 'jeff',
                   'content_trust_signature_formats': list(formats),
                   'content_trust_release_images': [{'repository': repo, 'source': source, 'tags': tags[1:]}]}
        release.update(self.oci_vars)
        return repo, release

    def new_signer(self, repo):
        res = run_module('trust_signer', common(self.stack, self.config, repository=repo, signer='jeff',
                                                public_keys=[self.keys['jeff']], root_passphrase=self.passes['root'],
                                                repository_passphrase=self.passes['repository']),
                         secrets=list(self.passes.values()))
        assert not res.get('failed'), res

    def root_pins(self, repos):
        data = self.stack.inspect(self.config, *repos)
        return dict((r, [k['ID'] for a in data[r]['AdministrativeKeys'] if a['Name'] == 'Root' for k in a['Keys']])
                    for r in repos)

    # --- cases ---------------------------------------------------------------------------

    def publish3(self, n):
        self.oci_setup()
        first, noop = {'coll': [], 'cli': []}, {'coll': [], 'cli': []}
        docker = self.stack.docker_cli  # CLI 28 on both sides: docker trust sign is the bare loop's Notary
        for rep in range(self.reps(n)):
            tags = ['t%03d' % i for i in range(n)]
            coll_repo, release = self.signed_repository('pub3-%d-%d-coll' % (n, rep), tags,
                                                        ('notary', 'cosign', 'notation'))
            cli_repo = '%s/bench/pub3-%d-%d-cli-%s' % (self.stack.registry, n, rep, uuid.uuid4().hex[:6])
            self.add_signer_cli(cli_repo)
            took, dummy = self.playbook('publish_release.yml', dict(release, content_trust_docker_cli=docker))
            first['coll'].append(took)
            env = self.loop_env(docker)

            def loop():
                start = time.time()
                for t in tags:
                    ref = '%s:%s' % (cli_repo, t)
                    self.run_timed([docker, 'tag', self.source, ref], env)
                    self.run_timed([docker, 'trust', 'sign', ref], env)
                    self.run_timed(self.cosign_sign_cmd(cli_repo, ref, t), env)
                    self.run_timed(self.notation_sign_cmd(cli_repo, ref, t), env)
                return time.time() - start
            first['cli'].append(loop())
            took, changed = self.playbook('publish_release.yml', dict(release, content_trust_docker_cli=docker))
            if changed:
                raise SystemExit('publish3_noop: the re-run changed %d things' % changed)
            noop['coll'].append(took)
            noop['cli'].append(loop())
        self.add('publish3_first', n, first['coll'], first['cli'], 0, clis=dict(collection=docker, cli=docker))
        self.add('publish3_noop', n, noop['coll'], noop['cli'], 0, clis=dict(collection=docker, cli=docker))

    def consumer_repos(self, n):
        """10 repositories x n/10 tags, signed with Notary and cosign by one publish_release.yml run (each
        repository its own image)."""
        per = max(1, n // 10)
        tags = ['t%03d' % j for j in range(per)]
        images, repos = [], []
        for i in range(10):
            repo = '%s/bench/pull%d-%d-%s' % (self.stack.registry, n, i, uuid.uuid4().hex[:6])
            self.new_signer(repo)
            source = 'bench/src-%s:latest' % uuid.uuid4().hex[:6]
            self.stack.build_image(self.config, source, content='bench pull %d %s' % (i, uuid.uuid4().hex))
            images.append({'repository': repo, 'source': source, 'tags': tags[1:]})
            repos.append((repo, tags))
        release = dict(self.oci_vars, content_trust_release_version=tags[0], content_trust_release_signer='jeff',
                       content_trust_signature_formats=['notary', 'cosign'], content_trust_release_images=images)
        self.playbook('publish_release.yml', release)
        return repos

    def drop_images(self, repos):
        """Remove the local images of ``repos`` (each side of a consumer case starts without them)."""
        env = self.stack.cli_env(self.config)
        out = subprocess.run(['docker', 'image', 'ls', '--format', '{{.Repository}} {{.ID}}'], env=env,
                             stdout=subprocess.PIPE, check=True).stdout.decode()
        names = set(r for r, dummy in repos)
        ids = sorted(set(line.split()[1] for line in out.splitlines() if line.split()[0] in names))
        if ids:
            subprocess.run(['docker', 'image', 'rm', '-f'] + ids, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)

    def pull_verified(self, n):
        self.oci_setup()
        repos = self.consumer_repos(n)
        pins = self.root_pins([r for r, dummy in repos])
        first, noop = {'coll': [], 'cli': []}, {'coll': [], 'cli': []}
        for rep in range(self.reps(n)):
            base = os.path.join(self.work, 'deploy-%d-%d' % (n, rep))
            os.makedirs(base)
            consumer = {
                'content_trust_docker_cli': DOCKER_29, 'content_trust_install_packages': False,
                'content_trust_docker_config': os.path.join(base, 'docker'),
                'content_trust_notary_config': os.path.join(base, 'notary', 'config.json'),
                'content_trust_server_ca': open(self.stack.ca).read(),
                'content_trust_signature_formats': ['notary', 'cosign'],
                'content_trust_pinned_repositories': [{'repository': r, 'root_key_ids': pins[r]} for r, dummy in repos],
                'content_trust_pull_images': [{'repository': r, 'tags': tags} for r, tags in repos],
                'content_trust_pull_signers': ['jeff'],
                'content_trust_cosign_public_keys': [self.cosign_public_key],
                'content_trust_cosign_cli': self.cosign,
            }
            self.drop_images(repos)
            took, dummy = self.playbook('pull_verified.yml', consumer)
            first['coll'].append(took)
            took, changed = self.playbook('pull_verified.yml', consumer)
            if changed:
                raise SystemExit('pull_verified_noop: the re-run changed %d things' % changed)
            noop['coll'].append(took)

            self.drop_images(repos)
            notary = self.notary_client(os.path.join(base, 'bare-notary'), pins)
            env = self.loop_env(DOCKER_29)
            env['DOCKER_CONFIG'] = os.path.join(base, 'bare-docker')
            os.makedirs(env['DOCKER_CONFIG'], 0o700)
            env.pop('DOCKER_CONTENT_TRUST_SERVER', None)

            def loop():
                start = time.time()
                for repo, tags in repos:
                    for t in tags:
                        out = self.run_timed(notary + ['lookup', repo, t], env)
                        digest = 'sha256:' + out.split()[1].split(':')[-1]
                        ref = '%s@%s' % (repo, digest)
                        annotations = dict(USER_ANNOTATIONS, **binding(repo, t))
                        self.run_timed(cosign_verify_argv(self.cosign, self.cosign_features, ref, self.cosign_pub,
                                                          annotations, False, True), env)
                        self.run_timed([DOCKER_29, 'pull', '-q', ref], env)
                        self.run_timed([DOCKER_29, 'tag', ref, '%s:%s' % (repo, t)], env)
                return time.time() - start
            first['cli'].append(loop())
            noop['cli'].append(loop())
        clis = dict(collection=DOCKER_29, cli=DOCKER_29 + ' + notary')
        self.add('pull_verified', n, first['coll'], first['cli'], 0, clis=clis)
        self.add('pull_verified_noop', n, noop['coll'], noop['cli'], 0, clis=clis)

    def bridge(self, n):
        self.oci_setup()
        coll, cli = [], []
        for rep in range(self.reps(n)):
            tags = ['t%03d' % i for i in range(n)]
            sides = []
            for side in ('coll', 'cli'):
                repo, release = self.signed_repository('bridge%d-%d-%s' % (n, rep, side), tags, ('notary',),
                                                       content='bench bridge %s' % uuid.uuid4().hex)
                self.playbook('publish_release.yml', release)
                sides.append(repo)
            coll_repo, cli_repo = sides
            pins = self.root_pins(sides)
            base = os.path.join(self.work, 'bridge-%d-%d' % (n, rep))
            os.makedirs(os.path.join(base, 'docker'), 0o700)
            with open(os.path.join(base, 'pins.json'), 'w') as f:
                json.dump([{'repository': coll_repo, 'root_key_ids': pins[coll_repo]}], f)
            extra = dict(self.oci_vars, content_trust_docker_cli=DOCKER_29,
                         content_trust_docker_config=os.path.join(base, 'docker'),
                         content_trust_pins_file=os.path.join(base, 'pins.json'),
                         content_trust_bridge_repositories=[coll_repo],
                         content_trust_bridge_formats=['cosign', 'notation'],
                         content_trust_bridge_signers=['jeff'],
                         content_trust_bridge_report_dir=os.path.join(base, 'reports'))
            took, changed = self.playbook('bridge_signatures.yml', extra)
            if not changed:
                raise SystemExit('bridge: the playbook signed nothing')
            coll.append(took)

            notary = self.notary_client(os.path.join(base, 'bare-notary'), {cli_repo: pins[cli_repo]})
            env = self.loop_env(DOCKER_29)
            start = time.time()
            listed = {}
            for line in self.run_timed(notary + ['list', cli_repo], env).splitlines():
                parts = line.split()
                if len(parts) >= 4 and parts[0] in tags:
                    listed[parts[0]] = 'sha256:' + parts[1].split(':')[-1]
            for t in tags:
                ref = '%s@%s' % (cli_repo, listed[t])
                self.run_timed(self.cosign_sign_cmd(cli_repo, ref, t, origin='notary'), env)
                self.run_timed(self.notation_sign_cmd(cli_repo, ref, t, origin='notary'), env)
            cli.append(time.time() - start)
        self.add('bridge', n, coll, cli, 0, clis=dict(collection=DOCKER_29, cli='notary + cosign + notation'))
