# -*- coding: utf-8 -*-
"""The time of the trust_push module alone (no playbook): a first publish of N tags of one source image
into a fresh repository (set up with trust_signer, as bench.py's publish case does).

    /work/wt/pytest.sh's environment, then:
    python tests/bench/trust_push_alone.py 1000 [--reps R] [--profile OUT.prof] [--collections DIR]

--collections runs another copy of the collection (a directory holding ansible_collections/, e.g. a
``git archive`` of an older commit) to compare before and after a change; --profile runs the module
under cProfile.  Uses the shared local stack; every run makes a new repository.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'integration'))

import conftest  # noqa: E402  (the test harness's stack and module runner)
from conftest import JEFF_PASS, PYTHON, REPO_PASS, ROOT_PASS, Stack, common  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('n', type=int)
    ap.add_argument('--reps', type=int, default=1)
    ap.add_argument('--profile')
    ap.add_argument('--collections')
    args = ap.parse_args()
    if args.collections:
        conftest.COLLECTIONS = os.path.abspath(args.collections)
    stack = Stack()
    config = os.path.join(tempfile.mkdtemp(prefix='trust-push-alone-'), 'docker')
    os.makedirs(config, 0o700)
    jeff = conftest.run_module('trust_key', common(stack, config, signer='jeff', passphrase=JEFF_PASS))
    assert not jeff.get('failed'), jeff
    source = 'trust-push-alone/src:%s' % uuid.uuid4().hex[:8]
    stack.build_image(config, source, content='trust_push alone ' + uuid.uuid4().hex)
    for dummy in range(args.reps):
        repo = '%s/bench/alone%d-%s' % (stack.registry, args.n, uuid.uuid4().hex[:8])
        res = conftest.run_module('trust_signer', common(stack, config, repository=repo, signer='jeff',
                                                         public_keys=[jeff['public_key']], root_passphrase=ROOT_PASS,
                                                         repository_passphrase=REPO_PASS))
        assert not res.get('failed'), res
        tags = ['t%04d' % i for i in range(args.n)]
        push = common(stack, config, repository=repo, tags=tags, source=source, signer='jeff',
                      signer_passphrase=JEFF_PASS, repository_passphrase=REPO_PASS, timeout=600)
        start = time.time()
        if args.profile:
            fd, path = tempfile.mkstemp(suffix='.json')
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, 'w') as f:
                json.dump({'ANSIBLE_MODULE_ARGS': dict(push, _ansible_check_mode=False, _ansible_diff=False)}, f)
            try:
                proc = subprocess.run([PYTHON, '-m', 'cProfile', '-o', args.profile, '-m',
                                       'ansible_collections.openbanking.content_trust.plugins.modules.trust_push', path],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                                      env=dict(os.environ, PYTHONPATH=conftest.COLLECTIONS))
            finally:
                os.unlink(path)
            out = proc.stdout.decode()
            res = json.loads(out[out.index('{'):])
        else:
            res = conftest.run_module('trust_push', push, timeout=1200)
        took = time.time() - start
        assert not res.get('failed') and res['changed'], res
        assert all(r['signed'] and r['signers'] == ['jeff'] for r in res['results']), res['results'][:3]
        assert len(stack.tuf(repo, 'targets/releases')['signed']['targets']) == args.n
        print('n=%d trust_push first publish: %.2f s' % (args.n, took), flush=True)


if __name__ == '__main__':
    main()
