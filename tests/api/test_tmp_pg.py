import pytest
from tests.api.test_paging_concurrent import walk_while_syncs_write

@pytest.fixture
def app(pg_app):
    return pg_app

def test_tmp(app, api, world):
    walk_while_syncs_write(app, api, world.client_a1, 20_000)
