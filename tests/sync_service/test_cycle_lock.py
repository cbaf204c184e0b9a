"""The cycle lock file; a real file lock, so these run on the real clock (short, bounded waits)."""

import pytest
import trio
import trio.testing

from sync_service.cycle_lock import CycleBusy, cycle_lock


async def test_second_holder_waits_for_the_first(tmp_path):
    path = tmp_path / "sync-cycle.lock"
    order = []

    async def holder(name, hold_event, release_event):
        async with cycle_lock(path, wait=5):
            order.append(f"{name} in")
            hold_event.set()
            await release_event.wait()
            order.append(f"{name} out")

    first_in, release_first = trio.Event(), trio.Event()
    second_in, release_second = trio.Event(), trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(holder, "first", first_in, release_first)
        await first_in.wait()
        nursery.start_soon(holder, "second", second_in, release_second)
        await trio.testing.wait_all_tasks_blocked()  # the second has tried and is waiting
        assert not second_in.is_set()
        release_first.set()
        await second_in.wait()
        release_second.set()
    assert order == ["first in", "first out", "second in", "second out"]


async def test_gives_up_with_a_clear_error(tmp_path):
    path = tmp_path / "sync-cycle.lock"
    async with cycle_lock(path, wait=1):
        with pytest.raises(CycleBusy, match="another sync cycle"):
            async with cycle_lock(path, wait=0.2):
                pass
