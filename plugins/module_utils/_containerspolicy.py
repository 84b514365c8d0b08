# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the containers policy (podman, skopeo, CRI-O, buildah).

Not a public API; it may change without notice.  Standard library only (plus ``_common``, ``_errors`` and ``_pem``).

The containers tools share one enforcement point, ``policy.json`` (containers-policy.json(5)): per transport
and scope, a list of requirements that must ALL hold.  This module decides the policy the inventory asks for:

* a scope is a repository (``registry.example.com/acme/app``), a namespace (``registry.example.com/acme``) or
  a registry (``registry.example.com``, with a port where it has one): ``parse_scope``;
* a signed scope gets one ``sigstoreSigned`` requirement with the cosign public keys accepted for it (any one of
  them: ``keyData`` for one key, ``keyDatas`` for several; a key given as a path on the host gives ``keyPath`` /
  ``keyPaths``) and ``signedIdentity: matchRepository``: the repository in the signed payload must be the
  image's own, so a signature copied from another repository does not admit an image;
  ``containers/image`` never reads a tag from cosign's payload (it carries none), so a tag cannot be bound;
* an unsigned scope (a base image the host needs) gets ``insecureAcceptAnything``;
* ``default`` is the team's choice (``reject`` or ``insecureAcceptAnything``);
* ``merge_policy``: every other entry of the existing policy is kept (other transports, scopes the inventory does
  not manage); a scope this collection wrote before and the inventory no longer lists is removed.  Which scopes
  are the collection's is recorded in its own ``registries.d`` file (``registries_d_file``, ``managed_scopes``),
  which also turns on ``use-sigstore-attachments`` for the signed scopes (cosign's ``sha256-<hex>.sig`` tags);
* ``probe_policy`` / ``validation_policy``: what the host's own tools are run against before anything is
  replaced (the module runs them): a throwaway-key-signed probe image in the ``dir:`` transport (``PROBE_FILES``)
  that must be accepted.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import copy
import json
import os
import re

from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_reference
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError, KeyProblem
from ansible_collections.openbanking.content_trust.plugins.module_utils._pem import encode_pem, pem_blocks

DEFAULTS = ('reject', 'insecureAcceptAnything')
REGISTRIES_D_NAME = 'openbanking-content-trust.yaml'
MANAGED_LINE = '# managed-scopes: '
MATCH_REPOSITORY = {'type': 'matchRepository'}
SIGSTORE_DISABLED = 'sigstore disabled'

# registry host (a name with a dot or a port, or localhost), then lower-case path components, docker's grammar.
_HOST = r'(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*'
_COMPONENT = r'[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*'
_SCOPE_RE = re.compile(r'\A(%s)(?::([0-9]{1,5}))?((?:/%s)*)\Z' % (_HOST, _COMPONENT))


def parse_scope(text, what='scope'):
    """A ``docker`` transport scope of policy.json: ``host[:port][/path...]``, fully qualified (the host has a dot
    or a port, or is ``localhost``: containers/image matches scopes against fully qualified names only), no tag,
    no digest, no wildcard."""
    if not isinstance(text, str) or not text.strip():
        raise InputError('%s must be a registry, namespace or repository such as registry.example.com/acme/app; '
                         'got %r' % (what, text))
    scope = text.strip().rstrip('/')
    m = _SCOPE_RE.match(scope)
    if not m:
        raise InputError('%s %r is not a registry, namespace or repository (host[:port][/path], lower-case path, '
                         'no tag or digest), such as registry.example.com/acme/app' % (what, text))
    host, port = m.group(1), m.group(2)
    if not port and '.' not in host and host != 'localhost':
        raise InputError('%s %r does not start with a registry host (a name with a dot or a port, or localhost): '
                         'the containers tools match fully qualified names only, for Docker Hub write '
                         'docker.io/library/NAME' % (what, text))
    return host.lower() + (':' + port if port else '') + m.group(3)


def public_key_entry(key, what):
    """``('data', PEM text)`` or ``('path', path)``: a cosign public key given as its PEM, or as the absolute path
    of a PEM file on the host (written as ``keyPath``; the host's tools check that it loads)."""
    if not isinstance(key, str) or not key.strip():
        raise KeyProblem('%s must be a public key (PEM) or the absolute path of one on the host' % what)
    text = key.strip()
    if '-----BEGIN' not in text:
        if not text.startswith('/') or '\n' in text:
            raise KeyProblem('%s is neither a PEM public key nor an absolute path on the host: %r'
                             % (what, text[:80]))
        return 'path', os.path.normpath(text)
    blocks = pem_blocks(text, what)
    if len(blocks) != 1:
        raise KeyProblem('%s must hold exactly one PEM public key; it holds %d PEM blocks' % (what, len(blocks)))
    pem_type, dummy, der = blocks[0]
    if 'PRIVATE' in pem_type:
        raise KeyProblem('%s is a private key (%s); give the public key (cosign.pub), never the private key'
                         % (what, pem_type))
    if pem_type != 'PUBLIC KEY':
        raise KeyProblem('%s is a PEM %s, not a PUBLIC KEY (cosign.pub)' % (what, pem_type))
    return 'data', encode_pem('PUBLIC KEY', der).strip() + '\n'


def sigstore_requirement(keys, what='public_keys', identity=None):
    """The ``sigstoreSigned`` requirement accepting a signature by any one of ``keys`` (PEM texts or absolute paths,
    all of one kind), with the repository identity check."""
    entries = []
    for i, key in enumerate(keys or []):
        entry = public_key_entry(key, '%s[%d]' % (what, i))
        if entry not in entries:
            entries.append(entry)
    if not entries:
        raise InputError('%s is empty: a signed scope needs at least one cosign public key' % what)
    kinds = set(kind for kind, dummy in entries)
    if len(kinds) > 1:
        raise InputError('%s mixes PEM keys and key paths; the containers policy takes either for one scope: give '
                         'them all as PEM or all as paths' % what)
    values = [value for dummy, value in entries]
    if kinds == set(['data']):
        values = [base64.b64encode(v.encode('ascii')).decode('ascii') for v in values]
        field = 'keyData'
    else:
        field = 'keyPath'
    req = {'type': 'sigstoreSigned'}
    if len(values) == 1:
        req[field] = values[0]
    else:
        req[field + 's'] = values
    req['signedIdentity'] = dict(identity or MATCH_REPOSITORY)
    return req


def parse_scopes(scopes, unsigned, default_keys):
    """``{scope: [requirements]}`` wanted, from ``scopes`` (``[{scope, public_keys}]``; an entry without keys takes
    ``default_keys``) and ``unsigned`` (scopes accepted without a signature).  A scope given twice must be given
    the same way; signed and unsigned at once is refused."""
    wanted = {}
    for i, entry in enumerate(scopes or []):
        what = 'scopes[%d]' % i
        if not isinstance(entry, dict) or 'scope' not in entry:
            raise InputError('%s must be a dict with scope (a registry, namespace or repository) and optional '
                             'public_keys; got %r' % (what, entry))
        unknown = sorted(set(entry) - set(['scope', 'public_keys']))
        if unknown:
            raise InputError('%s has unknown keys %s; it takes scope and public_keys' % (what, ', '.join(unknown)))
        scope = parse_scope(entry['scope'], '%s.scope' % what)
        keys = entry.get('public_keys')
        keys_what = '%s.public_keys' % what
        if not keys:
            keys, keys_what = default_keys, 'public_keys (the default keys, for %s)' % scope
        if isinstance(keys, str):
            keys = [keys]
        req = [sigstore_requirement(keys, keys_what)]
        if scope in wanted and wanted[scope] != req:
            raise InputError('%s: scope %s is given twice with different keys; give it once with all its keys'
                             % (what, scope))
        wanted[scope] = req
    for i, text in enumerate(unsigned or []):
        scope = parse_scope(text, 'unsigned[%d]' % i)
        if scope in wanted and wanted[scope] != [{'type': 'insecureAcceptAnything'}]:
            raise InputError('unsigned[%d]: scope %s is also a signed scope; a scope is either signed or accepted '
                             'unsigned' % (i, scope))
        wanted[scope] = [{'type': 'insecureAcceptAnything'}]
    return wanted


def parse_policy(text, path):
    """The existing policy as a dict (None for no file); not a JSON object: refused, naming the file."""
    if text is None:
        return None
    try:
        policy = json.loads(text)
    except ValueError as exc:
        raise InputError('the existing containers policy %s is not valid JSON (%s); the containers tools cannot '
                         'use it either: fix or remove it, then run again' % (path, exc))
    if not isinstance(policy, dict) or not isinstance(policy.get('transports', {}), dict) or \
            not isinstance(policy.get('transports', {}).get('docker', {}), dict):
        raise InputError('the existing containers policy %s is not a containers-policy.json object (default, '
                         'transports: {docker: {scope: [...]}}); fix or remove it, then run again' % path)
    return policy


def merge_policy(existing, wanted, default, previously_managed=()):
    """The new policy: ``existing`` (or an empty one) with ``default`` set, every scope of ``wanted`` replaced, the
    ``previously_managed`` scopes that are not wanted any more removed, and everything else kept as it was.

    Returns ``(policy, removed)``."""
    if default not in DEFAULTS:
        raise InputError('default must be one of %s; got %r' % (', '.join(DEFAULTS), default))
    policy = copy.deepcopy(existing) if existing else {}
    policy['default'] = [{'type': default}]
    transports = policy.setdefault('transports', {})
    docker = transports.setdefault('docker', {})
    removed = sorted(s for s in previously_managed if s in docker and s not in wanted)
    for scope in removed:
        del docker[scope]
    for scope in sorted(wanted):
        docker[scope] = copy.deepcopy(wanted[scope])
    if not docker:
        del transports['docker']
    return policy, removed


def policy_text(policy):
    return json.dumps(policy, indent=4) + '\n'


def signed_scopes(wanted):
    return sorted(s for s, reqs in wanted.items() if any(r.get('type') == 'sigstoreSigned' for r in reqs))


def registries_d_text(wanted):
    """The collection's registries.d file: the scopes it manages (recorded on a comment line, JSON), and
    ``use-sigstore-attachments: true`` for each signed one, so the tools read cosign's signatures."""
    lines = [
        '# Written by openbanking.content_trust (containers_policy); the next run rewrites it.',
        '# The containers tools read cosign signatures (sha256-<digest>.sig) of these scopes from the registry.',
        MANAGED_LINE + json.dumps(sorted(wanted)),
    ]
    signed = signed_scopes(wanted)
    if signed:
        lines.append('docker:')
        for scope in signed:
            lines.append('  %s:' % json.dumps(scope))
            lines.append('    use-sigstore-attachments: true')
    return '\n'.join(lines) + '\n'


def managed_scopes(text):
    """The scopes a previous run managed, from its registries.d file's comment line ([] when unknown)."""
    for line in (text or '').splitlines():
        if line.startswith(MANAGED_LINE):
            try:
                scopes = json.loads(line[len(MANAGED_LINE):])
            except ValueError:
                return []
            return [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else []
    return []


# --- the host's tools: a probe image they must accept ------------------------------------------------------
#
# A one-config, no-layer image in the dir: transport, signed (cosign's simple-signing payload, the sigstore form
# the containers tools read) with a throwaway P-256 key whose private half was discarded; identity
# probe.invalid/content-trust-probe.  A tool built with sigstore verification accepts it under PROBE_PUBLIC_KEY;
# Debian 12's podman and skopeo refuse it ("Debian-local change: sigstore disabled").

PROBE_IDENTITY = 'probe.invalid/content-trust-probe'
PROBE_PUBLIC_KEY = '''-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6PkupxUCCrFmVfbYdcathMCXZelV
hPJCscCYStA/FdqYYgEJgzrBxc2L2c5croYWkaopvDV399dFZ6bzdrVKlg==
-----END PUBLIC KEY-----
'''
_PROBE_CONFIG = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{}}'
_PROBE_CONFIG_DIGEST = '7a19147749ce097f32b13072bccba494b5e717d4f23fbde50f7514059e109ad1'
_PROBE_MANIFEST = (b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":'
                   b'"application/vnd.oci.image.config.v1+json","digest":"sha256:' + _PROBE_CONFIG_DIGEST.encode() +
                   b'","size":90},"layers":[]}')
_PROBE_SIGNATURE = {
    'mimeType': 'application/vnd.dev.cosign.simplesigning.v1+json',
    'payload': 'eyJjcml0aWNhbCI6eyJpZGVudGl0eSI6eyJkb2NrZXItcmVmZXJlbmNlIjoicHJvYmUuaW52YWxpZC9jb250ZW50LXRydXN0LXBy'
               'b2JlOnByb2JlIn0sImltYWdlIjp7ImRvY2tlci1tYW5pZmVzdC1kaWdlc3QiOiJzaGEyNTY6NzkzYTU3Y2VjNWVlODhkMWMzODU3'
               'NWNlZmMxNmNjNjVhZTg5NDU3YzUwOGJjMjM1OTYyMTA5OWIyY2FmNTAyMSJ9LCJ0eXBlIjoiY29zaWduIGNvbnRhaW5lciBpbWFn'
               'ZSBzaWduYXR1cmUifSwib3B0aW9uYWwiOnsiY3JlYXRvciI6ImNvbnRhaW5lcnMvaW1hZ2UgNS4zNC4yIiwidGltZXN0YW1wIjox'
               'Nzk2NjE3NDk4fX0=',
    'annotations': {'dev.cosignproject.cosign/signature': 'MEQCIEZv4MV9Oeci8NdHFrwhELBqTaDW8v0jOF3++cLF519iAiAiQH33ZC'
                                                          'N1BWFdIJ1xyFEUiQDrLCAZ7OkLA/thqk7bRQ=='},
}
PROBE_FILES = {
    'version': b'Directory Transport Version: 1.1\n',
    'manifest.json': _PROBE_MANIFEST,
    _PROBE_CONFIG_DIGEST: _PROBE_CONFIG,
    # containers/image's internal form of a sigstore signature in the dir: transport
    'signature-1': b'\x00sigstore-json\n' + json.dumps(_PROBE_SIGNATURE, separators=(',', ':')).encode('ascii'),
}


def probe_requirement(keys=(), probe_key_path=None):
    """A requirement the probe image satisfies: the probe key (as data, or as ``probe_key_path`` beside key paths),
    plus ``keys`` (``sigstore_requirement``'s key fields: any one key suffices, but every key must load)."""
    req = {'type': 'sigstoreSigned'}
    datas = [k for k in keys if not k.startswith('/')]
    paths = [k for k in keys if k.startswith('/')]
    if paths:
        req['keyPaths'] = paths + [probe_key_path]
    elif datas:
        req['keyDatas'] = datas + [base64.b64encode(PROBE_PUBLIC_KEY.encode('ascii')).decode('ascii')]
    else:
        req['keyData'] = base64.b64encode(PROBE_PUBLIC_KEY.encode('ascii')).decode('ascii')
    req['signedIdentity'] = {'type': 'exactRepository', 'dockerRepository': PROBE_IDENTITY}
    return req


def probe_policy():
    """The policy of the sigstore probe: only the probe image, signed by the probe key, is accepted."""
    return {'default': [{'type': 'reject'}], 'transports': {'dir': {'': [probe_requirement()]}}}


def requirement_keys(req):
    """The key fields of a sigstoreSigned requirement as one list (data as given, paths as given)."""
    for field in ('keyDatas', 'keyPaths'):
        if field in req:
            return list(req[field])
    for field in ('keyData', 'keyPath'):
        if field in req:
            return [req[field]]
    return []


def key_sets(wanted):
    """The distinct key sets of the signed scopes, each with the scopes that use it: ``[(keys, [scopes])]``."""
    sets = []
    for scope in signed_scopes(wanted):
        keys = []
        for req in wanted[scope]:
            keys += requirement_keys(req)
        for known, scopes in sets:
            if known == keys:
                scopes.append(scope)
                break
        else:
            sets.append((keys, [scope]))
    return sets


def validation_policy(candidate, probe_dirs, probe_key_path):
    """The candidate policy with, for each ``(keys, probe_dir)`` of ``probe_dirs``, a ``dir`` scope for that
    probe's directory accepting the probe key beside ``keys`` (every key of a set must load for any to count).

    The tools parse the whole file (every transport and scope: a file they cannot parse refuses every image) and
    evaluate each key set on a signed image: a key that does not load (a keyPath that does not exist, data that
    is no key) fails the copy."""
    policy = copy.deepcopy(candidate)
    dirs = policy.setdefault('transports', {}).setdefault('dir', {})
    for keys, probe_dir in probe_dirs:
        dirs[probe_dir] = [probe_requirement(keys, probe_key_path)]
    return policy


def inventory_scopes(images, scopes=None):
    """The module's ``scopes`` from the inventory: one per repository of ``images`` (``content_trust_pull_images``,
    ``[{repository, tags, cosign_public_keys}]``; docker's short names are made fully qualified, as trust_pull
    reads them) with its own ``cosign_public_keys`` when it has some, then the registry and namespace ``scopes``
    (``content_trust_containers_scopes``, ``[{scope, cosign_public_keys}]``).  A repository listed twice keeps the
    union of its keys, in order."""
    out, index = [], {}

    def add(scope, keys, what):
        if keys is not None and not isinstance(keys, list):
            raise InputError('%s.cosign_public_keys must be a list of PEM public keys; got %r' % (what, keys))
        if scope in index:
            entry = out[index[scope]]
            if bool(entry.get('public_keys')) != bool(keys):
                raise InputError('%s: %s is listed twice, once with cosign_public_keys and once without; give its '
                                 'keys in one place' % (what, scope))
            for key in keys or []:
                if key not in entry['public_keys']:
                    entry['public_keys'].append(key)
            return
        index[scope] = len(out)
        out.append(dict(scope=scope, public_keys=list(keys)) if keys else dict(scope=scope))

    for i, image in enumerate(images or []):
        what = 'content_trust_pull_images[%d]' % i
        if not isinstance(image, dict) or 'repository' not in image:
            raise InputError('%s must be a dict with repository; got %r' % (what, image))
        add(parse_reference(image['repository'], allow_tag=False, what='%s.repository' % what).gun,
            image.get('cosign_public_keys'), what)
    for i, entry in enumerate(scopes or []):
        what = 'content_trust_containers_scopes[%d]' % i
        if not isinstance(entry, dict) or 'scope' not in entry:
            raise InputError('%s must be a dict with scope (a registry or namespace) and optional cosign_public_keys; '
                             'got %r' % (what, entry))
        add(parse_scope(entry['scope'], '%s.scope' % what), entry.get('cosign_public_keys'), what)
    return out
