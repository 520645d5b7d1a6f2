"""The options every command accepts after its name, declared once: the fields of `Common`.

Each field carries its typer.Option, so that this one table drives the value a command
receives, the options each command lists after its own (with_common), and which options
the lines of `tshape run` inherit from the run (INHERITED).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Annotated, Any, Optional, get_type_hints

import typer

from tensorshape_cli.compat import Accept, with_parameters
from tensorshape_cli.messages import LANGUAGES
from tensorshape_cli.settings import DEFAULT_MAX_ELEMENTS, DEFAULT_MAX_VALUES, DTYPES

OUTPUT = "Output"
INPUT = "Input"
FORMATS = ("rich", "plain", "json")
EXPORT_SUFFIXES = (".svg", ".html", ".htm")


def _one_of(values: tuple[str, ...]) -> str:
    return "[" + "|".join(values) + "]"


def shared(default: Any, *option: Any, inherited: bool) -> Any:
    """A shared option: its default, its typer.Option (and Accept), and whether a line of
    `tshape run` inherits the run's value (never the output format: it is the run's)."""
    return field(default=default, metadata={"option": option, "inherited": inherited})


@dataclass
class Common:
    format: Optional[str] = shared(
        None,
        typer.Option(
            "--format",
            "-f",
            metavar=_one_of(FORMATS),
            help="Output format. Default: rich on a terminal, plain otherwise.",
            rich_help_panel=OUTPUT,
            show_default=False,
        ),
        Accept(choices=FORMATS),
        inherited=False,
    )
    json: bool = shared(
        False,
        typer.Option("--json", help="Short for --format json (JSON Lines).", rich_help_panel=OUTPUT),
        inherited=False,
    )
    quiet: bool = shared(
        False,
        typer.Option(
            "--quiet", "-q", help="Print only the result's shape, e.g. `1 3`.", rich_help_panel=OUTPUT
        ),
        inherited=False,
    )
    dtype: Optional[str] = shared(
        None,
        typer.Option(
            "--dtype",
            metavar=_one_of(tuple(DTYPES)),
            help="dtype of the tensors read (default: inferred as torch.tensor does).",
            rich_help_panel=INPUT,
            show_default=False,
        ),
        Accept(choices=tuple(DTYPES)),
        inherited=True,
    )
    seed: Optional[int] = shared(
        None,
        typer.Option(
            "--seed",
            metavar="INT",
            help="Seed for rand()/randn() and random initialisation.",
            rich_help_panel=INPUT,
        ),
        Accept(min=-(2**63), max=2**64 - 1),  # what torch.manual_seed accepts; not worth a line of help
        inherited=True,
    )
    max_elements: int = shared(
        DEFAULT_MAX_ELEMENTS,
        typer.Option(
            "--max-elements",
            min=1,
            help="Refuse tensors with more elements than this.",
            rich_help_panel=INPUT,
        ),
        inherited=True,
    )
    max_values: int = shared(
        DEFAULT_MAX_VALUES,
        typer.Option(
            "--max-values",
            min=0,
            help="Elide the values of tensors with more elements than this.",
            rich_help_panel=OUTPUT,
        ),
        inherited=True,
    )
    lang: Optional[str] = shared(  # None: $TSHAPE_LANG, then the locale (messages.resolve_lang)
        None,
        typer.Option(
            "--lang",
            metavar=_one_of(tuple(LANGUAGES)),
            help="Language of the explanation: en or es. Default: $TSHAPE_LANG, else es when "
            "$LC_ALL, $LC_MESSAGES or $LANG starts with es, else en.",
            rich_help_panel=OUTPUT,
            show_default=False,
        ),
        Accept(choices=tuple(LANGUAGES), case_sensitive=False),
        inherited=True,
    )
    export: Optional[str] = shared(
        None,
        typer.Option(
            "--export",
            metavar="FILE",
            help="Also save the rich view as a picture: FILE.svg or FILE.html (stdout is unchanged).",
            rich_help_panel=OUTPUT,
            show_default=False,
        ),
        inherited=False,
    )
    meta: bool = shared(
        False,
        typer.Option(
            "--meta",
            help="Shape-only: every tensor on torch's meta device (shapes and strides, no values, "
            "no element limit).",
            rich_help_panel=INPUT,
        ),
        inherited=True,
    )

    def output_format(self) -> str:
        """--quiet wins, then --json, then --format; otherwise rich on a terminal, plain elsewhere."""
        if self.quiet:
            return "quiet"
        if self.json:
            return "json"
        if self.format is not None:
            return self.format
        if os.environ.get("TSHAPE_FORMAT") in FORMATS:
            return os.environ["TSHAPE_FORMAT"]
        return "rich" if sys.stdout.isatty() else "plain"


# The options a line of `tshape run` takes from the run (a line's own value wins).
INHERITED = tuple(f.name for f in fields(Common) if f.metadata["inherited"])


def _typer_parameters() -> dict[str, tuple[Any, Any]]:
    types = get_type_hints(Common)
    return {f.name: (Annotated[(types[f.name], *f.metadata["option"])], f.default) for f in fields(Common)}


_PARAMETERS = _typer_parameters()


def with_common(command: Callable[..., Any]) -> Callable[..., Any]:
    """The command, with the shared options after its own, handed to it as one Common."""
    return with_parameters(command, _PARAMETERS, lambda values: Common(**values))
