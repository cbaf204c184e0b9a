"""The engine's small club (one user syncing one area with the fake Exchange), for the admin
functions whose effect the next cycle must show."""

import pytest

from tests.sync_service.engine.conftest import Club, make_club


@pytest.fixture
def club(tmp_path) -> Club:
    return make_club(tmp_path)
