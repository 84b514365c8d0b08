# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The passphrase options belong to the modules that read them: documented (common.passphrases) and taken
as such there, deprecated everywhere else; found by reading each module's code, so a new module cannot
get it wrong unnoticed."""

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
    deprecated = 'openbanking.content_trust.common.deprecated_passphrases' in fragments
    if reads:
        assert passphrases_keyword(call) is True and not deprecated, name
    elif name in ('trust_pull', 'containers_policy'):  # never took them
        assert passphrases_keyword(call) is False and not deprecated
    else:
        assert passphrases_keyword(call) == 'deprecated' and deprecated, name


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
