# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""openbanking.content_trust.release_report: the checks of a release, its two reports and the verification
shown, in one task on the controller (documented in plugins/modules/release_report.py).

Three tasks did this before (a set_fact of the checks, the report action with two templates, an assert);
each paid Ansible's cost of a task and of compiling its templates anew, about a tenth of a release re-run."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.openbanking.content_trust.plugins.module_utils import _report
from ansible_collections.openbanking.content_trust.plugins.module_utils._files import file_mode, sync_files

ARGUMENT_SPEC = dict(
    dest=dict(type='path', required=True),
    release=dict(type='str', required=True),
    signer=dict(type='str'),
    signature_formats=dict(type='list', elements='str', choices=list(_report.FORMATS), default=['notary']),
    notary_server=dict(type='str'),
    notary=dict(type='dict', default={}),
    cosign=dict(type='list', elements='raw', default=[]),
    notation=dict(type='list', elements='raw', default=[]),
    published=dict(type='list', elements='str', default=[]),
    mode=dict(type='raw', default='0644'),
)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        mode = file_mode(args['mode'])
        if mode is None:
            result.update(failed=True, msg='mode must be an octal file mode such as 0644, got %r' % (args['mode'],))
            return result
        release = args['release'].strip()
        if not release or '/' in release or '\0' in release or release in ('.', '..'):
            result.update(failed=True, msg='release must be a version that can name a file, got %r' % args['release'])
            return result
        formats = args['signature_formats']
        notary = args['notary'] or {}
        try:
            checks = _report.signature_checks(notary.get('results') or [] if 'notary' in formats else [], formats,
                                              args['cosign'], args['notation'])
        except (ValueError, KeyError, TypeError) as exc:
            result.update(failed=True, msg='the verification results do not have the expected shape: %s' % exc)
            return result
        report = _report.release_report(release, args['signer'], formats, args['notary_server'], checks, notary)
        files = [('release-%s.json' % release, _report.report_json(report)),
                 ('release-%s.md' % release, _report.release_markdown(report, checks))]
        try:
            changed, paths, diffs = sync_files(args['dest'], files, mode, check_mode=self._task.check_mode)
        except ValueError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        verified, message = _report.verification_message(release, checks, args['published'])
        result.update(changed=changed, paths=paths, verified=verified,
                      unverified=[c['reference'] for c in checks if c.get('problems')], msg=message)
        if self._task.diff and diffs:
            result['diff'] = diffs
        if verified:
            # Shown without -v, as debug and assert show theirs.
            result['_ansible_verbose_always'] = True
        else:
            result['failed'] = True
        return result
