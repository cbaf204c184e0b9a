"""Run exchangelib's own test suite against the stand-in: a measurement, not part of our CI.

    .venv/bin/python tools/exchangelib_suite.py [TEST_FILE] [-k EXPR] [--tag v5.6.0] [--keep]

It takes `tests/` of the release pinned in requirements.lock (tag v5.6.0) from the bare mirror of
exchangelib's repository, starts the stand-in (`exchange-gateway emulator --tls`) with one mailbox,
writes the `settings.yml` exchangelib's tests read (tests/common.py: server, username, password,
account), and runs pytest on TEST_FILE (default tests/test_items/test_calendaritems.py), with TLS
verified against the stand-in's CA (REQUESTS_CA_BUNDLE). It prints pytest's summary and exits
with pytest's code.

exchangelib's tests import two modules the lock does not install: `yaml` (for settings.yml) and
`dateutil.relativedelta` (test_basics, `relativedelta(month=1) + date`). Both get a small module of
their own in the temp dir: settings.yml is written as JSON (which YAML reads as it is), and the
relativedelta there does only what the tests ask of it, set the month of a date."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIRROR = Path("/work/.mirror/ecederstrand+exchangelib/repo")
DEFAULT_TEST = "tests/test_items/test_calendaritems.py"
ACCOUNT = "exchangelib-tests@golfclub.example"
PASSWORD = "exchangelib-tests-secret"

YAML_MODULE = '''"""Only what exchangelib's tests/common.py needs: settings.yml, written as JSON."""

import json


def safe_load(text):
    return json.loads(text)
'''

RELATIVEDELTA_MODULE = '''"""Only what exchangelib's test_items/test_basics.py needs: relativedelta(month=N) + date."""


class relativedelta:
    def __init__(self, month=None):
        self.month = month

    def __add__(self, other):
        return other if self.month is None else other.replace(month=self.month)

    __radd__ = __add__
'''


def pinned_tag(lock: Path = ROOT / "requirements.lock") -> str:
    """The tag of the exchangelib release the lock pins (v5.6.0 for exchangelib==5.6.0)."""
    found = re.search(r"^exchangelib==([0-9][^ \\\n]*)", lock.read_text(), re.MULTILINE)
    if found is None:
        raise ValueError(f"{lock} pins no exchangelib release")
    return f"v{found.group(1)}"


def settings(server: str, username: str, password: str, account: str) -> dict[str, Any]:
    """What exchangelib's tests/common.py reads from settings.yml, for Basic auth to `server`
    (HOST:PORT; exchangelib makes https://HOST:PORT/EWS/Exchange.asmx of it)."""
    return {
        "server": server,
        "autodiscover_server": server,
        "username": username,
        "password": password,
        "account": account,
        "alias": account,
        "verify_ssl": True,
    }


def server_of(ews_url: str) -> str:
    """HOST:PORT of the stand-in's https EWS address (exchangelib wants https and the path it knows)."""
    found = re.fullmatch(r"https://([^/]+)/EWS/Exchange\.asmx", ews_url)
    if found is None:
        raise ValueError(f"not an https EWS address: {ews_url!r}")
    return found.group(1)


def write_settings(directory: Path, values: dict[str, Any]) -> Path:
    """settings.yml in `directory` (the parent of exchangelib's tests/), as JSON."""
    path = directory / "settings.yml"
    path.write_text(json.dumps(values, indent=2) + "\n")
    return path


def write_shims(directory: Path) -> Path:
    """The small `yaml` and `dateutil.relativedelta` modules, in `directory`/shims; returns it."""
    shims = directory / "shims"
    (shims / "dateutil").mkdir(parents=True, exist_ok=True)
    (shims / "yaml.py").write_text(YAML_MODULE)
    (shims / "dateutil" / "__init__.py").write_text("")
    (shims / "dateutil" / "relativedelta.py").write_text(RELATIVEDELTA_MODULE)
    return shims


def extract_tests(directory: Path, tag: str, mirror: Path = MIRROR) -> Path:
    """exchangelib's tests/ of `tag`, extracted into `directory`."""
    archive = subprocess.run(
        ["git", f"--git-dir={mirror}", "archive", tag, "tests"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    return directory / "tests"


def run(test: str, tag: str, keyword: str | None, keep: bool) -> int:
    sys.path.insert(0, str(ROOT))
    from sandbox.standin import StandIn

    work = Path(tempfile.mkdtemp(prefix="exchangelib-suite-"))
    standin = None
    try:
        extract_tests(work, tag)
        shims = write_shims(work)
        tls_dir = work / "tls"
        tls_dir.mkdir()
        standin = StandIn.start([(ACCOUNT, PASSWORD)], tls_dir=tls_dir)
        write_settings(work, settings(server_of(standin.url), ACCOUNT, PASSWORD, ACCOUNT))
        env = dict(os.environ)
        env["REQUESTS_CA_BUNDLE"] = str(standin.ca_file)
        env["PYTHONPATH"] = os.pathsep.join([str(shims), str(work)])
        arguments = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", "--tb=line", test]
        if keyword:
            arguments += ["-k", keyword]
        print(f"exchangelib {tag} {test} against {standin.url}", flush=True)
        return subprocess.run(arguments, cwd=work, env=env).returncode
    finally:
        if standin is not None:
            standin.stop()
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run exchangelib's own tests against the stand-in.")
    parser.add_argument(
        "test", nargs="?", default=DEFAULT_TEST, help=f"a test file of exchangelib (default {DEFAULT_TEST})"
    )
    parser.add_argument("-k", dest="keyword", default=None, help="pytest's -k expression")
    parser.add_argument("--tag", default=None, help="the exchangelib tag (default: the release the lock pins)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (tests, settings.yml)")
    options = parser.parse_args(argv)
    return run(options.test, options.tag or pinned_tag(), options.keyword, options.keep)


if __name__ == "__main__":
    sys.exit(main())
