# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the module base of the modules that read or change Notary.

Not a public API; it may change without notice.

``NotaryAction`` is ``_module.Action`` with a ``TrustCLI`` (docker and notary) and the two ways a Notary module
runs its steps: one repository inside its publish transaction (``self.reference``), or several repositories as
one run (``self.references``): planned and checked before anything changes, then changed under the locks of all
of them, each published in its own transaction (``publish``).  ``trust_push`` (a release of several images) and
``trust_migrate`` are the two users of the second; nothing else orchestrates several repositories.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.openbanking.content_trust.plugins.module_utils._cli import TrustCLI
from ansible_collections.openbanking.content_trust.plugins.module_utils._locks import repository_locks
from ansible_collections.openbanking.content_trust.plugins.module_utils._module import Action, Reader
from ansible_collections.openbanking.content_trust.plugins.module_utils._transaction import transaction


class NotaryAction(Action):
    """``Action`` for Notary.  ``inputs()`` may set:

    - ``self.reference`` (a ``Reference``): ``plan``, ``preflight``, ``apply`` and ``verify`` run inside that
      repository's publish transaction (``self.tx``), again after a TUF version conflict (``Transaction.attempt``).
    - ``self.references`` (a list): several repositories.  Under the locks of every one of them (check mode
      included, so the plan is the one that is applied): ``plan`` and ``preflight`` once for all of them, then,
      not in check mode, ``apply`` and ``verify`` when something changes, and ``refresh(plan, outcome)`` always.
      ``apply`` publishes each repository with ``self.publish(reference, func)``.
    - neither: the steps run as ``Action``'s."""

    client_class = TrustCLI
    reference = None
    references = None
    tx = None

    def refresh(self, plan, outcome):
        """Several repositories only: under their locks, not in check mode, whether or not ``apply`` ran."""

    def publish(self, reference, func):
        """``func()`` inside the publish transaction of ``reference`` (``self.tx``), again after a conflict."""
        with transaction(self.cli, reference) as tx:
            self.tx = tx
            return tx.attempt(func)

    def _several(self):
        with repository_locks(self.cli, self.references):
            plan, changed, outcome = self._steps()
            if not self.module.check_mode:
                self.refresh(plan, outcome)
        return plan, changed, outcome

    def _run(self):
        if self.references is not None:
            return self._several()
        if self.reference is None:
            return self._steps()
        return self.publish(self.reference, self._steps)


class NotaryReader(Reader, NotaryAction):
    """``Reader`` with a ``TrustCLI``: the modules that read trust data (``trust_info``, ``trust_verify``)."""
