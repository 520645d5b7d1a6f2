"""Every word a user reads, keyed by message id with named parameters.

`t("view.infer.note", numel=12, known="3 × 1", size=4)` looks the id up in the
catalog of the current language (settings.lang) and formats it. Each language is one
catalog with the same ids and parameters (tests/test_lang.py checks that they agree).

The language is `--lang`, else $TSHAPE_LANG, else the locale ($LC_ALL, $LC_MESSAGES,
$LANG, the first one set, as POSIX reads them), else English.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tensorshape_cli import settings
from tensorshape_cli.messages.en import MESSAGES as EN
from tensorshape_cli.messages.es import MESSAGES as ES

CATALOGS: dict[str, dict[str, str]] = {"en": EN, "es": ES}
LANGUAGES = tuple(CATALOGS)
DEFAULT = "en"
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def t(msg_id: str, /, **params: Any) -> str:
    catalog = CATALOGS.get(settings.current().lang, EN)
    template = catalog.get(msg_id) or EN[msg_id]
    return template.format(**params)


def language(value: str | None) -> str | None:
    """The catalog a language or locale name asks for: 'es', 'es_AR.UTF-8', 'ES-mx' → 'es'.

    None when it names no language tshape has (e.g. 'fr_FR', 'C', 'POSIX', '').
    """
    code = re.split(r"[_.@-]", (value or "").strip().lower(), maxsplit=1)[0]
    return code if code in CATALOGS else None


def resolve_lang(option: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """--lang, else $TSHAPE_LANG, else the locale, else English.

    A $TSHAPE_LANG naming a language tshape lacks is skipped, as gettext skips the languages
    it has no catalog for. Of the locale variables only the first that is set counts
    (LC_ALL=C with LANG=es_ES is the C locale, so English).
    """
    env = os.environ if environ is None else environ
    chosen = language(option) or language(env.get("TSHAPE_LANG"))
    if chosen:
        return chosen
    for name in LOCALE_VARIABLES:
        if env.get(name):
            return language(env[name]) or DEFAULT
    return DEFAULT


def lang_in_argv(argv: Sequence[str]) -> str | None:
    """The --lang a command line asks for, read before (or without) parsing it.

    Needed when Click refuses the command line: its usage error is reported in the language
    asked for, although the parse that would have read --lang failed. The last one wins,
    as with Click; nothing after `--` is an option.
    """
    found = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith("--lang="):
            found = arg.partition("=")[2]
    return language(found) if found else None
