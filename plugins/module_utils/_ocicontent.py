# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: cosign and Notation signatures as the registry stores them.

Not a public API; it may change without notice.

Standard library only: the media types and tags of signature artifacts (cosign 2.x's ``sha256-<hex>.sig``, the
referrers fallback index ``sha256-<hex>`` that cosign 3.x bundles and Notation share) and the tag binding read
from SIGNED content - the simple-signing payload, the in-toto statement in a sigstore bundle's DSSE envelope, a
Notation JWS envelope's payload - never from manifest or layer annotations, which anyone who can push can write.
Nothing here verifies a signature: ``_ocirevoke`` decides what to withdraw from it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json

from ansible_collections.openbanking.content_trust.plugins.module_utils._ocibinding import (
    BINDING_ORIGIN, BINDING_REPOSITORY, BINDING_TAG,
)

SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json'
BUNDLE_PREFIX = 'application/vnd.dev.sigstore.bundle'
NOTATION_ARTIFACT = 'application/vnd.cncf.notary.signature'
NOTATION_JWS = 'application/jose+json'
IN_TOTO = 'application/vnd.in-toto+json'
OCI_INDEX = 'application/vnd.oci.image.index.v1+json'


def signature_tag(digest):
    """cosign 2.x's tag for the signatures of ``digest``."""
    return 'sha256-%s.sig' % digest.split(':', 1)[1]


def fallback_tag(digest):
    """The referrers fallback tag of ``digest`` (an index), shared by cosign 3.x bundles and Notation."""
    return 'sha256-%s' % digest.split(':', 1)[1]


def load_json(data):
    if data is None:
        return None
    try:
        return json.loads(data.decode('utf-8') if isinstance(data, bytes) else data)
    except (ValueError, UnicodeDecodeError):
        return None


def _b64(text, urlsafe=False):
    if not isinstance(text, str):
        return None
    try:
        return (base64.urlsafe_b64decode if urlsafe else base64.b64decode)(text + '=' * (-len(text) % 4))
    except (ValueError, TypeError):
        return None


# --- the binding, from signed content --------------------------------------------------------------------------

def bound_tag(annotations, gun, origin=None):
    """The tag signed ``annotations`` bind in repository ``gun``; None for another repository or no binding, and,
    with ``origin``, for a signature that does not say it was made by that origin (the bridge's ``notary``)."""
    if not isinstance(annotations, dict) or annotations.get(BINDING_REPOSITORY) != gun:
        return None
    if origin is not None and annotations.get(BINDING_ORIGIN) != origin:
        return None
    tag = annotations.get(BINDING_TAG)
    return tag if isinstance(tag, str) and tag else None


def simple_signing_annotations(payload, digest):
    """The ``optional`` section of a cosign simple-signing payload (bytes) that signs ``digest``; None for anything
    else (not a payload, or one for another digest)."""
    data = load_json(payload)
    critical = data.get('critical') if isinstance(data, dict) else None
    image = critical.get('image') if isinstance(critical, dict) else None
    if not isinstance(image, dict) or image.get('docker-manifest-digest') != digest:
        return None
    optional = data.get('optional')
    return optional if isinstance(optional, dict) else None


def bundle_annotations(bundle, digest):
    """The annotations of ``digest``'s subject in the in-toto statement a sigstore bundle's DSSE envelope signs
    (cosign 3.x ``cosign sign``); None for anything else."""
    data = load_json(bundle)
    envelope = data.get('dsseEnvelope') if isinstance(data, dict) else None
    if not isinstance(envelope, dict) or envelope.get('payloadType') != IN_TOTO:
        return None
    statement = load_json(_b64(envelope.get('payload')))
    subjects = statement.get('subject') if isinstance(statement, dict) else None
    hexdigest = digest.split(':', 1)[1]
    for subject in subjects if isinstance(subjects, list) else []:
        if isinstance(subject, dict) and isinstance(subject.get('digest'), dict) \
                and subject['digest'].get('sha256') == hexdigest:
            annotations = subject.get('annotations')
            return annotations if isinstance(annotations, dict) else None
    return None


def notation_annotations(envelope, media_type, digest):
    """The user metadata a Notation JWS envelope signs for ``digest`` (its payload's ``targetArtifact``); None for
    anything else, a COSE envelope included (not read here, so never removed)."""
    if media_type != NOTATION_JWS:
        return None
    data = load_json(envelope)
    payload = load_json(_b64(data.get('payload'), urlsafe=True)) if isinstance(data, dict) else None
    target = payload.get('targetArtifact') if isinstance(payload, dict) else None
    if not isinstance(target, dict) or target.get('digest') != digest:
        return None
    annotations = target.get('annotations')
    return annotations if isinstance(annotations, dict) else None


def referrer_kind(manifest):
    """``'bundle'`` (cosign 3.x), ``'notation'`` or None: which reader to use for a referrer manifest's one layer.
    The kind only chooses the reader; what is removed is decided by the signed content the reader finds."""
    layers = manifest.get('layers') if isinstance(manifest, dict) else None
    if not isinstance(layers, list) or len(layers) != 1 or not isinstance(layers[0], dict):
        return None
    if (layers[0].get('mediaType') or '').startswith(BUNDLE_PREFIX):
        return 'bundle'
    config = manifest.get('config') if isinstance(manifest.get('config'), dict) else {}
    if NOTATION_ARTIFACT in (manifest.get('artifactType'), config.get('mediaType')):
        return 'notation'
    return None


def referrer_tag(kind, manifest, blob, gun, digest, origin=None):
    """The tag of ``gun`` a referrer (its manifest and the blob of its one layer) is bound to by what it signs."""
    if kind == 'bundle':
        return bound_tag(bundle_annotations(blob, digest), gun, origin)
    if kind == 'notation':
        return bound_tag(notation_annotations(blob, manifest['layers'][0].get('mediaType'), digest), gun, origin)
    return None
