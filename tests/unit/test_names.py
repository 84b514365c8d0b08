# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The passphrase options belong to the modules that read them: documented (common.passphrases) and taken
as such there; every other module of the action group accepts them, documented as ignored
(common.ignored_passphrases), without a deprecation, so module_defaults of the group can set them once. Found by
reading each module's code, so a new module cannot get it wrong unnoticed."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ast
import os

import pytest
import yaml

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import CONNECTION_ARGUMENT_SPEC
from ansible_collections.openbanking.content_trust.plugins.doc_fragments.common import ModuleDocFragment

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = os.path.join(ROOT, 'plugins', 'modules')
# report, release_report and drift are action plugins that run on the controller: no docker, no Notary, none of the
# shared options.
CONTROLLER_ONLY = ('report', 'release_report', 'drift')
NAMES = sorted(f[:-3] for f in os.listdir(MODULES) if f.endswith('.py') and not f.startswith('_')
               and f[:-3] not in CONTROLLER_ONLY)
PASSPHRASES = ('root_passphrase', 'repository_passphrase')


def parts(name):
    """(DOCUMENTATION as YAML, the code without DOCUMENTATION/EXAMPLES/RETURN, the build_module call)."""
    with open(os.path.join(MODULES, name + '.py')) as f:
        tree = ast.parse(f.read())
    docs, code, call = {}, [], None
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id in ('DOCUMENTATION', 'EXAMPLES', 'RETURN'):
            docs[node.targets[0].id] = node.value.value
        else:
            code.append(node)
    for node in ast.walk(ast.Module(body=code, type_ignores=[])):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'build_module':
            call = node
    strings = set(n.value for n in ast.walk(ast.Module(body=code, type_ignores=[]))
                  if isinstance(n, ast.Constant) and isinstance(n.value, str))
    return yaml.safe_load(docs['DOCUMENTATION']), strings, call


def passphrases_keyword(call):
    for kw in call.keywords:
        if kw.arg == 'passphrases':
            return ast.literal_eval(kw.value)
    return True


@pytest.mark.parametrize('name', NAMES)
def test_passphrase_options_only_where_they_are_read(name):
    doc, strings, call = parts(name)
    fragments = doc['extends_documentation_fragment']
    assert 'openbanking.content_trust.common' in fragments, name
    reads = bool(strings & set(PASSPHRASES))
    assert ('openbanking.content_trust.common.passphrases' in fragments) is reads, name
    ignored = 'openbanking.content_trust.common.ignored_passphrases' in fragments
    assert ignored is not reads, name
    assert passphrases_keyword(call) == (True if reads else 'ignored'), name


def test_no_module_option_is_deprecated_or_aliased_to_a_removed_name():
    # Nothing was published before the first release, so nothing is deprecated: an option with removed_in_version
    # would warn on every module_defaults of the group.
    from ansible_collections.openbanking.content_trust.plugins.module_utils._common import COMMON_ARGUMENT_SPEC
    for spec in COMMON_ARGUMENT_SPEC.values():
        assert 'removed_in_version' not in spec and 'deprecated_aliases' not in spec
    for name in NAMES:
        doc = parts(name)[0]
        for option, spec in (doc.get('options') or {}).items():
            assert 'deprecated' not in spec, (name, option)
            assert 'deprecated' not in ' '.join(spec.get('description') or []).lower(), (name, option)


def test_a_module_that_ignores_the_passphrases_is_built_with_them(monkeypatch):
    from ansible_collections.openbanking.content_trust.plugins.module_utils import _module
    seen = {}

    class Fake(object):
        params = {}
        argument_spec = {}

        def __init__(self, argument_spec, **kwargs):
            seen.update(argument_spec)
            self.argument_spec = argument_spec

    monkeypatch.setattr(_module, 'TrustModule', Fake)
    monkeypatch.setattr(_module, 'check_aliases', lambda m: None)
    monkeypatch.setattr(_module, 'check_passphrases', lambda m: None)
    _module.build_module(dict(x=dict(type='str')), passphrases='ignored')
    assert set(PASSPHRASES) <= set(seen) and not any('removed_in_version' in seen[p] for p in PASSPHRASES)
    with pytest.raises(ValueError):
        _module.build_module({}, passphrases='deprecated')


def test_the_modules_that_write_trust_data_read_the_passphrases():
    assert [n for n in NAMES if set(PASSPHRASES) & parts(n)[1]] == \
        ['trust_migrate', 'trust_push', 'trust_revoke', 'trust_signer']


def test_connection_options_are_written_once():
    common = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']
    notary = yaml.safe_load(ModuleDocFragment.NOTARY)['options']
    ignored = yaml.safe_load(ModuleDocFragment.NOTARY_IGNORED)['options']
    passphrases = yaml.safe_load(ModuleDocFragment.PASSPHRASES)['options']
    assert not set(common) & set(notary)
    assert set(common) | set(notary) == set(CONNECTION_ARGUMENT_SPEC)
    # the modules that run neither docker nor notary take the same options, so module_defaults of the group work
    assert set(ignored) == set(notary)
    assert set(passphrases) == set(PASSPHRASES)


@pytest.mark.parametrize('name', NAMES)
def test_each_module_documents_the_notary_options_as_used_or_as_ignored(name):
    fragments = parts(name)[0]['extends_documentation_fragment']
    used = 'openbanking.content_trust.common.notary' in fragments
    ignored = 'openbanking.content_trust.common.notary_ignored' in fragments
    assert used != ignored, name
    # a module that reads trust data or talks to Notary runs the CLIs the notary fragment documents
    with open(os.path.join(MODULES, name + '.py')) as f:
        code = f.read()
    words = ('TrustReader', '_verified_pull', '_transaction', '_migration', 'check_release', 'read_trust')
    assert used == any(word in code for word in words), name
