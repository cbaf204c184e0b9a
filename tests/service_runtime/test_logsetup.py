import io
import re

from loguru import logger

from service_runtime.home import Home
from service_runtime.logsetup import configure_logging

LINE = re.compile(r"^\d\d\.\d\d\.\d\d - \d\d:\d\d:\d\d\.\d\d: ")


def test_lines_have_the_original_format_in_file_and_on_stderr(tmp_path):
    home = Home(tmp_path).prepare()
    stderr = io.StringIO()
    configure_logging(home, "sync-service", stderr=stderr)
    try:
        logger.info("Sync started")
        logger.warning("Something odd")
        logger.debug("hidden unless verbose")
    finally:
        logger.remove()
    file_lines = home.log_file("sync-service").read_text().splitlines()
    assert file_lines == stderr.getvalue().splitlines()
    assert len(file_lines) == 2
    assert all(LINE.match(line) for line in file_lines)
    assert file_lines[0].endswith(": Sync started")
    assert file_lines[1].endswith(": Warning: Something odd")


def test_tracebacks_do_not_show_variable_values(tmp_path):
    home = Home(tmp_path).prepare()
    configure_logging(home, "exchange-gateway", stderr=None)
    try:
        secret_token = "s3cr3t-t0ken"  # noqa: F841 - a local that diagnose=True would print
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.remove()
    text = home.log_file("exchange-gateway").read_text()
    assert "boom" in text
    assert "s3cr3t-t0ken" not in text
