"""Every word a user reads, keyed by message id with named parameters.

`t("view.infer.note", numel=12, known="3 × 1", size=4)` looks the id up in the
catalog of the current language (settings.lang) and formats it. A second language
is a second catalog with the same ids and parameters (tests check they agree).
"""

from __future__ import annotations

from typing import Any

from tensorshape_cli import settings
from tensorshape_cli.messages.en import MESSAGES as EN

CATALOGS: dict[str, dict[str, str]] = {"en": EN}
LANGUAGES = tuple(CATALOGS)


def t(msg_id: str, /, **params: Any) -> str:
    catalog = CATALOGS.get(settings.current().lang, EN)
    template = catalog.get(msg_id) or EN[msg_id]
    return template.format(**params)
