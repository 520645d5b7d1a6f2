"""The options every command accepts after its name, declared once.

`@with_common` appends them to a command's signature for Typer and hands the
command a single `Common` value instead, so each command lists only its own options.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import Enum
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand

from tensorshape_cli.messages import LANGUAGES
from tensorshape_cli.settings import DEFAULT_MAX_ELEMENTS, DEFAULT_MAX_VALUES, DTYPES

OUTPUT = "Output"
INPUT = "Input"


class Format(str, Enum):
    rich = "rich"
    plain = "plain"
    json = "json"


DType = Enum("DType", {name: name for name in DTYPES}, type=str)  # type: ignore[misc]
Lang = Enum("Lang", {code: code for code in LANGUAGES}, type=str)  # type: ignore[misc]


@dataclass
class Common:
    format: Optional[Format] = None
    json: bool = False
    quiet: bool = False
    dtype: Optional[str] = None
    seed: Optional[int] = None
    max_elements: int = DEFAULT_MAX_ELEMENTS
    max_values: int = DEFAULT_MAX_VALUES
    lang: Optional[str] = None  # None: $TSHAPE_LANG, then the locale (messages.resolve_lang)
    export: Optional[str] = None
    meta: bool = False

    def output_format(self) -> str:
        """--quiet wins, then --json, then --format; otherwise rich on a terminal, plain elsewhere."""
        if self.quiet:
            return "quiet"
        if self.json:
            return "json"
        if self.format is not None:
            return self.format.value
        if os.environ.get("TSHAPE_FORMAT") in ("rich", "plain", "json"):
            return os.environ["TSHAPE_FORMAT"]
        return "rich" if sys.stdout.isatty() else "plain"


_OPTIONS: dict[str, Any] = {
    "format": Annotated[
        Optional[Format],
        typer.Option(
            "--format",
            "-f",
            help="Output format. Default: rich on a terminal, plain otherwise.",
            rich_help_panel=OUTPUT,
            show_default=False,
        ),
    ],
    "json": Annotated[
        bool, typer.Option("--json", help="Short for --format json (JSON Lines).", rich_help_panel=OUTPUT)
    ],
    "quiet": Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print only the result's shape, e.g. `1 3`.", rich_help_panel=OUTPUT
        ),
    ],
    "dtype": Annotated[
        Optional[DType],
        typer.Option(  # type: ignore[valid-type]
            "--dtype",
            help="dtype of the tensors read (default: inferred as torch.tensor does).",
            rich_help_panel=INPUT,
            show_default=False,
        ),
    ],
    "seed": Annotated[
        Optional[int],
        typer.Option(
            "--seed",
            help="Seed for rand()/randn() and random initialisation.",
            rich_help_panel=INPUT,
            # the range torch.manual_seed accepts
            min=-(2**63),
            max=2**64 - 1,
        ),
    ],
    "max_elements": Annotated[
        int,
        typer.Option(
            "--max-elements",
            min=1,
            help="Refuse tensors with more elements than this.",
            rich_help_panel=INPUT,
        ),
    ],
    "max_values": Annotated[
        int,
        typer.Option(
            "--max-values",
            min=0,
            help="Elide the values of tensors with more elements than this.",
            rich_help_panel=OUTPUT,
        ),
    ],
    "lang": Annotated[
        Optional[Lang],
        typer.Option(  # type: ignore[valid-type]
            "--lang",
            help="Language of the explanation: en or es. Default: $TSHAPE_LANG, else es when "
            "$LC_ALL, $LC_MESSAGES or $LANG starts with es, else en.",
            case_sensitive=False,
            rich_help_panel=OUTPUT,
            show_default=False,
        ),
    ],
    "export": Annotated[
        Optional[str],
        typer.Option(
            "--export",
            metavar="FILE",
            help="Also save the rich view as a picture: FILE.svg or FILE.html (stdout is unchanged).",
            rich_help_panel=OUTPUT,
            show_default=False,
        ),
    ],
    "meta": Annotated[
        bool,
        typer.Option(
            "--meta",
            help="Shape-only: every tensor on torch's meta device (shapes and strides, no values, "
            "no element limit).",
            rich_help_panel=INPUT,
        ),
    ],
}

EXPORT_SUFFIXES = (".svg", ".html", ".htm")


# -1, -2.5, -.5, -inf, -nan, -(1), -[1]: a TENSOR, never an option (all options are letters)
_NEGATIVE = re.compile(r"-(?:[0-9.(\[]|(?:inf|nan|Infinity|NaN)$)")


class TensorCommand(TyperCommand):
    """A command whose TENSOR may be a negative number: `tshape unsqueeze -1` reads the
    scalar -1, where Click alone would look for an option named -1 and fail."""

    def make_parser(self, ctx: Any) -> Any:
        parser = super().make_parser(ctx)
        process_option = parser._process_opts  # Click's parser is vendored by the pinned Typer

        def process(arg: str, state: Any) -> None:
            if _NEGATIVE.match(arg):
                state.largs.append(arg)  # a positional argument, wherever it stands
            else:
                process_option(arg, state)

        parser._process_opts = process  # type: ignore[method-assign]
        return parser


def with_common(command: Callable[..., int]) -> Callable[..., int]:
    signature = inspect.signature(command)
    own = [p for p in signature.parameters.values() if p.name != "common"]
    defaults = Common()
    extra = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=_OPTIONS[f.name],
            default=getattr(defaults, f.name),
        )
        for f in fields(Common)
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        values = {f.name: kwargs.pop(f.name) for f in fields(Common)}
        for name in ("dtype", "lang"):  # Enum members → their plain names
            if values[name] is not None:
                values[name] = values[name].value
        return command(*args, common=Common(**values), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*own, *extra])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *extra]}
    return wrapper
