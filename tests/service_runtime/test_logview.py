import gzip

from service_runtime.logview import Position, Tail, archives, follow, matching, read_archive, tail, tail_at


def test_tail_reads_the_last_lines_of_a_big_file(tmp_path):
    path = tmp_path / "sync-service.log"
    path.write_text("".join(f"line {n}\n" for n in range(50_000)))
    assert tail(path, 3) == ["line 49997", "line 49998", "line 49999"]
    assert tail(path, 0) == []
    assert tail(tmp_path / "missing.log", 5) == []


def test_archives_gz_or_plain(tmp_path):
    (tmp_path / "sync-service.log").write_text("live\n")
    (tmp_path / "sync-service.2026-01-01_00-00-00_000000.log").write_text("old\n")
    with gzip.open(tmp_path / "sync-service.2026-02-01_00-00-00_000000.log.gz", "wt") as handle:
        handle.write("older, compressed\n")
    (tmp_path / "exchange-gateway.2026-01-01_00-00-00_000000.log").write_text("not ours\n")
    found = [a.path.name for a in archives(tmp_path, "sync-service")]
    assert sorted(found) == [
        "sync-service.2026-01-01_00-00-00_000000.log",
        "sync-service.2026-02-01_00-00-00_000000.log.gz",
    ]
    assert read_archive(tmp_path / "sync-service.2026-02-01_00-00-00_000000.log.gz") == "older, compressed\n"


def test_grep_ignores_case():
    assert matching(["Sync started", "Sync ended", "Warning: x"], "SYNC") == ["Sync started", "Sync ended"]


def test_follow_keeps_going_across_a_rotation(tmp_path):
    path = tmp_path / "sync-service.log"
    path.write_text("before we started\n")
    steps = []

    def sleep(_):
        steps.append(None)
        if len(steps) == 1:  # the service writes, then rotates (rename + compress), then writes on
            with open(path, "a") as handle:
                handle.write("one\ntwo\n")
        elif len(steps) == 2:
            with open(path, "a") as handle:
                handle.write("three, just before the rotation\n")
            data = path.read_bytes()
            with gzip.open(tmp_path / "sync-service.2026-06-01_00-00-00_000000.log.gz", "wb") as handle:
                handle.write(data)
            path.unlink()
            path.write_text("four, in the new file\n")

    seen = []
    for line in follow(path, tmp_path, "sync-service", poll=0, running=lambda: len(steps) < 5, sleep=sleep):
        seen.append(line)
    assert seen == ["one", "two", "three, just before the rotation", "four, in the new file"]


def test_tail_at_ends_where_the_last_complete_line_ends(tmp_path):
    path = tmp_path / "sync-service.log"
    path.write_bytes(b"one\ntwo\nthree, still being writ")
    last = tail_at(path, 2)
    assert last.lines == ["one", "two"]
    assert last.position.offset == len(b"one\ntwo\n")
    assert last.position.identity == (path.stat().st_ino, path.stat().st_dev)
    assert tail_at(path, 0).lines == []
    assert tail_at(tmp_path / "missing.log", 5) == Tail([], Position(None, 0))


def test_follow_from_the_tails_position_misses_no_line_written_in_between(tmp_path):
    path = tmp_path / "sync-service.log"
    path.write_bytes(b"old\nhalf a li")
    last = tail_at(path, 10)
    with open(path, "ab") as handle:  # written after the tail was read, before following began
        handle.write(b"ne\nin between\n")
    steps = []

    def sleep(_):
        steps.append(None)

    seen = list(
        follow(path, tmp_path, "sync-service", poll=0, running=lambda: not steps, sleep=sleep, start=last.position)
    )
    assert last.lines == ["old"]
    assert seen == ["half a line", "in between"]
    # without the position, following starts at the end as it is then: both lines are lost
    steps.clear()
    assert list(follow(path, tmp_path, "sync-service", poll=0, running=lambda: not steps, sleep=sleep)) == []


def test_follow_from_no_file_reads_the_file_that_comes_from_its_start(tmp_path):
    path = tmp_path / "sync-service.log"
    last = tail_at(path, 10)
    path.write_text("first line of a new log\n")
    steps = []
    seen = list(
        follow(
            path,
            tmp_path,
            "sync-service",
            poll=0,
            running=lambda: not steps,
            sleep=lambda _: steps.append(None),
            start=last.position,
        )
    )
    assert seen == ["first line of a new log"]
