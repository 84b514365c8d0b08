# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the rollback of a failed release (publish_release).

Not a public API; it may change without notice.  Standard library only, apart from ``_common`` and ``_errors`` (the
filters load it on the controller).  Pure functions over registered results; no I/O.

A rollback undoes only what THIS run changed in the Notary trust data, as this run's signer:

- ``progress`` is trust_push's ``images`` (its result, or its failure result ``exc.result``): per image ``before``
  (every digest anyone had signed per tag), ``signer_before`` (the digest this signer had signed per tag, or None)
  and ``results`` (``tag``, ``digest``, ``pushed``, ``signed``: what this run did, as far as it got).
- ``inspected`` is one trust_info of the release's repositories after the failure.

For each tag this run signed (``signed``), and only those:

- the signer's signature of the tag is not the one this run made any more (another host's release as the same
  signer, or a revoke, came after it): left alone, reported;
- the signer had signed the same digest before (a ``force`` re-sign): nothing to undo;
- the signer had signed another digest before: signed for that digest again (``restore``);
- the signer had not signed the tag before: revoked as the signer (``revoke``). When other signers had signed it,
  their digest is NOT signed again by this signer: the report names it and who must sign it.

Tags this run did not sign are never touched, even when their trust data changed during the run (another signer's
or another host's release): the report lists them as left alone.  ``rollback_report`` turns the plan, the outcome
of the revoke and restore tasks, and the cosign and Notation signatures this run pushed (which are not rolled back)
into the lines of the failure message.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError

# Kept word for word: users (and tests) look for these sentences.
# When this run also pushed cosign or Notation signatures, only the Notary part is as before.
NOTARY_UNDONE = ('Every repository shows the Notary trust data it had before this run. What was pushed stays in the '
                 'registry without a Notary signature (a content-trust pull refuses it).')
ALL_UNDONE = ('Every repository shows the trust data it had before this run. What was pushed stays in the registry '
              'without a signature (a content-trust pull refuses it); run the release again once the failure is fixed.')


def _gun(repository):
    try:
        return parse_reference(repository, allow_tag=False).gun
    except InputError:
        return repository


def _listed(items, what):
    if items is None:
        return []
    if not isinstance(items, list):
        raise InputError('%s must be a list, got %s' % (what, type(items).__name__))
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError('%s[%d] must be a dict, got %s' % (what, i, type(item).__name__))
    return items


def _after(inspected):
    """``{GUN: {tag: {digest: [signers]}}}`` from trust_info's ``repositories`` (or its registered result)."""
    if isinstance(inspected, dict):
        inspected = inspected.get('repositories')
    out = {}
    for entry in _listed(inspected, 'inspected'):
        tags = out.setdefault(_gun(entry.get('repository') or entry.get('reference') or ''), {})
        for signed in entry.get('signed_tags') or []:
            digests = tags.setdefault(signed['tag'], {})
            digests[signed['digest']] = sorted(set(digests.get(signed['digest'], [])) | set(signed.get('signers') or []))
    return out


def _merged(progress):
    """One entry per repository (a repository may appear in two images of a release), in release order."""
    out, order = {}, []
    for i, image in enumerate(_listed(progress, 'progress')):
        if 'repository' not in image:
            raise InputError('progress[%d] has no repository: give trust_push\'s images' % i)
        repo = image['repository']
        if repo not in out:
            order.append(repo)
            out[repo] = dict(repository=repo, before={}, signer_before={}, results=[], has_signer_before=True)
        merged = out[repo]
        merged['before'].update(image.get('before') or {})
        if 'signer_before' in image:
            merged['signer_before'].update(image['signer_before'] or {})
        else:  # a trust_push older than signer_before: what the signer had signed is unknown
            merged['has_signer_before'] = False
        merged['results'].extend(image.get('results') or [])
    return [out[r] for r in order]


def rollback_plan(progress, inspected, signer):
    """The rollback of a failed release; see the module's docstring.  Returns ``revoke`` ``[{repository, tags}]``,
    ``restore`` ``[{repository, digests: {tag: digest}}]``, ``not_restored`` and ``left_alone`` (``[{repository,
    tag, reason}]``), ``unchanged`` (``repo:tag`` this run re-signed for the digest the signer had signed before)."""
    if not signer:
        raise InputError('signer must name the signer of the failed release')
    after = _after(inspected)
    revoke, restore, not_restored, left_alone, unchanged = [], [], [], [], []
    for image in _merged(progress):
        repo = image['repository']
        now_tags = after.get(_gun(repo), {})
        new, previous, mine = [], {}, set()
        for r in image['results']:
            if not r.get('signed'):
                continue
            tag, ours = r['tag'], r.get('digest')
            mine.add(tag)
            now = sorted(d for d, signers in now_tags.get(tag, {}).items() if signer in signers)
            if not ours or now != [ours]:
                left_alone.append(dict(
                    repository=repo, tag=tag, reason='%s signed it for %s in this run, but the trust data now shows %s: '
                    'changed after this run (another release as %s?), left as it is'
                    % (signer, ours or 'a digest not reported', ('%s signing %s' % (signer, ', '.join(now))) if now
                       else 'no signature of it by %s' % signer, signer)))
                continue
            if not image['has_signer_before']:
                not_restored.append(dict(repository=repo, tag=tag, reason='trust_push did not report which digest %s '
                                         'had signed before this run, so nothing is signed again' % signer))
                continue
            was = image['signer_before'].get(tag)
            if was == ours:
                unchanged.append('%s:%s' % (repo, tag))
            elif was:
                previous[tag] = was
            else:
                new.append(tag)
                others = [d for d in (image['before'].get(tag) or []) if d != ours]
                if others:
                    not_restored.append(dict(repository=repo, tag=tag, reason=(
                        'before this run other signers had signed it for %s; %s never signed %s, so the rollback does '
                        'not sign %s as %s: one of those signers must sign it again (trust_push with push: false and '
                        'digests)' % (', '.join(others), signer, 'that digest' if len(others) == 1 else 'those digests',
                                      'it' if len(others) == 1 else 'them', signer))))
        if new:
            revoke.append(dict(repository=repo, tags=new))
        if previous:
            restore.append(dict(repository=repo, digests=previous))
        # Changed during the run by someone else: never this run's to undo.
        for tag in sorted(set(image['before']) | set(now_tags)):
            if tag in mine:
                continue
            was = sorted(image['before'].get(tag) or [])
            now = sorted(now_tags.get(tag, {}))
            if tag in image['before'] and was != now:
                left_alone.append(dict(repository=repo, tag=tag, reason='changed during this run by another signer or '
                                       'host (%s before, %s now), not by this run: left as it is'
                                       % (', '.join(was) or 'unsigned', ', '.join(now) or 'unsigned')))
    return dict(revoke=revoke, restore=restore, not_restored=not_restored, left_alone=left_alone, unchanged=unchanged)


def _loop_results(registered):
    if not isinstance(registered, dict):
        return []
    return [r for r in registered.get('results') or [] if isinstance(r, dict) and not r.get('skipped')]


def _oci_signed(registered):
    """``repo:tag digest`` of every tag a cosign_sign or notation_sign loop signed (not in check mode)."""
    lines = []
    for r in _loop_results(registered):
        repo = (r.get('item') or {}).get('repository', '?')
        for t in r.get('results') or []:
            if t.get('signed') and t.get('digest'):
                lines.append('- %s:%s %s' % (repo, t['tag'], t['digest']))
    return lines


def rollback_report(progress, plan=None, enabled=True, inspected=None, revoked=None, restored=None, cosign=None,
                    notation=None, formats=None):
    """The lines of the failure message of a release: what this run pushed and signed, in every format, and what
    the rollback did and did NOT undo.  ``revoked``/``restored`` are the registered loops of the rollback's tasks,
    ``cosign``/``notation`` those of the signing tasks, ``inspected`` the registered trust_info after the
    failure (its ``msg`` when it failed)."""
    progress = _listed(progress, 'progress')
    formats = formats or ['notary']
    pushed = []
    for image in progress:
        for t in image.get('results') or []:
            if t.get('pushed') or t.get('signed'):
                what = ('pushed and signed' if t.get('signed') else 'pushed, NOT signed') if t.get('pushed') else 'signed'
                pushed.append('- %s:%s %s%s' % (image['repository'], t['tag'], what,
                                                (' ' + t['digest']) if t.get('digest') else ''))
    out = []
    if 'notary' in formats:
        out += ['Pushed and signed by this run before the failure:'] + (pushed or ['- nothing'])
    oci = [(name, _oci_signed(reg)) for name, reg in (('cosign', cosign), ('Notation', notation))
           if name.lower() in formats]
    for name, lines in oci:
        if lines:
            out += ['Signed with %s by this run, NOT rolled back (the signatures stay in the registry, on the digests '
                    'this run pinned; delete them from the registry by hand if they must go):' % name] + lines
    if oci and not any(lines for name, lines in oci):
        out.append('Nothing was signed with %s by this run.' % ' or '.join(name for name, lines in oci))
    if 'notary' not in formats:
        return out
    if not enabled:
        return out + ['Not rolled back (content_trust_release_rollback is false): the Notary shows the release in part.']
    if not progress:
        return out + ['Nothing to roll back: the run failed before the first push.']
    if not isinstance(inspected, dict) or inspected.get('failed') or 'repositories' not in inspected:
        msg = inspected.get('msg') if isinstance(inspected, dict) else None
        return out + ['NOT rolled back: the trust data could not be read after the failure (%s); check each repository '
                      'with trust_info.' % (msg or 'no message')]
    plan = plan or {}
    done, failed = [], []
    for r in _loop_results(revoked):
        item = r.get('item') or {}
        for tag in item.get('tags') or []:
            if r.get('failed'):
                failed.append('- %s:%s NOT revoked: %s' % (item.get('repository'), tag, r.get('msg') or 'failed'))
            else:
                done.append('- %s:%s revoked (this run had signed it anew)' % (item.get('repository'), tag))
    for r in _loop_results(restored):
        item = r.get('item') or {}
        for tag, digest in sorted((item.get('digests') or {}).items()):
            if r.get('failed'):
                failed.append('- %s:%s NOT restored to %s: %s' % (item.get('repository'), tag, digest,
                                                                  r.get('msg') or 'failed'))
            else:
                done.append('- %s:%s signed for its previous digest %s again' % (item.get('repository'), tag, digest))
    for ref in plan.get('unchanged') or []:
        done.append('- %s re-signed for the digest it had before: nothing to undo' % ref)
    for entry in plan.get('not_restored') or []:
        failed.append('- %s:%s NOT restored: %s' % (entry['repository'], entry['tag'], entry['reason']))
    signed_any = any(t.get('signed') for image in progress for t in image.get('results') or [])
    out += ['Rolled back in the trust data:'] + (done or ['- nothing had changed' if not signed_any else '- nothing'])
    if plan.get('left_alone'):
        out += ['Left alone (not changed by this run, or changed again after it):'] + [
            '- %s:%s %s' % (e['repository'], e['tag'], e['reason']) for e in plan['left_alone']]
    kept = [name for name, lines in oci if lines]
    if failed:
        out += ['NOT rolled back (fix by hand, e.g. with trust_revoke or trust_push):'] + failed
    elif plan.get('left_alone'):
        out.append('Every change this run made to the Notary trust data is undone; the tags left alone above show what '
                   'others changed. What was pushed stays in the registry without a Notary signature of this run.')
    elif not kept:
        out.append(ALL_UNDONE)
    else:
        out.append(NOTARY_UNDONE)
    if kept and not failed:
        # "Undone" is about Notary only: the cosign / Notation signatures this run pushed are still in the registry.
        out.append('NOT rolled back: the %s signatures listed above stay in the registry and verify for those tags.'
                   % ' and '.join(kept))
    return out
