import datetime as dt
import os

from service_runtime.home import Home
from service_runtime.overview import overview, render
from service_runtime.status import ServiceStatus, judge, read_status, write_status

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


def status(**kw):
    base = dict(
        service="sync-service",
        pid=4242,
        started="2026-06-01T11:00:00+00:00",
        heartbeat="2026-06-01T11:59:58+00:00",
        version="0.1.0",
    )
    return ServiceStatus(**{**base, **kw})


def test_judgements():
    alive, dead = (lambda pid: True), (lambda pid: False)
    assert judge(None).state == "Never started"
    assert judge(status(), NOW, alive).state.startswith("Running since ")
    assert judge(status(), NOW, dead).state == "Stopped (ended without stopping)"  # kill -9
    assert judge(status(heartbeat="2026-06-01T11:50:00+00:00"), NOW, alive).state == "Not responding"
    assert judge(status(state="stopped", stopped="2026-06-01T11:59:58+00:00"), NOW, alive).state == "Stopped"


def test_write_read_round_trip_and_overview(tmp_path):
    home = Home(tmp_path).prepare()
    live = ServiceStatus(
        "exchange-gateway",
        os.getpid(),
        dt.datetime.now(dt.timezone.utc).isoformat(),
        dt.datetime.now(dt.timezone.utc).isoformat(),
        "0.1.0",
        details={"clients": 1},
    )
    write_status(home, live)
    assert read_status(home, "exchange-gateway") == live
    rows = overview(home)
    assert [(r.name, r.id) for r in rows] == [
        ("Exchange gateway", "user_exch"),
        ("Synchronisation service", "user_sync"),
    ]
    assert rows[0].state.startswith("Running since") and rows[1].state == "Never started"
    lines = render(rows)
    assert lines[0].split() == ["Name", "State", "ID", "Time", "PID", "Version"]
    assert "clients: 1" in lines[-1]
    assert [p.name for p in (tmp_path / "status").iterdir()] == ["exchange-gateway.json"]  # no temporary left


def test_damaged_status_file_counts_as_never_started(tmp_path):
    home = Home(tmp_path).prepare()
    (tmp_path / "status").mkdir()
    (tmp_path / "status" / "sync-service.json").write_text("{not json")
    assert read_status(home, "sync-service") is None
