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
import stat
import time

try:
    import pexpect
    import ptyprocess
except ImportError:  # pragma: no cover - build_module reports a missing pexpect
    pexpect = ptyprocess = None

# cryptography.x509 is imported where a certificate is parsed (Notation's files): Notary and cosign
# runs never need it, and it is a tenth of a module's start-up.
try:
    from cryptography.hazmat.primitives import hashes, serialization
except ImportError:  # pragma: no cover - build_module reports a missing cryptography
    hashes = serialization = None

from ansible_collections.openbanking.content_trust.plugins.module_utils._process import scrub
from ansible_collections.openbanking.content_trust.plugins.module_utils._common import parse_tags
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import (
    CommandTimeout, InputError, KeyProblem, TrustError, Unverified, WrongPassphrase, explain,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._pem import encode_pem, pem_blocks
from ansible_collections.openbanking.content_trust.plugins.module_utils._registry import RegistryClient


COSIGN_PROMPT_RE = re.compile(r'Enter password for (?:the )?private key(?: again)?:\s*')
COSIGN_OVERWRITE_RE = re.compile(r'already exists\. Overwrite \(y/n\)\?\s*')
COSIGN_WRONG_PASSWORD_RE = re.compile(r'decryption failed|incorrect passphrase|wrong password', re.I)
_ANNOTATION_KEY_RE = re.compile(r'\A[^=\s]+\Z')
NOTATION_KEY_NAME = 'content-trust'

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
NOTATION_STORE = 'content-trust'


if pexpect is not None:
    class _Spawn(pexpect.spawn):
        """pexpect.spawn that hands extra inherited file descriptors to the child (a pipe carrying a key
        that must never rest on disk decrypted)."""

        def __init__(self, *args, **kwargs):
            self.pass_fds = tuple(kwargs.pop('pass_fds', ()))
            super(_Spawn, self).__init__(*args, **kwargs)

        def _spawnpty(self, args, **kwargs):
            kwargs['pass_fds'] = self.pass_fds
            return ptyprocess.PtyProcess.spawn(args, **kwargs)


# --- inputs ----------------------------------------------------------------------------------

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


def pem_of_type(text, pem_type, what):
    """The blocks of ``pem_type`` in ``text`` (PEM), re-encoded one per string; ``_pem``'s linear parser
    and its size cap."""
    try:
        blocks = pem_blocks(text or '', what)
    except KeyProblem as exc:
        raise InputError('%s: %s' % (what, exc))
    return [encode_pem(t, der) for t, dummy, der in blocks if t == pem_type]


def public_key_pem(text, what='public key'):
    """The first ``PUBLIC KEY`` block of ``text`` (cosign's output, a .pub file), or None."""
    found = pem_of_type(text, 'PUBLIC KEY', what)
    return found[0] if found else None


def check_public_keys(pems, what='public_keys'):
    """PEM public keys (text); each one must load."""
    if not pems:
        raise InputError('%s must list at least one PEM public key ("-----BEGIN PUBLIC KEY-----")' % what)
    out = []
    for i, pem in enumerate(pems):
        found = public_key_pem(pem, '%s[%d]' % (what, i))
        if not found:
            raise InputError('%s[%d] is not a PEM public key: expected a "-----BEGIN PUBLIC KEY-----" block, such as '
                             'the <path>.pub that cosign_key writes' % (what, i))
        try:
            serialization.load_pem_public_key(found.encode('ascii'))
        except (ValueError, TypeError):
            raise InputError('%s[%d] is not a valid public key' % (what, i))
        out.append(found)
    return out


def split_certificates(text, what):
    """The certificates of a PEM bundle, in order; at least one."""
    blocks = pem_of_type(text, 'CERTIFICATE', what)
    if not blocks:
        raise InputError('%s holds no PEM certificate ("-----BEGIN CERTIFICATE-----")' % what)
    from cryptography import x509
    certs = []
    for i, block in enumerate(blocks):
        try:
            certs.append(x509.load_pem_x509_certificate(block.encode('ascii')))
        except ValueError:
            raise InputError('%s: certificate %d is not a valid X.509 certificate' % (what, i + 1))
    return blocks, certs


def check_ca_certificates(pems, what='ca_certificates'):
    if not pems:
        raise InputError('%s must list at least one PEM CA certificate' % what)
    out = []
    for i, pem in enumerate(pems):
        blocks, dummy = split_certificates(pem, '%s[%d]' % (what, i))
        out.extend(b.strip() + '\n' for b in blocks)
    return out


def check_private_file(path, what, owner_uids=None):
    """The user's own regular file, readable by nobody else (0600 or stricter).  ``owner_uids`` are the uids it may
    belong to (``_hostuser.key_owner_uids``: the user the key is meant for, which under become is not the euid);
    by default the user running the task."""
    if owner_uids is None:
        owner_uids = frozenset([os.getuid()])
    try:
        st = os.stat(path)
    except OSError as exc:
        raise InputError('%s %s cannot be read: %s' % (what, path, exc.strerror))
    if not stat.S_ISREG(st.st_mode):
        raise InputError('%s %s is not a regular file' % (what, path))
    if st.st_uid not in owner_uids:
        raise InputError('%s %s belongs to uid %d, not to the user it is meant for (uid %s): a signing key must be '
                         'the signer\'s own file (under become, set key_owner, or the role\'s '
                         'content_trust_docker_config_owner, to that user)'
                         % (what, path, st.st_uid, ' or '.join(str(u) for u in sorted(owner_uids))))
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise InputError('%s %s is readable by others (mode %o): make it 0600 (chmod 600 %s)'
                         % (what, path, stat.S_IMODE(st.st_mode), path))


def check_notation_signing_files(key_path, chain_path, owner_uids=None):
    """Notation's requirements, checked before anything runs: the key is the user's own 0600 file,
    unencrypted, matching the leaf certificate, which carries the code-signing usage.  Returns the
    leaf's SHA-256 fingerprint (hex) and the chain's PEM blocks."""
    check_private_file(key_path, 'key', owner_uids)
    try:
        with open(chain_path) as f:
            chain_text = f.read()
    except (IOError, OSError) as exc:
        raise InputError('certificate_chain %s cannot be read: %s' % (chain_path, exc))
    blocks, certs = split_certificates(chain_text, 'certificate_chain %s' % chain_path)
    leaf = certs[0]
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = []
    if ExtendedKeyUsageOID.CODE_SIGNING not in usages:
        raise InputError('certificate_chain %s: the leaf certificate (%s) has no code-signing extended key usage '
                         '(extendedKeyUsage=codeSigning), which Notation requires of a signing certificate'
                         % (chain_path, leaf.subject.rfc4514_string()))
    try:
        with open(key_path, 'rb') as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
    except TypeError:
        raise InputError('key %s is encrypted: Notation signs only with an unencrypted key file (the signer\'s own, '
                         '0600)' % key_path)
    except (ValueError, IOError, OSError):
        raise InputError('key %s is not a PEM private key' % key_path)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, spki) != \
            leaf.public_key().public_bytes(serialization.Encoding.DER, spki):
        raise InputError('key %s is not the private key of the leaf certificate of certificate_chain %s (%s); the chain '
                         'must start with the signing certificate' % (key_path, chain_path, leaf.subject.rfc4514_string()))
    return leaf.fingerprint(hashes.SHA256()).hex(), blocks


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
    for key in sorted(annotations or {}):
        argv += ['-a', '%s=%s' % (key, annotations[key])]
    if loopback and features.get('allow_http'):
        argv.append('--allow-http-registry')
    argv.append(target)
    return argv


def cosign_verify_argv(cosign, features, target, public_key_path, annotations=None, transparency_log=False,
                       loopback=False):
    argv = [cosign, 'verify', '--key', public_key_path, '--output', 'json']
    if not transparency_log:
        argv.append('--insecure-ignore-tlog=true')
    for key in sorted(annotations or {}):
        argv += ['-a', '%s=%s' % (key, annotations[key])]
    if loopback and features.get('allow_http'):
        argv.append('--allow-http-registry')
    argv.append(target)
    return argv


def cosign_features_from_help(text):
    """What ``cosign sign --help`` says about the version: 3.x has ``--use-signing-config``
    defaulting to true."""
    text = text or ''
    return {
        'major': 3 if '--use-signing-config=true' in text else 2,
        'signing_config_flag': '--use-signing-config' in text,
        'allow_http': '--allow-http-registry' in text,
    }


_DN_PART_RE = re.compile(r'(?:[^,\\]|\\.)+')
NOTATION_REQUIRED_DN = ('C', 'ST', 'O')


def check_trusted_identities(identities, trust_any=False, what='trusted_identities', any_option='trust_any_identity'):
    """The trust policy's ``trustedIdentities``: the certificate subjects given, each ``x509.subject: <DN>`` with at
    least C, ST and O (what notation requires), or ``['*']`` - any identity the CAs issued - only when ``trust_any``
    says so.  An empty list is not "any": a setting that names nobody is an error, not a wildcard."""
    identities = list(identities or [])
    if trust_any:
        if identities:
            raise InputError('%s and %s: true are both set: give the subjects to trust, or accept any identity the CAs '
                             'issued, not both' % (what, any_option))
        return ['*']
    if not identities:
        raise InputError('%s must name the subjects of the signing certificates to trust, each as "x509.subject: C=GB, '
                         'ST=London, O=Acme, CN=release signer" (notation requires C, ST and O): without them every '
                         'certificate the CAs ever issued verifies. Set %s: true to accept any identity the CAs issued'
                         % (what, any_option))
    checked = []
    for i, identity in enumerate(identities):
        if not isinstance(identity, str) or identity.strip() == '*':
            raise InputError('%s[%d] is %r: "*" accepts any identity the CAs issued; set %s: true to mean that, or '
                             'give "x509.subject: <distinguished name>"' % (what, i, identity, any_option))
        prefix, sep, dn = identity.partition(':')
        if not sep or prefix.strip() != 'x509.subject' or not dn.strip():
            raise InputError('%s[%d] %r is not "x509.subject: <distinguished name>", for example "x509.subject: C=GB, '
                             'ST=London, O=Acme, CN=release signer"' % (what, i, identity))
        parts = [p.strip() for p in _DN_PART_RE.findall(dn)]
        keys = [p.split('=', 1)[0].strip().upper() for p in parts if '=' in p]
        if len(keys) != len(parts):
            raise InputError('%s[%d] %r: every part of the distinguished name must be KEY=value' % (what, i, identity))
        missing = [k for k in NOTATION_REQUIRED_DN if k not in keys]
        if missing:
            raise InputError('%s[%d] %r lacks %s: notation requires C, ST and O in a trusted identity'
                             % (what, i, identity, ', '.join(missing)))
        checked.append('x509.subject: ' + ', '.join(parts))
    return checked


def notation_trust_policy(scope, identities=None):
    return {
        'version': '1.0',
        'trustPolicies': [{
            'name': 'content-trust',
            'registryScopes': [scope],
            'signatureVerification': {'level': 'strict'},
            'trustStores': ['ca:%s' % NOTATION_STORE],
            'trustedIdentities': list(identities) if identities else ['*'],
        }],
    }


class OciTools(object):
    """cosign and notation for one module run, on top of the module's ``TrustCLI`` (timeouts,
    scrubbing, temporary directories, the docker configuration)."""

    _features = {}

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
        """Run cosign on a pty, answering its password prompts with ``password``.

        Returns ``(rc, scrubbed output)``; a wrong password raises TrustError naming ``option``."""
        if pexpect is None:
            raise TrustError('the Python library pexpect is required on the signing host')
        known = self.secrets + ([password] if password else [])
        timeout = self.cli.timeout
        deadline = time.time() + timeout
        child = _Spawn(argv[0], argv[1:], env=env or self.env(), encoding='utf-8', codec_errors='replace',
                       echo=False, timeout=timeout, dimensions=(24, 500), pass_fds=pass_fds)
        output = []
        try:
            while True:
                remaining = deadline - time.time()
                if remaining <= 0:
                    raise pexpect.TIMEOUT('deadline')
                idx = child.expect([COSIGN_PROMPT_RE, COSIGN_OVERWRITE_RE, pexpect.EOF], timeout=remaining)
                output.append(child.before or '')
                if idx == 0:
                    if not password:
                        raise TrustError('%s asks for the password of a private key and none was given (set %s)'
                                         % (what, option))
                    child.sendline(password)
                elif idx == 1:
                    child.sendline('n')
                    raise TrustError('%s would overwrite an existing file; nothing was overwritten' % what)
                else:
                    break
        except pexpect.TIMEOUT:
            child.close(force=True)
            raise CommandTimeout('%s did not finish within the timeout of %s seconds; output so far: %s'
                                 % (what, timeout, scrub(''.join(output), known).strip()[-500:]))
        except TrustError as exc:
            child.close(force=True)
            exc.output = scrub(''.join(output), known)
            raise
        child.close()
        out = scrub(''.join(output), known).replace('\r\n', '\n')
        rc = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)
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

    def cosign_verified(self, reference, digest, public_key_paths, annotations=None, transparency_log=False,
                        binding=None):
        """Index of the first public key that verifies a signature on ``digest`` with the annotations (and, given
        ``binding``, the tag binding), or None; with the last failure's message.

        With a binding, cosign's ``-a`` check is not taken on trust: a payload cosign verified must carry the
        binding too (a cosign that signs or checks no annotations in its bundle format, sigstore/cosign#4508,
        is refused here rather than passing every tag)."""
        wanted = with_binding(annotations, binding)
        problem = None
        for i, path in enumerate(public_key_paths):
            rc, payloads, problem = self.cosign_verify_run(reference, digest, path, wanted, transparency_log)
            if rc != 0:
                continue
            if binding and binding[BINDING_TAG] not in bound_tags(payloads, binding[BINDING_REPOSITORY]):
                raise Unverified(
                    '%s verify -a %s=%s passed for %s@%s, but no signed payload it verified carries that annotation: '
                    'this cosign does not check annotations (cosign 3.x before sigstore/cosign#4508 neither signs nor '
                    'checks them in its bundle format); use cosign 2.x or a cosign 3.x that does'
                    % (self.cosign_path(), BINDING_TAG, binding[BINDING_TAG], reference.gun, digest))
            return i, None
        return None, problem

    def cosign_signed_for(self, reference, digest, public_key_paths, annotations=None, transparency_log=False):
        """The tags the signatures on ``digest`` that verify with the keys (and user annotations) are bound to,
        read from the payloads cosign verified; ``None`` among them for a signature bound to no tag."""
        tags = []
        for path in public_key_paths:
            rc, payloads, dummy = self.cosign_verify_run(reference, digest, path, annotations, transparency_log)
            for tag in bound_tags(payloads, reference.gun) if rc == 0 else []:
                if tag not in tags:
                    tags.append(tag)
        return tags

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
            data = json.loads(out[out.index('{'):]) if '{' in out else {}
        except ValueError:
            raise TrustError('notation inspect printed output that is not JSON: %s' % out[:300])
        return notation_inspect_signatures(data)

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
        if rc != 0:
            raise explain(out, what, sources=('oci',), rc=rc)
        return out


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


def _verify_results(tags, digests, check):
    """One ``{tag, digest, verified, problems}`` per tag; ``check(digest, tag)`` -> ``(ok, problem)``, asked once
    per tag (a signature binds a tag, so two tags of one digest are two questions)."""
    results = []
    for tag in tags:
        digest = digests.get(tag)
        if not digest:
            results.append({'tag': tag, 'digest': None, 'verified': False,
                            'problems': ['the registry has no tag %s' % tag]})
            continue
        ok, problem = check(digest, tag)
        results.append({'tag': tag, 'digest': digest, 'verified': ok, 'problems': [] if ok else [problem]})
    return results


def verify_cosign(cli, reference, tags, public_keys, annotations=None, cosign_cli='cosign', digests=None,
                  transparency_log=False, require_tag_binding=True):
    """Verify the cosign signatures of ``tags`` of ``reference`` with any of ``public_keys`` (PEM).

    ``cli`` is the module's ``TrustCLI``; ``digests`` ({tag: digest}) pins what must be signed,
    otherwise the registry's current digest of each tag is verified.  With ``require_tag_binding`` a signature
    counts for a tag only when its signed payload binds it to that tag of this repository (``tag_binding``).
    Returns one ``{tag, digest, verified, problems}`` per tag; never fails for an unverified tag."""
    tags = parse_tags(tags)
    pems = check_public_keys(public_keys)
    annotations = check_annotations(annotations)
    tools = OciTools(cli, cosign_cli=cosign_cli)
    paths = tools.write_public_keys(pems)
    if digests is None:
        digests = resolve_digests(cli, reference, tags, missing_ok=True)

    def check(digest, tag):
        binding = tag_binding(reference, tag) if require_tag_binding else None
        index, problem = tools.cosign_verified(reference, digest, paths, annotations, transparency_log, binding)
        if index is not None:
            return True, None
        if binding:
            signed_for = tools.cosign_signed_for(reference, digest, paths, annotations, transparency_log)
            if signed_for:
                return False, binding_problem(reference.gun, tag, digest, signed_for, 'cosign')
        return False, 'no cosign signature on %s verifies with the public keys given%s' % (
            digest, (' (%s)' % problem) if problem else '')
    return _verify_results(tags, digests, check)


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
