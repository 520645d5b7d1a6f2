"""The Python API, `import tensorshape_cli as tshape`, and how an Explanation shows itself.

    tshape.explain("x.view(3, -1)", x=x)      the expr explanation, over live tensors
    with tshape.trace() as tr:                 every torch call of the block, recorded
        y = model(x)
    tr.explanation                             prints with rich, renders as HTML in Jupyter

The language is $TSHAPE_LANG, else the locale, as for the command line. trace() runs the
user's own code as written; a failure inside the block is recorded and re-raised unchanged.
"""

from __future__ import annotations

import io
import os
import sys
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tensorshape_cli import settings
from tensorshape_cli.messages import resolve_lang

if TYPE_CHECKING:
    import torch

    from tensorshape_cli.explanation import Explanation


def _settings() -> settings.Settings:
    return settings.Settings(lang=resolve_lang())


def explain(expression: str, /, **tensors: torch.Tensor) -> Explanation:
    """The step-by-step explanation `tshape expr` gives, over these tensors. An expression
    outside expr's whitelist raises tensorshape_cli.errors.InputError, naming the construct."""
    from tensorshape_cli import expr

    with settings.use(_settings()):
        return expr.explain(expr.compile_expr(expression, list(tensors)), dict(tensors))


class Trace:
    """`with tshape.trace() as tr:` records the block; `tr.explanation` once it ends.

    depth: fold modules deeper than this (the outermost model is 0) into one step each.
    """

    def __init__(self, depth: int | None = None) -> None:
        self.depth = depth
        self.explanation: Explanation | None = None
        self._settings = _settings()
        self._recorder: Any = None

    def __enter__(self) -> Trace:
        from tensorshape_cli.tracing.recorder import Recorder

        self.explanation = None
        self._recorder = Recorder(self._settings)
        self._recorder.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop(error)  # the block's exception, if any, goes on unchanged

    def stop(self, error: BaseException | None) -> Explanation:
        """End the recording; `error` is what the code raised (a cell run by IPython, which
        catches it, passes it here)."""
        from tensorshape_cli.tracing import steps

        self._recorder.stop(error)
        with settings.use(self._settings, self._recorder.memo):
            self.explanation = steps.build(self._recorder, call="with tshape.trace():", depth=self.depth)
        return self.explanation


def trace(depth: int | None = None) -> Trace:
    return Trace(depth)


# --- how an Explanation shows itself ------------------------------------------------------------

HTML_WIDTH = 110
PRE = (
    '<pre style="white-space: pre; overflow-x: auto; line-height: 1.25; '
    "font-family: Menlo, 'DejaVu Sans Mono', Consolas, monospace\">{code}</pre>"
)


def as_plain(ex: Explanation) -> str:
    from tensorshape_cli.render import plain_format

    out = io.StringIO()
    with settings.use(_settings()):
        plain_format.render(ex, out)
    return out.getvalue()


def as_text(ex: Explanation) -> str:
    """str(ex): the rich view with colours on a terminal (NO_COLOR honoured), plain text elsewhere."""
    if not (sys.stdout is not None and sys.stdout.isatty()):
        return as_plain(ex)
    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, highlight=False)
    return _drawn(ex, console)


def as_html(ex: Explanation) -> str:
    """The rich view as an HTML fragment with inline styles, as Jupyter shows it."""
    from rich.console import Console

    console = Console(
        file=io.StringIO(),
        record=True,
        width=HTML_WIDTH,
        force_terminal=True,
        color_system="truecolor",
        no_color=False,
        highlight=False,
    )
    _drawn(ex, console)
    return console.export_html(inline_styles=True, code_format=PRE)


def rich_renderables(ex: Explanation, console: Any, options: Any) -> Any:
    """Explanation.__rich_console__: drawn by the rich renderer at the width rich offers."""
    from rich.console import Console
    from rich.text import Text

    inner = Console(
        file=io.StringIO(),
        width=options.max_width,
        force_terminal=console.is_terminal,
        color_system=console.color_system,
        no_color=console.no_color or "NO_COLOR" in os.environ,
        highlight=False,
    )
    yield Text.from_ansi(_drawn(ex, inner))


def _drawn(ex: Explanation, console: Any) -> str:
    from tensorshape_cli.render import rich_format

    with settings.use(_settings()):
        rich_format.draw(ex, console)
    if console.record:
        return ""
    out = console.file
    return out.getvalue() if isinstance(out, io.StringIO) else ""
