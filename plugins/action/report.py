# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""openbanking.content_trust.report: write report files on the controller (documented in plugins/modules/report.py).

It runs where Ansible runs, with no module sent to any host: writing two small files through the
template module costs four module executions (a stat and a copy each), about a second of a release
run that otherwise takes a few."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from contextlib import contextmanager

from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.action import ActionBase

from ansible_collections.openbanking.content_trust.plugins.module_utils._files import (
    LockTimeout, file_mode, file_names_problem, sync_files,
)

ARGUMENT_SPEC = dict(
    dest=dict(type='path', required=True),
    files=dict(type='list', elements='dict', required=True, options=dict(
        name=dict(type='str', required=True),
        content=dict(type='str', required=True),
    )),
    mode=dict(type='raw', default='0644'),
)


class ActionModule(ActionBase):
    """Writes ``files`` into ``dest``; release_report (plugins/action/release_report.py) extends it with the files
    it makes and what it shows."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        mode = file_mode(args['mode'])
        if mode is None:
            result.update(failed=True, msg='mode must be an octal file mode such as 0644, got %r' % (args['mode'],),
                          error_kind='bad_input')
            return result
        try:
            with self.locked(args, mode):
                files = self.files(args)
                changed, paths, diffs = sync_files(args['dest'], files, mode, check_mode=self._task.check_mode)
        except ValueError as exc:
            result.update(failed=True, msg=str(exc), error_kind='bad_input')
            return result
        except LockTimeout as exc:
            result.update(failed=True, msg=str(exc), error_kind='timeout')
            return result
        result.update(changed=changed, paths=paths)
        if self._task.diff and diffs:
            result['diff'] = diffs
        return self.finish(args, result)

    @contextmanager
    def locked(self, args, mode):
        """Held while the files are made and written; release_report locks the release's report here."""
        yield

    def files(self, args):
        """``[(name, bytes)]`` to write, checked; ValueError says what is wrong before anything is written."""
        problem = file_names_problem([f['name'] for f in args['files']])
        if problem:
            raise ValueError('files[].name ' + problem)
        return [(f['name'], to_bytes(f['content'], errors='surrogate_or_strict')) for f in args['files']]

    def finish(self, args, result):
        """The result, once the files are written."""
        return result
