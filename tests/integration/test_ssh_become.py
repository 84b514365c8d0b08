# -*- coding: utf-8 -*-
"""The shipped playbooks over a real SSH connection, as a team runs them: the controller logs in to a signing and
deploy host as a non-root user with sudo, first with become, then the same inventory without become.

The fixture starts an sshd of its own on a free loopback port (its own host key and configuration; no system
service) and creates the user (key-based login, sudo without a password, in the group of the stack's docker socket),
and removes both afterwards. Needs root (CI runs it as root; ``tests/stack/stack.sh install`` installs
openssh-server and sudo).

One scenario: provision_signing_host, sync_signers, publish_release, verify_release and pull_verified with become; everything in
the user's ~/.docker is the user's (owner and group), not root's; then the same inventory without become
changes nothing and succeeds.
"""

import grp
import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
import uuid

import pytest

from test_playbooks import SECRETS, Scenario

SSHD = '/usr/sbin/sshd'
PLAYBOOKS = ['provision_signing_host.yml', 'sync_signers.yml', 'publish_release.yml', 'verify_release.yml',
             'pull_verified.yml']
HOST = 'signing-over-ssh'
RECAP_RE = re.compile(r'^%s\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)' % HOST, re.M)
# The site-packages of the test venv, for the host's /usr/bin/python3 (the same minor version): the user cannot run
# the venv's interpreter, which lives under /root.
SITE = next(p for p in sys.path if p.endswith('site-packages') and os.path.isdir(p))

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.access(SSHD, os.X_OK) or not shutil.which('sudo') or not os.access('/usr/bin/python3',
                                                                                                   os.X_OK),
    reason='the SSH leg needs root, openssh-server, sudo and /usr/bin/python3 (tests/stack/stack.sh install)')


def _free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _run(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)


class SSHHost(object):
    """An sshd on loopback and a user with sudo who reaches the stack's docker socket through its group."""

    def __init__(self, stack, base):
        self.base = base
        self.user = 'ctssh%s' % uuid.uuid4().hex[:6]
        self.sshd = None
        self.sudoers = '/etc/sudoers.d/%s' % self.user
        socket_path = stack.docker_host.replace('unix://', '')
        docker_group = grp.getgrgid(os.stat(socket_path).st_gid).gr_name
        # '*' not '!': sshd without PAM refuses a locked account even for a key.
        _run('useradd', '--create-home', '--shell', '/bin/sh', '--groups', docker_group, '--password', '*', self.user)
        entry = pwd.getpwnam(self.user)
        self.uid, self.gid, self.home = entry.pw_uid, entry.pw_gid, entry.pw_dir
        with open(self.sudoers, 'w') as f:
            f.write('%s ALL=(ALL:ALL) NOPASSWD: ALL\n' % self.user)
        os.chmod(self.sudoers, 0o440)
        self.key = os.path.join(base, 'id_ed25519')
        _run('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', self.key)
        host_key = os.path.join(base, 'host_ed25519')
        _run('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', host_key)
        ssh_dir = os.path.join(self.home, '.ssh')
        os.mkdir(ssh_dir, 0o700)
        shutil.copy(self.key + '.pub', os.path.join(ssh_dir, 'authorized_keys'))
        for path in (ssh_dir, os.path.join(ssh_dir, 'authorized_keys')):
            os.chown(path, self.uid, self.gid)
        # The host's Python 3.11 with the test venv's libraries (cryptography, docker, pexpect).
        self.python = os.path.join(self.home, 'python3')
        with open(self.python, 'w') as f:
            f.write('#!/bin/sh\nPYTHONPATH=%s exec /usr/bin/python3 "$@"\n' % SITE)
        os.chmod(self.python, 0o755)
        # Without become the user reaches both through the clone's directories. A clone under a directory other
        # users cannot enter (mktemp -d makes 0700 ones) would fail every module run without become, for that reason
        # only: the directories above them are opened to other users for passing through (o+x, not listing) while
        # the leg runs, and given their modes back in close().
        self._opened = []
        reached = (SITE, os.path.dirname(socket_path))
        for path in reached:
            parts = os.path.abspath(path).split(os.sep)
            for i in range(2, len(parts) + 1):
                directory = os.sep.join(parts[:i])
                mode = stat.S_IMODE(os.stat(directory).st_mode)
                if not mode & stat.S_IXOTH:
                    os.chmod(directory, mode | stat.S_IXOTH)
                    self._opened.append((directory, mode))
        for path in reached:
            if subprocess.run(['runuser', '-u', self.user, '--', 'test', '-r', path, '-a', '-x', path],
                              timeout=60, check=False).returncode != 0:
                self.close()
                raise AssertionError('the SSH leg logs in as user %s, who cannot read %s: give the directories above '
                                     'it to other users (chmod o+x), or clone elsewhere' % (self.user, path))
        self.port = _free_port()
        config = os.path.join(base, 'sshd_config')
        with open(config, 'w') as f:
            f.write('\n'.join([
                'Port %d' % self.port, 'ListenAddress 127.0.0.1', 'HostKey %s' % host_key,
                'PidFile %s' % os.path.join(base, 'sshd.pid'), 'AuthorizedKeysFile .ssh/authorized_keys',
                'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no',
                'AllowUsers %s' % self.user, 'PermitRootLogin no', '']))
        if not os.path.isdir('/run/sshd'):
            os.makedirs('/run/sshd', 0o755)
        self.sshd = subprocess.Popen([SSHD, '-D', '-e', '-f', config], stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(base, 'sshd.log'), 'w'))
        end = time.time() + 15
        while True:
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close()
                break
            except OSError:
                if time.time() > end or self.sshd.poll() is not None:
                    raise AssertionError('sshd did not start: %s' % open(os.path.join(base, 'sshd.log')).read())
                time.sleep(0.1)

    def _user_processes(self):
        pids = []
        for pid in os.listdir('/proc'):
            try:
                if pid.isdigit() and os.stat('/proc/%s' % pid).st_uid == self.uid:
                    pids.append(int(pid))
            except OSError:
                pass
        return pids

    def close(self):
        if self.sshd is not None:
            self.sshd.terminate()
            self.sshd.wait(10)
        while getattr(self, '_opened', None):
            directory, mode = self._opened.pop()
            os.chmod(directory, mode)
        # The sessions Ansible keeps open (ControlPersist) run as the user: userdel refuses a user with processes.
        for pid in self._user_processes():
            try:
                os.kill(pid, 15)
            except OSError:
                pass
        end = time.time() + 5
        while self._user_processes() and time.time() < end:
            time.sleep(0.1)
        if os.path.exists(self.sudoers):
            os.unlink(self.sudoers)
        proc = subprocess.run(['userdel', '--remove', self.user], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              check=False, timeout=60)
        assert proc.returncode in (0, 12), 'userdel %s: %s' % (self.user, proc.stdout.decode())

    def host_vars(self):
        return {'ansible_connection': 'ssh', 'ansible_host': '127.0.0.1', 'ansible_port': self.port,
                'ansible_user': self.user, 'ansible_ssh_private_key_file': self.key,
                'ansible_ssh_common_args': '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null',
                'ansible_python_interpreter': self.python}

    def not_owned(self, top):
        """Everything under ``top`` that is not the user's (owner and group)."""
        wrong = []
        for root, dirs, files in os.walk(top):
            for name in [''] + dirs + files:
                st = os.lstat(os.path.join(root, name))
                if (st.st_uid, st.st_gid) != (self.uid, self.gid):
                    wrong.append('%s %d:%d' % (os.path.join(root, name), st.st_uid, st.st_gid))
        return wrong


@pytest.fixture(scope='module')
def over_ssh(stack, tmp_path_factory):
    base = str(tmp_path_factory.mktemp('ssh'))
    host = SSHHost(stack, base)
    try:
        scenario = Scenario(stack, base)
        with open(scenario.inventory) as f:
            inventory = json.load(f)
        variables = inventory['all']['vars']
        # The user's own ~/.docker, resolved on the host (the default); the registry needs no login.
        for name in ('content_trust_docker_config', 'content_trust_registry_url', 'content_trust_registry_username'):
            variables.pop(name, None)
        variables['content_trust_repositories'] = variables['content_trust_repositories'][:1]
        variables['content_trust_release_images'] = [{'repository': scenario.repo1, 'source': scenario.source}]
        variables['content_trust_pull_images'] = [{'repository': scenario.repo1, 'tags': ['v1.0.0']}]
        inventory['all'] = {'hosts': {HOST: host.host_vars()}, 'vars': variables, 'children': dict(
            (group, {'hosts': {HOST: {}}}) for group in ('signing_hosts', 'trust_admins', 'deploy_hosts'))}
        plain = scenario.inventory
        with open(plain, 'w') as f:
            json.dump(inventory, f, indent=1)
        inventory['all']['hosts'][HOST]['ansible_become'] = True
        scenario.become_inventory = os.path.join(base, 'inventory_become.yml')
        with open(scenario.become_inventory, 'w') as f:
            json.dump(inventory, f, indent=1)
        scenario.host = host
        yield scenario
    finally:
        host.close()


def _recap(run):
    m = RECAP_RE.findall(run.out)
    assert m, run
    ok, changed, unreachable, failed = (int(v) for v in m[-1])
    return dict(ok=ok, changed=changed, unreachable=unreachable, failed=failed)


def _changed_tasks(run):
    """The tasks a run reports changed, for the assertion message."""
    return [chunk.split(']', 1)[0] for chunk in run.out.split('\nTASK [')[1:] if '\nchanged: ' in chunk]


def _playbooks(scenario, inventory):
    plain = scenario.inventory
    scenario.inventory = inventory
    try:
        run = scenario.playbook(*PLAYBOOKS)
    finally:
        scenario.inventory = plain
    for secret in SECRETS:
        assert secret not in run.out
    return run


def test_with_become_the_docker_configuration_is_the_users_then_without_become_nothing_changes(over_ssh, stack):
    host = over_ssh.host
    docker_dir = os.path.join(host.home, '.docker')
    start = time.time()
    run = _playbooks(over_ssh, over_ssh.become_inventory)
    assert run.rc == 0, str(run)
    assert _recap(run)['changed'] > 0, run
    # Resolved for the user who logs in, not root's ~: the keys, the trust data, the Notary CA and client
    # certificate, all the user's own.
    assert not os.path.exists('/root/.docker/trust/private') or not any(
        f.endswith('.key') and os.stat(os.path.join('/root/.docker/trust/private', f)).st_mtime >= start
        for f in os.listdir('/root/.docker/trust/private'))
    private = os.path.join(docker_dir, 'trust', 'private')
    assert any(f.endswith('.key') for f in os.listdir(private)), os.listdir(private)
    assert os.path.isfile(os.path.join(docker_dir, 'tls', stack.notary_url.replace('https://', ''), 'ca.crt'))
    assert host.not_owned(docker_dir) == []
    # trusted_consumer's pins for the notary CLI: the same user's ~/.notary, not root's.
    assert host.not_owned(os.path.join(host.home, '.notary')) == []
    assert os.path.isfile(os.path.join(host.home, '.notary', 'config.json'))
    assert os.stat(os.path.join(docker_dir, 'trust')).st_mode & 0o777 == 0o700
    # The controller got jeff's public key and the release report; the deploy host pulled the signed digest.
    assert os.path.isfile(os.path.join(over_ssh.key_dir, 'jeff.pub'))
    with open(os.path.join(over_ssh.report_dir, 'release-v1.0.0.json')) as f:
        assert json.load(f)['verified'] is True
    digest = over_ssh.signed_tags(over_ssh.repo1)['v1.0.0'][0]
    pulled = stack.docker(over_ssh.docker_config, 'image', 'inspect', '--format', '{{json .RepoDigests}}',
                          '%s@sha256:%s' % (over_ssh.repo1, digest), check=False)
    assert pulled.returncode == 0, pulled.stderr

    # The same inventory without become: the user reads and writes everything the become run wrote.
    run = _playbooks(over_ssh, over_ssh.inventory)
    assert run.rc == 0, str(run)
    assert _recap(run)['changed'] == 0, _changed_tasks(run)
    assert host.not_owned(docker_dir) == [] and host.not_owned(os.path.join(host.home, '.notary')) == []
    sys.stderr.write('\nSSH leg: %s\n' % ', '.join('%.1fs' % r.seconds for r in over_ssh.runs))
