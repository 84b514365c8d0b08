# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make ``ansible_collections.openbanking.content_trust`` importable for unit tests.

`make unit` sets PYTHONPATH=build/collections; this also covers a bare `pytest tests/unit`
once `make collection` has made the build/collections symlink.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, 'build', 'collections')

if os.path.isdir(COLLECTIONS) and COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
