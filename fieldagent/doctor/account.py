"""The account the service runs as, and what the file modes let it do.

The checks judge a file by its owner, group and mode bits against that
account, as the kernel would for it, instead of calling access(): doctor is
often run with sudo, and root may open anything, so access() as root would
pass a port the service cannot open.  Root itself (uid 0) may do anything.
ACLs and capabilities beyond the mode bits are not looked at.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass

SERVICE_ACCOUNT = "fieldagent"
"""The account the shipped systemd unit runs the agent as (User=)."""


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gids: frozenset[int]

    @classmethod
    def named(cls, name: str) -> Account:
        """The account and every group it is in; KeyError when there is no such account."""
        entry = pwd.getpwnam(name)
        return cls(name, entry.pw_uid, frozenset(os.getgrouplist(name, entry.pw_gid)))

    @classmethod
    def default(cls) -> Account:
        """The service account when this box has one, else the account running doctor."""
        try:
            return cls.named(SERVICE_ACCOUNT)
        except KeyError:
            return cls.named(pwd.getpwuid(os.getuid()).pw_name)

    @property
    def group_names(self) -> list[str]:
        return sorted(group_name(gid) for gid in self.gids)

    def may(
        self, st: os.stat_result, read: bool = False, write: bool = False, search: bool = False
    ) -> bool:
        """Whether the mode bits give this account what is asked (the owner's class alone when
        it owns the file, the group's when it is in the group, else the others')."""
        if self.uid == 0:
            return True
        return _granted(_class_bits(st, self.uid, self.gids), read, write, search)

    def group_would_grant(
        self, st: os.stat_result, read: bool = False, write: bool = False
    ) -> str | None:
        """The file's group, when joining it would give this account what is asked."""
        if st.st_uid == self.uid or st.st_gid in self.gids:
            return None
        mode = st.st_mode
        bits = (mode & stat.S_IRGRP and 4) | (mode & stat.S_IWGRP and 2)
        return group_name(st.st_gid) if _granted(bits, read, write, False) else None


def _class_bits(st: os.stat_result, uid: int, gids: frozenset[int]) -> int:
    mode = st.st_mode
    if st.st_uid == uid:
        return (mode >> 6) & 7
    if st.st_gid in gids:
        return (mode >> 3) & 7
    return mode & 7


def _granted(bits: int, read: bool, write: bool, search: bool) -> bool:
    wanted = (4 if read else 0) | (2 if write else 0) | (1 if search else 0)
    return bits & wanted == wanted


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def mode_text(st: os.stat_result) -> str:
    return f"{stat.S_IMODE(st.st_mode):04o}"
