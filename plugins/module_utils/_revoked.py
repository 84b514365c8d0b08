# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the revocation list, what every consumer refuses on its own side.

Not a public API; it may change without notice.  Standard library only (the filters load it on the controller;
imports ``_common`` and ``_errors`` only).

Deleting a signature from the registry or from Notary withdraws it from consumers that never saw the list, but
protects nobody against whoever controls the registry: they push the deleted signature again.  So a withdrawn tag
is also listed, ``content_trust_revoked_images`` (``[{repository, tags, reason}]``, the shape of
``content_trust_release_images``), and every consumer refuses a listed tag whatever signatures it finds:

- ``parse_revoked``: the list's shape, checked once (``bad_input`` naming the entry), as ``{GUN: {tag: reason}}``;
- ``refusal`` / ``refused_tags``: the refusal of a listed tag (``trust_pull``, ``trust_verify``, the bridge);
- ``release_refusals``: the tags of a release that ``publish_release`` must not sign, and the message that says how
  to lift the refusal;
- ``with_revoked_tags``: a release's images plus the listed tags of its repositories, which ``verify_release``
  checks too; ``revoked_checks``: those checks turned around (a listed tag passes only when it verifies in no
  format);
- ``withdrawn_tags``: the local tags of a deploy host that point at a withdrawn digest (``trusted_consumer``);
- ``revocations``: the list, checked and grouped, as ``revoke_release.yml`` withdraws it (the ``revocations`` filter).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference, parse_tag
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError

FIELDS = ('repository', 'tags', 'reason')
LIFT_HINT = 'to lift the revocation, remove the tag from content_trust_revoked_images'


def parse_revoked(entries, what='content_trust_revoked_images'):
    """``{GUN: {tag: reason}}`` from ``[{repository, tags, reason}]`` (None or ``[]``: nothing revoked).

    Every entry needs a repository without a tag, a non-empty list of tags and a reason (shown wherever the tag is
    refused); anything else fails naming the entry.  A tag listed twice keeps its first reason."""
    if entries is None:
        return {}
    if not isinstance(entries, (list, tuple)):
        raise InputError('%s must be a list of {repository, tags, reason}, not %s' % (what, type(entries).__name__))
    revoked = {}
    for i, entry in enumerate(entries):
        name = '%s[%d]' % (what, i)
        if not isinstance(entry, dict):
            raise InputError('%s must be a dict with repository, tags and reason, not %s' % (name, type(entry).__name__))
        unknown = sorted(str(k) for k in entry if k not in FIELDS)
        if unknown:
            raise InputError('%s has unknown keys %s: expected repository, tags and reason' % (name, ', '.join(unknown)))
        gun = parse_reference(entry.get('repository'), allow_tag=False, what='%s.repository' % name).gun
        tags = entry.get('tags')
        if isinstance(tags, str) or not isinstance(tags, (list, tuple)) or not tags:
            raise InputError('%s.tags must be a non-empty list of the tags withdrawn from %s' % (name, gun))
        reason = entry.get('reason')
        if not isinstance(reason, str) or not reason.strip():
            raise InputError('%s.reason must say why %s was withdrawn (a non-empty string, shown wherever the tag is '
                             'refused)' % (name, gun))
        for tag in tags:
            parse_tag(tag, '%s.tags' % name)
            revoked.setdefault(gun, {}).setdefault(tag, reason.strip())
    return revoked


def revocations(entries, what='content_trust_revoked_images'):
    """The list as ``revoke_release.yml`` withdraws it: ``[{repository, tags, reason}]``, one entry per repository and
    reason (checked as ``parse_revoked`` checks it; the repository as the list names it), in the list's order."""
    parse_revoked(entries, what)
    out, index = [], {}
    for entry in entries or []:
        key = (entry['repository'], entry['reason'].strip())
        if key not in index:
            index[key] = dict(repository=entry['repository'], tags=[], reason=key[1])
            out.append(index[key])
        index[key]['tags'].extend(t for t in entry['tags'] if t not in index[key]['tags'])
    return out


def refusal(reason):
    """What a consumer says of a listed tag."""
    return ('revoked: %s (listed in the revocation list, content_trust_revoked_images: refused whatever signatures '
            'the registry and Notary serve)' % reason)


def refused_tags(revoked, gun, tags):
    """``{tag: reason}`` of the listed ``tags`` of ``gun``."""
    listed = revoked.get(gun) or {}
    return dict((tag, listed[tag]) for tag in tags if tag in listed)


def _release_tags(image, version):
    tags = []
    for tag in ([version] if version else []) + list(image.get('tags') or []):
        if tag not in tags:
            tags.append(tag)
    return tags


def release_refusals(images, version, revoked_entries):
    """The tags of a release (``content_trust_release_images`` and its version) that the revocation list names:
    ``{refused: ['repo:tag'], message}``; ``message`` is empty when nothing is refused."""
    revoked = parse_revoked(revoked_entries)
    if not isinstance(images, (list, tuple)):
        raise InputError('content_trust_release_images must be a list of {repository, tags}, not %s'
                         % type(images).__name__)
    refused, lines = [], []
    for i, image in enumerate(images):
        if not isinstance(image, dict) or not image.get('repository'):
            raise InputError('content_trust_release_images[%d] must be a dict with a repository' % i)
        gun = parse_reference(image['repository'], allow_tag=False,
                              what='content_trust_release_images[%d].repository' % i).gun
        for tag, reason in sorted(refused_tags(revoked, gun, _release_tags(image, version)).items()):
            refused.append('%s:%s' % (gun, tag))
            lines.append('- %s:%s: %s' % (gun, tag, reason))
    if not refused:
        return dict(refused=[], message='')
    message = ('Nothing was pushed or signed: the release would sign %d tag(s) that content_trust_revoked_images '
               'withdrew:\n%s\nA withdrawn tag is never signed again: take it out of the release '
               '(content_trust_release_version, content_trust_release_images[].tags), or, %s.'
               % (len(refused), '\n'.join(lines), LIFT_HINT))
    return dict(refused=refused, message=message)


def with_revoked_tags(images, revoked_entries):
    """``images`` (``[{repository, tags, ...}]``, a release's images as trust_verify takes them) with the listed tags
    of their repositories added, so that a verification checks that they no longer verify.  Listed repositories that
    are not among ``images`` are not added (their roots are not pinned for this release)."""
    revoked = parse_revoked(revoked_entries)
    out = []
    for image in images or []:
        image = dict(image)
        gun = parse_reference(image['repository'], allow_tag=False, what='images[].repository').gun
        tags = list(image.get('tags') or [])
        tags.extend(tag for tag in sorted(revoked.get(gun) or {}) if tag not in tags)
        image['tags'] = tags
        out.append(image)
    return out


def revoked_checks(checks, revoked_entries):
    """A release's checks (``_report.signature_checks``'s) with every listed tag turned around: it passes when it
    verifies in no format (withdrawn), and fails as "revoked but still verifies in <formats>" otherwise."""
    revoked = parse_revoked(revoked_entries)
    out = []
    for check in checks:
        reason = (revoked.get(check.get('repository')) or {}).get(check.get('tag'))
        if reason is None:
            out.append(check)
            continue
        check = dict(check)
        signatures = check.get('signatures') or {}
        still = [fmt for fmt in signatures if signatures[fmt]]
        check['revoked'] = reason
        if still:
            check['verified'] = False
            check['problems'] = ['revoked (%s) but still verifies in %s' % (reason, ', '.join(still))]
            state = 'NOT WITHDRAWN: ' + check['problems'][0]
        else:
            check['verified'] = True
            check['problems'] = []
            state = 'revoked (%s): verifies in no format' % reason
        check['line'] = '%s  %s  %s  %s' % (
            check.get('reference') or '%s:%s' % (check.get('repository'), check.get('tag')), check.get('digest') or '-',
            '  '.join('%s: %s' % (f, 'ok' if signatures[f] else 'NO') for f in signatures), state)
        out.append(check)
    return out


def withdrawn_tags(revoked, local, verified):
    """The local tags a deploy host must drop: ``[{repository, tag, image, digests, reason}]``.

    ``revoked``: ``{GUN: {tag: reason}}``; ``local``: ``{GUN: {tag: {'Id', 'digests'}}}``, the host's local tags
    of those repositories (``digests``: the image's ``RepoDigests`` in that repository); ``verified``: ``{(GUN,
    digest)}``, what the run verified for tags that are not listed.

    A listed tag goes wherever it points (the name was withdrawn).  A digest is withdrawn when a listed tag points at
    it on this host and no verified tag of the inventory uses it; then every local tag of the repository on that
    image goes too (``latest`` and the like)."""
    out = []
    for gun in sorted(revoked):
        tags = local.get(gun) or {}
        withdrawn = {}
        for tag in sorted(revoked[gun]):
            image = tags.get(tag)
            if not image or not image.get('Id'):
                continue
            if not any((gun, d) in verified for d in image.get('digests') or []):
                withdrawn.setdefault(image['Id'], revoked[gun][tag])
        for tag in sorted(tags):
            image = tags[tag]
            reason = revoked[gun].get(tag) or withdrawn.get(image.get('Id'))
            if reason is not None and image.get('Id'):
                out.append(dict(repository=gun, tag=tag, image=image['Id'], digests=sorted(image.get('digests') or []),
                                reason=reason))
    return out
