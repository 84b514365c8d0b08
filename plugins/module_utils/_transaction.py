# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the publish transaction of one repository.

Not a public API; it may change without notice.

Every module that changes trust data does it inside ``with transaction(cli, reference) as tx``:

- **Lock.** The repository's lock (``_locks.repository_lock``) for the whole transaction: two modules on one
  host never share that repository's changelist or its TUF cache while one writes.
- **Staging in views.** ``tx.view`` gives a private docker configuration (``_views.signer_view``)
  and ``tx.notary`` a ``NotaryRepository`` on it; nothing is staged in the real trust directory,
  and every changelist the transaction staged is reset when it ends, however it ends.
- **Retries.** ``tx.attempt(func)`` calls ``func()`` again, after a jittered backoff, when the
  Notary server refused a TUF version because another writer published first.  ``func`` must
  read the trust data and plan again each time: the other writer's changes stay.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import random
import time
from contextlib import contextmanager

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import TrustError
from ansible_collections.openbanking.content_trust.plugins.module_utils._locks import repository_lock
from ansible_collections.openbanking.content_trust.plugins.module_utils._notary import NotaryRepository
from ansible_collections.openbanking.content_trust.plugins.module_utils._keystore import local_repository_keys
from ansible_collections.openbanking.content_trust.plugins.module_utils._views import signer_view

# Another host published between our read and our write: the Notary server refuses a TUF version
# that is not newer ("trust server rejected operation").
CONFLICT_MARKERS = ('trust server rejected operation', 'ErrOldVersion', 'old version')
CONFLICT_ATTEMPTS = 6


def is_conflict(exc):
    text = '%s %s' % (getattr(exc, 'msg', exc), getattr(exc, 'output', None) or '')
    return any(m in text for m in CONFLICT_MARKERS)


class Transaction(object):
    """What one writer does to one repository; see the module docstring."""

    def __init__(self, cli, reference):
        self.cli = cli
        self.reference = reference
        self._staging = []
        self.attempt_number = 0  # 0 for the first attempt, 1 for the first retry, ...

    def view(self, keys=(), repository_keys=False):
        """A private docker configuration showing ``keys`` (``_views.signer_view``) or, with
        ``repository_keys``, copies of the repository's own (targets, snapshot) keys: delegation changes are staged
        in it, never in the real trust directory."""
        if repository_keys:
            keys = local_repository_keys(self.cli.trust_dir, self.reference.gun)
        return signer_view(self.cli, keys)

    def notary(self, view, cli=None):
        """A ``NotaryRepository`` staging in ``view``'s trust directory, reset now and when the transaction ends."""
        trust_dir = os.path.join(view, 'trust')
        if os.path.realpath(trust_dir) == os.path.realpath(self.cli.trust_dir):
            raise ValueError('a transaction never stages in the real trust directory')
        notary = NotaryRepository(cli or self.cli, self.reference, trust_dir=trust_dir)
        notary.reset()
        self._staging.append(notary)
        return notary

    def reset(self):
        """Drop whatever this transaction staged."""
        while self._staging:
            self._staging.pop().reset()

    def attempt(self, func, attempts=CONFLICT_ATTEMPTS):
        """``func()``, called again after a TUF version conflict (at most ``attempts`` times)."""
        for number in range(attempts):
            self.attempt_number = number
            try:
                return func()
            except TrustError as exc:
                if number == attempts - 1 or not is_conflict(exc):
                    raise
            self.reset()
            # jittered exponential backoff: two hosts that collided do not collide again
            time.sleep(random.uniform(0.5, 1.5) * min(0.2 * 2 ** number, 3.0))


@contextmanager
def transaction(cli, reference):
    """``with transaction(cli, reference) as tx``: lock, stage in views, reset, retry (module docstring)."""
    tx = Transaction(cli, reference)
    with repository_lock(cli.trust_dir, reference.gun, cli.timeout):
        try:
            yield tx
        finally:
            tx.reset()
