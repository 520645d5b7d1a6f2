"""The command line: one short function per command. No computing, no formatting here.

torch is imported only when a command runs (through runner.op), never at import time:
`tshape --help`, `--version` and shell completion stay fast.
"""

import os
import sys
from typing import Annotated, Optional

import typer

from tensorshape_cli import __version__
from tensorshape_cli.errors import ExitCode
from tensorshape_cli.options import Common, TensorCommand, with_common
from tensorshape_cli.runner import Loader, op, run, silence_closed_stdout

app = typer.Typer(
    name="tshape",
    help="Explains, step by step, what PyTorch does to a tensor's shape and values.\n\n"
    "TENSOR is a literal ('[1,2,3]', '[[1.5,2],[3,4]]'), a constructor (zeros(2,3), ones, "
    "arange(1,13), rand, randn, eye(3)), a file (@x.json or x.json) or - for standard input.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

TensorArg = Annotated[
    str, typer.Argument(metavar="TENSOR", help="The input tensor (see tshape --help).", show_default=False)
]
OptionalTensor = Annotated[
    Optional[str],
    typer.Argument(
        metavar="[X]", show_default=False, help="The input tensor; the notebook's example if left out."
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tshape {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """Explains, step by step, what PyTorch does to a tensor's shape and values."""


@app.command(cls=TensorCommand)
@with_common
def unsqueeze(
    tensor: TensorArg,
    dim: Annotated[
        Optional[int],
        typer.Option(
            "--dim",
            "-d",
            help="Where the new size-1 dimension goes. Left out: every valid dim, one step each.",
        ),
    ] = None,
    *,
    common: Common,
) -> int:
    """Insert a dimension of size 1: torch.unsqueeze(x, dim).

    Example: tshape unsqueeze "[1,2,3]" --dim 0
    """
    return run(common, lambda load: op("unsqueeze").explain(load(tensor, "x"), dim))


@app.command(cls=TensorCommand)
@with_common
def view(
    tensor: TensorArg,
    shape: Annotated[
        str,
        typer.Option("--shape", "-s", metavar="SHAPE", help="The new shape: 3,-1 or '(3, -1)' or '3 -1'."),
    ],
    transpose: Annotated[
        Optional[str],
        typer.Option(
            "--transpose", metavar="A,B", help="Transpose dims A and B first (makes x non-contiguous)."
        ),
    ] = None,
    *,
    common: Common,
) -> int:
    """Read the same data with another shape: x.view(*shape).

    Example: tshape view "arange(1,13)" --shape 3,-1
    """
    from tensorshape_cli.inputs import parse_shape

    def build(load: Loader) -> object:
        pair = parse_shape(transpose, "--transpose") if transpose is not None else None
        if pair is not None and len(pair) != 2:
            from tensorshape_cli.errors import InputError

            raise InputError("--transpose takes two dims, e.g. 0,1")
        return op("view").explain(load(tensor, "x"), parse_shape(shape), tuple(pair) if pair else None)

    return run(common, build)  # type: ignore[arg-type]


@app.command(cls=TensorCommand)
@with_common
def weighted(
    x: OptionalTensor = None,
    weights: Annotated[
        Optional[str],
        typer.Option(
            "--weights", "-w", metavar="TENSOR", help="(models, classes): one weight per model and class."
        ),
    ] = None,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Batch size when X is left out.")] = 2,
    random: Annotated[
        bool, typer.Option("--random", help="Draw the weights with torch.rand, as the layer does.")
    ] = False,
    models: Annotated[
        Optional[int], typer.Option("--models", min=1, help="Models, for --random without X.")
    ] = None,
    classes: Annotated[
        Optional[int], typer.Option("--classes", min=1, help="Classes, for --random without X.")
    ] = None,
    *,
    common: Common,
) -> int:
    """The notebook's weighted ensemble layer, step by step.

    torch.sum(x * weights.view(M, 1, -1), dim=0), with x (models, batch, classes) and
    weights (models, classes). Example: tshape weighted --weights examples/weights.json
    """

    def build(load: Loader) -> object:
        mod = op("weighted")
        tensors = mod.prepare(
            load.optional(x, "x"),
            load.optional(weights, "weights"),
            batch=batch,
            random=random,
            models=models,
            classes=classes,
        )
        return mod.explain(*tensors)

    return run(common, build)  # type: ignore[arg-type]


app.command("weighted-sum", help="Alias of weighted.", cls=TensorCommand)(weighted)


@app.command(cls=TensorCommand)
@with_common
def linear(
    x: OptionalTensor = None,
    out_features: Annotated[
        Optional[int],
        typer.Option("--out-features", "-o", help="Output features (default: from --weight, else 2)."),
    ] = None,
    weight: Annotated[
        Optional[str],
        typer.Option(
            "--weight",
            "-W",
            metavar="TENSOR",
            help="(out_features, in_features). Default: torch's initialisation under --seed.",
        ),
    ] = None,
    bias: Annotated[
        Optional[str], typer.Option("--bias", "-b", metavar="TENSOR", help="(out_features,).")
    ] = None,
    no_bias: Annotated[bool, typer.Option("--no-bias", help="A layer without bias (bias=False).")] = False,
    *,
    common: Common,
) -> int:
    """nn.Linear step by step: y = x @ W.T + b.

    Example: tshape linear "[[0.5,0.6,0.7]]" --weight "[[1,0,0],[0,1,0]]" --bias "[0.1,0.2]"
    """

    def build(load: Loader) -> object:
        mod = op("linear")
        if x is None and weight is None and bias is None and out_features is None:
            xt, wt, bt = mod.notebook_inputs()
            return mod.explain(xt, wt, None if no_bias else bt, use_bias=not no_bias, seed=_seed(common))
        return mod.explain(
            load.optional(x, "x") if x is not None else mod.notebook_inputs()[0],
            load.optional(weight, "weight"),
            load.optional(bias, "bias"),
            use_bias=not no_bias,
            out_features=out_features,
            seed=_seed(common),
        )

    return run(common, build)  # type: ignore[arg-type]


@app.command(cls=TensorCommand)
@with_common
def demo(*, common: Common) -> int:
    """Replay the notebook: unsqueeze, view, the weighted layer, nn.Linear."""
    return run(common, lambda load: op("demo").explain())


def _seed(common: Common) -> int:
    return 0 if common.seed is None else common.seed


def main(argv: Optional[list[str]] = None) -> None:
    sys.exit(invoke(argv))


def invoke(argv: Optional[list[str]] = None) -> int:
    """Run one command line and return its exit code: never a traceback."""
    for stream in ("stdout", "stderr"):
        if getattr(sys, stream) is None:  # started with it closed (`>&-`): the exit code still tells
            setattr(sys, stream, open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the process)
    try:
        code = app(args=argv, prog_name="tshape", standalone_mode=False)
    except typer.TyperException as e:  # Click's usage errors, vendored by Typer
        ctx = getattr(e, "ctx", None)
        where = ctx.command_path if ctx is not None else "tshape"
        message = e.format_message() if hasattr(e, "format_message") else str(e)
        message = " ".join(message.splitlines()) if type(e).__name__ != "NoArgsIsHelpError" else message
        if not message:
            return ExitCode.USAGE
        if type(e).__name__ == "NoArgsIsHelpError":  # `tshape` alone: the help is the answer
            print(message)
            return ExitCode.USAGE
        print(f"{where}: error: {message} (see '{where} --help')", file=sys.stderr)
        return ExitCode.USAGE
    except (typer.Abort, KeyboardInterrupt):
        print(file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return silence_closed_stdout()
    except Exception as e:  # a bug: one line, and the traceback only when asked for
        if os.environ.get("TSHAPE_DEBUG"):
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(
            f"tshape: internal error: {type(e).__name__}: {first} (TSHAPE_DEBUG=1 shows more)",
            file=sys.stderr,
        )
        return ExitCode.INTERNAL
    return code if isinstance(code, int) else ExitCode.OK
