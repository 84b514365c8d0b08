# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: which digest each tag of a release is signed for with cosign and
Notation (publish_release), and which tags moved in the registry.

Not a public API; it may change without notice.  Standard library only (the filters load it on the controller).

cosign and Notation sign digests, never tags; a release pins each tag to one digest before the first signature:

- with ``notary`` among the formats, the digest trust_push has just signed for the tag (its result);
- without it (the role pushes nothing), ``content_trust_release_images[].digest`` when given, else the digest of the
  local image in the repository as trust_push's check-mode plan reads it (``RepoDigests``).

``release_digests`` returns the images as cosign_sign and notation_sign take them (``digests`` = the pins), the tags
no digest pins, and - given what the registry serves now (trust_push in check mode with ``push: false``) - the tags
that moved, in ``_ocisig.check_pinned``'s words.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError


def _tag_digests(registered):
    """``{(repository, tag): digest}`` from trust_push's result (or its ``images``), known digests only."""
    images = registered.get('images') if isinstance(registered, dict) else registered
    out = {}
    for image in images or []:
        for r in image.get('results') or []:
            if r.get('digest'):
                out[(image['repository'], r['tag'])] = r['digest']
    return out


def release_digests(images, version, formats, signed=None, checked=None, served=None):
    """See the module's docstring.  Returns ``images`` ``[{repository, tags, digests}]``, ``unpinned`` (``repo:tag``)
    and ``moved`` (one message per repository)."""
    if not isinstance(images, list):
        raise InputError('images must be the list content_trust_release_images, got %s' % type(images).__name__)
    formats = formats or []
    known = _tag_digests(signed if 'notary' in formats else checked)
    now = _tag_digests(served)
    out, unpinned, moved = [], [], []
    for i, image in enumerate(images):
        if not isinstance(image, dict) or not image.get('repository'):
            raise InputError('images[%d] must be a dict with a repository' % i)
        repo = image['repository']
        tags = []
        for tag in [version] + list(image.get('tags') or []):
            if tag not in tags:
                tags.append(tag)
        given = image.get('digest') if 'notary' not in formats else None
        digests = {}
        for tag in tags:
            digest = given or known.get((repo, tag))
            if digest:
                digests[tag] = digest
            else:
                unpinned.append('%s:%s' % (repo, tag))
        out.append(dict(repository=repo, tags=tags, digests=digests))
        changed = ['%s (registry %s, expected %s)' % (tag, now[(repo, tag)], want) for tag, want in sorted(digests.items())
                   if (repo, tag) in now and now[(repo, tag)] != want]
        if changed:
            moved.append('the registry serves other digests than expected for %s: %s; nothing was signed'
                         % (repo, '; '.join(changed)))
    return dict(images=out, unpinned=unpinned, moved=moved)
