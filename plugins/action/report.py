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

import os
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase

ARGUMENT_SPEC = dict(
    dest=dict(type='path', required=True),
    files=dict(type='list', elements='dict', required=True, options=dict(
        name=dict(type='str', required=True),
        content=dict(type='str', required=True),
    )),
    mode=dict(type='raw', default='0644'),
)


def _mode(value):
    """``0644``, ``'0644'`` or 420: the file mode as an int, or None when it is not one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= 0o7777 else None
    try:
        mode = int(str(value), 8)
    except ValueError:
        return None
    return mode if 0 <= mode <= 0o7777 else None


def _write(path, data, mode):
    """Write ``data`` to ``path`` atomically: a temporary file beside it, then a rename."""
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        mode = _mode(args['mode'])
        if mode is None:
            result.update(failed=True, msg='mode must be an octal file mode such as 0644, got %r' % (args['mode'],))
            return result
        dest = args['dest']
        names = [f['name'] for f in args['files']]
        bad = [n for n in names if not n or n in ('.', '..') or '/' in n or '\0' in n]
        if bad:
            result.update(failed=True, msg='files[].name must be a file name without a directory, got %s'
                          % ', '.join(repr(n) for n in bad))
            return result
        if len(set(names)) != len(names):
            result.update(failed=True, msg='files[].name must be unique, got %s' % ', '.join(names))
            return result
        if os.path.exists(dest) and not os.path.isdir(dest):
            result.update(failed=True, msg='dest %s exists and is not a directory' % dest)
            return result
        check_mode = self._task.check_mode
        changed, paths, diffs = False, [], []
        if not os.path.isdir(dest):
            changed = True
            if not check_mode:
                os.makedirs(dest, 0o755)
        for item in args['files']:
            path = os.path.join(dest, item['name'])
            data = to_bytes(item['content'], errors='surrogate_or_strict')
            old = None
            if os.path.isfile(path):
                with open(path, 'rb') as f:
                    old = f.read()
            if old != data:
                changed = True
                diffs.append(dict(before_header=path, after_header=path,
                                  before=to_text(old, errors='surrogate_or_replace') if old is not None else '',
                                  after=to_text(data, errors='surrogate_or_replace')))
                if not check_mode:
                    _write(path, data, mode)
            elif (os.stat(path).st_mode & 0o7777) != mode:
                changed = True
                if not check_mode:
                    os.chmod(path, mode)
            paths.append(path)
        result.update(changed=changed, paths=paths)
        if self._task.diff and diffs:
            result['diff'] = diffs
        return result
