# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: cosign and Notation signatures on registry digests.

Not a public API; it may change without notice.

Both tools sign DIGESTS, never tags: every tag is resolved to the digest the registry serves
for it (``_registry``), and that digest is what is signed and verified.

* cosign reads a key's password from ``COSIGN_PASSWORD`` or prompts on a terminal.  The
  collection keeps secrets out of argv AND out of the environment: cosign runs on a pty
  (pexpect) and its prompt is answered; ``COSIGN_PASSWORD`` from the caller is removed.
* cosign 3.x refuses ``--tlog-upload=false`` unless ``--use-signing-config=false`` comes
  with it, and stores new-format bundles as OCI referrers (a ``sha256-<hex>`` index tag on
  registries without the referrers API) where 2.x writes a ``sha256-<hex>.sig`` tag.  The
  version is told from ``cosign sign --help`` (Debian's builds say ``GitVersion: devel``);
  ``cosign verify`` finds either format.
* notation keeps keys, trust store and trust policy under ``$XDG_CONFIG_HOME/notation``:
  every run gets a directory of its own inside a private (0700) temporary directory.  A
  signing key is referenced there by path, in place: it is never copied.
* Loopback registries are reached over plain http (as docker does), every other registry
  over TLS with the docker configuration's credentials (``DOCKER_CONFIG``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import threading

from ansible_collections.openbanking.content_trust.plugins.module_utils._process import run_parallel, scrub
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
    CommandTimeout, InputError, TrustError, WrongPassphrase, explain,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocibinding import (
    bound_tags, cosign_payloads, notation_bound_tags, notation_inspect_signatures, payloads_with,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocifiles import (
    NOTATION_STORE, notation_trust_policy, public_key_pem,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._registry import RegistryClient


# The signatures of one digest notation verify and inspect look at (notation's default is 100). Verification stops at
# the first that verifies for the tag asked, so more cost time only when none does; a digest with more than this
# (one signature per tag and re-signing) would fail closed for the tags beyond.
NOTATION_MAX_SIGNATURES = 1000
NOTATION_PUSH_FAILED = 'failed to push signature to registry'
COSIGN_PROMPT_RE = re.compile(r'Enter password for (?:the )?private key(?: again)?:\s*')
COSIGN_OVERWRITE_RE = re.compile(r'already exists\. Overwrite \(y/n\)\?\s*')
COSIGN_WRONG_PASSWORD_RE = re.compile(r'decryption failed|incorrect passphrase|wrong password', re.I)
NOTATION_KEY_NAME = 'content-trust'


# --- commands --------------------------------------------------------------------------------

def cosign_sign_argv(cosign, features, target, key_path, annotations=None, transparency_log=False, loopback=False,
                     containers_form=False):
    """The ``cosign sign`` command for one digest reference (no secret in it).  ``containers_form``: the
    ``sha256-<hex>.sig`` form (cosign 2.x's) that podman, skopeo and CRI-O read, also from cosign 3.x."""
    argv = [cosign, 'sign', '--yes', '--key', key_path]
    if containers_form and features.get('major') == 3:
        argv.append('--new-bundle-format=false')
    if not transparency_log:
        argv.append('--tlog-upload=false')
        if features.get('signing_config_flag'):
            # cosign 3.x: the signing config would upload to Rekor whatever --tlog-upload says.
            argv.append('--use-signing-config=false')
    return argv + _annotation_and_target_args(features, target, annotations, loopback)


def _annotation_and_target_args(features, target, annotations, loopback):
    """The tail both cosign commands share: ``-a`` per annotation (sorted), the loopback registry flag, the target."""
    args = []
    for key in sorted(annotations or {}):
        args += ['-a', '%s=%s' % (key, annotations[key])]
    if loopback and features.get('allow_http'):
        args.append('--allow-http-registry')
    return args + [target]


def cosign_verify_argv(cosign, features, target, public_key_path, annotations=None, transparency_log=False,
                       loopback=False):
    argv = [cosign, 'verify', '--key', public_key_path, '--output', 'json']
    if not transparency_log:
        argv.append('--insecure-ignore-tlog=true')
    return argv + _annotation_and_target_args(features, target, annotations, loopback)


def cosign_features_from_help(text):
    """What ``cosign sign --help`` says about the version: 3.x has ``--use-signing-config``
    defaulting to true."""
    text = text or ''
    return {
        'major': 3 if '--use-signing-config=true' in text else 2,
        'signing_config_flag': '--use-signing-config' in text,
        'allow_http': '--allow-http-registry' in text,
    }


class OciTools(object):
    """cosign and notation for one module run, on top of the module's ``TrustCLI`` (timeouts,
    scrubbing, temporary directories, the docker configuration)."""

    _features = {}
    _features_lock = threading.Lock()

    def __init__(self, cli, cosign_cli='cosign', notation_cli='notation', secrets=()):
        self.cli = cli
        self.cosign_cli = cosign_cli or 'cosign'
        self.notation_cli = notation_cli or 'notation'
        self.secrets = [s for s in secrets if s]
        self._notation_home = None

    # --- binaries and environment ----------------------------------------------------------

    def cosign_path(self):
        return self.cli._binary(self.cosign_cli, 'cosign_cli')

    def notation_path(self):
        return self.cli._binary(self.notation_cli, 'notation_cli')

    def env(self, xdg=None):
        env = self.cli.env()
        for var in list(env):
            # A password from the caller's environment would bypass the prompt we answer.
            if var.startswith(('COSIGN_', 'NOTATION_')):
                del env[var]
        if xdg:
            env['XDG_CONFIG_HOME'] = xdg
        return env

    def cosign_features(self):
        cosign = self.cosign_path()
        with self._features_lock:  # repositories verified side by side ask once, not once each
            if cosign not in self._features:
                rc, out = self.cli.run([cosign, 'sign', '--help'], env=self.env(), timeout=min(self.cli.timeout, 30))
                if rc != 0:
                    raise explain(out, '%s sign --help' % cosign, sources=('oci',), rc=rc)
                self._features[cosign] = cosign_features_from_help(out)
        return self._features[cosign]

    # --- running ---------------------------------------------------------------------------

    def run(self, argv, env=None, what=None, timeout=None):
        """Run without a password; returns ``(rc, scrubbed output)``."""
        return self.cli.run(argv, env=env or self.env(), what=what, timeout=timeout, secrets=self.secrets)

    def run_pty(self, argv, password, what, pass_fds=(), option='key_passphrase', env=None):
        """Run cosign on a pty (``_process``'s one pty runner), answering its password prompts with ``password``.

        Returns ``(rc, scrubbed output)``; a wrong password raises TrustError naming ``option``."""
        def answer(idx, match, output):
            if idx == 1:
                raise TrustError('%s would overwrite an existing file; nothing was overwritten' % what)
            if not password:
                raise TrustError('%s asks for the password of a private key and none was given (set %s)'
                                 % (what, option))
            return password

        def on_timeout(so_far):
            return CommandTimeout('%s did not finish within the timeout of %s seconds; output so far: %s'
                                  % (what, self.cli.timeout, so_far.strip()[-500:]))
        known = self.secrets + ([password] if password else [])
        # An overwrite question ends the process unanswered (nothing is overwritten).
        rc, out = self.cli.dialog(argv, [COSIGN_PROMPT_RE, COSIGN_OVERWRITE_RE], answer, env=env or self.env(),
                                  pass_fds=pass_fds, known=known, on_timeout=on_timeout)
        out = out.replace('\r\n', '\n')
        if rc != 0 and COSIGN_WRONG_PASSWORD_RE.search(out):
            raise WrongPassphrase('%s: the password is incorrect for the private key (%s)' % (what, option),
                                  output=out, rc=rc)
        return rc, out

    # --- cosign ----------------------------------------------------------------------------

    def cosign_public_key(self, key_path, password, option='key_passphrase'):
        """The PEM public key of a cosign private key file (decrypted by cosign itself); fails
        with a clear message on a wrong password."""
        if not os.path.isfile(key_path):
            raise TrustError('the cosign private key %s does not exist (create it with openbanking.content_trust.cosign_key)'
                             % key_path)
        what = 'cosign public-key --key %s' % key_path
        rc, out = self.run_pty([self.cosign_path(), 'public-key', '--key', key_path], password, what, option=option)
        try:
            public = public_key_pem(out, what) if rc == 0 else None
        except InputError:
            public = None
        if not public:
            raise explain(out, what, sources=('oci',), rc=rc)
        return public

    def write_public_keys(self, pems):
        d = self.cli.tempdir()
        paths = []
        for i, pem in enumerate(pems):
            path = os.path.join(d, 'key-%d.pub' % i)
            with open(path, 'w') as f:
                f.write(pem)
            paths.append(path)
        return paths

    def cosign_verify_run(self, reference, digest, public_key_path, annotations=None, transparency_log=False):
        """``(rc, verified payloads, message)`` of one ``cosign verify`` of ``digest`` requiring ``annotations``."""
        target = '%s@%s' % (reference.gun, digest)
        argv = cosign_verify_argv(self.cosign_path(), self.cosign_features(), target, public_key_path, annotations,
                                  transparency_log, reference.is_loopback())
        rc, out, err = self.cli.run_split(argv, env=self.env())
        if rc == 0:
            return rc, cosign_payloads(out), None
        return rc, [], explain(scrub(err or out, self.secrets), 'cosign verify', sources=('oci',)).msg

    def cosign_signed_for(self, reference, digest, public_key_paths, annotations=None, transparency_log=False):
        """``(verified, tags, problem)`` from one ``cosign verify`` of ``digest`` per public key, however many tags
        the digest carries: ``verified`` when a signature on it verifies with one of the keys and carries the user
        ``annotations``; ``tags``, the tags of this repository the verified payloads are bound to (``None`` for one
        bound to no tag); ``problem``, why none verified.

        The binding and the annotations are read from the payloads cosign verified, never taken from cosign's
        ``-a`` check: a cosign that signs or checks no annotations in its bundle format (sigstore/cosign#4508)
        binds no tag here instead of passing every tag.  So one verification answers for every tag of a digest,
        and asking it per tag (``-a`` with the binding) would only repeat it."""
        verified, tags, problem = False, [], None
        for path in public_key_paths:
            rc, payloads, failure = self.cosign_verify_run(reference, digest, path, annotations, transparency_log)
            if rc != 0:
                problem = failure
                continue
            carrying = payloads_with(payloads, annotations)
            if not carrying:
                problem = ('%s verify -a passed for %s@%s, but no signed payload it verified carries the annotations '
                           'asked for: this cosign does not check annotations (cosign 3.x before sigstore/cosign#4508 '
                           'neither signs nor checks them in its bundle format); use cosign 2.x or a cosign 3.x that '
                           'does' % (self.cosign_path(), reference.gun, digest))
                continue
            verified = True
            for tag in bound_tags(carrying, reference.gun):
                if tag not in tags:
                    tags.append(tag)
        return verified, tags, problem

    def cosign_signed_digests(self, reference, digests, public_key_paths, annotations=None, transparency_log=False):
        """``{digest: cosign_signed_for(...)}`` for every distinct digest of ``digests``, a few at a time."""
        distinct = sorted(set(d for d in digests if d))
        answers = run_parallel(lambda d: self.cosign_signed_for(reference, d, public_key_paths, annotations,
                                                                transparency_log), distinct)
        return dict(zip(distinct, answers))

    def cosign_sign(self, reference, digest, key_path, password, annotations=None, transparency_log=False,
                    containers_form=False):
        features = self.cosign_features()
        target = '%s@%s' % (reference.gun, digest)
        argv = cosign_sign_argv(self.cosign_path(), features, target, key_path, annotations, transparency_log,
                                reference.is_loopback(), containers_form)
        what = 'cosign sign %s' % target
        rc, out = self.run_pty(argv, password, what)
        if rc != 0:
            raise explain(out, what, sources=('oci',), rc=rc)
        return out

    # --- notation --------------------------------------------------------------------------

    def notation_home(self):
        """``XDG_CONFIG_HOME`` for notation in this run: ``<private tmp>/notation`` (0700)."""
        if not self._notation_home:
            home = os.path.join(self.cli.tempdir(), 'xdg')
            os.makedirs(os.path.join(home, 'notation'), 0o700)
            self._notation_home = home
        return self._notation_home

    def notation_use_key(self, key_path, chain_path):
        """Name the signing key in this run's notation configuration: by path, in place."""
        conf = os.path.join(self.notation_home(), 'notation')
        with open(os.path.join(conf, 'signingkeys.json'), 'w') as f:
            json.dump({'default': NOTATION_KEY_NAME,
                       'keys': [{'name': NOTATION_KEY_NAME, 'keyPath': os.path.abspath(key_path),
                                 'certPath': os.path.abspath(chain_path)}]}, f)

    def notation_trust(self, reference, ca_pems, identities=None):
        """This run's trust store (the CA certificates) and a strict trust policy for the repository."""
        conf = os.path.join(self.notation_home(), 'notation')
        store = os.path.join(conf, 'truststore', 'x509', 'ca', NOTATION_STORE)
        if os.path.isdir(store):
            for fn in os.listdir(store):
                os.unlink(os.path.join(store, fn))
        else:
            os.makedirs(store, 0o700)
        for i, pem in enumerate(ca_pems):
            with open(os.path.join(store, 'ca-%d.crt' % i), 'w') as f:
                f.write(pem)
        with open(os.path.join(conf, 'trustpolicy.json'), 'w') as f:
            json.dump(notation_trust_policy(reference.gun, identities), f)

    def _notation_argv(self, command, reference, digest, extra=()):
        argv = [self.notation_path(), command] + list(extra)
        if command in ('verify', 'inspect'):
            # notation looks at the first 100 signatures of a digest unless told otherwise: a digest signed for more
            # tags than that would fail to verify for the later ones, and inspect would not list them.
            argv += ['--max-signatures', str(NOTATION_MAX_SIGNATURES)]
        if reference.is_loopback():
            argv.append('--insecure-registry')
        argv.append('%s@%s' % (reference.gun, digest))
        return argv

    def notation_verified(self, reference, digest, metadata=None):
        """Whether ``notation verify`` passes under this run's trust policy, with a signature carrying the user
        ``metadata`` (the tag binding) in its signed payload; with its message."""
        extra = []
        for key in sorted(metadata or {}):
            extra += ['--user-metadata', '%s=%s' % (key, metadata[key])]
        argv = self._notation_argv('verify', reference, digest, extra)
        rc, out = self.run(argv, env=self.env(self.notation_home()), what='notation verify')
        return rc == 0, (None if rc == 0 else explain(out, 'notation verify', sources=('oci',)).msg)

    def notation_signed_for(self, reference, digest, fingerprint=None):
        """The tags the Notation signatures on ``digest`` are bound to (``None`` for one bound to no tag), as
        ``notation inspect`` lists their user metadata; only those whose leaf certificate has ``fingerprint``,
        when given.  Inspect verifies nothing: callers use it to explain a refusal or to find a candidate, and
        ``notation verify --user-metadata`` decides."""
        return notation_bound_tags(self.notation_signatures(reference, digest), reference.gun, fingerprint)

    def notation_signatures(self, reference, digest):
        """``[{fingerprint, metadata}]``: the SHA-256 fingerprint of each Notation signature's leaf certificate on
        ``digest`` and its user metadata, as ``notation inspect`` lists them (unverified)."""
        argv = self._notation_argv('inspect', reference, digest, ['--output', 'json'])
        rc, out, err = self.cli.run_split(argv, env=self.env(self.notation_home()))
        if rc != 0:
            if 'no associated signature' in (out + err) or 'no signature' in (out + err):
                return []
            raise explain(scrub(err or out, self.secrets), 'notation inspect %s@%s' % (reference.gun, digest),
                          sources=('oci',), rc=rc)
        try:
            # (raw_decode: notation may print a notice after the JSON, such as that it stopped at --max-signatures)
            data = json.JSONDecoder().raw_decode(out[out.index('{'):])[0] if '{' in out else {}
        except ValueError:
            raise TrustError('notation inspect printed output that is not JSON: %s' % out[:300])
        return notation_inspect_signatures(data)

    def notation_signed_digests(self, reference, digests, fingerprint=None):
        """``{digest: notation_signed_for(...)}`` for every distinct digest of ``digests``: one ``notation inspect``
        per digest, however many tags it carries, a few at a time."""
        distinct = sorted(set(d for d in digests if d))
        answers = run_parallel(lambda d: self.notation_signed_for(reference, d, fingerprint), distinct)
        return dict(zip(distinct, answers))

    def notation_leaf_fingerprints(self, reference, digest):
        """SHA-256 fingerprints of the leaf certificates of the Notation signatures on ``digest``."""
        return [sig['fingerprint'] for sig in self.notation_signatures(reference, digest) if sig['fingerprint']]

    def notation_sign(self, reference, digest, metadata=None):
        extra = ['--key', NOTATION_KEY_NAME]
        for key in sorted(metadata or {}):
            extra += ['--user-metadata', '%s=%s' % (key, metadata[key])]
        argv = self._notation_argv('sign', reference, digest, extra)
        what = 'notation sign %s@%s' % (reference.gun, digest)
        rc, out = self.run(argv, env=self.env(self.notation_home()), what=what)
        if rc != 0 and NOTATION_PUSH_FAILED in out:
            # Digests are signed side by side, and every signature manifest shares one empty config blob: a registry
            # can refuse one of two pushes of it at the same moment (Debian's docker-registry answers HTTP 500).
            # Once more; at worst the tag gets a second valid signature.
            rc, out = self.run(argv, env=self.env(self.notation_home()), what=what)
        if rc != 0:
            raise explain(out, what, sources=('oci',), rc=rc)
        return out


# --- the registry ---------------------------------------------------------------------------------

def resolve_digests(cli, reference, tags, missing_ok=False):
    """``{tag: digest}`` as the registry serves them now; a tag the registry lacks fails (or,
    with ``missing_ok``, maps to None)."""
    client = RegistryClient(reference, cli.docker_config, timeout=min(cli.timeout, 60))
    out = {}
    missing = []
    for tag in tags:
        found = client.manifest(tag)
        out[tag] = found[0] if found else None
        if not found:
            missing.append(tag)
    if missing and not missing_ok:
        raise TrustError('the registry %s has no tag %s in %s; push the image first'
                         % (reference.registry, ', '.join(missing), reference.gun))
    return out


def check_pinned(reference, digests, pinned):
    """Fail, before anything is signed, when the registry serves another digest for a tag than the
    one the caller pinned (for example the digest Notary signed)."""
    moved = []
    for tag, want in sorted((pinned or {}).items()):
        if tag in digests and digests[tag] is not None and digests[tag] != want:
            moved.append('%s (registry %s, expected %s)' % (tag, digests[tag], want))
    if moved:
        raise TrustError('the registry serves other digests than expected for %s: %s; nothing was signed'
                         % (reference.gun, '; '.join(moved)))


# --- verification, for modules and for trust_pull ------------------------------------------

def signing_plan(tags, digests, unsigned):
    """The signing plan of the sign modules: one row ``{tag, digest, signed}`` per tag, ``signed`` true for a tag
    whose digest ``unsigned(digest, tag)`` says has no signature by this key FOR THIS TAG yet (each signature
    binds one tag, so a digest carried by two tags gets two signatures), and for a tag not pushed yet
    (``digest`` None, check mode); ``to_sign``: ``{tag, digest}`` of those that can be signed, in order."""
    rows, to_sign = [], []
    for tag in tags:
        digest = digests[tag]
        if digest is None:
            rows.append({'tag': tag, 'digest': None, 'signed': True})
            continue
        signed = bool(unsigned(digest, tag))
        if signed:
            to_sign.append({'tag': tag, 'digest': digest})
        rows.append({'tag': tag, 'digest': digest, 'signed': signed})
    return dict(changed=any(r['signed'] for r in rows), results=rows, to_sign=to_sign)


PENDING_DIGEST = '(digest of the pushed image)'


def signing_state(gun, results, signer):
    """The sign modules' diff, ``(before, after)``, from the plan's ``results``: ``signer`` (who signs: the public
    key's or the certificate's fingerprint) and ``signed_tags``, ``<repository>:<tag>`` to the digest this signer
    has signed for that tag - null when the digest the tag has now carries no signature by it for that tag;
    ``PENDING_DIGEST`` after, for a tag not pushed yet (check mode).  Nothing signed: before equals after."""
    before, after = {}, {}
    for row in results:
        ref = '%s:%s' % (gun, row['tag'])
        before[ref] = None if row['signed'] else row['digest']
        after[ref] = row['digest'] or PENDING_DIGEST
    return dict(signer=signer, signed_tags=before), dict(signer=dict(signer), signed_tags=after)


def by_digest(rows):
    """``rows`` ({tag, digest}) grouped by digest, in order: ``[[row, ...], ...]``."""
    groups = {}
    for row in rows:
        groups.setdefault(row['digest'], []).append(row)
    return list(groups.values())
