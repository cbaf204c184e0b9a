"""`config get|set|list` underneath: one key's line edited in place (comments kept), the result
checked as the services read it, the file replaced atomically."""

import os

import pytest

from protocol.addresses import Address
from service_runtime.config import (
    DEFAULT_CONFIG_TEXT,
    Config,
    ConfigError,
    config_items,
    config_keys,
    config_value,
    parse_config,
    set_config_text,
    set_config_value,
)
from service_runtime.home import Home


def test_every_key_of_the_file_is_listed_in_its_order():
    keys = config_keys()
    assert keys[0] == "gateway.listen" and keys[-1] == "logs.compression"
    in_file = [
        line.split(" =")[0] for line in DEFAULT_CONFIG_TEXT.splitlines() if " = " in line and not line.startswith("#")
    ]
    assert [key.split(".")[1] for key in keys] == in_file


def test_set_changes_one_line_and_keeps_every_comment():
    changed = set_config_text(DEFAULT_CONFIG_TEXT, "gateway.listen", "127.0.0.1:3001")
    before, after = DEFAULT_CONFIG_TEXT.splitlines(), changed.splitlines()
    assert [(a, b) for a, b in zip(before, after) if a != b] == [
        ('listen = "127.0.0.1:3000"', 'listen = "127.0.0.1:3001"')
    ]
    assert len(before) == len(after)
    assert parse_config(changed).gateway.listen == Address("127.0.0.1", 3001)


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("gateway.allow_remote", "TRUE", True),
        ("gateway.max_clients", "8", 8),
        ("sync.interval_seconds", "5", 5.0),
        ("sync.react_to_changes_seconds", "0", 0.0),
        ("club.timezone", "Europe/Paris", "Europe/Paris"),
        ("logs.rotation", 'size "10 MB"\\', 'size "10 MB"\\'),
    ],
)
def test_values_are_typed_as_the_defaults(key, value, expected):
    section, name = key.split(".")
    assert getattr(getattr(parse_config(set_config_text(DEFAULT_CONFIG_TEXT, key, value)), section), name) == expected


@pytest.mark.parametrize(
    "key, value, complaint",
    [
        ("sync.interval_seconds", "abc", r"\[sync\] interval_seconds must be a number greater than 0"),
        ("sync.interval_seconds", "inf", "must be a number greater than 0"),
        ("sync.interval_seconds", "0", "must be a number greater than 0"),
        ("gateway.max_clients", "1.5", r"\[gateway\] max_clients must be a whole number of at least 1"),
        ("gateway.allow_remote", "yes", "must be true or false"),
        ("gateway.listen", "host", "not HOST:PORT"),
        ("club.timezone", "Mars/Olympus", "not a known time zone"),
        ("exchange.ca_bundle", "/nowhere/ca.pem", "is not a file"),
        ("sync.intervall", "5", "unknown configuration key 'sync.intervall'"),
        ("gateway", "5", "unknown configuration key 'gateway'"),
    ],
)
def test_a_bad_value_is_refused_with_the_loaders_sentence(key, value, complaint):
    with pytest.raises(ConfigError, match=complaint):
        set_config_text(DEFAULT_CONFIG_TEXT, key, value)


def test_a_comment_after_the_value_stays():
    text = '[sync]\ninterval_seconds = 60.0  # one a minute, "#" and all\n'
    assert set_config_text(text, "sync.interval_seconds", "30") == (
        '[sync]\ninterval_seconds = 30.0  # one a minute, "#" and all\n'
    )
    text = '[club]\ntimezone = "Europe/Berlin # not a comment" # a comment\n'
    with pytest.raises(ConfigError, match="not a known time zone"):
        set_config_text(text, "club.timezone", "Nowhere")
    assert set_config_text(text, "club.timezone", "UTC") == '[club]\ntimezone = "UTC"  # a comment\n'


def test_a_key_or_section_the_file_lacks_is_added():
    text = '# mine\n[sync]\n# the gateway\ngateway = "127.0.0.1:3000"\n\n# trailing words\n'
    changed = set_config_text(text, "sync.interval_seconds", "5")
    assert changed == (
        '# mine\n[sync]\n# the gateway\ngateway = "127.0.0.1:3000"\ninterval_seconds = 5.0\n\n# trailing words\n'
    )
    assert set_config_text(changed, "club.timezone", "UTC").endswith('# trailing words\n\n[club]\ntimezone = "UTC"\n')
    assert set_config_text("", "club.timezone", "UTC") == '[club]\ntimezone = "UTC"\n'


def test_a_layout_it_cannot_edit_by_line_is_refused():
    text = '[club]\ntimezone = """\nEurope/Berlin"""\n'
    with pytest.raises(ConfigError, match=r"does not hold \[club\] timezone on a line of its own; change it"):
        set_config_text(text, "club.timezone", "UTC")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        set_config_text("[club\n", "club.timezone", "UTC")
    with pytest.raises(ConfigError, match="by hand"):
        set_config_text('club = { timezone = "UTC" }\n', "club.timezone", "Europe/Paris")


def test_items_say_what_is_the_default():
    config = parse_config(set_config_text(DEFAULT_CONFIG_TEXT, "sync.window_days_back", "7"))
    items = {item.key: item for item in config_items(config)}
    assert len(items) == len(config_keys())
    assert (items["sync.window_days_back"].value, items["sync.window_days_back"].default) == ("7", "30")
    assert not items["sync.window_days_back"].is_default and items["sync.gateway"].is_default
    assert config_value(Config(), "gateway.allow_remote") == "false"


def test_set_value_replaces_the_file_atomically_and_privately(tmp_path):
    home = Home(tmp_path).prepare()
    assert set_config_value(home, "sync.interval_seconds", "30") == ("60.0", "30.0")  # made with the defaults first
    assert os.stat(home.config_file).st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".config")] == []
    good = home.config_file.read_bytes()
    with pytest.raises(ConfigError):
        set_config_value(home, "sync.interval_seconds", "-1")
    assert home.config_file.read_bytes() == good


def test_a_file_with_a_bad_value_can_be_mended(tmp_path):
    home = Home(tmp_path).prepare()
    home.config_file.write_text("[sync]\ninterval_seconds = 0\n")
    with pytest.raises(ConfigError, match="interval_seconds"):
        set_config_value(home, "club.timezone", "UTC")  # the file would still not read
    assert set_config_value(home, "sync.interval_seconds", "5") == (None, "5.0")
