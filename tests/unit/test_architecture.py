# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""docs/architecture.md stays true: every module_utils file has its row and its imports as the code has them, no
import cycle (lazy imports included), no file over the size a concept should need, and the two modules that grew
kept small."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ast
import io
import os
import re
import tokenize

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UTILS = os.path.join(ROOT, 'plugins', 'module_utils')
DOC = os.path.join(ROOT, 'docs', 'architecture.md')
IMPORT_RE = re.compile(r'plugins\.module_utils\.(\w+) import')
MAX_LINES = 450
DOC_BLOCKS = ('DOCUMENTATION', 'EXAMPLES', 'RETURN')


def utils_files():
    return sorted(f for f in os.listdir(UTILS) if f.endswith('.py') and f != '__init__.py')


def imports_of(name):
    """The collection's module_utils a file imports, anywhere in it (a function's lazy import too)."""
    with open(os.path.join(UTILS, name)) as f:
        return sorted(set(IMPORT_RE.findall(f.read())) - {name[:-3]})


def documented_imports():
    """``{file: [imports]}`` of the table under "Who imports whom" in docs/architecture.md."""
    with open(DOC) as f:
        text = f.read()
    section = text[text.index('## Who imports whom'):]
    section = section[:section.index('\n## ', 1)] if '\n## ' in section[1:] else section
    rows = {}
    for line in section.splitlines():
        m = re.match(r'^\| `(_\w+\.py)` \| (.*) \|$', line)
        if m:
            rows[m.group(1)] = sorted(re.findall(r'`(_\w+)`', m.group(2)))
    return rows


def code_lines(path):
    """Lines of code: no DOCUMENTATION/EXAMPLES/RETURN, docstrings, comments or blank lines."""
    with open(path) as f:
        src = f.read()
    skip = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', None) in DOC_BLOCKS:
            skip.update(range(node.lineno, node.end_lineno + 1))
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body \
                and isinstance(node.body[0], ast.Expr) and isinstance(getattr(node.body[0], 'value', None), ast.Constant) \
                and isinstance(node.body[0].value.value, str):
            skip.update(range(node.body[0].lineno, node.body[0].end_lineno + 1))
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                        tokenize.ENDMARKER):
            continue
        lines.update(line for line in range(tok.start[0], tok.end[0] + 1) if line not in skip)
    return len(lines)


def test_every_module_utils_file_has_its_row_in_what_lives_where():
    with open(DOC) as f:
        text = f.read()
    table = text[text.index('## What lives where'):text.index('\n## ', text.index('## What lives where') + 1)]
    rows = set(re.findall(r'^\| `(_\w+\.py)` \|', table, re.M))
    assert rows == set(utils_files()), (sorted(set(utils_files()) - rows), sorted(rows - set(utils_files())))


def test_who_imports_whom_is_what_the_code_imports():
    documented = documented_imports()
    actual = dict((name, imports_of(name)) for name in utils_files())
    wrong = dict((name, (documented.get(name), actual[name])) for name in actual if documented.get(name) != actual[name])
    assert not wrong, 'docs/architecture.md "Who imports whom" (documented, actual): %s' % wrong


def test_no_import_cycle_among_module_utils_lazy_imports_included():
    graph = dict((name[:-3], imports_of(name)) for name in utils_files())

    def visit(node, path):
        for nxt in graph.get(node, ()):
            assert nxt not in path, 'import cycle: %s' % ' -> '.join(path[path.index(nxt):] + [nxt])
            visit(nxt, path + [nxt])

    for node in graph:
        visit(node, [node])


@pytest.mark.parametrize('name', utils_files())
def test_no_module_utils_file_grows_past_one_concept(name):
    with open(os.path.join(UTILS, name)) as f:
        assert len(f.read().splitlines()) <= MAX_LINES, '%s: split it by concept' % name


@pytest.mark.parametrize('module, limit', [('trust_push', 170), ('trust_migrate', 200)])
def test_the_modules_that_grew_stay_small(module, limit):
    assert code_lines(os.path.join(ROOT, 'plugins', 'modules', module + '.py')) <= limit
