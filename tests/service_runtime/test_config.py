import pytest

from protocol.addresses import Address
from service_runtime.config import DEFAULT_CONFIG_TEXT, Config, ConfigError, load_config, parse_config
from service_runtime.home import Home


def test_default_text_is_the_defaults():
    assert parse_config(DEFAULT_CONFIG_TEXT) == Config()


def test_load_writes_the_defaults_on_first_start(tmp_path):
    home = Home(tmp_path).prepare()
    assert load_config(home) == Config()
    assert home.config_file.read_text() == DEFAULT_CONFIG_TEXT


def test_values_override_defaults():
    config = parse_config('[sync]\ngateway = "[::1]:4000"\ninterval_seconds = 5\n[club]\ntimezone = "Europe/Paris"\n')
    assert config.sync.gateway == Address("::1", 4000)
    assert config.sync.interval_seconds == 5.0
    assert config.club.timezone == "Europe/Paris"
    assert config.gateway == Config().gateway


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("[sync\n", "not valid TOML"),
        ("[nope]\n", "unknown sections: nope"),
        ("[sync]\nintervall = 5\n", "unknown settings: intervall"),
        ("[sync]\ninterval_seconds = 0\n", "greater than 0"),
        ("[sync]\ninterval_seconds = true\n", "greater than 0"),
        ("[sync]\ngateway = 3000\n", "HOST:PORT"),
        ('[sync]\ngateway = "host"\n', "not HOST:PORT"),
        ("[gateway]\nallow_remote = 1\n", "true or false"),
        ("[gateway]\nmax_frame_bytes = 1.5\n", "whole number"),
        ('[club]\ntimezone = "Mars/Olympus"\n', "not a known time zone"),
        ("sync = 5\n", "must be a table"),
    ],
)
def test_bad_values_name_the_setting(text, complaint):
    with pytest.raises(ConfigError, match=complaint):
        parse_config(text)
