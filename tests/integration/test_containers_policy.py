# -*- coding: utf-8 -*-
"""The containers policy (containers_policy, the trusted_consumer role's containers_policy entry point) enforced by the
real podman and skopeo on the local registry: Debian 13's (podman 5.4, skopeo 1.18, run from trixie's packages by
tests/stack/tools.sh) and Debian 12's (podman 4.3, skopeo 1.9, built with sigstore disabled).

One scenario for the file: a repository with a tag signed (cosign 3.1, signature_form containers) by the inventory's
key, an unsigned tag and a tag signed by another key; a second repository holding the same image with the first one's
signature copied over by someone who controls the registry; and the registry reached under another name (localhost
instead of 127.0.0.1), which no scope lists.  Every policy lives under the test's temporary directory, never /etc.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import COSIGN_PASS, ROOT, common, run_module
from ocitools import cosign_binary, push_image, registry_state

BIN = os.path.dirname(sys.executable)


def containers_tools():
    names = ('CT_PODMAN13', 'CT_SKOPEO13', 'CT_PODMAN12', 'CT_SKOPEO12', 'CT_CONTAINERS_CONF')
    found = dict((k, os.environ[k]) for k in names if os.environ.get(k))
    if len(found) < len(names):
        out = subprocess.run([os.path.join(ROOT, 'tests', 'stack', 'tools.sh'), 'env'], stdout=subprocess.PIPE,
                             check=True).stdout.decode()
        for line in out.splitlines():
            for part in line.replace('export ', '').split():
                k, v = part.split('=', 1)
                found.setdefault(k, v)
    missing = [k for k in names if not found.get(k) or not os.path.exists(found[k])]
    if missing:
        pytest.fail('podman/skopeo are not installed (%s); run tests/stack/tools.sh install' % ', '.join(missing))
    return found


class Host(object):
    """A host's containers configuration under a temporary directory, and its tools run against it."""

    def __init__(self, base, tools, debian='13'):
        self.base = base
        self.podman, self.skopeo = tools['CT_PODMAN' + debian], tools['CT_SKOPEO' + debian]
        # podman has no --registries.d: it reads $HOME/.config/containers/registries.d where that exists.
        self.home = os.path.join(base, 'home')
        self.policy = os.path.join(base, 'containers', 'policy.json')
        self.registries_d = os.path.join(self.home, '.config', 'containers', 'registries.d')
        os.makedirs(self.registries_d)
        os.makedirs(os.path.dirname(self.policy))
        self.env = dict(os.environ, HOME=self.home, CONTAINERS_CONF=tools['CT_CONTAINERS_CONF'],
                        PODMAN_IGNORE_CGROUPSV1_WARNING='1')
        self.runs = 0

    def args(self, **kwargs):
        args = dict(path=self.policy, registries_d=self.registries_d, tools=[self.skopeo, self.podman], timeout=60)
        args.update(kwargs)
        return args

    def skopeo_copy(self, ref):
        self.runs += 1
        out = os.path.join(self.base, 'copy-%d' % self.runs)
        try:
            return subprocess.run([self.skopeo, '--policy', self.policy, '--registries.d', self.registries_d, 'copy',
                                   '-q', '--src-tls-verify=false', 'docker://' + ref, 'dir:' + out],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env, timeout=60,
                                  check=False)
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def podman_pull(self, ref):
        # short: podman 4.x refuses a runroot path longer than 50 characters
        work = tempfile.mkdtemp(prefix='ctp-')
        try:
            return subprocess.run([self.podman, '--root', work + '/root', '--runroot', work + '/rr', '--storage-driver',
                                   'vfs', '--events-backend', 'none', '--cgroup-manager', 'cgroupfs',
                                   '--network-config-dir', work + '/net', '--tmpdir', work + '/tmp', 'pull', '-q',
                                   '--tls-verify=false', '--signature-policy', self.policy, ref],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env, timeout=60,
                                  check=False)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def both(self, ref):
        """What podman pull and skopeo copy say: ``[(rc, output), (rc, output)]``."""
        return [(p.returncode, p.stdout.decode()) for p in (self.podman_pull(ref), self.skopeo_copy(ref))]

    def accepted(self, ref):
        results = self.both(ref)
        assert all(rc == 0 for rc, dummy in results), '%s refused: %s' % (ref, results)

    def refused(self, ref, *texts):
        results = self.both(ref)
        for rc, out in results:
            assert rc != 0, '%s accepted: %s' % (ref, out)
            assert any(t in out for t in texts), '%s refused, but not with %s: %s' % (ref, texts, out)

    def read(self):
        with open(self.policy) as f:
            return f.read()


def make_key(binary, path):
    proc = subprocess.run([binary, 'generate-key-pair', '--output-key-prefix', path], env=dict(
        os.environ, COSIGN_PASSWORD=COSIGN_PASS), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
        cwd=os.path.dirname(path), check=False)
    assert proc.returncode == 0, proc.stdout
    with open(path + '.pub') as f:
        return f.read()


def skopeo_as_attacker(tools, src, dst):
    """Copy a registry manifest (and its blobs) byte for byte, as anyone who can push can."""
    with tempfile.NamedTemporaryFile('w', suffix='.json') as accept:
        json.dump({'default': [{'type': 'insecureAcceptAnything'}]}, accept)
        accept.flush()
        proc = subprocess.run([tools['CT_SKOPEO13'], '--policy', accept.name, 'copy', '-q', '--preserve-digests',
                               '--src-tls-verify=false', '--dest-tls-verify=false', 'docker://' + src,
                               'docker://' + dst], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                              check=False)
    assert proc.returncode == 0, proc.stdout.decode()


@pytest.fixture(scope='module')
def scenario(stack, tmp_path_factory):
    tools = containers_tools()
    base = str(tmp_path_factory.mktemp('containers-policy'))
    docker_config = os.path.join(base, 'docker')
    os.makedirs(docker_config, mode=0o700)
    cosign3 = cosign_binary('3.1')
    keys = os.path.join(base, 'keys')
    os.makedirs(keys)
    release, other = make_key(cosign3, os.path.join(keys, 'release')), make_key(cosign3, os.path.join(keys, 'other'))

    repo, copy_repo = stack.repo('ctpolicy'), stack.repo('ctpolicy')
    digest = push_image(stack, docker_config, repo, ['signed'])
    push_image(stack, docker_config, repo, ['unsigned'])
    push_image(stack, docker_config, repo, ['other-key'])

    def sign(tag, key):
        result = run_module('cosign_sign', common(stack, docker_config, repository=repo, tags=[tag], key=key,
                                                  key_passphrase=COSIGN_PASS, cosign_cli=cosign3,
                                                  signature_form='containers'))
        assert not result.failed and result['changed'] and result['cosign_major_version'] == 3, result
    sign('signed', os.path.join(keys, 'release.key'))
    sign('other-key', os.path.join(keys, 'other.key'))
    state = registry_state(stack, repo)
    # cosign 3.x wrote the form the containers tools read: the sha256-<hex>.sig tag, no referrers index.
    assert 'sha256-%s.sig' % digest[7:] in state and 'sha256-%s' % digest[7:] not in state, state

    # The attacker: the same image in another repository, with the first repository's signature beside it.
    skopeo_as_attacker(tools, '%s:signed' % repo, '%s:signed' % copy_repo)
    skopeo_as_attacker(tools, '%s:sha256-%s.sig' % (repo, digest[7:]), '%s:sha256-%s.sig' % (copy_repo, digest[7:]))
    return dict(tools=tools, base=base, repo=repo, copy_repo=copy_repo, release=release, other=other, keys=keys,
                unlisted='%s:signed' % repo.replace('127.0.0.1:', 'localhost:', 1), stack=stack)


@pytest.fixture(autouse=True)
def podman_helpers(monkeypatch):
    """podman needs conmon and a network helper even to pull: containers.conf from tools.sh names them, for the
    modules run here as for the tests' own podman runs."""
    monkeypatch.setenv('CONTAINERS_CONF', containers_tools()['CT_CONTAINERS_CONF'])


def role(scenario, host, check=False, **variables):
    """The trusted_consumer role's containers_policy entry point, with ansible-playbook, on localhost."""
    base = host.base
    playbook = os.path.join(base, 'containers.yml')
    with open(playbook, 'w') as f:
        f.write('- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                '    - ansible.builtin.include_role:\n        name: openbanking.content_trust.trusted_consumer\n'
                '        tasks_from: containers_policy\n')
    varsfile = os.path.join(base, 'vars.json')
    variables = dict(dict(content_trust_containers_policy_path=host.policy,
                          content_trust_containers_registries_d=host.registries_d,
                          content_trust_containers_tools=[host.skopeo, host.podman]), **variables)
    with open(varsfile, 'w') as f:
        json.dump(variables, f)
    argv = [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', '-e', '@' + varsfile,
            '-e', 'ansible_python_interpreter=' + sys.executable, playbook]
    if check:
        argv += ['--check', '--diff']
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=host.env, timeout=300,
                          check=False)


def recap(proc):
    out = proc.stdout.decode()
    line = [x for x in out.splitlines() if x.startswith('localhost')][-1]
    return dict(part.split('=') for part in line.split(':', 1)[1].split()), out


def test_role_policy_enforced_by_real_podman_and_skopeo(scenario, tmp_path):
    """Signed: pulled and copied. Unsigned, another key, a signature copied from another repository, an unlisted
    registry: each refused by the tools themselves. insecureAcceptAnything lets the unlisted registry through;
    a key removed from the inventory refuses what only it signed after the next run."""
    s = scenario
    host = Host(str(tmp_path), s['tools'])
    images = [{'repository': s['repo'], 'tags': ['signed']},
              {'repository': s['copy_repo'], 'tags': ['signed']}]
    planned = role(s, host, check=True, content_trust_pull_images=images,
                   content_trust_cosign_public_keys=[s['release']])
    counts, out = recap(planned)
    assert planned.returncode == 0 and counts['changed'] == '1', out
    assert not os.path.exists(host.policy), 'check mode wrote the policy'
    assert '"type": "sigstoreSigned"' in out and s['repo'] in out, 'check mode showed no diff: %s' % out

    run = role(s, host, content_trust_pull_images=images, content_trust_cosign_public_keys=[s['release']])
    counts, out = recap(run)
    assert run.returncode == 0 and counts['changed'] == '1', out
    policy = json.loads(host.read())
    assert policy['default'] == [{'type': 'reject'}]
    assert policy['transports']['docker'][s['repo']][0]['signedIdentity'] == {'type': 'matchRepository'}

    host.accepted('%s:signed' % s['repo'])
    host.refused('%s:unsigned' % s['repo'], 'A signature was required, but no signature exists')
    host.refused('%s:other-key' % s['repo'], 'cryptographic signature verification failed')
    # the signature is genuine, but for the other repository: matchRepository refuses it
    host.refused('%s:signed' % s['copy_repo'], 'Signature for identity')
    host.refused(s['unlisted'], 'is rejected by policy')

    again = role(s, host, content_trust_pull_images=images, content_trust_cosign_public_keys=[s['release']])
    counts, out = recap(again)
    assert again.returncode == 0 and counts['changed'] == '0', out

    # insecureAcceptAnything: the unlisted registry passes unverified; the listed scopes stay enforced
    role(s, host, content_trust_pull_images=images, content_trust_cosign_public_keys=[s['release']],
         content_trust_containers_default='insecureAcceptAnything')
    host.accepted(s['unlisted'])
    host.refused('%s:unsigned' % s['repo'], 'A signature was required, but no signature exists')

    # the repository's own keys, both: the other key's tag is accepted; the key removed again: refused
    both = [dict(images[0], cosign_public_keys=[s['release'], s['other']]), images[1]]
    role(s, host, content_trust_pull_images=both, content_trust_cosign_public_keys=[s['release']])
    host.accepted('%s:other-key' % s['repo'])
    removed = role(s, host, content_trust_pull_images=images, content_trust_cosign_public_keys=[s['release']])
    assert recap(removed)[0]['changed'] == '1'
    host.refused('%s:other-key' % s['repo'], 'cryptographic signature verification failed')
    host.accepted('%s:signed' % s['repo'])


def test_other_scopes_kept_unusable_policy_never_installed(scenario, tmp_path):
    """An existing policy's other entries survive; a generated policy the tools cannot use (a keyPath that does not
    exist) fails the task and leaves the old file in place; a repository taken out of the inventory loses its
    scope; check mode and a re-run change nothing."""
    s = scenario
    host = Host(str(tmp_path), s['tools'])
    existing = {'default': [{'type': 'insecureAcceptAnything'}],
                'transports': {'docker': {'quay.io/someone/else': [{'type': 'insecureAcceptAnything'}]},
                               'docker-daemon': {'': [{'type': 'insecureAcceptAnything'}]}}}
    with open(host.policy, 'w') as f:
        json.dump(existing, f)
    with open(host.policy) as f:
        original = f.read()

    missing_key = os.path.join(s['keys'], 'no-such-key.pub')
    bad = run_module('containers_policy', host.args(scopes=[{'scope': s['repo'], 'public_keys': [missing_key]}]))
    assert bad.failed and bad['error_kind'] == 'cli_failure', bad
    assert 'not usable' in bad['msg'] and 'no-such-key.pub' in bad['msg'] and host.policy in bad['msg'], bad
    assert host.read() == original and os.listdir(os.path.dirname(host.policy)) == ['policy.json']
    assert os.listdir(host.registries_d) == []

    args = host.args(scopes=[{'scope': s['repo']}, {'scope': s['copy_repo']}], public_keys=[s['release']],
                     unsigned=['docker.io/library/debian'])
    planned = run_module('containers_policy', args, check_mode=True, diff=True)
    assert not planned.failed and planned['changed'] and planned['diff'], planned
    assert host.read() == original and os.listdir(host.registries_d) == []

    done = run_module('containers_policy', args)
    assert not done.failed and done['changed'], done
    policy = json.loads(host.read())
    assert policy['transports']['docker']['quay.io/someone/else'] == [{'type': 'insecureAcceptAnything'}]
    assert policy['transports']['docker-daemon'] == existing['transports']['docker-daemon']
    assert policy['transports']['docker']['docker.io/library/debian'] == [{'type': 'insecureAcceptAnything'}]
    assert policy['default'] == [{'type': 'reject'}]
    with open(done['backup_file']) as f:
        assert f.read() == original
    host.accepted('%s:signed' % s['repo'])

    user_policy = os.path.join(host.home, '.config', 'containers', 'policy.json')
    with open(user_policy, 'w') as f:
        f.write('{"default": [{"type": "insecureAcceptAnything"}]}\n')
    again = run_module('containers_policy', dict(args, user_policies=[user_policy, '/nonexistent/policy.json']))
    assert not again.failed and not again['changed'], again
    # a user's own policy replaces this one for that user: reported, never changed
    assert again['user_policies'] == [user_policy] and user_policy in str(again['warnings']), again
    assert not run_module('containers_policy', args, check_mode=True)['changed']

    fewer = run_module('containers_policy', dict(args, scopes=[{'scope': s['repo']}]))
    assert fewer['changed'] and fewer['removed_scopes'] == [s['copy_repo']], fewer
    policy = json.loads(host.read())
    assert s['copy_repo'] not in policy['transports']['docker']
    assert 'quay.io/someone/else' in policy['transports']['docker']
    # no scope any more: the copy falls to the default, and is refused by it
    host.refused('%s:signed' % s['copy_repo'], 'is rejected by policy')


def test_debian12_tools_fail_before_the_policy_is_touched(scenario, tmp_path):
    """Debian 12's podman and skopeo, built with sigstore disabled, refuse every sigstoreSigned image: the role fails
    naming the cause and the fix, and the existing policy and registries.d stay as they were."""
    s = scenario
    host = Host(str(tmp_path), s['tools'], debian='12')
    with open(host.policy, 'w') as f:
        f.write('{"default": [{"type": "insecureAcceptAnything"}]}\n')
    before = host.read()
    proc = role(s, host, content_trust_pull_images=[{'repository': s['repo'], 'tags': ['signed']}],
                content_trust_cosign_public_keys=[s['release']])
    out = proc.stdout.decode()
    assert proc.returncode != 0, out
    assert 'sigstore disabled' in out and 'Debian 13' in out and 'missing_requirement' in out, out
    assert host.read() == before and os.listdir(host.registries_d) == []
    assert os.listdir(os.path.dirname(host.policy)) == ['policy.json']
    # what the tools themselves do under such a policy: refuse the signed image too
    good = Host(os.path.join(str(tmp_path), 'd13'), s['tools'])
    made = run_module('containers_policy', good.args(scopes=[{'scope': s['repo']}], public_keys=[s['release']]))
    assert not made.failed, made
    shutil.copy(good.policy, host.policy)
    shutil.copy(os.path.join(good.registries_d, 'openbanking-content-trust.yaml'), host.registries_d)
    host.refused('%s:signed' % s['repo'], 'sigstore disabled')


def test_withdrawn_signature_of_the_containers_form_is_refused(scenario, tmp_path):
    """cosign_revoke withdraws the .sig form cosign 3.x wrote for the containers tools: with both keys accepted, the
    tag it signed is pulled before and refused after."""
    s = scenario
    host = Host(str(tmp_path), s['tools'])
    done = run_module('containers_policy', host.args(scopes=[{'scope': s['repo']}],
                                                     public_keys=[s['release'], s['other']]))
    assert not done.failed, done
    host.accepted('%s:other-key' % s['repo'])
    revoked = run_module('cosign_revoke', common(s['stack'], os.path.join(s['base'], 'docker'), repository=s['repo'],
                                                 tags=['other-key']))
    assert not revoked.failed and revoked['revoked'] == ['other-key'], revoked
    host.refused('%s:other-key' % s['repo'], 'A signature was required, but no signature exists')
