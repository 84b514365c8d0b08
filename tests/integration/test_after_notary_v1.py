# -*- coding: utf-8 -*-
"""docs/after-notary-v1.md, run as a team would: every ```bash block of the guide, in order, in one
shell, against the real stack, starting from a repository signed with Notary by the bare docker CLI."""

import json
import os
import re
import subprocess
import sys

from conftest import ALL_SECRETS, JEFF_PASS, REPO_PASS, ROOT, ROOT_PASS
from helpers import generate_key_cli, sign_cli, signer_add_cli
from ocitools import cosign_binary, notation_binary, registry_digest

GUIDE = os.path.join(ROOT, 'docs', 'after-notary-v1.md')
BIN = os.path.dirname(sys.executable)


def guide_script():
    with open(GUIDE) as f:
        text = f.read()
    blocks = re.findall(r'^```bash\n(.*?)^```$', text, re.S | re.M)
    assert len(blocks) >= 8, 'the guide lost its runnable steps'
    return 'set -euo pipefail\n' + '\n'.join(blocks)


def test_the_guide_runs_end_to_end(stack, docker_config, tmp_path):
    repo = stack.repo('guide')
    # Before the guide: a repository signed with Notary v1 by the bare docker CLI 28, one tag
    # of which was pushed again after it was signed.
    pub = generate_key_cli(stack, docker_config, 'jeff', JEFF_PASS, str(tmp_path))
    signer_add_cli(stack, docker_config, 'jeff', pub, repo, ROOT_PASS, REPO_PASS)
    answers = {'jeff': JEFF_PASS, 'root': ROOT_PASS, 'repository': REPO_PASS}
    for tag in ('v0.9', 'v1.0', 'v1.1'):
        stack.build_image(docker_config, '%s:%s' % (repo, tag))
        sign_cli(stack, docker_config, '%s:%s' % (repo, tag), answers)
    stack.build_image(docker_config, '%s:v0.9' % repo, 'pushed again')
    stack.docker(docker_config, 'push', '-q', '%s:v0.9' % repo)
    signed_before = dict((t['SignedTag'], 'sha256:' + t['Digest'])
                         for t in stack.inspect(docker_config, repo)[repo]['SignedTags'])
    source = 'guide-source-%s:build' % os.path.basename(repo)
    stack.build_image(docker_config, source)

    work = tmp_path / 'work'
    work.mkdir(mode=0o700)
    fd = os.open(str(work / 'secrets.yml'), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write('content_trust_signer_passphrase: "%s"\n' % JEFF_PASS)
    (tmp_path / 'bin').mkdir()
    env = dict(os.environ, REPO=repo, NOTARY=stack.notary_url, WORK=str(work), PLAYBOOKS=os.path.join(ROOT, 'playbooks'),
               SIGNER='jeff', NEXT='v2.0.0', RELEASE_SOURCE=source, COSIGN_PACKAGE=cosign_binary('3.1'),
               NOTATION_PACKAGE=notation_binary(), TOOLS_BIN=str(tmp_path / 'bin'), DOCKER_CONFIG_DIR=docker_config,
               DOCKER_HOST_URL=stack.docker_host, INSTALL_PACKAGES='false', NOTATION_VERIFY_FLAGS='--insecure-registry',
               PATH=BIN + os.pathsep + os.environ['PATH'], ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'))
    for k in list(env):
        if k.endswith('_PASSPHRASE') or k.startswith('COSIGN_PASSWORD'):
            del env[k]
    proc = subprocess.run(['bash', '-c', guide_script()], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                          cwd=str(tmp_path), timeout=1200, check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    for secret in ALL_SECRETS:
        assert secret not in out
    assert proc.returncode == 0, out[-8000:]

    notary = dict((t['SignedTag'], 'sha256:' + t['Digest']) for t in stack.inspect(docker_config, repo)[repo]['SignedTags'])
    with open(str(work / 'reports' / 'bridge-report.json')) as f:
        bridge = json.load(f)
    bridged = dict((t['tag'], t['digest']) for t in bridge['tags'])
    assert bridged['v1.0'] == notary['v1.0'] and bridged['v1.1'] == signed_before['v1.1'], bridge
    # "Withdrawing a release" revoked v1.1 in every format: Notary no longer lists it
    assert 'v1.1' not in notary and 'v1.0' in notary
    assert '%s:v1.1  cosign: withdrawn  (built from the wrong branch)' % repo in out, out[-4000:]
    assert '%s:v1.1  notation: withdrawn  (built from the wrong branch)' % repo in out
    assert [r['tag'] for r in bridge['refused']] == ['v0.9'], bridge
    assert registry_digest(stack, repo, 'v0.9') != notary['v0.9']
    with open(str(work / 'reports' / 'release-v2.0.0.json')) as f:
        release = json.load(f)
    # The last step verified as a consumer that has left Notary; publishing showed all three.
    assert release['verified'] is True and release['signature_formats'] == ['cosign', 'notation']
    assert release['images'][0]['signatures'] == {'cosign': True, 'notation': True}
    assert release['images'][0]['digest'] == notary['v2.0.0']
    assert 'Successfully verified signature for %s@%s' % (repo, notary['v2.0.0']) in out
    assert '| notary | cosign | notation | Verified |' in out
    assert '| jeff | yes | yes | yes | yes |' in out
