"""Click's usage errors in the user's language.

Typer's vendored Click writes its messages in English, without gettext. The English catalog
holds those messages as templates (`usage.*`), so a message Click wrote is matched against
them, its parameters are read back, and it is written again from the current language's
catalog. A message no template matches is kept as Click wrote it.
"""

from __future__ import annotations

import functools
import re
from string import Formatter

from tensorshape_cli.messages import EN, t

# Tried in this order: a template that another one's text contains comes first.
USAGE_IDS = (
    "usage.no_such_option.suggest",
    "usage.no_such_option",
    "usage.no_such_command",
    "usage.missing_option",
    "usage.missing_argument",
    "usage.invalid_value",
    "usage.not_a_number",
    "usage.not_one_of",
    "usage.not_in_range",
    "usage.extra_arguments",
    "usage.requires_argument",
    "usage.takes_no_value",
)


@functools.cache
def _pattern(msg_id: str) -> re.Pattern[str]:
    parts = []
    for literal, field, _spec, _conversion in Formatter().parse(EN[msg_id]):
        parts.append(re.escape(literal))
        if field:
            parts.append(f"(?P<{field}>.+?)")
    return re.compile("".join(parts), re.DOTALL)


def translate(message: str) -> str:
    """Click's English message, written in the current language."""
    for msg_id in USAGE_IDS:
        match = _pattern(msg_id).fullmatch(message)
        if match:
            params = match.groupdict()
            if "message" in params:  # "Invalid value for '--dim': <the type's own message>"
                params["message"] = translate(params["message"])
            return t(msg_id, **params)
    return message


def error_line(where: str, message: str) -> str:
    """`tshape view: error: … (see 'tshape view --help')`, one line for stderr."""
    return t("cli.usage_error", where=where, message=translate(message))
