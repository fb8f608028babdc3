"""refold's user-facing errors: one type per kind, each carrying where and how to fix.

Every error a user can cause is one of these. The CLI turns them into a message and an
exit code in one place (``refold.cli.main``); library callers can match on the type and
read ``location`` and ``hint`` instead of parsing text.
"""

from __future__ import annotations


class RefoldError(Exception):
    """Base of every error refold reports to a user rather than crashing on."""

    kind = "error"

    def __init__(self, message: str, *, location: str = "", hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def at(self, prefix: str) -> RefoldError:
        """The same error with ``prefix`` (a file, ref or lane) put before its location."""
        where = f"{prefix}: {self.location}" if self.location else prefix
        return type(self)(self.message, location=where, hint=self.hint)

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        return f"{text} (hint: {self.hint})" if self.hint else text

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "message": self.message,
            "location": self.location,
            "hint": self.hint,
        }


class SchemaError(RefoldError):
    """The document is not well-formed: bad JSON, wrong types, missing or unknown fields."""

    kind = "schema"


class PolicyError(RefoldError):
    """The document is well-formed but breaks a rule: lane binding, artifact, URL, semver."""

    kind = "policy"


class ConflictError(RefoldError):
    """Two lanes claim the same entry, or a lane touches an entry another lane owns."""

    kind = "conflict"


class UsageError(RefoldError):
    """The command itself is wrong: a missing store, an unknown revision, a bad option."""

    kind = "usage"


class ContentionError(RefoldError):
    """Lost every compare-and-swap race within the retry bound; nothing was published."""

    kind = "contention"
