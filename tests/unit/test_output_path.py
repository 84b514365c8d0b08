# -*- coding: utf-8 -*-
"""Where the roles write on the controller by default (the output_path filter): beside the inventory, never inside an
installed collection, which is read-only in an execution environment."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.openbanking.content_trust.plugins.filter.output_path import output_path

INSTALLED = '/usr/share/ansible/collections/ansible_collections/openbanking/content_trust/playbooks'


@pytest.mark.parametrize('playbook_dir', ['/srv/site/playbooks', INSTALLED])
def test_beside_the_inventory_wherever_the_playbook_is(playbook_dir):
    assert output_path('/srv/site/inventories/prod', playbook_dir, 'trust-keys', 'content_trust_public_key_dir') == \
        '/srv/site/inventories/prod/trust-keys'
    assert output_path('/inv', playbook_dir, 'notary-ca/notary1.crt', 'content_trust_notary_ca_fetch_dest') == \
        '/inv/notary-ca/notary1.crt'


@pytest.mark.parametrize('inventory_dir', [None, 'None', ''])
def test_a_host_list_inventory_writes_beside_the_teams_own_playbook(inventory_dir):
    assert output_path(inventory_dir, '/srv/site/playbooks', 'release-reports', 'content_trust_report_dir') == \
        '/srv/site/playbooks/release-reports'


@pytest.mark.parametrize('inventory_dir', [None, 'None', ''])
def test_a_host_list_inventory_with_the_collections_playbook_names_the_variable_to_set(inventory_dir):
    with pytest.raises(AnsibleFilterError) as err:
        output_path(inventory_dir, INSTALLED, 'release-reports', 'content_trust_report_dir')
    message = str(err.value)
    assert message.startswith('content_trust_report_dir: ')
    assert 'set content_trust_report_dir' in message and INSTALLED in message


def test_a_directory_merely_named_like_a_collections_root_is_not_one():
    # ansible_collections/<namespace>/<name>/... is a collection; the root itself, or one level down, is not.
    assert output_path(None, '/srv/ansible_collections', 'x', 'v') == '/srv/ansible_collections/x'
    assert output_path(None, '/srv/ansible_collections/acme', 'x', 'v') == '/srv/ansible_collections/acme/x'
    with pytest.raises(AnsibleFilterError):
        output_path(None, '/srv/ansible_collections/acme/tools', 'x', 'v')


def test_name_and_variable_are_required():
    with pytest.raises(AnsibleFilterError):
        output_path('/inv', '/pb', '', 'v')
