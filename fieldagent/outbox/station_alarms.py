"""The outbox's own trouble as station alarms: a disk that cannot be written, a full
outbox, a damaged state.db replaced at start.

Each is raised once when it starts and cleared once when it ends; a replaced
state.db stays raised until the agent restarts (the technician should look
at the file moved aside).  The first look always reports, so an alarm restored
from before a restart clears if the trouble is gone.
"""

from __future__ import annotations

from fieldagent.alarms import AlarmEngine, AlarmEvent
from fieldagent.model import HealthState
from fieldagent.outbox.outbox import Outbox

STORAGE_RULE = "outbox.storage"
FULL_RULE = "outbox.full"
REPLACED_RULE = "outbox.replaced"


class OutboxAlarms:
    """Watches an outbox; `events` gives the station alarm transitions since the last look.

    `replaced`: what was done with a damaged state.db at start (`set_aside_damaged`).
    """

    def __init__(self, outbox: Outbox, replaced: str | None = None) -> None:
        self._outbox = outbox
        self._replaced = replaced
        self._seen: tuple[str | None, bool] | None = None  # None: not looked at yet

    def events(self, engine: AlarmEngine) -> list[AlarmEvent]:
        problem, full = self._outbox.problem, self._outbox.full
        first = self._seen is None
        was_problem, was_full = self._seen or (None, False)
        self._seen = (problem, full)
        events = []
        if first:
            replaced = self._replaced
            numbered = f"numbers go on above {self._outbox.renumbered or 0}"
            events += engine.station_alarm(
                REPLACED_RULE,
                "replaced",
                HealthState.WARNING if replaced else None,
                replaced,
                f"Tệp trạng thái hỏng, đã dời sang bên và tạo tệp mới ({replaced}; {numbered})",
                f"Damaged state file replaced by a new one ({replaced}; {numbered})",
            )
        if first or (problem is None) != (was_problem is None):
            events += engine.station_alarm(
                STORAGE_RULE,
                "storage",
                HealthState.CRITICAL if problem else None,
                problem,
                f"Không ghi được hộp thư đi ({problem}): cảnh báo chỉ giữ trong bộ nhớ",
                f"Cannot write the outbox ({problem}): alarms are held in memory only",
            )
        if first or full != was_full:
            events += engine.station_alarm(
                FULL_RULE,
                "full",
                HealthState.WARNING if full else None,
                self._outbox.backlog_count(),
                "Hộp thư đi đầy: chỉ còn cảnh báo và báo cáo, vượt giới hạn dung lượng",
                "Outbox full: alarms and reports alone exceed its size limit",
            )
        return events
