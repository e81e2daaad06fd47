"""The MQTT topic contract, in one place: {root}/{station}/..."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    root: str
    station: str

    @property
    def base(self) -> str:
        return f"{self.root}/{self.station}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def alarm(self) -> str:
        return f"{self.base}/alarm"

    @property
    def checklist_report(self) -> str:
        return f"{self.base}/checklist/report"

    @property
    def checklist_command(self) -> str:
        return f"{self.base}/cmd/checklist"

    @property
    def checklist_reply(self) -> str:
        return f"{self.base}/cmd/checklist/reply"

    def telemetry(self, device_id: str) -> str:
        return f"{self.base}/{device_id}/telemetry"

    def meta(self, device_id: str) -> str:
        """Retained: what the device and its metrics are (compact telemetry's units, names)."""
        return f"{self.base}/{device_id}/meta"

    def health(self, device_id: str) -> str:
        return f"{self.base}/{device_id}/health"

    @property
    def commands(self) -> str:
        """The filter the agent subscribes to: every command, `cmd/checklist` included."""
        return f"{self.base}/cmd/+"

    def command(self, name: str) -> str:
        return f"{self.base}/cmd/{name}"

    def command_reply(self, name: str) -> str:
        return f"{self.base}/cmd/{name}/reply"

    def command_name(self, topic: str) -> str | None:
        """NAME of a topic `{base}/cmd/NAME`; None for any other topic."""
        prefix = f"{self.base}/cmd/"
        if not topic.startswith(prefix):
            return None
        name = topic[len(prefix) :]
        return name if name and "/" not in name else None
