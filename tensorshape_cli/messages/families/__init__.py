"""The words of each family of ops, one module per family, both languages side by side.

A module here defines `EN` and `ES`, two dicts with the same ids and parameters (ids start
with the family's name: `softmax.title`). They are merged into the catalogs of en.py and
es.py, so `t(id)` finds them like any other message and tests/test_lang.py checks them the
same way. Keeping a family's words beside each other keeps them in step, and adding a family
touches no shared file.
"""

from __future__ import annotations

import importlib
import os


def merged(language: str) -> dict[str, str]:
    """Every family module's catalog for this language ("EN" or "ES"), in one dict."""
    catalog: dict[str, str] = {}
    # the folder listed directly: pkgutil costs a few ms of start-up that --help would pay
    names = sorted(n[:-3] for n in os.listdir(os.path.dirname(__file__)) if n.endswith(".py"))
    for name in names:
        if name.startswith("_"):
            continue
        part: dict[str, str] = getattr(importlib.import_module(f"{__name__}.{name}"), language)
        clash = catalog.keys() & part.keys()
        if clash:
            raise ValueError(f"message ids defined twice: {sorted(clash)}")
        catalog.update(part)
    return catalog
