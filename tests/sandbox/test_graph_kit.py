"""sandbox's Exchange Online pieces: the app as the stand-in's `--app` takes it, and the command
lines that set the app and a Graph account (the whole of it runs in tests/e2e/test_graph_end_to_end.py)."""

from __future__ import annotations

from exchange_standin.identity import AppSpec, parse_app
from sandbox.graph import ClubApp
from sandbox.world import app_set_arguments, graph_account_arguments


def test_the_apps_spec_is_what_the_standin_parses_even_with_colons_in_the_secret():
    app = ClubApp("club.onmicrosoft.com", "client-1", "a:secret:with:colons")
    assert parse_app(app.spec) == AppSpec("club.onmicrosoft.com", "client-1", "a:secret:with:colons")


def test_app_set_points_the_club_at_the_standins_tenant_and_graph_and_reads_the_secret_from_stdin():
    app = ClubApp("club.onmicrosoft.com", "client-1", "the-secret")
    arguments = app_set_arguments(app, "https://127.0.0.1:1/club.onmicrosoft.com", "https://127.0.0.1:1/v1.0")
    assert arguments == [
        "app",
        "set",
        "--tenant",
        "club.onmicrosoft.com",
        "--client-id",
        "client-1",
        "--client-secret-stdin",
        "--authority",
        "https://127.0.0.1:1/club.onmicrosoft.com",
        "--graph-url",
        "https://127.0.0.1:1/v1.0",
    ]
    assert "the-secret" not in arguments  # never on a command line


def test_a_graph_account_names_the_mailbox_only():
    assert graph_account_arguments("anna", "anna@club.example") == [
        "account",
        "set",
        "anna",
        "--graph",
        "--mailbox",
        "anna@club.example",
    ]
