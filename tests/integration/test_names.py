# -*- coding: utf-8 -*-
"""The vocabulary (docs/architecture.md): the option names work, the names they had during development do not, and
the action group's shared options (the passphrases included) are accepted without a warning by every module of the
group, on the real stack.

Every call is checked against what docker and the Notary server report afterwards, not only the result."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ALICE_PASS, JEFF_PASS, REPO_PASS, ROOT_PASS, common, run_module
from helpers import sign_cli
from test_signers_role import BIN, run_signers_role

PASSPHRASES = ('root_passphrase', 'repository_passphrase')


def key_files(docker_config):
    d = os.path.join(docker_config, 'trust', 'private')
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def shown_signers(stack, docker_config, repo):
    entry = stack.inspect(docker_config, repo)[repo]
    return dict((s['Name'], sorted(k['ID'] for k in s['Keys'])) for s in entry['Signers'])


def deprecated_options(result):
    """The options named by the result's deprecation warnings, with their version and collection."""
    found = {}
    for d in result.get('deprecations') or []:
        # ansible-core 2.19 nests them (event.msg, deprecator.resolved_name); older ones do not.
        msg = d.get('msg') or d.get('event', {}).get('msg', '')
        collection = d.get('collection_name') or (d.get('deprecator') or {}).get('resolved_name')
        for name in PASSPHRASES:
            if "'%s'" % name in msg:
                found[name] = (d.get('version'), collection)
    return found


@pytest.mark.parametrize('module, args', [
    ('trust_key', dict(signer='jeff', name='jeff', passphrase=JEFF_PASS)),
    ('trust_signer', dict(repository='127.0.0.1:5000/acme/names', signer='jeff', name='jeff', public_keys=['x'])),
    ('trust_info', dict(references=['127.0.0.1:5000/acme/names'], repositories=['127.0.0.1:5000/acme/names'])),
])
def test_the_development_names_of_options_are_not_taken(stack, docker_config, module, args):
    # Nothing was published before 0.1.0: signer (trust_key, trust_signer) and references (trust_info) have no
    # aliases; an old name fails before anything runs, naming it (alone, it is not the required option either).
    old = 'name' if 'name' in args else 'repositories'
    res = run_module(module, common(stack, docker_config, **args))
    assert res.failed and 'Unsupported parameters' in res['msg'] and old in res['msg'], res
    del args['signer' if 'signer' in args else 'references']
    res = run_module(module, common(stack, docker_config, **args))
    assert res.failed and res['error_kind'] == 'bad_input' and 'missing required arguments' in res['msg'], res
    assert key_files(docker_config) == []


def test_a_bad_signer_is_named_by_the_option(stack, docker_config):
    res = run_module('trust_key', common(stack, docker_config, passphrase=JEFF_PASS, signer='Jeff'))
    assert res.failed and res['msg'].startswith("signer 'Jeff' is not a valid signer name"), res
    res = run_module('trust_signer', common(stack, docker_config, repository=stack.repo('names'),
                                            public_keys=['x'], signer='root'))
    assert res.failed and res['msg'].startswith('signer "root" is reserved'), res
    assert key_files(docker_config) == []


def test_modules_that_never_read_the_passphrases_accept_them_without_a_warning(stack, docker_config):
    key = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS,
                                         repository_passphrase=REPO_PASS))
    assert key['changed'] is True, key
    assert not key.get('deprecations') and not deprecated_options(key), key
    repo = stack.repo('names')
    added = run_module('trust_signer', common(stack, docker_config, repository=repo, signer='jeff',
                                              public_keys=[key['public_key']], root_passphrase=ROOT_PASS,
                                              repository_passphrase=REPO_PASS))
    assert added['changed'] is True and not added.get('deprecations'), added
    stack.build_image(docker_config, repo + ':v1')
    sign_cli(stack, docker_config, repo + ':v1', {'jeff': JEFF_PASS})
    digest = 'sha256:' + stack.inspect(docker_config, repo + ':v1')[repo + ':v1']['SignedTags'][0]['Digest']
    versions = stack.versions(repo)

    given = dict(root_passphrase=ROOT_PASS, repository_passphrase=REPO_PASS)

    # trust_info reads the trust data; the passphrases are accepted, silently.
    res = run_module('trust_info', common(stack, docker_config, references=[repo + ':v1'], **given))
    assert not res.failed and res['changed'] is False, res
    assert [(t['tag'], t['digest']) for t in res['repositories'][0]['signed_tags']] == [('v1', digest)], res
    assert not res.get('deprecations') and not res.get('warnings'), res
    plain = run_module('trust_info', common(stack, docker_config, references=[repo]))
    assert not plain.get('deprecations'), plain
    bad = run_module('trust_info', common(stack, docker_config, references=['Bad Name']))
    assert bad.failed and 'references[0]' in bad['msg'], bad

    # trust_verify: verifies as before, with no warning.
    res = run_module('trust_verify', common(stack, docker_config, images=[{'repository': repo, 'tags': ['v1']}],
                                            signer='jeff', allow_unpinned=True, **given))
    assert not res.failed and res['verified'] is True and res['results'][0]['signed_digest'] == digest, res
    assert not res.get('deprecations') and not res.get('warnings'), res
    plain = run_module('trust_verify', common(stack, docker_config, images=[{'repository': repo, 'tags': ['v1']}],
                                              allow_unpinned=True))
    assert plain['verified'] is True and not plain.get('deprecations'), plain
    # Reading changed nothing on the Notary server.
    assert stack.versions(repo) == versions

    # The modules that write trust data still take them, and say nothing.
    revoked = run_module('trust_revoke', common(stack, docker_config, repository=repo, tags=['v1'], signer='jeff',
                                                signer_passphrase=JEFF_PASS, **given))
    assert revoked['changed'] is True and not revoked.get('deprecations'), revoked
    assert stack.inspect(docker_config, repo).get(repo, {}).get('SignedTags') in ([], None)


@pytest.mark.parametrize('force_variable', ['content_trust_signers_force'])
def test_signers_role_force_flag(stack, docker_config, tmp_path, force_variable):
    # jeff signs v1 before alice's key exists here: docker trust sign signs with every local signer key.
    repo = stack.repo('names')
    jeff = run_module('trust_key', common(stack, docker_config, signer='jeff', passphrase=JEFF_PASS))
    res = run_module('trust_signer', common(stack, docker_config, repository=repo, signer='jeff',
                                            public_keys=[jeff['public_key']], root_passphrase=ROOT_PASS,
                                            repository_passphrase=REPO_PASS))
    assert res['changed'] is True, res
    stack.build_image(docker_config, repo + ':v1')
    sign_cli(stack, docker_config, repo + ':v1', {'jeff': JEFF_PASS})
    alice = run_module('trust_key', common(stack, docker_config, signer='alice', passphrase=ALICE_PASS))
    res = run_module('trust_signer', common(stack, docker_config, repository=repo, signer='alice',
                                            public_keys=[alice['public_key']], repository_passphrase=REPO_PASS))
    assert res['changed'] is True, res
    repositories = [{'repository': repo, 'exclusive': True,
                     'signers': [{'name': 'alice', 'public_key': alice['public_key']}]}]
    versions = stack.versions(repo)

    # Removing jeff leaves v1 without a valid signature: refused without the force flag, nothing published.
    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories)
    assert rc != 0 and 'v1' in out and 'force' in out, out[-3000:]
    assert shown_signers(stack, docker_config, repo) == {'jeff': [jeff['key_id']], 'alice': [alice['key_id']]}
    assert stack.versions(repo) == versions

    # With the flag, jeff goes.
    rc, out = run_signers_role(tmp_path, stack, docker_config, repositories, **{force_variable: True})
    assert rc == 0, out[-3000:]
    assert shown_signers(stack, docker_config, repo) == {'alice': [alice['key_id']]}
    assert stack.version(repo, 'targets') > versions['targets']


README_DEFAULTS_PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/openbanking.content_trust.content_trust:
      docker_cli: %(docker_cli)s
      server: %(server)s
      docker_config: %(docker_config)s
      root_passphrase: "{{ root_passphrase }}"
      repository_passphrase: "{{ repository_passphrase }}"
  tasks:
    - name: A read-only module reads, with the passphrases set for the group
      openbanking.content_trust.trust_info:
        references: [%(repo)s]
    - name: The development name of trust_info runs it (a plain redirect, no warning)
      openbanking.content_trust.trust_inspect:
        references: [%(repo)s]
    - name: A module that never runs docker or notary, in check mode
      openbanking.content_trust.trust_key:
        signer: jeff
        passphrase: "{{ signer_passphrase }}"
      check_mode: true
    - name: A module that once took no passphrases fails on its own bad input, not on the group's options
      openbanking.content_trust.trust_pull:
        images: [{repository: Bad Repo, tags: [v1]}]
      register: bad
      ignore_errors: true
    - name: The failure is about the image, not an unsupported option
      ansible.builtin.assert:
        that:
          - bad.failed
          - "'Bad Repo' in bad.msg"
          - bad.error_kind == 'bad_input'
"""


def test_the_readme_module_defaults_with_passphrases_run_every_module_without_a_warning(
        stack, docker_config, tmp_path):
    # The README sets docker_config, server and the passphrases once for the action group; Ansible fails a module
    # handed an option it does not take, and warns for a deprecated one: neither may happen on any module.
    play = tmp_path / 'defaults.yml'
    play.write_text(README_DEFAULTS_PLAY % dict(docker_cli=stack.docker_cli, server=stack.notary_url,
                                                docker_config=docker_config, repo=stack.repo('defaults')))
    secrets = tmp_path / 'secrets.json'
    secrets.write_text(json.dumps(dict(root_passphrase=ROOT_PASS, repository_passphrase=REPO_PASS,
                                       signer_passphrase=JEFF_PASS)))
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_DEPRECATION_WARNINGS='1')
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', '@%s' % secrets, str(play)],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300, check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    assert proc.returncode == 0, out[-3000:]
    assert 'DEPRECATION' not in out and '[WARNING]' not in out, out
    assert 'Unsupported parameters' not in out, out
    assert 'ok=5' in out and 'failed=0' in out and 'ignored=1' in out, out
    for secret in (ROOT_PASS, REPO_PASS, JEFF_PASS):
        assert secret not in out
    # check mode made no key
    assert key_files(docker_config) == []
