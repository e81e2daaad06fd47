"""RetainedClears: a removed device's retained topics are emptied once the outbox has
nothing older for them, and again after every reconnect."""

from __future__ import annotations

from fieldagent.retainedclear import RetainedClears


def test_clears_wait_for_a_connection_and_an_empty_outbox() -> None:
    clears = RetainedClears()
    clears.add(["st/gone/health", "st/gone/meta"])
    assert clears.due(connected=False, backlog=0) == []
    assert clears.due(connected=True, backlog=3) == []  # an older health may still go out
    assert clears.due(connected=True, backlog=0) == ["st/gone/health", "st/gone/meta"]
    assert clears.due(connected=True, backlog=0) == []  # once per connection


def test_a_reconnect_sends_them_again_unless_the_device_came_back() -> None:
    clears = RetainedClears()
    clears.add(["st/a/health", "st/b/health"])
    clears.due(connected=True, backlog=0)
    clears.keep(["st/a/health"])  # a later reload added device a again
    clears.rearm()
    assert clears.due(connected=True, backlog=0) == ["st/b/health"]
