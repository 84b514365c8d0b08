# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the checks of a release and its two reports.

Not a public API; it may change without notice.

* ``signature_checks``: one check per repository and tag, merging the Notary results (trust_verify's, or
  trust_push's ``verification``) with registered cosign_verify / notation_verify loops; a tag verifies only
  when every listed format verified it on the same digest (the ``signature_checks`` filter);
* ``release_report`` / ``release_markdown``: the report for machines (``release-<version>.json``) and the one
  for people (``release-<version>.md``), with no timestamps, so that they change only when the release does;
* ``verification_message``: what the release run shows, or why it fails.

Standard library only: the ``release_report`` action plugin runs it on the controller.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import FORMATS


# The fields of a check the JSON report keeps, in this order.
IMAGE_FIELDS = ('repository', 'tag', 'reference', 'digest', 'registry_digest', 'signers', 'pulled', 'verified',
                'problems', 'signatures')
REPOSITORY_FIELDS = ('repository', 'exists', 'signers', 'root_key_ids', 'repository_key_ids')


def _tag_results(registered):
    """``{(repository, tag): result}`` from a registered loop of cosign_verify/notation_verify."""
    out = {}
    for entry in registered or []:
        if not isinstance(entry, dict) or entry.get('skipped'):
            continue
        repository = (entry.get('item') or {}).get('repository') or entry.get('repository')
        for result in entry.get('results') or []:
            out[(repository, result['tag'])] = result
    return out


def check_formats(formats):
    """``formats`` as a list, or ValueError naming what is expected."""
    formats = list(formats or [])
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError('signature formats must be a non-empty list of %s, got %r' % (', '.join(FORMATS), formats))
    return formats


def signature_checks(notary_checks, formats, cosign=None, notation=None):
    """One check per repository and tag, in order, with ``signatures`` (format to bool), ``verified``,
    ``problems`` and ``line``.  ``notary_checks``: trust_verify's ``results`` (``signed_digest`` is taken as
    ``digest``) or checks of that shape; ``cosign``/``notation``: the ``results`` of registered loops."""
    formats = check_formats(formats)
    by_format = {'cosign': _tag_results(cosign), 'notation': _tag_results(notation)}
    checks = []
    if 'notary' in formats:
        for check in notary_checks or []:
            check = dict(check)
            if 'signed_digest' in check:  # trust_verify's results
                check['digest'] = check.pop('signed_digest')
            checks.append(check)
    else:
        seen = set()
        for fmt in ('cosign', 'notation'):
            for key, result in by_format[fmt].items():
                if key not in seen:
                    seen.add(key)
                    checks.append({'repository': key[0], 'tag': key[1], 'reference': '%s:%s' % key,
                                   'digest': result.get('digest'), 'registry_digest': result.get('digest'),
                                   'signers': [], 'pulled': None, 'verified': True, 'problems': []})
    for check in checks:
        key = (check['repository'], check['tag'])
        signatures = {}
        problems = list(check.get('problems') or [])
        if 'notary' in formats:
            signatures['notary'] = bool(check.get('verified'))
        for fmt in ('cosign', 'notation'):
            if fmt not in formats:
                continue
            result = by_format[fmt].get(key)
            if result is None:
                signatures[fmt] = False
                problems.append('%s: not verified' % fmt)
                continue
            ok = bool(result.get('verified'))
            if ok and check.get('digest') and result.get('digest') != check['digest']:
                ok = False
                problems.append('%s: verified %s, not the Notary-signed %s' % (fmt, result.get('digest'), check['digest']))
            elif not ok:
                problems.extend('%s: %s' % (fmt, p) for p in (result.get('problems') or ['not verified']))
            signatures[fmt] = ok
        check['signatures'] = signatures
        check['problems'] = problems
        check['verified'] = all(signatures.values())
        check['line'] = '%s  %s  %s  %s' % (
            check['reference'], check.get('digest') or '-',
            '  '.join('%s: %s' % (f, 'ok' if signatures[f] else 'NO') for f in formats),
            'verified' if check['verified'] else 'NOT VERIFIED: ' + '; '.join(problems))
    return checks


def release_report(release, signer, formats, server, checks, notary):
    """The report for machines: ``notary`` is trust_verify's result (or trust_push's ``verification``), or {}."""
    notary = notary or {}
    return {
        'release': release,
        'signer': signer,
        'signature_formats': list(formats),
        'notary_server': server or None,
        'verified': all(c.get('verified') for c in checks),
        # Which docker CLI read the trust data and how tags were pulled: by the signed digest through the
        # daemon, since docker 29 checks nothing on a trusted pull; the notary CLI reads the trust data
        # where docker has no docker trust.
        'verified_with': notary.get('verified_with'),
        'images': [dict((k, c.get(k)) for k in IMAGE_FIELDS) for c in checks],
        'repositories': [dict((k, r.get(k)) for k in REPOSITORY_FIELDS) for r in notary.get('repositories') or []],
    }


def report_json(report):
    """``release-<version>.json``: sorted keys, so that it is the same bytes for the same release."""
    return json.dumps(report, indent=2, sort_keys=True, separators=(',', ': '), ensure_ascii=False) + '\n'


def release_markdown(report, checks):
    """The report for people: what ``docker trust inspect --pretty`` shows, for every image of the release,
    and whether it verified."""
    release, signer, formats = report['release'], report['signer'], report['signature_formats']
    how = report['verified_with'] or {}
    failed = [c for c in checks if not c.get('verified')]
    out = ['# Release %s' % release, '']
    if failed:
        out.append('**NOT VERIFIED**: %d of %d image tags do not verify (see below).' % (len(failed), len(checks)))
    elif not how:
        out += ['**Verified**: every image tag carries a valid %s signature on the digest' % ' and '.join(formats),
                'the registry serves.']
    elif how.get('pull') == 'signed digest':
        out += ['**Verified**: every image tag is signed by `%s` with the digest the registry' % signer,
                'serves, and each image\'s `%s` pulls by its signed digest (checked in the pulled' % release,
                'image\'s `RepoDigests`), through the docker daemon, whatever the docker CLI: docker 29 and later',
                'verify nothing on `DOCKER_CONTENT_TRUST=1 docker pull`. The trust data was read and verified with',
                '`%s`.' % how.get('trust_data')]
    else:
        out += ['**Verified** (nothing pulled): every image tag is signed by `%s` with the digest the' % signer,
                'registry serves.']
    out += ['', '- Signer: `%s`' % signer,
            '- Signature formats: %s' % ', '.join(formats),
            '- Notary server: %s' % (report['notary_server'] or '(docker default for the registry)')]
    if how:
        out += ['- Notary signatures verified with: docker CLI `%s` %s;'
                % (how.get('docker_cli') or '-', how.get('docker_version') or ''),
                '  trust data read with `%s`; pull: %s' % (how.get('trust_data'), how.get('pull'))]
    out += ['', '## Signatures', '',
            '| Repository | Signed tag | Digest | Signers |%s Verified |' % ''.join(' %s |' % f for f in formats),
            '| --- | --- | --- | --- |%s --- |' % (' --- |' * len(formats))]
    for c in checks:
        digest = re.sub('^sha256:', '', c.get('digest') or '') or '-'
        out.append('| %s | %s | %s | %s |%s %s |' % (
            c['repository'], c['tag'], digest, ', '.join(c.get('signers') or []) or '-',
            ''.join(' %s |' % ('yes' if c['signatures'].get(f) else 'NO') for f in formats),
            'yes' if c.get('verified') else 'NO'))
    if failed:
        out += ['', '## Problems', '']
        out += ['- `%s`: %s' % (c['reference'], '; '.join(c.get('problems') or [])) for c in failed]
    for repo in report['repositories']:
        out += ['', '## %s' % repo['repository'], '']
        if repo.get('exists'):
            out += ['| Signer | Keys |', '| --- | --- |']
            out += ['| %s | %s |' % (s['name'], ', '.join(k[:12] for k in s.get('key_ids') or []))
                    for s in repo.get('signers') or []]
            out += ['', 'Administrative keys:', '',
                    '- Repository key: %s' % (', '.join(repo.get('repository_key_ids') or []) or '-'),
                    '- Root key: %s' % (', '.join(repo.get('root_key_ids') or []) or '-')]
        else:
            out.append('No trust data on the Notary server.')
    return '\n'.join(out) + '\n'


def verification_message(release, checks, shown=None):
    """``(verified, message)``: on success the lines to show (``shown`` first: what the run published, then
    a line per check); otherwise a text that names every image that does not verify, then every check."""
    shown = list(shown or [])
    lines = [c['line'] for c in checks]
    problems = [c for c in checks if c.get('problems')]
    if not problems:
        return True, shown + lines
    text = shown + ['Release %s does not verify:' % release]
    text += ['- %s: %s' % (c['reference'], '; '.join(c['problems'])) for c in problems]
    text += ['Every check:'] + lines
    return False, '\n'.join(text)
