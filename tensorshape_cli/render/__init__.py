"""One renderer per format. Each module has `render(ex: Explanation, out: TextIO) -> None`
and knows Explanations only: no torch, no operations.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import TextIO

from tensorshape_cli.explanation import Explanation

FORMATS = ("rich", "plain", "json", "quiet")

Renderer = Callable[[Explanation, TextIO], None]


def get(fmt: str) -> Renderer:
    """Import only the renderer asked for: rich costs ~60 ms that json and plain skip."""
    render: Renderer = get_module(fmt).render
    return render


def get_module(fmt: str) -> ModuleType:
    return importlib.import_module(f"tensorshape_cli.render.{fmt}_format")
