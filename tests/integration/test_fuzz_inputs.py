# -*- coding: utf-8 -*-
"""Bad-input fuzz over every module's options: each rejection is a clean fail_json message.

Hypothesis draws values of the wrong shape and content for the options each module
documents; whatever it draws, the module must answer with JSON, and a failure must carry a
message and no traceback.
"""

import glob
import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import ROOT, common, install_publisher_certificate, run_module

MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'plugins', 'modules', 'trust_*.py')))

# Values a user can really put in YAML: strings (often almost right), numbers, lists, maps.
almost = st.sampled_from(['', ' ', 'releases', 'Jeff', 'jeff', 'a/b', 'x' * 300, '-----BEGIN PUBLIC KEY-----',
                          '-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----',
                          'acme/app', 'acme/app:v1', 'ACME/app', 'acme/app@sha256:00', '127.0.0.1:5000/a/b:',
                          'http://127.0.0.1:4443', '../../etc/passwd', 'v1.0.0', '.bad', '[0', 'none'])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10 ** 6), almost, st.text(max_size=40))
values = st.one_of(scalars, st.lists(scalars, max_size=4), st.dictionaries(st.text(max_size=5), scalars, max_size=2))


def option_names(module):
    from ansible_collections.openbanking.content_trust.plugins.module_utils._common import COMMON_ARGUMENT_SPEC
    import importlib
    mod = importlib.import_module('ansible_collections.openbanking.content_trust.plugins.modules.' + module)
    import yaml
    doc = yaml.safe_load(mod.DOCUMENTATION)
    return sorted((set(doc.get('options', {})) | set(['timeout', 'server'])) - set(['docker_cli', 'notary_cli']))


@pytest.mark.parametrize('module', MODULES)
def test_bad_inputs_fail_cleanly(stack, module):
    names = option_names(module)
    outcomes = []

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.dictionaries(st.sampled_from(names), values, min_size=1, max_size=4))
    def check(options):
        config = tempfile.mkdtemp(prefix='fuzz-config-')
        try:
            install_publisher_certificate(config)
            args = common(stack, config, timeout=20)
            args.update(options)
            res = run_module(module, args)
        finally:
            shutil.rmtree(config, ignore_errors=True)
        outcomes.append(bool(res.get('failed')))
        if res.get('failed'):
            assert res.get('msg'), res
            assert 'Traceback' not in str(res.get('module_stderr', '')) and 'exception' not in res, res
            assert 'unexpected error' not in res['msg'], res

    check()
    # the fuzz really exercised the rejection paths
    assert sum(outcomes) >= len(outcomes) // 2, outcomes
