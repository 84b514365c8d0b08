# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: withdrawing cosign and Notation signatures of tags.

Not a public API; it may change without notice.

A signature the collection makes names its repository and tag in what it signs (``_ocisig``'s tag binding).
Withdrawing one tag's signatures therefore removes, from the registry, exactly the signatures whose SIGNED
content binds that tag of that repository, and leaves every other signature on the same digest:

* cosign 2.x (and 3.x with ``--new-bundle-format=false``): one ``sha256-<hex>.sig`` manifest per digest, one
  layer per signature, the layer's blob the simple-signing payload (``optional`` holds the binding).  The layers
  bound to the tag are left out, the config's ``rootfs.diff_ids`` and ``history`` follow, and the manifest is
  pushed again (a PUT).  When no layer is left the manifest is pushed with none: ``cosign verify`` then says
  "no signatures found", as for a digest never signed, and no DELETE is needed.
* cosign 3.x bundles and Notation: one manifest per signature, a referrer of the digest (its ``subject``), listed
  by the referrers API or, on registries without it (docker-registry 2.8), in the ``sha256-<hex>`` fallback index
  both tools share.  The bound ones are deleted (a manifest DELETE) and the fallback index is pushed again
  without them, every other entry kept (an index with no entry left is pushed empty, which both tools read as
  no signature).  The index is written before the DELETEs, so a verifier never meets an entry whose manifest
  is gone.

What decides is read from the blobs, fetched by digest and checked against it: the simple-signing payload, the
in-toto statement in a sigstore bundle's DSSE envelope (the subject's annotations), a Notation JWS envelope's
payload (``targetArtifact.annotations``).  Manifest and layer annotations, which anyone who can push can write,
are never read.  Signatures are not verified here (removing a forged signature bound to the tag is harmless);
one whose signed binding names another tag, another repository or nothing is never removed, nor one this code
cannot read (a Notation COSE envelope).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json
import re

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference, parse_tags
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError, TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import Action
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocibinding import check_origin
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocicontent import (
    OCI_INDEX, SIMPLE_SIGNING, bound_tag, fallback_tag, load_json, referrer_kind, referrer_tag, signature_tag,
    simple_signing_annotations,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._registry import (
    DELETE_UNSUPPORTED_MESSAGE, DeleteUnsupported, RegistryClient,
)

_DIGEST_RE = re.compile(r'\Asha256:[0-9a-f]{64}\Z')

# What each kind of signature is called in results and diffs.
KINDS = {'simple-signing': 'cosign', 'bundle': 'cosign', 'notation': 'notation'}


def _compact(data):
    return json.dumps(data, separators=(',', ':')).encode('utf-8')


# --- the decisions -----------------------------------------------------------------------------------------------

def split_signature_layers(manifest, payloads, gun, tags, digest, origin=None):
    """``(keep, drop)`` of a cosign signature manifest (``sha256-<hex>.sig``): the layers to keep, and ``{tag, layer}``
    for each layer whose simple-signing payload (``payloads[layer digest]``, the blob) signs ``digest`` bound to one
    of ``tags`` of ``gun``."""
    keep, drop = [], []
    for layer in manifest.get('layers') or []:
        tag = None
        if isinstance(layer, dict) and layer.get('mediaType') == SIMPLE_SIGNING:
            tag = bound_tag(simple_signing_annotations(payloads.get(layer.get('digest')), digest), gun, origin)
        if tag is not None and tag in tags:
            drop.append(dict(tag=tag, layer=layer))
        else:
            keep.append(layer)
    return keep, drop


def rewrite_signature_manifest(manifest, config, keep):
    """The signature manifest with the layers ``keep`` only, and its config (None if it could not be read: left as
    it is) with the ``rootfs.diff_ids`` and ``history`` of those layers, as cosign itself writes them."""
    layers = manifest.get('layers') or []
    kept = [i for i, layer in enumerate(layers) if layer in keep]
    new = copy.deepcopy(manifest)
    new['layers'] = [copy.deepcopy(layers[i]) for i in kept]
    if not isinstance(config, dict):
        return new, None
    config = copy.deepcopy(config)
    rootfs = config.get('rootfs') if isinstance(config.get('rootfs'), dict) else {'type': 'layers'}
    diff_ids = rootfs.get('diff_ids')
    if isinstance(diff_ids, list) and len(diff_ids) == len(layers):
        rootfs['diff_ids'] = [diff_ids[i] for i in kept]
    else:
        rootfs['diff_ids'] = [layers[i].get('digest') for i in kept]  # simple-signing layers are not compressed
    config['rootfs'] = rootfs
    history = config.get('history')
    if isinstance(history, list) and len(history) == len(layers):
        config['history'] = [history[i] for i in kept]
    return new, config


def index_without(index, digests):
    """The fallback index with the entries of ``digests`` left out, every other entry as it was."""
    new = copy.deepcopy(index)
    new['manifests'] = [m for m in index.get('manifests') or []
                        if not (isinstance(m, dict) and m.get('digest') in digests)]
    return new


def revocation_plan(state, gun, tags, origin=None):
    """What to remove from one digest's signatures (``state``, from ``read_signatures``) for ``tags``.

    Returns ``{removed: [{tag, kind, digest}], kept: [{tag, kind, digest}], signature_manifest: None | (manifest,
    config), index: None | new index, delete: [referrer digests]}``; ``digest`` of a simple-signing signature is
    its layer's.  Only signatures bound to one of ``tags`` are in ``removed``; ``kept`` lists the others."""
    removed, kept = [], []
    plan = dict(removed=removed, kept=kept, signature_manifest=None, index=None, delete=[])
    simple = state.get('simple')
    if simple:
        keep, drop = split_signature_layers(simple['manifest'], simple['payloads'], gun, tags, state['digest'], origin)
        for layer in keep:
            payload = simple['payloads'].get(layer.get('digest'))
            kept.append(dict(tag=bound_tag(simple_signing_annotations(payload, state['digest']), gun),
                             kind='simple-signing', digest=layer.get('digest')))
        removed.extend(dict(tag=d['tag'], kind='simple-signing', digest=d['layer'].get('digest')) for d in drop)
        if drop:
            plan['signature_manifest'] = rewrite_signature_manifest(simple['manifest'], simple['config'], keep)
    for ref in state.get('referrers') or []:
        entry = dict(tag=ref['tag'], kind=ref['kind'], digest=ref['digest'])
        if ref['tag'] is not None and ref['tag'] in tags:
            removed.append(entry)
            plan['delete'].append(ref['digest'])
        else:
            kept.append(entry)
    index = state.get('index')
    if index and plan['delete']:
        listed = set(m.get('digest') for m in index['index'].get('manifests') or [] if isinstance(m, dict))
        if listed & set(plan['delete']):
            plan['index'] = index_without(index['index'], plan['delete'])
    return plan


# --- the registry ------------------------------------------------------------------------------------------------

def read_signatures(client, gun, digest, kinds, origin=None):
    """The signatures of ``digest`` of the ``kinds`` asked for (``simple-signing``, ``bundle``, ``notation``), as the
    registry holds them: ``{digest, simple: None | {manifest, media_type, payloads, config}, index: None | {index,
    media_type}, referrers: [{digest, kind, tag}]}``; ``tag`` is the tag of ``gun`` a referrer's signed content
    binds."""
    state = dict(digest=digest, simple=None, index=None, referrers=[])
    if 'simple-signing' in kinds:
        found = client.get_manifest(signature_tag(digest))
        manifest = load_json(found[0]) if found else None
        if isinstance(manifest, dict) and isinstance(manifest.get('layers'), list):
            payloads = {}
            for layer in manifest['layers']:
                if isinstance(layer, dict) and layer.get('mediaType') == SIMPLE_SIGNING \
                        and _DIGEST_RE.match(layer.get('digest') or ''):
                    payloads[layer['digest']] = client.get_blob(layer['digest'])
            config_digest = (manifest.get('config') or {}).get('digest') or ''
            config = load_json(client.get_blob(config_digest)) if _DIGEST_RE.match(config_digest) else None
            state['simple'] = dict(manifest=manifest, media_type=found[1], payloads=payloads, config=config)
    wanted = set(kinds) & set(('bundle', 'notation'))
    if not wanted:
        return state
    listed = []
    api = client.referrers(digest)
    for entry in (api or {}).get('manifests') or []:
        listed.append(entry)
    found = client.get_manifest(fallback_tag(digest))
    index = load_json(found[0]) if found else None
    if isinstance(index, dict) and isinstance(index.get('manifests'), list):
        state['index'] = dict(index=index, media_type=found[1] or OCI_INDEX)
        listed.extend(index['manifests'])
    seen = set()
    for entry in listed:
        ref = entry.get('digest') if isinstance(entry, dict) else None
        if not ref or ref in seen or not _DIGEST_RE.match(ref):
            continue
        seen.add(ref)
        got = client.get_manifest(ref)
        manifest = load_json(got[0]) if got else None
        kind = referrer_kind(manifest)
        if kind not in wanted:
            continue
        layer_digest = manifest['layers'][0].get('digest') or ''
        blob = client.get_blob(layer_digest) if _DIGEST_RE.match(layer_digest) else None
        state['referrers'].append(dict(digest=ref, kind=kind, tag=referrer_tag(kind, manifest, blob, gun, digest, origin)))
    return state


def apply_plan(client, digest, state, plan):
    """Write one digest's plan: the signature manifest (its config first), the fallback index, then the DELETEs.
    Returns what was done, as sentences for a failure message."""
    done = []
    try:
        if plan['signature_manifest']:
            manifest, config = plan['signature_manifest']
            if config is not None:
                body = _compact(config)
                manifest['config'] = dict(manifest.get('config') or {}, digest=client.put_blob(body), size=len(body))
            client.put_manifest(signature_tag(digest), _compact(manifest), state['simple']['media_type'])
            done.append('pushed %s without the layers withdrawn' % signature_tag(digest))
        if plan['index'] is not None:
            client.put_manifest(fallback_tag(digest), _compact(plan['index']), state['index']['media_type'])
            done.append('pushed the index %s without the signatures withdrawn' % fallback_tag(digest))
        for ref in plan['delete']:
            client.delete_manifest(ref)
            done.append('deleted %s' % ref)
    except TrustError as exc:
        if done:
            exc.msg = '%s (already done for %s: %s)' % (exc.msg, digest, '; '.join(done))
            exc.args = (exc.msg,)
        raise
    return done


# --- the modules' work -------------------------------------------------------------------------------------------

def _label(entry):
    return '%s %s' % (entry['kind'], entry['digest'])


def check_digests(digests, tags):
    out = {}
    for tag, digest in (digests or {}).items():
        if tag not in tags:
            raise InputError('digests names tag %s, which is not in tags (%s)' % (tag, ', '.join(tags)))
        if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
            raise InputError('digests: the digest of %s must be "sha256:" and 64 lowercase hex digits, got %r'
                             % (tag, digest))
        out[tag] = digest
    return out


def missing_message(gun, fmt, unsigned, bound):
    parts = []
    for tag, digest in unsigned:
        if digest is None:
            parts.append('%s (the registry has no such tag; give its digest in digests)' % tag)
        else:
            others = sorted(t for t in bound.get(digest, ()) if t)
            parts.append('%s (%s; its signatures are bound to %s)' % (tag, digest, ', '.join(others) or 'no tag'))
    which = 'these tags' if len(unsigned) > 1 else 'this tag'
    return ('no %s signature bound to %s in %s, so nothing to withdraw: %s. A tag already withdrawn is fine; a '
            'mistyped tag is not: check the name' % (fmt, which, gun, '; '.join(parts)))


class RevokeSignatures(Action):
    """Withdraw the signatures of one format (``FORMAT``: the ``KINDS`` it covers) bound to some tags of a
    repository: read every signature of each tag's digest, decide from what they sign, write once per digest."""

    FORMAT = None

    def kinds(self):
        return tuple(k for k, f in KINDS.items() if f == self.FORMAT)

    def inputs(self):
        p = self.params
        self.repository = parse_reference(p['repository'], allow_tag=False)
        self.tags = parse_tags(p['tags'])
        self.pinned = check_digests(p['digests'], self.tags)
        self.origin = check_origin(p['origin'])

    def read(self, digests):
        """``{digest: (state, plan)}`` for the digests of the tags."""
        tags_of = {}
        for tag in self.tags:
            if digests.get(tag):
                tags_of.setdefault(digests[tag], []).append(tag)
        out = {}
        for digest, tags in tags_of.items():
            state = read_signatures(self.client, self.repository.gun, digest, self.kinds(), self.origin)
            out[digest] = (state, revocation_plan(state, self.repository.gun, tags, self.origin))
        return out

    def plan(self):
        self.client = RegistryClient(self.repository, self.cli.docker_config, timeout=min(self.cli.timeout, 60))
        todo = [t for t in self.tags if t not in self.pinned]
        served = self.client.manifests(todo) if todo else {}
        digests = dict((t, self.pinned.get(t) or (served.get(t) or (None,))[0]) for t in self.tags)
        plans = self.read(digests)
        rows = []
        for tag in self.tags:
            digest = digests[tag]
            removed = [e for e in plans[digest][1]['removed'] if e['tag'] == tag] if digest else []
            rows.append(dict(tag=tag, digest=digest, format=self.FORMAT, revoked=bool(removed), unsigned=not removed,
                             signatures=[dict(kind=e['kind'], digest=e['digest']) for e in removed]))
        return dict(changed=any(r['revoked'] for r in rows), results=rows, digests=digests, plans=plans)

    def signatures_by_tag(self, plans, digests, which):
        """The diff's ``signatures``: ``<repository>:<tag>`` to the signatures (``<kind> <digest>``) bound to it,
        ``before`` (all of them) or ``after`` the plan (those it keeps)."""
        out = {}
        for tag in self.tags:
            ref, digest = '%s:%s' % (self.repository.gun, tag), digests[tag]
            if digest is None:
                out[ref] = []
                continue
            plan = plans[digest][1]
            entries = plan['removed'] + plan['kept'] if which == 'before' else plan['kept']
            out[ref] = sorted(_label(e) for e in entries if e['tag'] == tag)
        return out

    def preflight(self, plan):
        p = self.params
        unsigned = [(r['tag'], r['digest']) for r in plan['results'] if r['unsigned']]
        if unsigned and p['missing'] != 'ignore':
            bound = dict((d, set(e['tag'] for e in pl['removed'] + pl['kept']))
                         for d, (dummy, pl) in plan['plans'].items())
            message = missing_message(self.repository.gun, 'cosign' if self.FORMAT == 'cosign' else 'Notation',
                                      unsigned, bound)
            if p['missing'] == 'fail':
                raise InputError('%s; nothing was withdrawn (missing=fail)' % message)
            self.module.warn(message)
        deletes = [ref for dummy, pl in plan['plans'].values() for ref in pl['delete']]
        # Before the first change: a registry that refuses the DELETEs would leave the signatures half withdrawn.
        if deletes and not self.client.deletes_supported():
            raise DeleteUnsupported((DELETE_UNSUPPORTED_MESSAGE % (self.client.base, deletes[0], self.repository.gun))
                                    + '; nothing was changed')

    def apply(self, plan):
        done = []
        for digest, (state, pl) in plan['plans'].items():
            if pl['removed']:
                done.extend(apply_plan(self.client, digest, state, pl))
        return done

    def verify(self, plan, outcome):
        again = self.read(plan['digests'])
        left = ['%s (%s)' % (e['tag'], _label(e)) for dummy, pl in again.values() for e in pl['removed']]
        if left:
            raise TrustError('signatures bound to %s are still in the registry after they were withdrawn from %s'
                             % (', '.join(left), self.repository.gun))
        self.after = again

    def result(self, plan, outcome):
        rows, digests = plan['results'], plan['digests']
        after = self.signatures_by_tag(plan['plans'], digests, 'after')
        if outcome is not None and getattr(self, 'after', None) is not None:
            after = self.signatures_by_tag(self.after, digests, 'before')
        return dict(changed=plan['changed'], results=rows,
                    revoked=[r['tag'] for r in rows if r['revoked']],
                    unsigned=[r['tag'] for r in rows if r['unsigned']],
                    diff=self.diff({'signatures': self.signatures_by_tag(plan['plans'], digests, 'before')},
                                   {'signatures': after}, header='%s (%s signatures bound to each tag)'
                                   % (self.repository.gun, 'cosign' if self.FORMAT == 'cosign' else 'Notation')))


REVOKE_ARGUMENT_SPEC = dict(
    repository=dict(type='str', required=True),
    tags=dict(type='list', elements='str', required=True),
    digests=dict(type='dict', default={}),
    missing=dict(type='str', default='warn', choices=['warn', 'fail', 'ignore']),
    origin=dict(type='str'),
)
