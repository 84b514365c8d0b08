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

import os
from contextlib import contextmanager

from ansible_collections.openbanking.content_trust.plugins.action.report import ActionModule as ReportAction
from ansible_collections.openbanking.content_trust.plugins.module_utils import _report
from ansible_collections.openbanking.content_trust.plugins.module_utils._files import locked, read_regular
from ansible_collections.openbanking.content_trust.plugins.module_utils._revoked import revoked_checks

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
    revoked=dict(type='list', elements='raw', default=[]),
    mode=dict(type='raw', default='0644'),
)


def _release(value):
    release = value.strip()
    if not release or '/' in release or '\0' in release or release in ('.', '..'):
        raise ValueError('release must be a version that can name a file, got %r' % value)
    return release


class ActionModule(ReportAction):
    """The report action's writing (check mode, diff, atomic files), with the release's two reports as its files
    and the verification as its result."""

    ARGUMENT_SPEC = ARGUMENT_SPEC
    release = checks = None  # set by files(), shown by finish()

    @contextmanager
    def locked(self, args, mode):
        """Every signer's run updates the one report of a version, and two may run at once on this controller: the
        read, merge and write happen under a lock on ``.release-<version>.lock`` beside the report.  Check mode
        writes nothing, the lock file included (a report is replaced by a rename, so a read without the lock never
        sees half of it)."""
        release = _release(args['release'])
        if self._task.check_mode:
            yield
            return
        with locked(args['dest'], '.release-%s.lock' % release, mode):
            yield

    def files(self, args):
        release = self.release = _release(args['release'])
        formats = args['signature_formats']
        notary = args['notary'] or {}
        try:
            # signature_checks takes the Notary results only when notary is among the formats.
            self.checks = _report.signature_checks(notary.get('results'), formats, args['cosign'], args['notation'])
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError('the verification results do not have the expected shape: %s' % exc)
        # a tag of the revocation list passes only when it verifies in no format
        self.checks = revoked_checks(self.checks, args['revoked'])
        report = _report.release_report(release, args['signer'], formats, args['notary_server'], self.checks, notary)
        # The rows of other runs (another signer's repositories) stay; the rows this run checked are replaced.
        path = os.path.join(args['dest'], 'release-%s.json' % release)
        report = _report.merge_report(read_regular(path) if os.path.isdir(args['dest']) else None, report, path)
        return [('release-%s.json' % release, _report.report_json(report)),
                ('release-%s.md' % release, _report.release_markdown(report, report['images']))]

    def finish(self, args, result):
        verified, message = _report.verification_message(self.release, self.checks, args['published'])
        result.update(verified=verified, unverified=[c['reference'] for c in self.checks if c.get('problems')],
                      msg=message)
        if verified:
            # Shown without -v, as debug and assert show theirs.
            result['_ansible_verbose_always'] = True
        else:
            result['failed'] = True
        return result
