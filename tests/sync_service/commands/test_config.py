"""`sync-service config get KEY | config set KEY VALUE | config list`, KEY as SECTION.NAME."""

from service_runtime.config import DEFAULT_CONFIG_TEXT, config_keys


def test_get_of_the_defaults(run):
    assert run.ok("config", "get", "gateway.listen") == "127.0.0.1:3000\n"
    assert run.ok("config", "get", "gateway.allow_remote") == "false\n"
    assert run.ok("config", "get", "club.timezone") == "Europe/Berlin\n"
    assert (run.home / "config.toml").read_text() == DEFAULT_CONFIG_TEXT


def test_set_then_get_and_list(run):
    assert run.ok("config", "set", "gateway.listen", "127.0.0.1:3001") == (
        "gateway.listen = 127.0.0.1:3001 (was 127.0.0.1:3000)\n"
        "The services read it when they start: restart them for it to take effect.\n"
    )
    assert run.ok("config", "get", "gateway.listen") == "127.0.0.1:3001\n"
    assert (
        run.ok("config", "set", "gateway.listen", "127.0.0.1:3001") == "gateway.listen = 127.0.0.1:3001 (unchanged)\n"
    )
    text = (run.home / "config.toml").read_text()
    assert "# Where the Exchange gateway listens." in text and 'listen = "127.0.0.1:3001"' in text
    rows = run.json("config", "list")
    assert [r["key"] for r in rows] == config_keys()
    assert rows[0] == {
        "key": "gateway.listen",
        "value": "127.0.0.1:3001",
        "default": "127.0.0.1:3000",
        "is_default": False,
    }
    assert all(r["is_default"] for r in rows[1:])
    table = run.ok("config", "list").splitlines()
    assert table[0].split() == ["KEY", "VALUE", "DEFAULT"]
    assert table[1].split() == ["gateway.listen", "127.0.0.1:3001", "default:", "127.0.0.1:3000"]
    assert table[2].split() == ["gateway.allow_remote", "false", "(default)"]


def test_a_bad_value_is_one_line_and_leaves_the_file(run):
    run.ok("config", "set", "sync.interval_seconds", "30")
    before = (run.home / "config.toml").read_bytes()
    assert run.refused("config", "set", "sync.interval_seconds", "soon") == (
        "Error: [sync] interval_seconds must be a number greater than 0"
    )
    assert run.refused("config", "set", "club.timezone", "Mars/Olympus") == (
        "Error: [club] timezone 'Mars/Olympus' is not a known time zone"
    )
    assert run.refused("config", "set", "sync.intervall", "5").startswith(
        "Error: unknown configuration key 'sync.intervall'"
    )
    assert run.refused("config", "get", "nope").startswith("Error: unknown configuration key 'nope'")
    assert (run.home / "config.toml").read_bytes() == before


def test_a_broken_file_is_named_by_get_and_mended_by_set(run):
    run.ok("config", "list")
    (run.home / "config.toml").write_text("[sync]\ninterval_seconds = 0\n")
    assert "interval_seconds must be a number greater than 0" in run.refused("config", "get", "sync.interval_seconds")
    assert run.ok("config", "set", "sync.interval_seconds", "5").splitlines()[0] == "sync.interval_seconds = 5.0"
    assert run.ok("config", "get", "sync.interval_seconds") == "5.0\n"


def test_set_needs_a_key_and_a_value(run):
    run.usage_error("config", "set", "gateway.listen")
