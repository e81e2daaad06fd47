"""Alarms: limits with delays and deadbands, states, unreachable and stale devices,
maintenance mode, bilingual texts, and their state kept across restarts.

Wiring, in the agent::

    store = AlarmStore(config.agent.state_dir)
    engine = AlarmEngine(
        config.station.id, config, drivers_by_device_id, utc_now,
        restored=store.load_active(), maintenance=store.load_maintenance(),
    )
    events = engine.observe(device_id, poll_result)   # after every poll
    events += engine.tick()                           # every few seconds
    store.apply(events)                               # before publishing them

and after `engine.set_maintenance(...)`:
``store.save_maintenance(engine.maintenance_overrides)``.
"""

from fieldagent.alarms.engine import AlarmEngine, MaintenanceOverride
from fieldagent.alarms.model import Alarm, AlarmEvent, Transition, alarm_id
from fieldagent.alarms.rules import Rule, RuleBook
from fieldagent.alarms.store import AlarmStore

__all__ = [
    "Alarm",
    "AlarmEngine",
    "AlarmEvent",
    "AlarmStore",
    "MaintenanceOverride",
    "Rule",
    "RuleBook",
    "Transition",
    "alarm_id",
]
