# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: whether tags carry valid cosign or Notation signatures.

Not a public API; it may change without notice.

The verdict per tag that ``cosign_verify``, ``notation_verify`` and ``trust_pull`` return: cosign is asked once
per distinct digest and key (the tags a digest is signed for are read from the payloads cosign verified),
Notation once per tag (``notation verify --user-metadata``: only the tool says which signature verified), a few
processes at a time.  The tools themselves are ``_ocisig.OciTools``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_tags
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocibinding import (
    binding_problem, check_annotations, tag_binding,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocifiles import (
    check_ca_certificates, check_public_keys,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocisig import OciTools, resolve_digests
from ansible_collections.openbanking.content_trust.plugins.module_utils._process import run_parallel


def _verify_results(tags, digests, check):
    """One ``{tag, digest, verified, problems}`` per tag; ``check(digest, tag)`` -> ``(ok, problem)``, asked once
    per tag (a signature binds a tag, so two tags of one digest are two questions), a few at a time."""
    asked = [t for t in tags if digests.get(t)]
    verdicts = dict(zip(asked, run_parallel(lambda tag: check(digests[tag], tag), asked)))
    results = []
    for tag in tags:
        if tag not in verdicts:
            results.append({'tag': tag, 'digest': None, 'verified': False,
                            'problems': ['the registry has no tag %s' % tag]})
            continue
        ok, problem = verdicts[tag]
        results.append({'tag': tag, 'digest': digests[tag], 'verified': ok, 'problems': [] if ok else [problem]})
    return results


def cosign_verdict(gun, tag, digest, answer, require_tag_binding=True):
    """``(ok, problem)`` for ``tag`` from ``cosign_signed_for``'s answer for its digest."""
    verified, signed_for, problem = answer
    if verified and (not require_tag_binding or tag in signed_for):
        return True, None
    if verified and signed_for:
        return False, binding_problem(gun, tag, digest, signed_for, 'cosign')
    return False, 'no cosign signature on %s verifies with the public keys given%s' % (
        digest, (' (%s)' % problem) if problem else '')


def verify_cosign(cli, reference, tags, public_keys, annotations=None, cosign_cli='cosign', digests=None,
                  transparency_log=False, require_tag_binding=True):
    """Verify the cosign signatures of ``tags`` of ``reference`` with any of ``public_keys`` (PEM).

    ``cli`` is the module's ``TrustCLI``; ``digests`` ({tag: digest}) pins what must be signed,
    otherwise the registry's current digest of each tag is verified.  With ``require_tag_binding`` a signature
    counts for a tag only when its signed payload binds it to that tag of this repository (``tag_binding``).
    One ``cosign verify`` per distinct digest and key (``cosign_signed_for``), a few digests at a time.
    Returns one ``{tag, digest, verified, problems}`` per tag; never fails for an unverified tag."""
    tags = parse_tags(tags)
    pems = check_public_keys(public_keys)
    annotations = check_annotations(annotations)
    tools = OciTools(cli, cosign_cli=cosign_cli)
    paths = tools.write_public_keys(pems)
    if digests is None:
        digests = resolve_digests(cli, reference, tags, missing_ok=True)
    answers = tools.cosign_signed_digests(reference, [digests.get(t) for t in tags], paths, annotations,
                                          transparency_log)
    return _verify_results(tags, digests, lambda digest, tag: cosign_verdict(
        reference.gun, tag, digest, answers[digest], require_tag_binding))


def verify_notation(cli, reference, tags, ca_certificates, trusted_identities=None, notation_cli='notation',
                    digests=None, require_tag_binding=True):
    """Verify the Notation signatures of ``tags`` under a strict trust policy trusting
    ``ca_certificates`` (PEM) and ``trusted_identities`` (default any identity those CAs issued).

    Same contract as ``verify_cosign``; the binding is Notation's signed user metadata."""
    tags = parse_tags(tags)
    cas = check_ca_certificates(ca_certificates)
    tools = OciTools(cli, notation_cli=notation_cli)
    tools.notation_trust(reference, cas, trusted_identities)
    if digests is None:
        digests = resolve_digests(cli, reference, tags, missing_ok=True)

    def check(digest, tag):
        binding = tag_binding(reference, tag) if require_tag_binding else None
        ok, problem = tools.notation_verified(reference, digest, binding)
        if ok:
            return True, None
        if binding and tools.notation_verified(reference, digest)[0]:
            # Some signature verifies, none for this tag: say which tags the signatures claim (notation inspect).
            return False, binding_problem(reference.gun, tag, digest,
                                          tools.notation_signed_for(reference, digest) or [None], 'notation')
        return False, 'no Notation signature on %s verifies under the trust policy (%s)' % (digest, problem)
    return _verify_results(tags, digests, check)


def unverified_message(reference, results, tool):
    bad = [r for r in results if not r['verified']]
    return '%d of %d tag(s) of %s have no valid %s signature: %s' % (
        len(bad), len(results), reference.gun, tool,
        '; '.join('%s (%s)' % (r['tag'], '; '.join(r['problems'])) for r in bad))
