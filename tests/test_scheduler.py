"""Fixed-rate device loops on a fake clock: steady rhythm, no catch-up bursts,
and a failing round does not end the loop."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from fieldagent.scheduler import run_every


class FakeTime:
    """A clock that only moves when the code under test sleeps or works."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def starts_of(
    interval: float, durations: list[float], rounds: int, fail_first: bool = False
) -> list[float]:
    """The fake times at which `rounds` actions started; action i takes durations[i]."""
    fake = FakeTime()
    starts: list[float] = []

    async def main() -> None:
        done = asyncio.Event()

        async def action() -> None:
            starts.append(fake.now)
            if len(starts) >= rounds:
                done.set()
                await asyncio.Event().wait()  # park until cancelled
            fake.now += durations[min(len(starts) - 1, len(durations) - 1)]
            if fail_first and len(starts) == 1:
                raise RuntimeError("first round fails")

        task = asyncio.create_task(
            run_every(interval, action, clock=fake.clock, name="t", sleep=fake.sleep)
        )
        await done.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    return starts


def test_keeps_its_rhythm_whatever_the_action_takes_within_the_interval() -> None:
    assert starts_of(10.0, [0.3, 4.0, 9.9, 0.0], rounds=5) == [0.0, 10.0, 20.0, 30.0, 40.0]


def test_an_overrun_skips_missed_slots_instead_of_bursting() -> None:
    starts = starts_of(10.0, [25.0, 1.0], rounds=4)
    assert starts == [0.0, 30.0, 40.0, 50.0]
    assert all(b - a >= 10.0 for a, b in itertools.pairwise(starts))


def test_a_failing_round_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    assert starts_of(5.0, [1.0], rounds=3, fail_first=True) == [0.0, 5.0, 10.0]
    assert "t: round failed" in caplog.text
