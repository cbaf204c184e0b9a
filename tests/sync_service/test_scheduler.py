import pytest
import trio

from sync_service.scheduler import CycleScheduler


async def test_cycles_start_every_interval_one_at_a_time(autojump_clock):
    starts, running, overlap = [], 0, False

    async def cycle():
        nonlocal running, overlap
        running += 1
        overlap |= running > 1
        starts.append(trio.current_time())
        await trio.sleep(2)
        running -= 1

    scheduler = CycleScheduler(cycle, interval=60)
    with trio.move_on_after(250):
        await scheduler.run()
    assert starts == pytest.approx([0, 60, 120, 180, 240])
    assert not overlap


async def test_an_overrunning_cycle_delays_the_next_without_a_burst(autojump_clock):
    starts = []
    durations = iter([150, 1, 1, 1])

    async def cycle():
        starts.append(trio.current_time())
        await trio.sleep(next(durations))

    scheduler = CycleScheduler(cycle, interval=60)
    with trio.move_on_after(215):
        await scheduler.run()
    assert starts == pytest.approx([0, 150, 210])


async def test_stop_waits_for_the_running_cycle_then_returns(autojump_clock):
    finished = []

    async def cycle():
        await trio.sleep(10)
        finished.append(trio.current_time())

    scheduler = CycleScheduler(cycle, interval=60)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(scheduler.run)
        await trio.sleep(65)  # inside the second cycle
        scheduler.request_stop()
    assert finished == pytest.approx([10, 70])
    assert trio.current_time() == pytest.approx(70)


async def test_stop_while_waiting_returns_at_once(autojump_clock):
    async def cycle():
        pass

    scheduler = CycleScheduler(cycle, interval=60)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(scheduler.run)
        await trio.sleep(30)
        scheduler.request_stop()
    assert trio.current_time() == pytest.approx(30)


async def test_a_change_brings_the_next_cycle_forward_but_never_overlaps(autojump_clock):
    starts = []

    async def cycle():
        starts.append(trio.current_time())
        await trio.sleep(3)

    scheduler = CycleScheduler(cycle, interval=60, min_gap=5)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(scheduler.run)
        await trio.sleep(1)
        scheduler.request_early()  # during the first cycle: the next comes at 5 (min gap), not 60
        await trio.sleep(20)
        scheduler.request_early()  # while waiting: at once
        await trio.sleep(100)
        scheduler.request_stop()
    assert starts[:3] == pytest.approx([0, 5, 21])
    assert starts[3] == pytest.approx(81)  # then the interval again
