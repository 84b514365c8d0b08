# -*- coding: utf-8 -*-
"""`make bench`: the collection's playbooks against the bare CLI loops a team writes today.

Every case runs on the same local stack and the same image, side by side, and reports the
median of --reps repetitions.  Cases (issue: benchmarks against the bare CLI):

  publish_first  N tags, fresh repository: playbooks/publish_release.yml
                 vs `docker tag` + `docker trust sign` per tag
  publish_noop   the same, re-run when everything is signed; TUF versions moved are
                 counted on the Notary server (the collection must move none)
  signers_noop   an unchanged inventory of R repositories x 2 signers:
                 playbooks/sync_signers.yml vs `docker trust inspect` per repository
  verify_release N signed tags (the publish_first repository): playbooks/verify_release.yml
                 vs `docker trust inspect` + a content-trust `docker pull` per tag

and the cases after Notary (issue 24; tests/bench/oci_cases.py says what each side runs):

  publish3_first, publish3_noop, pull_verified, pull_verified_noop, bridge   (--oci sizes, default 20,100)

--cases picks groups of cases (publish, signers, verify, publish3, pull_verified, bridge); each case records
in build/bench.json which docker CLI (and tools) each side ran (docker_cli).

Peak memory is the largest peak RSS (VmHWM) seen of any module process during the
collection runs.  Results: a table on stdout and build/bench.json, then the slopes (how the
time grows from the smallest to the largest size, next to the bare loop's) and the goals of
issue 14: the bench exits non-zero while one is missed.  The pipelining column is one extra
collection run with ANSIBLE_PIPELINING=1 (an extra, not the headline).

`make bench` runs every size (n=1000 and 1000 repositories with --big-reps repetitions);
for a quick check: --reps 1 --sizes 3 --repos 4 --verify 3 --oci 10.
"""

import argparse
import json
import os
import secrets as pysecrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

from conftest import Stack, common, install_publisher_certificate, proc_cmdlines, run_module  # noqa: E402  (the test harness's stack and module runner)
from oci_cases import OciCases  # noqa: E402  (the cases after Notary, issue 24)

PLAYBOOKS = os.path.join(ROOT, 'playbooks')
BIN = os.path.dirname(sys.executable)
# Repositories per `docker trust signer add` while setting up signers_noop (about 25 ms a repository).
SETUP_CHUNK = 250
ROLES = ('root', 'targets', 'snapshot', 'targets/releases', 'targets/jeff', 'targets/alice')


# The argv of a module run with pipelining: the interpreter of the bench's inventory, with no argument.
PIPELINED_MODULE = sys.executable.encode()


class RssWatch(object):
    """Peak RSS of the module processes Ansible starts: AnsiballZ wrappers and their python, and with pipelining
    (the consumer playbooks turn it on) the interpreter alone, reading the module from its stdin."""

    def __init__(self):
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            for pid, cmd in proc_cmdlines():
                if b'AnsiballZ_' not in cmd and cmd.rstrip(b'\0') != PIPELINED_MODULE:
                    continue
                try:
                    with open('/proc/%s/status' % pid) as f:
                        for line in f:
                            if line.startswith('VmHWM:'):
                                self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                except (IOError, OSError, ValueError):
                    continue
            time.sleep(0.02)

    def stop(self):
        self._stop.set()
        self._thread.join(2)


class Bench(OciCases):
    def __init__(self, args):
        self.args = args
        self.stack = Stack()
        self.stack.check = lambda: None
        self.work = tempfile.mkdtemp(prefix='content-trust-bench-')
        self.config = os.path.join(self.work, 'docker')
        os.makedirs(self.config, 0o700)
        install_publisher_certificate(self.config)  # the stack's Notary refuses writes without it
        self.passes = dict(root=pysecrets.token_urlsafe(16), repository=pysecrets.token_urlsafe(16),
                           jeff=pysecrets.token_urlsafe(16), alice=pysecrets.token_urlsafe(16))
        self.secrets_file = os.path.join(self.work, 'secrets.json')
        with open(os.open(self.secrets_file, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
            json.dump({'content_trust_root_passphrase': self.passes['root'],
                       'content_trust_repository_passphrase': self.passes['repository'],
                       'content_trust_signer_passphrase': self.passes['jeff']}, f)
        self.keys = {}
        for name in ('jeff', 'alice'):
            res = run_module('trust_key', common(self.stack, self.config, signer=name, passphrase=self.passes[name]),
                             secrets=list(self.passes.values()))
            assert not res.get('failed'), res
            self.keys[name] = res['public_key']
        self.source = 'bench/src:latest'
        self.stack.build_image(self.config, self.source, content='bench ' + uuid.uuid4().hex)
        self.rss = RssWatch()
        self.cases = []
        self.published = {}

    # --- the two sides ---------------------------------------------------------------

    def playbook(self, name, extra, check=False, pipelining=False):
        inv = os.path.join(self.work, 'inventory-%s.json' % uuid.uuid4().hex[:8])
        host = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
        with open(inv, 'w') as f:
            json.dump({'all': {'hosts': {'localhost': host},
                               'children': {'signing_hosts': {'hosts': {'localhost': {}}},
                                            'trust_admins': {'hosts': {'localhost': {}}},
                                            'deploy_hosts': {'hosts': {'localhost': {}}}}}}, f)
        varfile = os.path.join(self.work, 'vars-%s.json' % uuid.uuid4().hex[:8])
        common_vars = {'content_trust_docker_config': self.config, 'content_trust_server': self.stack.notary_url,
                       'content_trust_docker_host': self.stack.docker_host,
                       'content_trust_report_dir': os.path.join(self.work, 'reports')}
        common_vars.update(extra)
        with open(varfile, 'w') as f:
            json.dump(common_vars, f)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
                   ANSIBLE_NOCOLOR='1', ANSIBLE_HOST_KEY_CHECKING='False', PATH=BIN + ':' + os.environ['PATH'])
        env.pop('PYTHONPATH', None)
        env['ANSIBLE_PIPELINING'] = '1' if pipelining else '0'
        if os.environ.get('CT_BENCH_LOG_DIR'):
            # For profiles: each run's log (task start times) in a file of its own.
            self.log_count = getattr(self, 'log_count', 0) + 1
            env['ANSIBLE_LOG_PATH'] = os.path.join(os.environ['CT_BENCH_LOG_DIR'], '%03d-%s.log' % (self.log_count, name))
        argv = [os.path.join(BIN, 'ansible-playbook'), '-i', inv, os.path.join(PLAYBOOKS, name),
                '-e', '@' + varfile, '-e', '@' + self.secrets_file]
        if check:
            argv.append('--check')
        start = time.time()
        proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        took = time.time() - start
        out = proc.stdout.decode()
        if proc.returncode != 0:
            raise SystemExit('%s failed:\n%s' % (name, out[-3000:]))
        changed = [int(x) for x in __import__('re').findall(r'changed=(\d+)', out)]
        return took, sum(changed)

    def cli_env(self):
        env = self.stack.cli_env(self.config)
        env['DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE'] = self.passes['root']
        env['DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'] = self.passes['jeff']
        return env

    def cli_loop(self, argvs):
        """The shell loop, one docker process after another (passphrases in the environment,
        as a CI script would have them)."""
        env = self.cli_env()
        start = time.time()
        for argv in argvs:
            proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, check=False)
            if proc.returncode != 0 and argv[1:3] != ['trust', 'inspect']:
                raise SystemExit('%s failed: %s' % (' '.join(argv), proc.stderr.decode()[-500:]))
        return time.time() - start

    def add_signer_cli(self, repo, name='jeff'):
        pub = os.path.join(self.work, name + '.pub')
        with open(pub, 'w') as f:
            f.write(self.keys[name])
        env = self.cli_env()
        env['DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'] = self.passes['repository']
        subprocess.run([self.stack.docker_cli, 'trust', 'signer', 'add', '--key', pub, name, repo], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, check=True)

    def moved(self, gun, before):
        after = self.stack.versions(gun, ROLES)
        return sum(after[r] - before[r] for r in ROLES)

    # --- cases -----------------------------------------------------------------------

    def reps(self, n):
        return self.args.big_reps if n >= 1000 else self.args.reps

    def publish(self, n):
        first = {'coll': [], 'cli': [], 'moved': []}
        noop = {'coll': [], 'cli': [], 'moved': [], 'cli_moved': []}
        for rep in range(self.reps(n)):
            tags = ['t%03d' % i for i in range(n)]
            coll_repo = '%s/bench/pub%d-%d-coll-%s' % (self.stack.registry, n, rep, uuid.uuid4().hex[:6])
            cli_repo = '%s/bench/pub%d-%d-cli-%s' % (self.stack.registry, n, rep, uuid.uuid4().hex[:6])
            res = run_module('trust_signer', common(self.stack, self.config, repository=coll_repo, signer='jeff',
                                                    public_keys=[self.keys['jeff']], root_passphrase=self.passes['root'],
                                                    repository_passphrase=self.passes['repository']),
                             secrets=list(self.passes.values()))
            assert not res.get('failed'), res
            self.add_signer_cli(cli_repo)
            release = {'content_trust_release_version': tags[0], 'content_trust_release_signer': 'jeff',
                       'content_trust_release_images': [{'repository': coll_repo, 'source': self.source,
                                                         'tags': tags[1:]}]}
            before = self.stack.versions(coll_repo, ROLES)
            took, dummy = self.playbook('publish_release.yml', release)
            first['coll'].append(took)
            first['moved'].append(self.moved(coll_repo, before))
            loop = []
            for t in tags:
                loop.append([self.stack.docker_cli, 'tag', self.source, '%s:%s' % (cli_repo, t)])
                loop.append([self.stack.docker_cli, 'trust', 'sign', '%s:%s' % (cli_repo, t)])
            first['cli'].append(self.cli_loop(loop))

            before = self.stack.versions(coll_repo, ROLES)
            took, changed = self.playbook('publish_release.yml', release)
            noop['coll'].append(took)
            noop['moved'].append(self.moved(coll_repo, before) + changed)
            cli_before = self.stack.versions(cli_repo, ROLES)
            noop['cli'].append(self.cli_loop(loop))
            noop['cli_moved'].append(self.moved(cli_repo, cli_before))
        piped = {}
        if self.args.pipelining:
            # the same release once more with pipelining, on a fresh repository (first) and again (noop)
            repo = '%s/bench/pub%d-pipe-%s' % (self.stack.registry, n, uuid.uuid4().hex[:6])
            res = run_module('trust_signer', common(self.stack, self.config, repository=repo, signer='jeff',
                                                    public_keys=[self.keys['jeff']], root_passphrase=self.passes['root'],
                                                    repository_passphrase=self.passes['repository']),
                             secrets=list(self.passes.values()))
            assert not res.get('failed'), res
            piped_release = dict(release, content_trust_release_images=[dict(release['content_trust_release_images'][0],
                                                                             repository=repo)])
            piped['first'], dummy = self.playbook('publish_release.yml', piped_release, pipelining=True)
            piped['noop'], dummy = self.playbook('publish_release.yml', piped_release, pipelining=True)
        self.add('publish_first', n, first['coll'], first['cli'], max(first['moved']), piped=piped.get('first'))
        self.add('publish_noop', n, noop['coll'], noop['cli'], max(noop['moved']), piped=piped.get('noop'),
                 note='bare loop moved %d TUF versions' % max(noop['cli_moved']))
        self.published[n] = (coll_repo, cli_repo, release)
        return self.published[n]

    def verify(self, n):
        """verify_release.yml of an n-tag release against the loop of inspect + trusted pull per tag."""
        coll_repo, cli_repo, release = self.publish_for_verify(n)
        tags = [release['content_trust_release_version']] + release['content_trust_release_images'][0]['tags']
        extra = dict(release, content_trust_verify_hosts='signing_hosts')
        coll, cli = [], []
        for rep in range(self.reps(n)):
            took, dummy = self.playbook('verify_release.yml', extra)
            coll.append(took)
            loop = []
            for t in tags:
                loop.append([self.stack.docker_cli, 'trust', 'inspect', '%s:%s' % (cli_repo, t)])
                loop.append([self.stack.docker_cli, 'pull', '-q', '%s:%s' % (cli_repo, t)])
            env_loop = self.cli_loop_trusted(loop)
            cli.append(env_loop)
        piped = None
        if self.args.pipelining:
            piped, dummy = self.playbook('verify_release.yml', extra, pipelining=True)
        self.add('verify_release', n, coll, cli, 0, piped=piped)

    def publish_for_verify(self, n):
        """A repository with n signed tags on each side (the collection's and the loop's), reused from
        publish() when that ran at this size."""
        if n in self.published:
            return self.published[n]
        tags = ['t%03d' % i for i in range(n)]
        coll_repo = '%s/bench/ver%d-coll-%s' % (self.stack.registry, n, uuid.uuid4().hex[:6])
        cli_repo = '%s/bench/ver%d-cli-%s' % (self.stack.registry, n, uuid.uuid4().hex[:6])
        res = run_module('trust_signer', common(self.stack, self.config, repository=coll_repo, signer='jeff',
                                                public_keys=[self.keys['jeff']], root_passphrase=self.passes['root'],
                                                repository_passphrase=self.passes['repository']),
                         secrets=list(self.passes.values()))
        assert not res.get('failed'), res
        self.add_signer_cli(cli_repo)
        release = {'content_trust_release_version': tags[0], 'content_trust_release_signer': 'jeff',
                   'content_trust_release_images': [{'repository': coll_repo, 'source': self.source, 'tags': tags[1:]}]}
        self.playbook('publish_release.yml', release)
        loop = []
        for t in tags:
            loop.append([self.stack.docker_cli, 'tag', self.source, '%s:%s' % (cli_repo, t)])
            loop.append([self.stack.docker_cli, 'trust', 'sign', '%s:%s' % (cli_repo, t)])
        self.cli_loop(loop)
        self.published[n] = (coll_repo, cli_repo, release)
        return self.published[n]

    def cli_loop_trusted(self, argvs):
        """The consumer's loop: DOCKER_CONTENT_TRUST=1, so that docker pull checks the signature
        (docker 28 and older; 29 ignores it)."""
        env = self.cli_env()
        env['DOCKER_CONTENT_TRUST'] = '1'
        start = time.time()
        for argv in argvs:
            proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, check=False)
            if proc.returncode != 0:
                raise SystemExit('%s failed: %s' % (' '.join(argv), proc.stderr.decode()[-500:]))
        return time.time() - start

    def add_signers(self, repos, names):
        """Each repository initialized with the signers ``names``: ``docker trust signer add`` takes many
        repositories per call and decrypts the root and repository keys once per call, where trust_signer
        (a module run per signer and repository, as sync_signers.yml would do it) costs about 1 s a
        repository on this machine.  Whether the result is exactly the inventory is checked by the
        collection afterwards (a sync_signers.yml run that must change nothing)."""
        env = self.cli_env()
        env['DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE'] = self.passes['repository']
        for name in names:
            pub = os.path.join(self.work, name + '.pub')
            with open(pub, 'w') as f:
                f.write(self.keys[name])
            for i in range(0, len(repos), SETUP_CHUNK):
                argv = [self.stack.docker_cli, 'trust', 'signer', 'add', '--key', pub, name] + repos[i:i + SETUP_CHUNK]
                proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      stdin=subprocess.DEVNULL, check=False, timeout=600)
                if proc.returncode != 0:
                    raise SystemExit('signers_noop set-up: docker trust signer add %s failed: %s'
                                     % (name, proc.stderr.decode()[-500:]))

    def signers(self, count):
        repos = ['%s/bench/signers-%03d-%s' % (self.stack.registry, i, uuid.uuid4().hex[:6]) for i in range(count)]
        inventory = {'content_trust_repositories': [
            {'repository': r, 'exclusive': True,
             'signers': [{'name': 'jeff', 'public_key': self.keys['jeff']},
                         {'name': 'alice', 'public_key': self.keys['alice']}]} for r in repos]}
        start = time.time()
        self.add_signers(repos, ('jeff', 'alice'))
        created = time.time() - start
        # The inventory is in place: the collection's own run must agree (and warms the caches
        # of both sides, as the runs below see them).
        check, changed = self.playbook('sync_signers.yml', inventory)
        if changed:
            raise SystemExit('signers_noop: sync_signers.yml changed %d things right after the set-up' % changed)
        print('signers_noop: set up %d repositories x 2 signers in %.1f s (checked with sync_signers.yml: %.1f s, '
              'changed=0)' % (count, created, check), flush=True)
        coll, cli, moved = [], [], []
        for rep in range(self.reps(count)):
            before = dict((r, self.stack.versions(r, ('targets', 'targets/releases'))) for r in repos[:5])
            took, changed = self.playbook('sync_signers.yml', inventory)
            coll.append(took)
            moved.append(changed + sum(self.stack.versions(r, ('targets', 'targets/releases'))[k] - before[r][k]
                                       for r in repos[:5] for k in ('targets', 'targets/releases')))
            cli.append(self.cli_loop([[self.stack.docker_cli, 'trust', 'inspect', r] for r in repos]))
        piped = None
        if self.args.pipelining:
            piped, dummy = self.playbook('sync_signers.yml', inventory, pipelining=True)
        self.add('signers_noop', count, coll, cli, max(moved), piped=piped)

    def add(self, name, n, coll, cli, moved, note=None, piped=None, clis=None):
        # Which docker CLI (and tools) each side ran.
        clis = clis or dict(collection=self.stack.docker_cli, cli=self.stack.docker_cli)
        case = dict(name=name, n=n, collection_s=round(statistics.median(coll), 2), docker_cli=clis,
                    cli_s=round(statistics.median(cli), 2), tuf_versions_moved=moved,
                    peak_rss_mb=round(self.rss.peak_kb / 1024.0, 1),
                    runs=dict(collection_s=[round(x, 2) for x in coll], cli_s=[round(x, 2) for x in cli]))
        case['ratio'] = round(case['collection_s'] / case['cli_s'], 2) if case['cli_s'] else None
        case['pipelining_s'] = round(piped, 2) if piped is not None else None
        if note:
            case['note'] = note
        self.cases.append(case)
        print('%-18s n=%-4d collection %6.2f s   cli %6.2f s   ratio %5.2f   tuf moved %d   peak rss %.1f MB'
              % (name, n, case['collection_s'], case['cli_s'], case['ratio'], moved, case['peak_rss_mb']), flush=True)


# Issue 14: ratio collection / bare loop, per (case, n).  A size not listed has no goal.
GOALS = {('publish_first', 20): 1.5, ('publish_first', 100): 0.5, ('publish_first', 1000): 0.3,
         ('publish_noop', 20): 1.2, ('publish_noop', 100): 0.35, ('publish_noop', 1000): 0.15,
         ('signers_noop', 100): 0.9, ('signers_noop', 1000): 0.5,
         ('verify_release', 100): 0.5,
         # Issue 24: the cases after Notary.
         ('publish3_first', 20): 1.0, ('publish3_first', 100): 0.5,
         ('publish3_noop', 20): 0.8, ('publish3_noop', 100): 0.3,
         ('pull_verified', 20): 1.0, ('pull_verified', 100): 0.5,
         ('pull_verified_noop', 20): 0.6, ('pull_verified_noop', 100): 0.3,
         ('bridge', 20): 1.0, ('bridge', 100): 0.5}
# The cases whose goal is a ratio alone (nothing on Notary to count: they publish, or move no TUF version).
FIRST_CASES = ('publish_first', 'publish3_first', 'pull_verified', 'bridge')
RSS_GOAL_MB = 100  # peak RSS of any module, at n=1000


OCI_CASES = ('publish3_first', 'publish3_noop', 'pull_verified', 'pull_verified_noop', 'bridge')
CASES = ('publish', 'signers', 'verify', 'publish3', 'pull_verified', 'bridge')


def slopes(cases):
    """Per case: the time at the smallest and the largest n, and how much it grew, for the
    collection and for the bare loop."""
    rows = []
    for name in sorted(set(c['name'] for c in cases)):
        sized = sorted((c for c in cases if c['name'] == name), key=lambda c: c['n'])
        if len(sized) < 2:
            continue
        lo, hi = sized[0], sized[-1]
        rows.append(dict(name=name, n_from=lo['n'], n_to=hi['n'],
                         collection=[lo['collection_s'], hi['collection_s']], cli=[lo['cli_s'], hi['cli_s']],
                         collection_growth=round(hi['collection_s'] / lo['collection_s'], 1) if lo['collection_s'] else None,
                         cli_growth=round(hi['cli_s'] / lo['cli_s'], 1) if lo['cli_s'] else None,
                         collection_per_item_ms=round(1000 * (hi['collection_s'] - lo['collection_s']) / (hi['n'] - lo['n']), 1),
                         cli_per_item_ms=round(1000 * (hi['cli_s'] - lo['cli_s']) / (hi['n'] - lo['n']), 1)))
    return rows


def goals(cases):
    """(description, goal, measured, met) for every goal of issue 14 this run measured."""
    rows = []
    for c in cases:
        goal = GOALS.get((c['name'], c['n']))
        if goal is None:
            continue
        ok = c['ratio'] is not None and c['ratio'] <= goal and (c['name'] in FIRST_CASES or c['tuf_versions_moved'] == 0)
        c['goal'] = goal
        c['meets_goal'] = ok
        rows.append(('%s n=%d ratio%s' % (c['name'], c['n'], '' if c['name'] in FIRST_CASES else ', 0 TUF moved'),
                     '<= %.2f' % goal, '%.2f (moved %d)' % (c['ratio'], c['tuf_versions_moved']), ok))
    big = [c for c in cases if c['n'] >= 1000 or c['name'] in OCI_CASES]
    if big:
        peak = max(c['peak_rss_mb'] for c in big)
        # 0: no module process was seen, nothing was measured - never a pass.
        rows.append(('peak RSS of any module (n=1000, after Notary)', '< %d MB' % RSS_GOAL_MB, '%.1f MB' % peak,
                     0 < peak < RSS_GOAL_MB))
    return rows


def sizes(text):
    return [int(x) for x in text.split(',') if x.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--reps', type=int, default=3, help='repetitions of each case below n=1000')
    parser.add_argument('--big-reps', type=int, default=1, help='repetitions of the n=1000 cases')
    parser.add_argument('--sizes', default='20,100,1000', help='tags per release of publish_first/publish_noop')
    parser.add_argument('--repos', default='100,1000', help='repositories of signers_noop')
    parser.add_argument('--verify', default='100', help='tags per release of verify_release')
    parser.add_argument('--oci', default='20,100',
                        help='tags of publish3_first/publish3_noop, pull_verified(_noop) and bridge (issue 24)')
    parser.add_argument('--cases', default=','.join(CASES),
                        help='which groups of cases to run (default all: %s)' % ','.join(CASES))
    parser.add_argument('--no-pipelining', dest='pipelining', action='store_false',
                        help='skip the extra runs with ANSIBLE_PIPELINING=1')
    parser.add_argument('--out', default=os.path.join(ROOT, 'build', 'bench.json'))
    args = parser.parse_args()
    bench = Bench(args)
    run = set(args.cases.split(','))
    unknown = run - set(CASES)
    if unknown:
        parser.error('--cases: unknown %s (known: %s)' % (', '.join(sorted(unknown)), ', '.join(CASES)))
    try:
        for n in sizes(args.sizes) if 'publish' in run else []:
            bench.publish(n)
        for count in sizes(args.repos) if 'signers' in run else []:
            bench.signers(count)
        for n in sizes(args.verify) if 'verify' in run else []:
            bench.verify(n)
        for group in ('publish3', 'pull_verified', 'bridge'):
            for n in sizes(args.oci) if group in run else []:
                getattr(bench, group)(n)
    finally:
        bench.rss.stop()
        # The work directory holds the bench's passphrases and keys: it goes whatever happened.
        shutil.rmtree(bench.work, ignore_errors=True)
    row = '%-18s %5s %13s %8s %7s %10s %12s %13s'
    print('\n' + row % ('case', 'n', 'collection s', 'cli s', 'ratio', 'tuf moved', 'peak rss MB', 'pipelining s'))
    for c in bench.cases:
        print(row % (c['name'], c['n'], '%.2f' % c['collection_s'], '%.2f' % c['cli_s'], '%.2f' % c['ratio'],
                     c['tuf_versions_moved'], '%.1f' % c['peak_rss_mb'],
                     '-' if c['pipelining_s'] is None else '%.2f' % c['pipelining_s']))
    slope_rows = slopes(bench.cases)
    if slope_rows:
        row = '%-18s %11s %22s %22s %16s %16s'
        print('\nslopes\n' + row % ('case', 'n', 'collection s (growth)', 'cli s (growth)', 'collection ms/n', 'cli ms/n'))
        for s in slope_rows:
            print(row % (s['name'], '%d->%d' % (s['n_from'], s['n_to']),
                         '%.2f->%.2f (x%s)' % (s['collection'][0], s['collection'][1], s['collection_growth']),
                         '%.2f->%.2f (x%s)' % (s['cli'][0], s['cli'][1], s['cli_growth']),
                         s['collection_per_item_ms'], s['cli_per_item_ms']))
    goal_rows = goals(bench.cases)
    missed = [g for g in goal_rows if not g[3]]
    row = '%-44s %9s %20s  %s'
    print('\ngoals (issues 14 and 24)\n' + row % ('goal', 'target', 'measured', 'verdict'))
    for g in goal_rows:
        print(row % (g[0], g[1], g[2], 'met' if g[3] else 'MISSED'))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump({'cases': bench.cases, 'slopes': slope_rows,
                   'goals': [dict(goal=g[0], target=g[1], measured=g[2], met=g[3]) for g in goal_rows],
                   'reps': args.reps, 'big_reps': args.big_reps, 'docker_cli': bench.stack.docker_cli}, f, indent=2)
    print('\nwrote %s' % args.out)
    if missed:
        print('%d of %d goals missed' % (len(missed), len(goal_rows)))
    return 1 if missed else 0


if __name__ == '__main__':
    sys.exit(main())
