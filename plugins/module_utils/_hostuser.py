# -*- coding: utf-8 -*-
# Copyright (c) 2026, Open Banking
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private helper of openbanking.content_trust: the user a host's docker configuration belongs to, and how a
task's secrets reach the host.

Not a public API; it may change without notice.  Standard library only (the filters and the ``secret_transport``
action load it on the controller).

With become, the modules run as root (or the become user): ``~`` is that user's home, and whatever they write is
theirs.  The docker configuration is used by the user the play logs in as (or the one the inventory names), so the
roles resolve its path against that user's home and give what they write to that user (``docker_user``); the
Notation key check accepts that user's key (``key_owner_uids``).  Without pipelining, Ansible copies each module
with its arguments - passphrases included - into a file under the remote user's ``~/.ansible/tmp`` while it runs
(``secrets_written_to_disk``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import posixpath

from ansible_collections.openbanking.content_trust.plugins.module_utils._errors import InputError

LOCAL_CONNECTIONS = ('local', 'ansible.builtin.local', 'ansible.legacy.local')


def home_path(path, home):
    """``path`` with a leading ``~`` or ``~/`` resolved against ``home``; an absolute path unchanged.  ``~name``
    and a relative path are refused: they would mean another directory for every user a task runs as."""
    path = (path or '').strip()
    if not path:
        raise InputError('content_trust_docker_config must be a directory such as ~/.docker, got an empty value')
    if path == '~' or path.startswith('~/'):
        if not home or not posixpath.isabs(home):
            raise InputError('content_trust_docker_config %s: the user has no home directory to resolve ~ in '
                             '(home %r); give an absolute path' % (path, home))
        return posixpath.normpath(home + path[1:])
    if path.startswith('~'):
        raise InputError('content_trust_docker_config %s: ~user is not supported; give ~/... (the home of '
                         'content_trust_docker_config_owner) or an absolute path' % path)
    if not posixpath.isabs(path):
        raise InputError('content_trust_docker_config %s: expected ~/... or an absolute path' % path)
    return posixpath.normpath(path)


def docker_user(config, owner, passwd):
    """Who the docker configuration ``config`` (``content_trust_docker_config``) belongs to and where it is.

    ``owner`` is the user name (``content_trust_docker_config_owner``; empty: the user of the one passwd line given,
    the user the play logs in as); ``passwd`` is ``getent passwd``'s answer, as its output line
    (``name:password:uid:gid:gecos:home:shell``; empty when it found none) or as the ``ansible.builtin.getent``
    module gives it (``{name: [password, uid, gid, gecos, home, shell]}``).  Returns ``{config, path, owner, uid, gid,
    home}``: ``config`` the setting as given (a reader knows the fact is for that setting), ``path`` the directory."""
    owner = (owner or '').strip()
    if isinstance(passwd, str):
        lines = [line.split(':') for line in passwd.splitlines() if line.strip()]
        if len(lines) == 1 and len(lines[0]) >= 6 and not owner:
            owner = lines[0][0]
        passwd = dict((fields[0], fields[1:]) for fields in lines if fields[0] == owner)
    if not owner:
        raise InputError('content_trust_docker_config_owner: no user name to give the docker configuration to')
    entry = (passwd or {}).get(owner)
    if not entry or len(entry) < 5:
        raise InputError('content_trust_docker_config_owner: no user %s on the host (getent passwd %s found none)'
                         % (owner, owner))
    try:
        uid, gid = int(entry[1]), int(entry[2])
    except (TypeError, ValueError):
        raise InputError('content_trust_docker_config_owner: getent passwd %s gave no numeric uid and gid (%r)'
                         % (owner, entry[1:3]))
    home = entry[4]
    return dict(config=config, path=home_path(config, home), owner=owner, uid=uid, gid=gid, home=home)


def docker_config_path(config, user):
    """The directory for ``config``: the resolved path of ``user`` (a ``docker_user`` fact) when it was resolved
    for this same setting, else ``config`` as given (the modules then expand ``~`` as the user they run as)."""
    if isinstance(user, dict) and user.get('config') == config and user.get('path'):
        return user['path']
    return config


def key_owner_uids(key_owner, euid, sudo_uid=None):
    """The uids a Notation signing key may belong to.

    ``key_owner`` (a uid, from the role's docker configuration owner) names the user the key is meant for: only that
    user's key is accepted, whoever runs the module.  Without it, the user running the module, and under sudo
    (``SUDO_UID``, when root runs it) also the user who became root."""
    if key_owner is not None and str(key_owner).strip() != '':
        try:
            return frozenset([int(key_owner)])
        except (TypeError, ValueError):
            raise InputError('key_owner must be a uid (a number), got %r' % (key_owner,))
    uids = set([int(euid)])
    if int(euid) == 0 and sudo_uid not in (None, ''):
        try:
            uids.add(int(sudo_uid))
        except (TypeError, ValueError):
            pass
    return frozenset(uids)


def secrets_written_to_disk(connection, pipelining):
    """True when a module's arguments are written to a file on a remote host: a connection other than ``local``
    without pipelining.  ``connection`` is the connection plugin's name, ``pipelining`` whether Ansible pipelines
    modules over it for this task."""
    if not connection or connection in LOCAL_CONNECTIONS or connection.rsplit('.', 1)[-1] == 'local':
        return False
    return not pipelining


def pipelining_warning(connection, pipelining, host, what):
    """The warning for a task that carries ``what`` (its secrets) to ``host``, or None."""
    if not secrets_written_to_disk(connection, pipelining):
        return None
    return ('%s: %s runs over %s without pipelining, so Ansible writes the module\'s arguments, %s included, to a '
            'file under the remote user\'s ~/.ansible/tmp while it runs; set ansible_pipelining: true for this host '
            '(the collection\'s playbooks do unless the inventory says otherwise)' % (host, what, connection, what))


def account_id(value, what, database):
    """The numeric ID of a user (``database`` ``user``) or group (``group``) given by name or number, or None for
    None or ''; InputError naming ``what`` for a name this host does not know."""
    if value is None or str(value).strip() == '':
        return None
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    import grp
    import pwd
    try:
        return pwd.getpwnam(text).pw_uid if database == 'user' else grp.getgrnam(text).gr_gid
    except KeyError:
        raise InputError('%s: this host has no %s named %r' % (what, database, text))
