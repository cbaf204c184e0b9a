"""Fixtures for the admin commands of `sync-service`, run in-process with click's CliRunner."""

from __future__ import annotations

import pytest

from .support import Cli


@pytest.fixture
def run(tmp_path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def club(run) -> Cli:
    """A small club: group Staff (appointments all, contacts yes), user alice in it (everything
    'as group'), user bob without a group, areas Tee and Pro (bob owns Pro)."""
    run.ok("group", "add", "Staff")
    run.ok("group", "permissions", "Staff", "--appointments", "all", "--contacts", "yes")
    run.ok("user", "add", "alice", "--group", "Staff")
    run.ok("user", "add", "bob")
    run.ok("area", "add", "Tee")
    run.ok("area", "add", "Pro", "--owner", "bob")
    return run
