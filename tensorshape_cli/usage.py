"""Usage errors (bad command lines) as data: a catalog id and its parameters.

A UsageFailure is raised when a value does not convert (compat converts every value), and
built from the attributes of Click's own exceptions (unknown option, missing argument, …);
it is written in the user's language only when printed. Nothing parses Click's English.
"""

from __future__ import annotations

from typing import Any

from tensorshape_cli.messages import t


class UsageFailure(Exception):
    """A bad command line: `where` is the command path (`tshape view`), then the message."""

    def __init__(self, where: str, msg_id: str, **params: Any) -> None:
        super().__init__(msg_id)
        self.where = where
        self.msg_id = msg_id
        self.params = params

    def message(self) -> str:
        params = {k: v.message() if isinstance(v, UsageFailure) else v for k, v in self.params.items()}
        return t(self.msg_id, **params)

    def line(self) -> str:
        """`tshape view: error: … (see 'tshape view --help')`, one line for stderr."""
        return t("cli.usage_error", where=self.where, message=" ".join(self.message().splitlines()))


def range_text(minimum: int | None, maximum: int | None) -> str:
    """`x>=1`, `0<=x<=5`, as Click writes a range; a power of two as one (`2**64-1`)."""

    def number(n: int) -> str:
        for k in range(32, 129):
            for value, text in ((2**k, f"2**{k}"), (2**k - 1, f"2**{k}-1"), (-(2**k), f"-2**{k}")):
                if n == value:
                    return text
        return str(n)

    if minimum is not None and maximum is not None:
        return f"{number(minimum)}<=x<={number(maximum)}"
    return f"x>={number(minimum)}" if minimum is not None else f"x<={number(maximum or 0)}"
