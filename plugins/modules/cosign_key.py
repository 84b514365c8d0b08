#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: cosign_key
short_description: Manage a cosign key pair on the signing host
version_added: 0.1.0
description:
  - Ensures one cosign key pair at O(path) - C(<path>.key), encrypted with O(passphrase) by cosign itself, and
    C(<path>.pub) - as C(cosign generate-key-pair --output-key-prefix <path>) writes them.
  - Generates a new key pair, or imports an existing PEM private key the user already has on disk
    (O(private_key_path)) with C(cosign import-key-pair). An encrypted key is decrypted in memory and handed to
    cosign through a pipe; the collection never writes a decrypted copy to disk.
  - The private key file is 0600, in a directory that only its owner can enter (0700; a new directory is created so).
  - The password is given to cosign on its terminal prompt, never in argv or the environment.
author:
  - Open Banking (@OpenBankingUK)
requirements:
  - Python libraries C(cryptography) and C(pexpect) on the host that runs the module
extends_documentation_fragment:
  - openbanking.content_trust.common
  - openbanking.content_trust.common.notary_ignored
  - openbanking.content_trust.common.ignored_passphrases
  - ansible.builtin.action_common_attributes
options:
  path:
    description:
      - Prefix of the key pair files, without extension (C(/srv/cosign/release) for C(/srv/cosign/release.key) and
        C(/srv/cosign/release.pub)).
    type: path
    required: true
  passphrase:
    description:
      - Password that protects C(<path>.key). Required. When the key pair exists it is checked against the key
        (cosign derives the public key with it).
    type: str
    required: true
  private_key_path:
    description:
      - An existing PEM private key (EC or RSA; plain, or PKCS#8 C(ENCRYPTED PRIVATE KEY) with
        O(private_key_passphrase)) to import instead of generating a key.
      - If a key pair with another key exists at O(path), the task fails unless O(force=true).
      - Debian's cosign 2.5 rejects every imported key (C(unsupported public key type)); import with cosign 3
        (O(cosign_cli)); the key pair it writes signs with either version.
    type: path
  private_key_passphrase:
    description:
      - Passphrase of an encrypted O(private_key_path).
    type: str
  force:
    description:
      - Replace an existing key pair. Without O(private_key_path), a new key is generated on every run.
    type: bool
    default: false
  cosign_cli:
    description:
      - Name or path of the cosign binary (2.x or 3.x).
    type: str
    default: cosign
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The key pair's two files, the private key file's mode and the public key's fingerprint, before and
      after; never the private key or a password.
  platform:
    platforms: posix
seealso:
  - module: openbanking.content_trust.cosign_sign
  - module: openbanking.content_trust.cosign_verify
'''

EXAMPLES = r'''
- name: Ensure the release signing key pair exists
  openbanking.content_trust.cosign_key:
    path: /srv/cosign/release
    passphrase: "{{ vault_cosign_passphrase }}"
  register: cosign_key

- name: Import the key the team already has (encrypted PEM), read in place
  openbanking.content_trust.cosign_key:
    path: /srv/cosign/release
    passphrase: "{{ vault_cosign_passphrase }}"
    private_key_path: /srv/keys/release-ec.pem
    private_key_passphrase: "{{ vault_release_pem_passphrase }}"
    cosign_cli: /usr/local/bin/cosign3
'''

RETURN = r'''
error_kind:
  description:
    - When the task failed, the class of the failure, the same for the same cause in every module of the collection -
      V(bad_input) (an option, found before anything changed), V(bad_key), V(wrong_passphrase), V(missing_signing_key),
      V(notary_unreachable), V(notary_tls_untrusted), V(repository_unknown), V(registry_unreachable),
      V(credentials_refused), V(cli_failure), V(timeout), V(unverified) (a signature or trust data that does not
      verify), V(missing_requirement) (a Python library the module needs), or V(failed) (another failure of a tool).
  returned: failure
  type: str
  sample: notary_unreachable
public_key:
  description: The public key (PEM); give it to consumers for C(cosign verify --key).
  returned: success, unless a new key is only planned in check mode
  type: str
private_key_path:
  description: C(<path>.key).
  returned: always
  type: str
public_key_path:
  description: C(<path>.pub).
  returned: always
  type: str
diff:
  description:
    - The files of the key pair, by path - C(<path>.key) with its C(mode) and the C(public_key_fingerprint) of the key
      it holds, C(<path>.pub) with the C(public_key_fingerprint) of the key it holds - before and after; a file that
      does not exist is not listed. The fingerprint is the SHA-256 of the public key in DER, as
      C(openssl pkey -pubin -in <path>.pub -outform DER | sha256sum) prints it. Never the private key or a password.
    - The fingerprint of a key that only gets generated is C((generated when applied)) in check mode; that of a key
      O(force) replaces is C((replaced, not read)).
    - Returned only in diff mode (C(--diff)), in check mode too; equal when nothing changes.
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: Before the run.
      type: dict
      returned: when diff mode is on
    after:
      description: After the run (would be, in check mode).
      type: dict
      returned: when diff mode is on
  sample:
    before: {}
    after:
      /srv/cosign/release.key: {mode: '0600', public_key_fingerprint: 3f0c...}
      /srv/cosign/release.pub: {public_key_fingerprint: 3f0c...}
'''

import os
import shutil
import stat

try:
    from cryptography.hazmat.primitives import serialization
except ImportError:  # pragma: no cover - build_module reports it
    serialization = None

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import Action, InputError, build_module, run
from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import explain
from ansible_collections.openbanking.content_trust.plugins.module_utils._files import write_file_atomic
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocifiles import (
    public_key_fingerprint, public_key_pem,
)
from ansible_collections.openbanking.content_trust.plugins.module_utils._ocisig import OciTools


def _read(path):
    with open(path) as f:
        return f.read()


def _same_pem(a, b):
    return ''.join((a or '').split()) == ''.join((b or '').split())


def _check_directory(directory):
    """The directory of the key pair, if it exists, is a 0700 directory (``apply`` creates a missing one)."""
    if not os.path.isdir(directory):
        return
    st = os.stat(directory)
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise InputError('the directory %s of the key pair is open to others (mode %o): cosign keys live in a 0700 '
                         'directory (chmod 700 %s)' % (directory, stat.S_IMODE(st.st_mode), directory))


def _import_source(p):
    """The key to import, in memory; plain PEM for cosign (which reads no encrypted PEM)."""
    path = p['private_key_path']
    try:
        data = open(path, 'rb').read()
    except (IOError, OSError) as exc:
        raise InputError('private_key_path %s cannot be read: %s' % (path, exc))
    password = p['private_key_passphrase'].encode('utf-8') if p['private_key_passphrase'] else None
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except TypeError:
        if password:
            raise InputError('private_key_path %s is not encrypted: leave private_key_passphrase unset' % path)
        raise InputError('private_key_path %s is encrypted: set private_key_passphrase' % path)
    except ValueError:
        if password:
            raise InputError('private_key_path %s: the private_key_passphrase is incorrect, or the file is not a PEM '
                             'private key' % path)
        raise InputError('private_key_path %s is not a PEM private key (EC or RSA)' % path)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode('ascii')
    return key, public


def _cosign_import(tools, key, prefix, passphrase):
    """``cosign import-key-pair`` of an in-memory key, through an inherited pipe."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    rfd, wfd = os.pipe()
    try:
        os.write(wfd, pem)  # a few hundred bytes: far below the pipe's buffer
        os.close(wfd)
        wfd = None
        os.set_inheritable(rfd, True)
        argv = [tools.cosign_path(), 'import-key-pair', '--key', '/dev/fd/%d' % rfd, '--output-key-prefix', prefix]
        what = 'cosign import-key-pair'
        rc, out = tools.run_pty(argv, passphrase, what, pass_fds=(rfd,), option='passphrase')
    finally:
        if wfd is not None:
            os.close(wfd)
        os.close(rfd)
    if rc != 0:
        error = explain(out, what, sources=('oci',), rc=rc)
        if 'unsupported public key type' in out:
            error.msg += (' (Debian\'s cosign 2.5 imports no key at all; import with cosign 3 through cosign_cli - '
                          'the key pair it writes signs with cosign 2.5 too)')
        raise error


def _cosign_generate(tools, prefix, passphrase):
    what = 'cosign generate-key-pair'
    rc, out = tools.run_pty([tools.cosign_path(), 'generate-key-pair', '--output-key-prefix', prefix], passphrase, what,
                            option='passphrase')
    if rc != 0:
        raise explain(out, what, sources=('oci',), rc=rc)


GENERATED = '(generated when applied)'
REPLACED = '(replaced, not read)'


def key_pair_files(key_file, pub_file, public=None, replaced=False):
    """What is at the key pair's paths now, for the diff: the private key file's mode and the fingerprint of its key
    (``public``, its public key when it was read; ``REPLACED`` when force replaces it unread), the public key file's
    fingerprint.  Never a file's private content."""
    state = {}
    if os.path.isfile(key_file):
        state[key_file] = dict(mode='%04o' % stat.S_IMODE(os.stat(key_file).st_mode),
                               public_key_fingerprint=REPLACED if replaced else public_key_fingerprint(public))
    if os.path.isfile(pub_file):
        try:
            text = _read(pub_file)
        except (IOError, OSError, UnicodeError):
            text = None
        state[pub_file] = dict(public_key_fingerprint=public_key_fingerprint(text))
    return state


def key_pair_after(plan, public):
    """The key pair's files as the run leaves them (would leave them, in check mode): both, the private key 0600,
    the public key file holding ``public`` (None: a key generated only when applied)."""
    fingerprint = public_key_fingerprint(public) if public else GENERATED
    return {plan['key_file']: dict(mode='0600', public_key_fingerprint=fingerprint),
            plan['pub_file']: dict(public_key_fingerprint=fingerprint)}


class EnsureKeyPair(Action):
    """A cosign key pair at ``path``: kept (its file modes and public key file put right), imported or generated."""

    def plan(self):
        p = self.params
        prefix = os.path.abspath(p['path'])
        if prefix.endswith(('.key', '.pub')):
            raise InputError('path %s is the prefix of the key pair, without .key or .pub' % p['path'])
        if not p['passphrase']:
            raise InputError('passphrase must not be empty: it protects the cosign private key')
        if p['private_key_passphrase'] and not p['private_key_path']:
            raise InputError('private_key_passphrase is set but private_key_path is not; give the key to import')
        key_file, pub_file = prefix + '.key', prefix + '.pub'
        directory = os.path.dirname(prefix)
        _check_directory(directory)
        self.tools = OciTools(self.cli, cosign_cli=p['cosign_cli'], secrets=[p['passphrase'], p['private_key_passphrase']])

        imported = wanted_public = None
        if p['private_key_path']:
            imported, wanted_public = _import_source(p)
        plan = dict(prefix=prefix, directory=directory, key_file=key_file, pub_file=pub_file, imported=imported,
                    create=False, fix_mode=False, write_public=False, public=wanted_public)

        if os.path.isfile(key_file) and not p['force']:
            public = self.tools.cosign_public_key(key_file, p['passphrase'], option='passphrase')
            if imported is not None and not _same_pem(public, wanted_public):
                raise InputError('a key pair with another key exists at %s; set force=true to replace it with the key '
                                 'of private_key_path %s' % (key_file, p['private_key_path']))
            plan.update(public=public, fix_mode=stat.S_IMODE(os.stat(key_file).st_mode) != 0o600,
                        write_public=not (os.path.isfile(pub_file) and _same_pem(_read(pub_file), public)))
            plan['changed'] = plan['fix_mode'] or plan['write_public']
        else:
            plan.update(create=True, changed=True)
        plan['before'] = key_pair_files(key_file, pub_file, plan['public'] if not plan['create'] else None,
                                        replaced=plan['create'])
        return plan

    def apply(self, plan):
        try:
            return self._write(plan)
        except (IOError, OSError) as exc:
            # written through a staging directory and renames: a key pair that was there is as it was
            raise TrustError('cannot write the cosign key pair %s / %s: %s; nothing that was there was changed'
                             % (plan['key_file'], plan['pub_file'], exc.strerror or exc))

    def _write(self, plan):
        if not plan['create']:
            if plan['fix_mode']:
                os.chmod(plan['key_file'], 0o600)
            if plan['write_public']:
                write_file_atomic(plan['pub_file'], plan['public'], 0o644)
            return plan['public']
        if not os.path.isdir(plan['directory']):
            os.makedirs(plan['directory'], 0o700)
            os.chmod(plan['directory'], 0o700)
        # cosign writes both files into a private directory beside the target; they are moved
        # into place only when both exist, so a failure never leaves half a key pair.
        staging = os.path.join(plan['directory'], '.cosign-key-%d' % os.getpid())
        os.mkdir(staging, 0o700)
        try:
            tmp_prefix = os.path.join(staging, 'key')
            if plan['imported'] is not None:
                _cosign_import(self.tools, plan['imported'], tmp_prefix, self.params['passphrase'])
            else:
                _cosign_generate(self.tools, tmp_prefix, self.params['passphrase'])
            public = _read(tmp_prefix + '.pub')
            if not public_key_pem(public, '%s.pub' % tmp_prefix):
                raise TrustError('cosign wrote no public key to %s.pub' % tmp_prefix)
            os.chmod(tmp_prefix + '.key', 0o600)
            os.chmod(tmp_prefix + '.pub', 0o644)
            os.rename(tmp_prefix + '.key', plan['key_file'])
            os.rename(tmp_prefix + '.pub', plan['pub_file'])
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return public

    def verify(self, plan, outcome):
        if stat.S_IMODE(os.stat(plan['key_file']).st_mode) != 0o600 or not _same_pem(_read(plan['pub_file']), outcome):
            raise TrustError('the key pair at %s is not as written (private key mode 0600, public key %s)'
                             % (plan['prefix'], plan['pub_file']))

    def result(self, plan, outcome):
        public = outcome if outcome is not None else plan['public']
        return dict(changed=plan['changed'], private_key_path=plan['key_file'], public_key_path=plan['pub_file'],
                    public_key=public,
                    diff=self.diff(plan['before'], key_pair_after(plan, public),
                                   header='%s (cosign key pair)' % plan['prefix']))


def main():
    module = build_module(dict(
        path=dict(type='path', required=True),
        passphrase=dict(type='str', required=True, no_log=True),
        private_key_path=dict(type='path'),
        private_key_passphrase=dict(type='str', no_log=True),
        force=dict(type='bool', default=False),
        cosign_cli=dict(type='str', default='cosign'),
    ), passphrases='ignored', requires=('cryptography', 'pexpect'))
    run(module, EnsureKeyPair)


if __name__ == '__main__':
    main()
