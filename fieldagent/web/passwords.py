"""The web page's password file: user names and salted scrypt hashes, kept like a secret.

One line per user, `NAME:scrypt:N:r:p:SALT:HASH` (salt and hash in base64),
`#` comments and blank lines allowed.  The file is read at start and refused,
as the agent refuses a station file holding secrets, when other users may read
it or anyone but its owner may change it (`secrecy.exposure`): the hashes are
slow to test, not impossible.  `set_password` writes a new file beside the old
one, private from its creation, and renames it over: a crash leaves the old
file or the new one, never half of one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from fieldagent.configbase import ConfigError
from fieldagent.secrecy import exposure

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
MAX_FILE_BYTES = 1024 * 1024
MIN_PASSWORD = 8
USER_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")


@dataclass(frozen=True)
class Hashed:
    """One user's stored hash and the parameters it was made with."""

    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def line(self, user: str) -> str:
        salt = base64.b64encode(self.salt).decode()
        digest = base64.b64encode(self.digest).decode()
        return f"{user}:scrypt:{self.n}:{self.r}:{self.p}:{salt}:{digest}"

    def matches(self, password: str) -> bool:
        """Constant-time comparison of the password's hash with the stored one."""
        tried = _scrypt(password, self.salt, self.n, self.r, self.p, len(self.digest))
        return hmac.compare_digest(tried, self.digest)


def hash_password(password: str) -> Hashed:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    return Hashed(SCRYPT_N, SCRYPT_R, SCRYPT_P, salt, digest)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, size: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=size, maxmem=256 * 1024 * 1024
    )


DUMMY = hash_password(secrets.token_urlsafe(16))
"""Checked for an unknown user, so that a wrong name takes as long as a wrong password."""


def read_passwords(path: Path) -> dict[str, Hashed]:
    """Every user of the file; ConfigError naming the file (and line) when it is unusable."""
    problems = exposure(path, "holds the web page's password hashes")
    if problems:
        raise ConfigError(problems)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError([f"{path}: larger than {MAX_FILE_BYTES} bytes: not a password file"])
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    users: dict[str, Hashed] = {}
    problems = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parsed = _parse(line)
        if parsed is None:
            problems.append(
                f"{path}:{number}: not NAME:scrypt:N:r:p:SALT:HASH"
                " (make lines with: fieldagent web passwd FILE USER)"
            )
            continue
        user, hashed = parsed
        if user in users:
            problems.append(f"{path}:{number}: user {user!r} is listed twice")
        users[user] = hashed
    if problems:
        raise ConfigError(problems)
    if not users:
        raise ConfigError([f"{path}: no user (add one with: fieldagent web passwd {path} USER)"])
    return users


def _parse(line: str) -> tuple[str, Hashed] | None:
    parts = line.split(":")
    if len(parts) != 7 or parts[1] != "scrypt" or not USER_NAME.fullmatch(parts[0]):
        return None
    try:
        n, r, p = int(parts[2]), int(parts[3]), int(parts[4])
        salt = base64.b64decode(parts[5], validate=True)
        digest = base64.b64decode(parts[6], validate=True)
    except ValueError:
        return None
    # Bounded work per login: a file with huge parameters must not stall the server.
    if not (2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        return None
    if len(salt) < 8 or not 16 <= len(digest) <= 64:
        return None
    return parts[0], Hashed(n, r, p, salt, digest)


def set_password(path: Path, user: str, password: str) -> bool:
    """Add the user, or change their password; True when the user was new.

    ValueError for a name or password this file cannot hold."""
    if not USER_NAME.fullmatch(user):
        raise ValueError(f"user name {user!r}: use 1 to 64 of A-Z a-z 0-9 . _ @ -")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password is shorter than {MIN_PASSWORD} characters")
    lines: list[str] = []
    if path.exists():
        lines = path.read_text().splitlines()
    kept = [line for line in lines if line.split(":", 1)[0].strip() != user]
    new = len(kept) == len(lines)
    kept.append(hash_password(password).line(user))
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write("\n".join(kept) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return new
