# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the one PEM parser, standard library only.

Not a public API; it may change without notice.

``_keys`` (Notary keys) and ``_ocisig`` (cosign keys, Notation certificates) both read PEM through
it; it lives apart from ``_keys`` so that ``_ocisig`` does not load ``_keys``'s cryptography imports.
Linear in its input: one pass with ``str.find`` (a backtracking ``.*?`` regex took seconds on a few
hundred KiB and minutes on many BEGIN lines), and input over ``MAX_PEM_BYTES`` is refused unread.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import re

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import KeyProblem

# No key, certificate or key file docker or notary writes comes near this, nor a chain of a few
# certificates; anything larger is refused before it is parsed (a key pasted into an option, a file,
# the server's metadata).
MAX_PEM_BYTES = 64 * 1024
_PEM_TYPE_RE = re.compile(r'\A[A-Z0-9 ]{1,64}\Z')


def check_pem_size(text, what):
    if text and len(text) > MAX_PEM_BYTES:
        raise KeyProblem('%s is %d bytes long, more than the %d KiB a key or certificate can be; give one PEM '
                         'key or certificate' % (what, len(text), MAX_PEM_BYTES // 1024))


def _block(text, begin):
    """``(type, headers, der, end)`` of the PEM block whose ``-----BEGIN`` line starts at ``begin``;
    ``end`` is the offset just after its ``-----END`` line."""
    type_start = begin + len('-----BEGIN ')
    type_end = text.find('-----', type_start)
    eol = text.find('\n', type_start)
    pem_type = text[type_start:type_end] if type_end >= 0 else ''
    if not _PEM_TYPE_RE.match(pem_type) or (eol >= 0 and eol < type_end) or \
            text[type_end + 5:eol if eol >= 0 else len(text)].strip():
        raise KeyProblem('no PEM block found: the first "-----BEGIN" line is not a PEM header')
    if eol < 0:
        raise KeyProblem('PEM block %s has no content' % pem_type)
    end_marker = '-----END %s-----' % pem_type
    end = text.find(end_marker, eol)
    if end < 0:
        raise KeyProblem('PEM block %s has no "%s" line' % (pem_type, end_marker))
    headers = {}
    lines = []
    for line in text[eol + 1:end].splitlines():
        line = line.strip()
        if not line:
            continue
        if ':' in line:
            k, v = line.split(':', 1)
            headers[k.strip()] = v.strip()
        else:
            lines.append(line)
    try:
        der = base64.b64decode(''.join(lines), validate=True)
    except (ValueError, TypeError):
        raise KeyProblem('PEM block %s has invalid base64 content' % pem_type)
    return pem_type, headers, der, end + len(end_marker)


def _text(text, what):
    check_pem_size(text, what)
    if isinstance(text, bytes):
        text = text.decode('ascii', 'replace')
    return text or ''


def split_pem(text, what='PEM data'):
    """Return ``(type, headers, der)`` of the first PEM block in ``text``.

    Only the first ``-----BEGIN`` line counts, and its block must end with the matching ``-----END``
    line.  Input over MAX_PEM_BYTES is refused unread."""
    text = _text(text, what)
    begin = text.find('-----BEGIN ')
    if begin < 0:
        raise KeyProblem('no PEM block found')
    return _block(text, begin)[:3]


def pem_blocks(text, what='PEM data'):
    """Every PEM block of ``text`` in order, as ``(type, headers, der)``; text between blocks (cosign's
    messages, a bundle's comments) is skipped.  Input over MAX_PEM_BYTES is refused unread; a
    ``-----BEGIN`` line that does not open a well-formed block fails."""
    text = _text(text, what)
    out = []
    pos = text.find('-----BEGIN ')
    while pos >= 0:
        pem_type, headers, der, end = _block(text, pos)
        out.append((pem_type, headers, der))
        pos = text.find('-----BEGIN ', end)
    return out


def encode_pem(pem_type, der, headers=None):
    out = ['-----BEGIN %s-----' % pem_type]
    if headers:
        for k in sorted(headers):
            out.append('%s: %s' % (k, headers[k]))
        out.append('')
    b64 = base64.b64encode(der).decode('ascii')
    out.extend(b64[i:i + 64] for i in range(0, len(b64), 64))
    out.append('-----END %s-----' % pem_type)
    return '\n'.join(out) + '\n'


def certificates_text(text, what):
    """``text`` as the file of one or more PEM certificates it must be (a CA, a chain): stripped, one newline at the
    end; ``KeyProblem`` naming ``what`` when it holds anything but certificates (a private key pasted by mistake is
    refused here, never written)."""
    blocks = pem_blocks(text, what)
    if not blocks or any(pem_type != 'CERTIFICATE' for pem_type, dummy, dummy2 in blocks):
        raise KeyProblem('%s must be PEM certificates ("-----BEGIN CERTIFICATE-----"), found %s'
                         % (what, ', '.join(t for t, dummy, dummy2 in blocks) or 'no PEM block'))
    return text.strip() + '\n'
