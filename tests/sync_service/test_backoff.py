import pytest

from sync_service.backoff import ReconnectBackoff


def attempt_times(backoff, n, start=0.0):
    """When attempts happen if each fails at once."""
    t, times = start, [start]
    for _ in range(n - 1):
        t += backoff.next_delay(t)
        times.append(t)
    return times


def gaps(times):
    return [b - a for a, b in zip(times, times[1:])]


def test_first_delay_is_a_second():
    backoff = ReconnectBackoff()
    assert backoff.next_delay(100) == 1
    assert backoff.next_delay(101) == 1  # half of one second of trouble is less than the minimum


def test_delays_grow_to_the_minute_and_stay_there():
    times = attempt_times(ReconnectBackoff(), 40)
    assert gaps(times) == sorted(gaps(times))  # never shrinking while the trouble lasts
    assert gaps(times)[-5:] == [60] * 5


def test_pure_doubling_when_the_outage_is_long_already():
    backoff = ReconnectBackoff()
    backoff.trouble_since = 0
    assert [backoff.next_delay(10_000) for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_jitter_only_shortens_by_up_to_a_quarter():
    backoff = ReconnectBackoff(random=lambda: 0.999999)
    backoff.trouble_since = 0
    assert [backoff.next_delay(10_000) for _ in range(3)] == pytest.approx([0.75, 1.5, 3], rel=1e-3)


@pytest.mark.parametrize("jitter_draw", [0.0, 0.5, 0.999])
def test_gateway_down_under_ten_seconds_is_tried_within_five_of_coming_back(jitter_draw):
    times = attempt_times(ReconnectBackoff(random=lambda: jitter_draw), 20)
    for back_at in [x / 100 for x in range(0, 1000)]:
        next_try = min(t for t in times if t >= back_at)
        assert next_try - back_at <= 5.0


def test_recovery_latency_is_bounded_by_half_the_outage():
    times = attempt_times(ReconnectBackoff(), 60)
    for a, b in zip(times, times[1:]):
        assert b - a <= max(1.0, a * 0.5) + 1e-9


def test_healthy_minute_resets():
    backoff = ReconnectBackoff()
    times = attempt_times(backoff, 6)
    assert backoff.connection_ended(lasted=59) is False
    assert backoff.next_delay(times[-1] + 59) > 1  # flapping: the delays keep growing
    assert backoff.connection_ended(lasted=60) is True
    assert backoff.failures == 0 and backoff.trouble_since is None
    assert backoff.next_delay(1000) == 1
