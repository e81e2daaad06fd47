"""The daemon's side of `cmd/NAME`: each request checked, run, answered and logged.

Every message on `{root}/{station}/cmd/+` comes here on the event loop.
`cmd/checklist` is handed on as it was before (the checklist service has its
own checks and replies).  Any other NAME must be one of the commands there are
(`settings.COMMANDS`) and one the station file allows (`[remote] allow`); its
payload must parse (`requests.py`); its device must exist; a maintenance must
not be longer than `[remote] max_maintenance_h`; and it must fit its rate
(`gate.py`).  Then it runs, and the reply goes to `cmd/NAME/reply` (QoS 1, not
retained) with the request id, `ok`, and the result or the refusal in words.
A flood of refusals gets few replies (the gate's reply budget).

Who asked is logged as the sender says it: the MQTT 5 user property
`requested_by`, else a `requested_by` key in the payload.  The broker does not
tell a subscriber who published, so this is a claim; the protection is the
broker's ACL (only central staff may publish on `cmd/#`).

Nothing here writes to a device: `poll` reads one through the agent's poll
(judged and published like any other), `maintenance` records a request in the
alarm store, which the agent applies as it does `fieldagent maintenance`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fieldagent import __version__
from fieldagent.model import HealthState, PollResult, utc_now
from fieldagent.outbox import Draft
from fieldagent.outgoing import MessageBuilder
from fieldagent.payloads import MaintenanceResult, PingResult, PollSummary
from fieldagent.publisher import Incoming
from fieldagent.remote.gate import RemoteGate
from fieldagent.remote.requests import (
    MaintenanceRequest,
    PingRequest,
    PollRequest,
    Request,
    RequestRefused,
    parse_request,
    peek_request_id,
    requested_by_ok,
)
from fieldagent.remote.settings import COMMANDS, CommandName, RemoteSection
from fieldagent.topics import Topics

log = logging.getLogger("fieldagent.remote")

REQUESTED_BY = "requested_by"
"""The MQTT 5 user property (and, on MQTT 3.1.1, the payload key) naming who asks."""

MAX_NAME_SHOWN = 64
"""An unknown command's name is echoed (reply, log) up to this many characters."""


@dataclass(frozen=True)
class StationFigures:
    """What `cmd/ping` reports of the station, as the agent has it now."""

    state: HealthState
    devices: int
    outbox_waiting: int


@dataclass(frozen=True)
class RemoteParts:
    """What the commands use of the agent."""

    devices: Callable[[], Collection[str]]
    """The station's device ids now (a reload may add or remove some)."""
    figures: Callable[[], StationFigures]
    poll: Callable[[str], Awaitable[PollResult]]
    """A real poll of one device, judged and published like any other."""
    health: Callable[[str], HealthState]
    request_maintenance: Callable[[str, datetime | None], str | None]
    """Record a maintenance request (None: end it); a problem in words, or None when kept."""
    send: Callable[[Draft], None]
    build: MessageBuilder
    forward: Mapping[str, Callable[[bytes], None]]
    """Other commands under cmd/ with handlers of their own (the checklist), by NAME."""


class RemoteCommands:
    """Takes `cmd/NAME` messages on the event loop; one reply per request, within budget."""

    def __init__(
        self,
        settings: RemoteSection,
        topics: Topics,
        parts: RemoteParts,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._settings = settings
        self._topics = topics
        self._parts = parts
        self._clock = clock
        self._now = now
        self._started = clock()
        self._gate = RemoteGate(clock)
        self._polling: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def handle(self, message: Incoming) -> None:
        """One message on `cmd/+`: run it and reply, or refuse it and reply within budget."""
        name = self._topics.command_name(message.topic)
        if name is None:
            return
        claimed = message.user_property(REQUESTED_BY)
        forward = self._parts.forward.get(name)
        if forward is not None:
            if claimed is not None and requested_by_ok(claimed):
                log.info("cmd/%s requested by %r", name, claimed)
            forward(message.payload)
            return
        try:
            self._take(name, message.payload, claimed)
        except RequestRefused as exc:
            if exc.request_id is None:
                exc.request_id = peek_request_id(message.payload)
            loggable = claimed if claimed is not None and requested_by_ok(claimed) else None
            self._refuse(name, exc, loggable or exc.requested_by)

    def _take(self, name: str, payload: bytes, claimed: str | None) -> None:
        command = self._command(name)
        if claimed is not None and not requested_by_ok(claimed):
            raise RequestRefused("user property requested_by: give 1 to 64 printable characters")
        request = parse_request(command, payload)
        who = claimed or request.requested_by
        if isinstance(request, PingRequest):
            self._admit(command, request, who)
            self._ping(request, who)
        elif isinstance(request, PollRequest):
            self._known(request.device, request, who)
            if request.device in self._polling:
                raise RequestRefused(
                    f"a poll of {request.device} asked for on cmd/poll is still running",
                    request.request_id,
                    who,
                )
            self._admit(command, request, who)
            self._poll(request, who)
        else:
            self._known(request.device, request, who)
            until = self._maintenance_end(request, who)
            self._admit(command, request, who)
            self._maintenance(request, until, who)

    def _command(self, name: str) -> CommandName:
        for command in COMMANDS:
            if command == name:
                if command not in self._settings.allow:
                    allowed = ", ".join(self._settings.allow) or "none"
                    raise RequestRefused(
                        f"cmd/{name} is not allowed at this station ([remote] allow: {allowed})"
                    )
                return command
        if name == "checklist":  # not handed on: the agent runs no checklist service
            raise RequestRefused(
                "the checklist is off in this agent (the log at its start says why)"
            )
        known = ", ".join(["checklist", *COMMANDS])
        raise RequestRefused(f"unknown command {_shown(name)!r} (commands: {known})")

    def _known(self, device: str, request: Request, who: str | None) -> None:
        if device not in self._parts.devices():
            raise RequestRefused(
                f"unknown device {device!r}: the station file has no such [[device]]",
                request.request_id,
                who,
            )

    def _admit(self, command: CommandName, request: Request, who: str | None) -> None:
        wait_s = self._gate.admit(command)
        if wait_s is not None:
            retry = round(wait_s + 0.05, 1)
            raise RequestRefused(
                f"too many cmd/{command} requests ({self._gate.limit(command)}):"
                f" ask again in {retry:g} s",
                request.request_id,
                who,
                retry_after_s=retry,
            )

    def _maintenance_end(self, request: MaintenanceRequest, who: str | None) -> datetime | None:
        """When the asked maintenance ends (None: end it now), within the longest allowed."""
        if request.off:
            return None
        now = self._now()
        longest_h = self._settings.max_maintenance_h
        longest = f"{longest_h:g} h ([remote] max_maintenance_h)"
        if request.hours is not None:
            if request.hours > longest_h:
                raise RequestRefused(
                    f"hours {request.hours:g} is longer than the longest maintenance, {longest}",
                    request.request_id,
                    who,
                )
            return now + timedelta(hours=request.hours)
        until = request.until_time
        assert until is not None  # the model holds exactly one of hours, until, off
        if until <= now:
            raise RequestRefused(f"until {request.until} is past", request.request_id, who)
        if until - now > timedelta(hours=longest_h):
            raise RequestRefused(
                f"until {request.until} is further than the longest maintenance, {longest}",
                request.request_id,
                who,
            )
        return until

    def _ping(self, request: PingRequest, who: str | None) -> None:
        figures = self._parts.figures()
        result = PingResult(
            version=__version__,
            uptime_s=round(self._clock() - self._started, 1),
            state=figures.state,
            devices=figures.devices,
            outbox_waiting=figures.outbox_waiting,
        )
        log.info("cmd/ping from %s%s: ok", _who(who), _request(request))
        self._parts.send(self._parts.build.command_reply("ping", request.request_id, ping=result))

    def _poll(self, request: PollRequest, who: str | None) -> None:
        log.info("cmd/poll from %s%s: polling %s", _who(who), _request(request), request.device)
        self._polling.add(request.device)
        task = asyncio.get_running_loop().create_task(
            self._poll_and_reply(request, who), name=f"cmd/poll {request.device}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _poll_and_reply(self, request: PollRequest, who: str | None) -> None:
        device = request.device
        try:
            result = await self._parts.poll(device)
        except Exception as exc:  # a poll never raises; should one, the sender still hears
            log.exception("cmd/poll of %s failed", device)
            self._refuse("poll", RequestRefused(f"the poll failed: {exc}", request.request_id), who)
            return
        finally:
            self._polling.discard(device)
        summary = PollSummary(
            device=device,
            answered=result.answered,
            health=self._parts.health(device),
            poll_ms=round(result.duration_s * 1000),
            error=result.error,
        )
        log.info(
            "cmd/poll from %s%s: %s %s, %s, %d ms",
            _who(who),
            _request(request),
            device,
            "answered" if summary.answered else "did not answer",
            summary.health,
            summary.poll_ms,
        )
        reply = self._parts.build.command_reply(
            "poll", request.request_id, ts=result.ts, poll=summary
        )
        self._parts.send(reply)

    def _maintenance(
        self, request: MaintenanceRequest, until: datetime | None, who: str | None
    ) -> None:
        device = request.device
        problem = self._parts.request_maintenance(device, until)
        if problem is not None:
            raise RequestRefused(
                f"the maintenance of {device} could not be recorded: {problem}",
                request.request_id,
                who,
            )
        what = f"until {until.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}" if until else "off"
        log.info(
            "cmd/maintenance from %s%s: %s maintenance %s",
            _who(who),
            _request(request),
            device,
            what,
        )
        result = MaintenanceResult(device=device, until=until.astimezone(UTC) if until else None)
        reply = self._parts.build.command_reply(
            "maintenance", request.request_id, maintenance=result
        )
        self._parts.send(reply)

    def _refuse(self, name: str, exc: RequestRefused, who: str | None) -> None:
        """Reply while the budget of replies lasts; past it, count (a flood must not fill the
        outbox and the log)."""
        if not self._gate.may_reply():
            if self._gate.unanswered == 1:
                log.warning("remote: too many refused commands; refusing the next without reply")
            return
        unanswered = self._gate.take_unanswered()
        if unanswered:
            log.warning("remote: %d command(s) were refused without a reply", unanswered)
        log.warning("cmd/%s from %s refused: %s", _shown(name), _who(who), exc)
        reply = self._parts.build.command_reply(name, exc.request_id, str(exc), exc.retry_after_s)
        self._parts.send(reply)

    async def stop(self) -> None:
        """Cancel the polls still running (the agent is stopping)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _shown(name: str) -> str:
    """A command's name as the log shows it: bounded, control characters replaced."""
    return "".join(c if c.isprintable() else "?" for c in name[:MAX_NAME_SHOWN])


def _who(who: str | None) -> str:
    return repr(who) if who is not None else "a sender who did not say (no requested_by)"


def _request(request: Request) -> str:
    return f" (request {request.request_id})" if request.request_id is not None else ""
