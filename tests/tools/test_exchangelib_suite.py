"""tools/exchangelib_suite.py: the settings and modules it writes for exchangelib's own tests."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from tools import exchangelib_suite as suite


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_settings_are_read_back_by_the_yaml_module_it_writes(tmp_path: Path):
    values = suite.settings("localhost:8443", "anna@club.example", "s3cret: with # yaml", "anna@club.example")
    path = suite.write_settings(tmp_path, values)
    assert path == tmp_path / "settings.yml"
    shims = suite.write_shims(tmp_path)
    yaml = _load(shims / "yaml.py", "suite_yaml")
    assert yaml.safe_load(path.read_text()) == values
    assert values["server"] == "localhost:8443" and values["verify_ssl"] is True
    assert values["username"] == values["account"] == "anna@club.example"


def test_the_relativedelta_module_sets_the_month_as_the_tests_use_it(tmp_path: Path):
    shims = suite.write_shims(tmp_path)
    module = _load(shims / "dateutil" / "relativedelta.py", "suite_relativedelta")
    assert module.relativedelta(month=1) + dt.date(2026, 5, 3) == dt.date(2026, 1, 3)
    assert dt.date(2026, 5, 3) + module.relativedelta(month=11) == dt.date(2026, 11, 3)
    assert module.relativedelta() + dt.date(2026, 5, 3) == dt.date(2026, 5, 3)


def test_server_of_the_stand_ins_https_address():
    assert suite.server_of("https://127.0.0.1:40123/EWS/Exchange.asmx") == "127.0.0.1:40123"
    with pytest.raises(ValueError):
        suite.server_of("http://127.0.0.1:40123/EWS/Exchange.asmx")  # exchangelib's tests speak https only


def test_the_tag_is_the_release_the_lock_installs(tmp_path: Path):
    assert suite.pinned_tag() == "v" + importlib.metadata.version("exchangelib")
    lock = tmp_path / "requirements.lock"
    lock.write_text("click==8.1.7 \\\n    --hash=sha256:00\n")
    with pytest.raises(ValueError):
        suite.pinned_tag(lock)


@pytest.mark.skipif(not suite.MIRROR.exists(), reason="no mirror of exchangelib's repository here")
def test_the_settings_hold_every_key_exchangelibs_tests_read(tmp_path: Path):
    tests = suite.extract_tests(tmp_path, suite.pinned_tag())
    read = set(re.findall(r"""settings\[["'](\w+)["']\]""", (tests / "common.py").read_text()))
    oauth = {"client_id", "client_secret", "tenant_id"}  # only with OAuth, which the stand-in's Basic auth skips
    assert read - oauth and read - oauth <= set(suite.settings("h:1", "u", "p", "a"))
    assert (tests / "test_items" / "test_calendaritems.py").exists()
    assert str(tmp_path) not in sys.path
