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
* ``merge_report``: the report of a version is one file that every signer's run updates: this run's checks
  replace the rows (repository and tag) it checked, every other row stays (another signer's);
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
# Besides IMAGE_FIELDS, each row of the report names the signers whose runs checked it (``checked_by``).


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
    """The report for machines of one run: ``signer`` is the run's signer (or None), ``notary`` trust_verify's
    result (or trust_push's ``verification``), or {}.  ``merge_report`` merges it into the existing report."""
    notary = notary or {}
    checked_by = [signer] if signer else []
    report = {
        'release': release,
        'signature_formats': list(formats),
        'notary_server': server or None,
        # Which docker CLI read the trust data and how tags were pulled: by the signed digest through the
        # daemon, since docker 29 checks nothing on a trusted pull; the notary CLI reads the trust data
        # where docker has no docker trust.
        'verified_with': notary.get('verified_with'),
        'images': [dict([(k, c.get(k)) for k in IMAGE_FIELDS], checked_by=list(checked_by)) for c in checks],
        'repositories': [dict((k, r.get(k)) for k in REPOSITORY_FIELDS) for r in notary.get('repositories') or []],
    }
    return _summarised(report, checked_by)


def _summarised(report, checked_by=()):
    """``report`` with what its rows decide: ``verified`` (every row verified), ``checked_by`` (every signer of
    a row; ``checked_by`` when there is no row) and ``signature_formats`` (every format of a row, in the order of
    FORMATS; the report's own when there is no row)."""
    rows = report['images']
    if rows:
        checked_by = set(s for row in rows for s in row['checked_by'])
        formats = set(f for row in rows for f in row['signatures'] or {})
        report['signature_formats'] = [f for f in FORMATS if f in formats]
    report['checked_by'] = sorted(set(checked_by))
    report['verified'] = all(row.get('verified') for row in rows)
    return report


class ReportProblem(ValueError):
    """An existing report that this collection cannot update."""


def _check_strings(value, what):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ReportProblem('%s must be a list of strings, got %r' % (what, value))


def parse_report(text, release):
    """The report of ``release`` that ``text`` (the JSON of ``release-<version>.json``, str or bytes) holds, with
    the fields ``merge_report`` reads checked; ReportProblem says what is wrong.  A report of an older collection
    (one ``signer``, no ``checked_by``) is read as checked by that signer."""
    if isinstance(text, bytes):
        try:
            text = text.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise ReportProblem('it is not UTF-8 text (%s)' % exc)
    try:
        report = json.loads(text)
    except ValueError as exc:
        raise ReportProblem('it is not JSON (%s)' % exc)
    if not isinstance(report, dict) or not isinstance(report.get('images'), list) or 'release' not in report:
        raise ReportProblem('it is not a release report: a JSON object with release and images was expected')
    if report['release'] != release:
        raise ReportProblem('it is the report of release %r, not of %r' % (report['release'], release))
    old_signer = report.get('signer')
    for i, row in enumerate(report['images']):
        what = 'images[%d]' % i
        if not isinstance(row, dict):
            raise ReportProblem('%s must be an object, got %r' % (what, row))
        for key in ('repository', 'tag'):
            if not isinstance(row.get(key), str) or not row[key]:
                raise ReportProblem('%s.%s must be a non-empty string, got %r' % (what, key, row.get(key)))
        if not isinstance(row.get('signatures'), dict) or not set(row['signatures']) <= set(FORMATS):
            raise ReportProblem('%s.signatures must map formats of %s to results, got %r'
                                % (what, ', '.join(FORMATS), row.get('signatures')))
        if 'checked_by' not in row:
            row['checked_by'] = [old_signer] if isinstance(old_signer, str) and old_signer else []
        _check_strings(row['checked_by'], what + '.checked_by')
    repositories = report.setdefault('repositories', [])
    if not isinstance(repositories, list) or not all(
            isinstance(r, dict) and isinstance(r.get('repository'), str) for r in repositories):
        raise ReportProblem('repositories must be a list of objects with a repository, got %r' % (repositories,))
    return report


def _merged(old, new, key):
    """``old`` with each entry of ``new`` in place of the entry of the same ``key``, new keys appended in order."""
    out = list(old)
    where = dict((key(e), i) for i, e in enumerate(out))
    for entry in new:
        if key(entry) in where:
            out[where[key(entry)]] = entry
        else:
            where[key(entry)] = len(out)
            out.append(entry)
    return out


def merge_report(existing, report, name='the existing report'):
    """The report of a release after this run: ``existing`` is the JSON of the report file (str or bytes) or None,
    ``report`` this run's (``release_report``).  Pure: the same inputs give the same report.

    - A row (repository and tag) this run checked replaces the existing row; its ``checked_by`` keeps the
      existing row's signers when both checked the same digest (another signer's check of another digest says
      nothing of this one).
    - Every other row stays, also of a repository this run does not list: it is another signer's.
    - ``repositories`` (the trust data) likewise, by repository; ``notary_server`` and ``verified_with`` are this
      run's when it has them; ``verified``, ``checked_by`` and ``signature_formats`` are decided by the rows.

    An ``existing`` that is not a report of this release fails (ValueError naming ``name``), rather than being
    replaced by a report that would lose its rows."""
    report = dict(report)
    if existing is None:
        return _summarised(report, report.get('checked_by') or [])
    try:
        old = parse_report(existing, report['release'])
    except ReportProblem as exc:
        raise ValueError('%s cannot be updated: %s. Nothing was written; move it away (the next run writes a report '
                         'of what it checks) or restore it from a copy' % (name, exc))

    def tag_key(row):
        return (row['repository'], row['tag'])

    previous = dict((tag_key(row), row) for row in old['images'])
    rows = []
    for row in report['images']:
        before = previous.get(tag_key(row))
        if before and before.get('digest') and before.get('digest') == row.get('digest'):
            row = dict(row, checked_by=sorted(set(before['checked_by']) | set(row['checked_by'])))
        rows.append(row)
    report['images'] = _merged(old['images'], rows, tag_key)
    report['repositories'] = _merged(old['repositories'], report['repositories'], lambda r: r['repository'])
    for field in ('notary_server', 'verified_with'):
        report[field] = report.get(field) or old.get(field)
    return _summarised(report, report.get('checked_by') or [])


def report_json(report):
    """``release-<version>.json``: sorted keys, so that it is the same bytes for the same release."""
    return json.dumps(report, indent=2, sort_keys=True, separators=(',', ': '), ensure_ascii=False) + '\n'


def _signed_by(names):
    return ', '.join('`%s`' % n for n in names) or '(no signer named)'


def release_markdown(report, checks):
    """The report for people: what ``docker trust inspect --pretty`` shows, for every image of the release,
    and whether it verified; a column per format (``-``: a format the run that checked the row did not check)
    and the signers whose runs checked each row."""
    release, signers, formats = report['release'], report['checked_by'], report['signature_formats']
    how = report['verified_with'] or {}
    failed = [c for c in checks if not c.get('verified')]
    # One signer: "signed by it"; several: each tag by the signers that checked it (their column).
    if len(signers) > 1:
        signed_by = 'the signers that checked it (%s, see *Checked by*)' % _signed_by(signers)
    else:
        signed_by = _signed_by(signers) if signers else 'its signers'
    out = ['# Release %s' % release, '']
    if failed:
        out.append('**NOT VERIFIED**: %d of %d image tags do not verify (see below).' % (len(failed), len(checks)))
    elif not how:
        out += ['**Verified**: every image tag carries a valid %s signature on the digest' % ' and '.join(formats),
                'the registry serves.']
    elif how.get('pull') == 'signed digest':
        out += ['**Verified**: every image tag is signed by %s with the digest the registry' % signed_by,
                'serves, and each image\'s `%s` pulls by its signed digest (checked in the pulled' % release,
                'image\'s `RepoDigests`), through the docker daemon, whatever the docker CLI: docker 29 and later',
                'verify nothing on `DOCKER_CONTENT_TRUST=1 docker pull`. The trust data was read and verified with',
                '`%s`.' % how.get('trust_data')]
    else:
        out += ['**Verified** (nothing pulled): every image tag is signed by %s with the digest the' % signed_by,
                'registry serves.']
    out += ['', '- %s: %s' % ('Signer' if len(signers) == 1 else 'Signers', _signed_by(signers)),
            '- Signature formats: %s' % ', '.join(formats),
            '- Notary server: %s' % (report['notary_server'] or '(docker default for the registry)')]
    if how:
        out += ['- Notary signatures verified with: docker CLI `%s` %s;'
                % (how.get('docker_cli') or '-', how.get('docker_version') or ''),
                '  trust data read with `%s`; pull: %s' % (how.get('trust_data'), how.get('pull'))]
    out += ['', '## Signatures', '',
            '| Repository | Signed tag | Digest | Signers |%s Verified | Checked by |'
            % ''.join(' %s |' % f for f in formats),
            '| --- | --- | --- | --- |%s --- | --- |' % (' --- |' * len(formats))]
    for c in checks:
        digest = re.sub('^sha256:', '', c.get('digest') or '') or '-'
        results = c['signatures']
        out.append('| %s | %s | %s | %s |%s %s | %s |' % (
            c['repository'], c['tag'], digest, ', '.join(c.get('signers') or []) or '-',
            ''.join(' %s |' % ('-' if f not in results else 'yes' if results[f] else 'NO') for f in formats),
            'yes' if c.get('verified') else 'NO', ', '.join(c.get('checked_by') or []) or '-'))
    if failed:
        out += ['', '## Problems', '']
        out += ['- `%s`: %s' % (c.get('reference') or '%s:%s' % (c['repository'], c['tag']),
                                '; '.join(c.get('problems') or [])) for c in failed]
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
