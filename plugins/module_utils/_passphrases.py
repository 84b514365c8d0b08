# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the passphrase policy, standard library only.

Not a public API; it may change without notice.

What a passphrase option may hold (``passphrase_problem``: what the pty can carry to docker and notary), the
rule for one that protects a new key (``check_new_passphrase``) and which option unlocks a signer's key
(``signer_passphrase``).  Apart from ``_keys`` so that the module base and the process runner check
passphrases without loading ``cryptography``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import KeyProblem

# docker and notary read a passphrase as one line from a pty in canonical mode: the line
# discipline acts on control characters (^U kills the line, ^W a word, DEL and ^H erase, ^C,
# ^D, ^V, ...) and holds at most 4095 bytes before the newline.
MIN_NEW_PASSPHRASE = 8
MAX_PASSPHRASE_BYTES = 4095


def passphrase_problem(value, option):
    """Why ``value`` cannot be typed on the pty, or None: C0 control characters, DEL, too long."""
    if value is None or value == '':
        return None
    bad = sorted(set(c for c in value if ord(c) < 0x20 or ord(c) == 0x7f))
    if bad:
        return ('%s contains control characters (%s), which the terminal docker and notary read passphrases '
                'from would act on instead of passing them; use printable characters only'
                % (option, ', '.join('0x%02x' % ord(c) for c in bad)))
    size = len(value.encode('utf-8'))
    if size > MAX_PASSPHRASE_BYTES:
        return ('%s is %d bytes long; a terminal line carries at most %d bytes'
                % (option, size, MAX_PASSPHRASE_BYTES))
    return None


def check_new_passphrase(value, option, what='the new key'):
    """The rule for a passphrase that will protect a new key (docker's): at least 8 characters."""
    if value is None or len(value) < MIN_NEW_PASSPHRASE:
        raise KeyProblem('%s must be at least %d characters to protect %s' % (option, MIN_NEW_PASSPHRASE, what))
    problem = passphrase_problem(value, option)
    if problem:
        raise KeyProblem(problem)
    return value


def signer_passphrase(params):
    """The passphrase that unlocks the signer's key, and the option it came from: ``signer_passphrase``, or
    else ``repository_passphrase`` (a signer key may share the repository key's passphrase).  The one place
    of this fallback for every module that signs or revokes as a signer."""
    if params.get('signer_passphrase'):
        return params['signer_passphrase'], 'signer_passphrase'
    return params.get('repository_passphrase'), 'repository_passphrase'
