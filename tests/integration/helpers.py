# -*- coding: utf-8 -*-
"""Driving the bare docker CLI in tests, the way a person would on a terminal."""

import os

import pexpect


def docker_pty(stack, docker_config, args, answers, timeout=60, cli=None):
    """Run ``docker ARGS`` on a pty; ``answers`` maps a prompt label (root, repository, signer
    name) to its passphrase.  Returns (exit status, output)."""
    env = stack.cli_env(docker_config)
    child = pexpect.spawn(cli or stack.docker_cli, list(args), env=env, encoding='utf-8', echo=False, timeout=timeout)
    out = []
    while True:
        i = child.expect([r'(?:Enter|Repeat) passphrase for (?:new )?([\w./-]+) key with ID \w+: ',
                          r'\[y/N\]', pexpect.EOF])
        out.append(child.before or '')
        if i == 0:
            child.sendline(answers[child.match.group(1)])
        elif i == 1:
            child.sendline('y')
        else:
            break
    child.close()
    return child.exitstatus, ''.join(out)


def generate_key_cli(stack, docker_config, name, passphrase, directory):
    """`docker trust key generate NAME --dir D` as the runbook does; returns the .pub path."""
    rc, out = docker_pty(stack, docker_config, ['trust', 'key', 'generate', name, '--dir', directory],
                         {name: passphrase})
    assert rc == 0, out
    return os.path.join(directory, name + '.pub')


def signer_add_cli(stack, docker_config, name, pub_path, repo, root_pass, repo_pass):
    rc, out = docker_pty(stack, docker_config, ['trust', 'signer', 'add', '--key', pub_path, name, repo],
                         {'root': root_pass, 'repository': repo_pass})
    assert rc == 0, out
    return out


def sign_cli(stack, docker_config, ref, answers):
    rc, out = docker_pty(stack, docker_config, ['trust', 'sign', ref], answers)
    assert rc == 0, out
    return out
