"""Who may see the page: password check, sessions, and the login rate limit.

A session is a random token (`secrets.token_urlsafe`, 256 bits) handed to the
browser in a cookie and kept here with its user and end; it lives at most
`SESSION_S`, and a logout forgets it.  Sessions are held in memory: a restart
of the server logs everyone out, which is fine for a page one opens to watch.

Login attempts are limited per client address with the project's one rate
limit concept (`budget.Budget`): a burst, then one more per interval.  The
table of addresses is bounded; the oldest entry is forgotten first.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fieldagent.budget import Budget
from fieldagent.web.passwords import DUMMY, Hashed

SESSION_S = 12 * 3600.0
"""A working day and then some: the page is left open on a wall screen for a shift."""
MAX_SESSIONS = 1000
LOGIN_BURST = 5
LOGIN_EVERY_S = 30.0
MAX_CLIENTS = 10_000


@dataclass(frozen=True)
class Session:
    user: str
    ends: float


class Sessions:
    """Tokens to users, each with its end on the monotonic clock."""

    def __init__(
        self, lifetime_s: float = SESSION_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lifetime_s = lifetime_s
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def open(self, user: str) -> str:
        token = secrets.token_urlsafe(32)
        self._sessions[token] = Session(user, self._clock() + self.lifetime_s)
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return token

    def user(self, token: str | None) -> str | None:
        """The session's user; None for no token, an unknown one or one past its end."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        if self._clock() >= session.ends:
            del self._sessions[token]
            return None
        return session.user

    def close(self, token: str | None) -> None:
        if token:
            self._sessions.pop(token, None)


class LoginLimit:
    """A `Budget` of login attempts per client address."""

    def __init__(
        self,
        burst: int = LOGIN_BURST,
        every_s: float = LOGIN_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._burst, self._every_s, self._clock = burst, every_s, clock
        self._clients: OrderedDict[str, Budget] = OrderedDict()

    def allow(self, client: str) -> bool:
        budget = self._clients.get(client)
        if budget is None:
            budget = self._clients[client] = Budget(self._burst, self._every_s, self._clock)
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)
        self._clients.move_to_end(client)
        return budget.take()


def check_password(users: dict[str, Hashed], user: str, password: str) -> bool:
    """True when the user exists and the password is theirs; as slow either way."""
    hashed = users.get(user)
    if hashed is None:
        DUMMY.matches(password)
        return False
    return hashed.matches(password)
