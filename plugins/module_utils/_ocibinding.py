# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the tag binding of cosign and Notation signatures.

Not a public API; it may change without notice.

Standard library only: what a signature must carry to count for a tag (the repository and the tag, and who made
it), the user's annotations checked against it, and the tags that verified payloads (cosign) or listed signatures
(Notation) are bound to.  Signing and verifying (``_ocisig``) and withdrawing (``_ocirevoke``) read it here.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError

_ANNOTATION_KEY_RE = re.compile(r'\A[^=\s]+\Z')

# The tag binding: the repository (GUN) and the tag a signature is for, signed with it - cosign annotations
# (2.x: the signed payload's ``optional`` section; 3.x bundles: the subject annotations of the signed in-toto
# statement), Notation user metadata (the signed payload's ``targetArtifact.annotations``) - and required by
# every verification, so a digest signed for v1.0.0 does not verify as v2.0.0.  The values checked are the
# tools' verified payloads, never a manifest's or layer's annotations, which anyone who can push can write.
BINDING_REPOSITORY = 'org.openbanking.content_trust.repository'
BINDING_TAG = 'org.openbanking.content_trust.tag'
# Who made a signature, where it matters: the bridge signs with origin "notary" (carried over from Notary), so that
# it withdraws only its own signatures when Notary revokes a tag (_ocirevoke, origin).
BINDING_ORIGIN = 'org.openbanking.content_trust.origin'
BINDING_KEYS = (BINDING_REPOSITORY, BINDING_TAG, BINDING_ORIGIN)
ORIGIN_RE = re.compile(r'\A[a-z0-9][a-z0-9-]{0,62}\Z')


def check_annotations(annotations, what='annotations'):
    out = {}
    for key, value in (annotations or {}).items():
        if not isinstance(key, str) or not _ANNOTATION_KEY_RE.match(key):
            raise InputError('%s: key %r is not valid: expected a non-empty string without "=" or spaces' % (what, key))
        if key in BINDING_KEYS:
            raise InputError('%s: key %s is reserved: the collection signs the repository and tag of every signature '
                             'under %s and %s (and its origin under %s) itself; remove it'
                             % (what, key, BINDING_REPOSITORY, BINDING_TAG, BINDING_ORIGIN))
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InputError('%s: the value of %s must be a string, got %r' % (what, key, value))
        out[key] = str(value)
    return out


def tag_binding(reference, tag, origin=None):
    """The annotations (cosign) or user metadata (Notation) that bind a signature to ``tag`` of ``reference``, and,
    given, say who made it (``origin``, for example ``notary`` for the bridge)."""
    binding = {BINDING_REPOSITORY: reference.gun, BINDING_TAG: tag}
    if origin:
        binding[BINDING_ORIGIN] = origin
    return binding


def check_origin(origin, what='origin'):
    """``origin`` (None or a short lowercase word, as the bridge's ``notary``)."""
    if origin is not None and (not isinstance(origin, str) or not ORIGIN_RE.match(origin)):
        raise InputError('%s must be a short lowercase word of letters, digits and "-" (for example notary), got %r'
                         % (what, origin if isinstance(origin, str) and len(origin) < 80 else type(origin).__name__))
    return origin


def with_binding(annotations, binding):
    """The user's annotations and the binding, merged; the binding's keys cannot come from the user
    (``check_annotations`` refuses them), and would lose here if they did."""
    out = dict(annotations or {})
    out.update(binding or {})
    return out


def bound_tags(payloads, gun):
    """The tags that verified cosign payloads (``cosign verify --output json``: a list of ``{critical,
    optional}``) bind to repository ``gun``; ``None`` in the list for a payload that names no tag (signed
    before the binding, or by hand)."""
    tags = []
    for payload in payloads or []:
        optional = payload.get('optional') if isinstance(payload, dict) else None
        optional = optional if isinstance(optional, dict) else {}
        repository = optional.get(BINDING_REPOSITORY)
        if repository is not None and repository != gun:
            continue  # bound to another repository: says nothing about this one
        tag = optional.get(BINDING_TAG) if repository == gun else None
        if tag not in tags:
            tags.append(tag)
    return tags


def payloads_with(payloads, annotations):
    """The verified cosign payloads whose ``optional`` section carries every one of ``annotations``."""
    wanted = dict(annotations or {})
    out = []
    for payload in payloads or []:
        optional = payload.get('optional') if isinstance(payload, dict) else None
        optional = optional if isinstance(optional, dict) else {}
        if all(optional.get(k) == v for k, v in wanted.items()):
            out.append(payload)
    return out


def cosign_payloads(stdout):
    """The JSON list ``cosign verify --output json`` prints on stdout (cosign 2.x and 3.x), or []."""
    text = (stdout or '').strip()
    start = text.find('[')
    if start < 0:
        return []
    try:
        data = json.loads(text[start:])
    except ValueError:
        return []
    return data if isinstance(data, list) else []


def binding_problem(gun, tag, digest, signed_for, tool):
    """Why the signatures on ``digest`` that verify without the binding do not count for ``tag`` (a sentence).

    ``signed_for``: the tags those verified signatures name (``None`` for one that names none)."""
    named = sorted(t for t in signed_for if t)
    parts = []
    if named:
        parts.append('they are bound to tag %s of %s, not to %s: the registry serves for %s the digest of another '
                     'tag (a moved tag)' % (', '.join(named), gun, tag, tag))
    if None in signed_for:
        parts.append('%s carry no tag binding (%s, %s): they were made before the collection bound signatures to '
                     'their tag, or by hand; re-sign the tag with %s (the bridge and publish_release re-sign), or '
                     'set require_tag_binding: false to accept signatures that name no tag'
                     % ('they' if not named else 'some', BINDING_REPOSITORY, BINDING_TAG,
                        'openbanking.content_trust.%s_sign' % tool))
    return ('%s signatures on %s verify, but none for tag %s of %s; %s'
            % ('cosign' if tool == 'cosign' else 'Notation', digest, tag, gun, '; '.join(parts)))


def notation_inspect_signatures(data):
    """``[{fingerprint, metadata}]`` from the JSON of ``notation inspect --output json``."""
    out = []
    for sig in (data or {}).get('Signatures') or []:
        certs = sig.get('certificates') or []
        fingerprint = (certs[0].get('SHA256Fingerprint') or '').lower() if certs else ''
        metadata = sig.get('userDefinedAttributes')
        out.append(dict(fingerprint=fingerprint, metadata=metadata if isinstance(metadata, dict) else {}))
    return out


def notation_bound_tags(signatures, gun, fingerprint=None):
    """The tags ``signatures`` (``notation_inspect_signatures``) are bound to in repository ``gun``, ``None`` for
    one bound to no tag; only signatures whose leaf has ``fingerprint``, when given."""
    tags = []
    for sig in signatures:
        if fingerprint and sig['fingerprint'] != fingerprint:
            continue
        repository = sig['metadata'].get(BINDING_REPOSITORY)
        if repository is not None and repository != gun:
            continue
        tag = sig['metadata'].get(BINDING_TAG) if repository == gun else None
        if tag not in tags:
            tags.append(tag)
    return tags


# --- the registry --------------------------------------------------------------------------
