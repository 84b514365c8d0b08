# -*- coding: utf-8 -*-
"""Driving the bare docker CLI in tests, the way a person would on a terminal."""

import os

import pexpect


def docker_pty(stack, docker_config, args, answers, timeout=60, cli=None):
    """Run ``docker ARGS`` (the reference CLI unless ``cli``) on a pty; ``answers`` maps a prompt label (root, repository, signer
    name) to its passphrase.  Returns (exit status, output)."""
    env = stack.cli_env(docker_config)
    child = pexpect.spawn(cli or stack.reference_cli, list(args), env=env, encoding='utf-8', echo=False, timeout=timeout)
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


class TcpProxy(object):
    """A loopback TCP forwarder the tests can stop and start, to take a real server away
    (and bring it back with its data) without restarting it."""

    def __init__(self, target_port, host='127.0.0.1'):
        import socket
        import threading
        self._socket = socket
        self._threading = threading
        self.host = host
        self.target = (host, target_port)
        probe = socket.socket()
        probe.bind((host, 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.allow = None  # connections still allowed before it breaks (None: unlimited)
        self._listener = None
        self._conns = []

    def start(self):
        s = self._socket.socket()
        s.setsockopt(self._socket.SOL_SOCKET, self._socket.SO_REUSEADDR, 1)
        s.bind((self.host, self.port))
        s.listen(64)
        self._listener = s
        self._threading.Thread(target=self._accept, args=(s,), daemon=True).start()
        return self

    def stop(self):
        """Refuse new connections and cut the open ones, as a stopped server would."""
        if self._listener:
            try:
                self._listener.shutdown(self._socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass
        self._conns = []

    def _accept(self, listener):
        while True:
            try:
                client, dummy = listener.accept()
            except OSError:
                return
            if self.allow is not None:
                if self.allow <= 0:
                    client.close()
                    continue
                self.allow -= 1
            try:
                upstream = self._socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            self._conns.extend([client, upstream])
            for a, b in ((client, upstream), (upstream, client)):
                self._threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass


class PrivateNotary(object):
    """A notary-server of the test's own (memory storage, in-process signer, the stack's TLS
    certificate) on a free port: healthy, empty, and emptied again by ``restart`` - what a
    Notary looks like after its database was lost or restored from before a repository."""

    def __init__(self, stack, directory):
        import json
        import socket
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        self.port = s.getsockname()[1]
        s.close()
        self.url = 'https://127.0.0.1:%d' % self.port
        self.ca = stack.ca
        self.directory = str(directory)
        tls = os.path.dirname(stack.ca)
        self.config = os.path.join(self.directory, 'notary-server.json')
        with open(self.config, 'w') as f:
            json.dump({'server': {'http_addr': '127.0.0.1:%d' % self.port,
                                  'tls_cert_file': os.path.join(tls, 'notary-server.crt'),
                                  'tls_key_file': os.path.join(tls, 'notary-server.key')},
                       'trust_service': {'type': 'local'}, 'storage': {'backend': 'memory'},
                       'logging': {'level': 'error'}}, f)
        self.proc = None

    def start(self):
        import ssl
        import subprocess
        import time
        import urllib.request
        log = open(os.path.join(self.directory, 'notary-server.log'), 'a')
        self.proc = subprocess.Popen(['notary-server', '-config', self.config], stdout=log, stderr=log)
        log.close()
        ctx = ssl.create_default_context(cafile=self.ca)
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(self.url + '/_notary_server/health', context=ctx, timeout=2).read()
                return self
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError('the private notary-server did not start; see %s' % self.directory)
                time.sleep(0.2)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self):
        """Memory storage: the server comes back healthy and without any repository."""
        self.stop()
        return self.start()
