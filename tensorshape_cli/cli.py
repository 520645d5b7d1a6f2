"""The command line: one short function per command. No computing, no formatting here.

torch is imported only when a command runs (through runner.op), never at import time:
`tshape --help`, `--version` and shell completion stay fast. A command returns what it asks
for (a runner.Job) or an Outcome; execute.py runs it and decides what is printed and the exit code.
"""

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from tensorshape_cli import __version__, compat, registry
from tensorshape_cli.execute import Outcome  # in the signatures Typer reads
from tensorshape_cli.messages import t
from tensorshape_cli.options import Common, with_common
from tensorshape_cli.runner import Job, Loader, job, op

if TYPE_CHECKING:
    from tensorshape_cli.explanation import Explanation


def _printed(value: Any, **params: Any) -> int:
    """The app used as Click would use it (CliRunner, app()): what a command returns is run
    and printed. execute.py leaves this out, to return the Outcome instead."""
    from tensorshape_cli import execute

    return execute.emit(execute.outcome(value))


app = typer.Typer(
    name="tshape",
    result_callback=_printed,
    cls=compat.Group,
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
        raise compat.Answer(f"tshape {__version__}", 0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """Explains, step by step, what PyTorch does to a tensor's shape and values."""


@app.command(cls=compat.Command)
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
) -> Job:
    """Insert a dimension of size 1: torch.unsqueeze(x, dim).

    \b
    Examples:
      tshape unsqueeze "[1,2,3]" --dim 0
      tshape unsqueeze "[[1,2],[3,4]]" --dim -1
      tshape unsqueeze "zeros(2, 3)"
    """
    return job(common, lambda load: registry.explain("unsqueeze", load(tensor, "x"), dim))


@app.command(cls=compat.Command)
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
) -> Job:
    """Read the same data with another shape: x.view(*shape).

    \b
    Examples:
      tshape view "arange(1,13)" --shape 3,-1
      tshape view "arange(1,13)" --shape 2,2,3
      tshape view "[[1,2,3],[4,5,6]]" --transpose 0,1 --shape 6  # exit 1: not contiguous
    """
    from tensorshape_cli.inputs import parse_shape

    def build(load: Loader) -> "Explanation":
        pair = parse_shape(transpose, "--transpose") if transpose is not None else None
        if pair is not None and len(pair) != 2:
            from tensorshape_cli.errors import InputError

            raise InputError(t("cli.transpose_pair"))
        x, sizes = load(tensor, "x"), parse_shape(shape)
        return registry.explain("view", x, sizes, options={"transpose": tuple(pair) if pair else None})

    return job(common, build)


@app.command(cls=compat.Command)
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
) -> Job:
    """The notebook's weighted ensemble layer, step by step.

    torch.sum(x * weights.view(M, 1, -1), dim=0), with x (models, batch, classes) and
    weights (models, classes).

    \b
    Examples:
      tshape weighted
      tshape weighted --weights examples/weights.json
      tshape weighted --random --models 3 --classes 4 --seed 0
    """

    def build(load: Loader) -> "Explanation":
        tensors = load.optional(x, "x"), load.optional(weights, "weights")
        sizes = {"batch": batch, "random": random, "models": models, "classes": classes}
        return registry.explain("weighted", *tensors, options=sizes)

    return job(common, build)


WEIGHTED_SUM_HELP = """Alias of weighted.

\b
Examples:
  tshape weighted-sum
  tshape weighted-sum --weights examples/weights.json
"""
app.command("weighted-sum", help=WEIGHTED_SUM_HELP, cls=compat.Command)(weighted)


@app.command(cls=compat.Command)
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
) -> Job:
    """nn.Linear step by step: y = x @ W.T + b.

    \b
    Examples:
      tshape linear
      tshape linear "[[0.5,0.6,0.7]]" --weight "[[1,0,0],[0,1,0]]" --bias "[0.1,0.2]"
      tshape linear "ones(4, 3)" --out-features 2 --no-bias --seed 0
    """

    def build(load: Loader) -> "Explanation":
        tensors = load.optional(x, "x"), load.optional(weight, "weight"), load.optional(bias, "bias")
        options = {"use_bias": not no_bias, "out_features": out_features, "seed": _seed(common)}
        return registry.explain("linear", *tensors, options=options)

    return job(common, build)


DimsOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--dim", "-d", metavar="D", help="A dim; repeat (--dim 0 --dim 2) or list them (--dim 0,2)."
    ),
]


@app.command(cls=compat.Command)
@with_common
def squeeze(tensor: TensorArg, dim: DimsOption = None, *, common: Common) -> Job:
    """Remove dimensions of size 1: x.squeeze(dims).

    Without --dim, every size-1 dimension goes; with it, only those asked for, and an
    asked-for dimension whose size is not 1 stays.

    \b
    Examples:
      tshape squeeze "zeros(2, 1, 3)"
      tshape squeeze "zeros(1, 2, 1)" --dim 0
    """
    return job(common, lambda load: registry.explain("squeeze", load(tensor, "x"), _dims(dim)))


ShapeOption = Annotated[
    str,
    typer.Option("--shape", "-s", metavar="SHAPE", help="The new shape: 3,-1 or '(3, -1)' or '3 -1'."),
]
TransposeOption = Annotated[
    Optional[str],
    typer.Option("--transpose", metavar="A,B", help="Transpose dims A and B first (makes x non-contiguous)."),
]


@app.command(cls=compat.Command)
@with_common
def reshape(
    tensor: TensorArg, shape: ShapeOption, transpose: TransposeOption = None, *, common: Common
) -> Job:
    """The same elements with another shape: x.reshape(*shape), and whether torch returned
    a view or a copy (by comparing storage), and why.

    \b
    Examples:
      tshape reshape "arange(6)" --shape 2,3
      tshape reshape "[[1,2,3],[4,5,6]]" --transpose 0,1 --shape -1
    """
    return job(
        common,
        lambda load: registry.explain(
            "reshape", load(tensor, "x"), _shape(shape), options={"transpose": _pair(transpose)}
        ),
    )


@app.command(cls=compat.Command)
@with_common
def flatten(
    tensor: TensorArg,
    start_dim: Annotated[int, typer.Option("--start-dim", help="First dimension to merge.")] = 0,
    end_dim: Annotated[int, typer.Option("--end-dim", help="Last dimension to merge.")] = -1,
    *,
    common: Common,
) -> Job:
    """Merge dimensions start_dim … end_dim into one: torch.flatten(x, start_dim, end_dim).

    \b
    Examples:
      tshape flatten "zeros(2, 3, 4)"
      tshape flatten "zeros(2, 3, 4)" --start-dim 1
    """
    return job(common, lambda load: registry.explain("flatten", load(tensor, "x"), start_dim, end_dim))


@app.command(cls=compat.Command)
@with_common
def permute(
    tensor: TensorArg,
    dims: Annotated[
        str, typer.Option("--dims", metavar="DIMS", help="The new order of all dims, e.g. 2,0,1.")
    ],
    *,
    common: Common,
) -> Job:
    """Reorder all dimensions: x.permute(*dims), with strides before and after.

    \b
    Examples:
      tshape permute "zeros(2, 3, 4)" --dims 2,0,1
      tshape permute "[[1,2,3],[4,5,6]]" --dims 1,0
    """
    return job(common, lambda load: registry.explain("permute", load(tensor, "x"), _shape(dims, "--dims")))


@app.command(cls=compat.Command)
@with_common
def transpose(
    tensor: TensorArg,
    dims: Annotated[str, typer.Option("--dims", metavar="A,B", help="The two dims to swap, e.g. 0,1.")],
    *,
    common: Common,
) -> Job:
    """Swap two dimensions: x.transpose(a, b), with strides before and after.

    \b
    Examples:
      tshape transpose "[[1,2,3],[4,5,6]]" --dims 0,1
      tshape transpose "zeros(2, 3, 4)" --dims 0,2
    """

    def build(load: Loader) -> "Explanation":
        pair = _pair(dims, "--dims")
        assert pair is not None
        return registry.explain("transpose", load(tensor, "x"), *pair)

    return job(common, build)


@app.command(cls=compat.Command)
@with_common
def expand(
    tensor: TensorArg,
    shape: Annotated[
        str,
        typer.Option(
            "--shape", "-s", metavar="SHAPE", help="The target sizes, -1 to keep one: 2,-1 or '(2, 3)'."
        ),
    ],
    *,
    common: Common,
) -> Job:
    """Stretch size-1 dimensions without copying: x.expand(*sizes), and the stride 0 that makes it free.

    \b
    Examples:
      tshape expand "[[1], [2]]" --shape 2,3
      tshape expand "[1, 2, 3]" --shape 2,-1
      tshape expand "[1, 2]" --shape 3  # exit 1: 2 cannot stretch to 3
    """
    return job(common, lambda load: registry.explain("expand", load(tensor, "x"), _shape(shape)))


TensorsArg = Annotated[
    list[str],
    typer.Argument(metavar="TENSOR...", help="Tensors, or shapes alone: shape(5,3,4,1).", show_default=False),
]


@app.command(cls=compat.Command)
@with_common
def broadcast(tensors: TensorsArg, *, common: Common) -> Job:
    """Broadcast tensors (or shapes alone) together: the alignment table, the rule per dimension.

    \b
    Examples:
      tshape broadcast "shape(5,3,4,1)" "shape(3,1,1)"
      tshape broadcast "[[1], [2]]" "[10, 20, 30]"
      tshape broadcast "shape(2,3)" "shape(4,3)"  # exit 1: 2 and 4
    """

    return job(common, lambda load: registry.explain("broadcast", *_load_all(load, tensors)[0]))


@app.command(cls=compat.Command)
@with_common
def matmul(
    a: Annotated[str, typer.Argument(metavar="A", help="The left operand (TENSOR).", show_default=False)],
    b: Annotated[str, typer.Argument(metavar="B", help="The right operand (TENSOR).", show_default=False)],
    *,
    common: Common,
) -> Job:
    """Matrix product a @ b: the contracted dimension, the broadcast batch dimensions, the dropped 1s.

    \b
    Examples:
      tshape matmul "ones(2, 3)" "ones(3, 4)"
      tshape matmul "ones(5, 2, 3)" "ones(3)"
      tshape matmul "ones(2, 3)" "ones(2, 3)"  # exit 1: 3 and 2
    """
    return job(common, lambda load: registry.explain("matmul", load(a, "a"), load(b, "b")))


# --- convolution and pooling: conv1d/2d/3d, maxpool1d/2d/3d, avgpool1d/2d/3d, from one table ---

KernelOption = Annotated[
    str, typer.Option("--kernel-size", "-k", metavar="K", help="An int, or one per dim: 3 or 3,5.")
]
StrideOption = Annotated[Optional[str], typer.Option("--stride", metavar="S", help="An int or one per dim.")]
DilationOption = Annotated[
    Optional[str], typer.Option("--dilation", metavar="D", help="An int or one per dim.")
]
CeilOption = Annotated[bool, typer.Option("--ceil-mode", help="Round the output size up (ceil_mode=True).")]
# (shape of the example input, a second example) per number of spatial dims
_CONV_EXAMPLES = {
    1: ('"randn(1, 4, 50)"', '"shape(8, 4, 50)" --out-channels 8 --kernel-size 5 --padding same'),
    2: (
        '"randn(1, 3, 28, 28)"',
        '"shape(8, 28, 28, 3)" --in-channels 3 --out-channels 16 -k 3   # exit 1: channels-last',
    ),
    3: (
        '"randn(1, 2, 8, 8, 8)"',
        '"shape(2, 1, 16, 16, 16)" --out-channels 4 --kernel-size 3,3,3 --stride 2',
    ),
}


def _conv_command(n: int) -> None:
    def conv(
        x: TensorArg,
        out_channels: Annotated[int, typer.Option("--out-channels", metavar="C", help="Output channels.")],
        kernel_size: KernelOption,
        stride: StrideOption = None,
        padding: Annotated[
            Optional[str], typer.Option("--padding", metavar="P", help="An int, one per dim, same or valid.")
        ] = None,
        dilation: DilationOption = None,
        groups: Annotated[int, typer.Option("--groups", help="Split the channels into groups.")] = 1,
        bias: Annotated[bool, typer.Option("--bias/--no-bias", help="A layer with a bias.")] = True,
        in_channels: Annotated[
            Optional[int], typer.Option("--in-channels", help="The layer's input channels (default: X's).")
        ] = None,
        *,
        common: Common,
    ) -> Job:
        return job(
            common,
            lambda load: op("families.conv").command_conv(
                load(x, "x"), n, out_channels=out_channels, kernel_size=kernel_size, stride=stride,
                padding=padding, dilation=dilation, groups=groups, bias=bias, in_channels=in_channels,
                seed=_seed(common),
            ),
        )  # fmt: skip

    real, other = _CONV_EXAMPLES[n]
    conv.__doc__ = (
        f"nn.Conv{n}d on X: the output size per dim with the numbers, the channel rule, "
        "one element by hand.\n\n"
        f"The weights come from torch's own initialisation under --seed; shape(...) explains shapes only.\n\n"
        f"\b\nExamples:\n  tshape conv{n}d {real} --out-channels 2 --kernel-size 3 --stride 2 --padding 1\n"
        f"  tshape conv{n}d {other}"
    )
    app.command(f"conv{n}d", cls=compat.Command)(with_common(conv))


def _pool_command(kind: str, n: int) -> None:
    def pool(
        x: TensorArg,
        kernel_size: KernelOption,
        stride: Annotated[
            Optional[str], typer.Option("--stride", metavar="S", help="An int or one per dim (default: K).")
        ] = None,
        padding: Annotated[
            Optional[str], typer.Option("--padding", metavar="P", help="An int or one per dim.")
        ] = None,
        dilation: DilationOption = None,
        ceil_mode: CeilOption = False,
        count_include_pad: Annotated[
            bool,
            typer.Option("--count-include-pad/--no-count-include-pad", help="avgpool: count the padding."),
        ] = True,
        *,
        common: Common,
    ) -> Job:
        return job(
            common,
            lambda load: op("families.conv").command_pool(
                load(x, "x"), kind, n, kernel_size=kernel_size, stride=stride, padding=padding,
                dilation=dilation, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
            ),
        )  # fmt: skip

    word = "max" if kind == "max_pool" else "avg"
    shape = ", ".join(["1", "2", *(["6"] * n)])
    pool.__doc__ = (
        f"F.{kind}{n}d on X: the output size per dim with the numbers, one window's {word} by hand.\n\n"
        f'\b\nExamples:\n  tshape {word}pool{n}d "randn({shape})" --kernel-size 2\n'
        f'  tshape {word}pool{n}d "shape({shape})" --kernel-size 3 --stride 2 --padding 1 --ceil-mode'
    )
    app.command(f"{word}pool{n}d", cls=compat.Command)(with_common(pool))


for _n in (1, 2, 3):
    _conv_command(_n)
for _kind in ("max_pool", "avg_pool"):
    for _n in (1, 2, 3):
        _pool_command(_kind, _n)


KeepdimOption = Annotated[bool, typer.Option("--keepdim", help="Keep the reduced dims, with size 1.")]


@app.command("sum", cls=compat.Command)
@with_common
def sum_(tensor: TensorArg, dim: DimsOption = None, keepdim: KeepdimOption = False, *, common: Common) -> Job:
    """Add along dims: x.sum(dim, keepdim); which dimension disappears, or becomes 1.

    Without --dim, everything is added up.

    \b
    Examples:
      tshape sum "arange(1, 13)" --dim 0
      tshape sum "[[1, 2], [3, 4]]" --dim 1 --keepdim
      tshape sum "ones(2, 3, 4)" --dim 0,2
    """
    return job(common, lambda load: registry.explain("sum", load(tensor, "x"), _dims(dim), keepdim))


@app.command(cls=compat.Command)
@with_common
def mean(tensor: TensorArg, dim: DimsOption = None, keepdim: KeepdimOption = False, *, common: Common) -> Job:
    """Average along dims: x.mean(dim, keepdim); which dimension disappears, or becomes 1.

    Without --dim, everything is averaged.

    \b
    Examples:
      tshape mean "[[1.0, 2], [3, 4]]" --dim 1 --keepdim
      tshape mean "[[1.0, 2], [3, 4]]"
    """
    return job(common, lambda load: registry.explain("mean", load(tensor, "x"), _dims(dim), keepdim))


JoinDimOption = Annotated[int, typer.Option("--dim", "-d", help="The dimension to join along.")]


@app.command(cls=compat.Command)
@with_common
def cat(tensors: TensorsArg, dim: JoinDimOption = 0, *, common: Common) -> Job:
    """Join tensors along an existing dimension: torch.cat((a, b, ...), dim); which sizes must match.

    \b
    Examples:
      tshape cat "ones(2, 3)" "zeros(2, 1)" --dim 1
      tshape cat "[1, 2]" "[3]"
      tshape cat "ones(2, 3)" "ones(3, 3)" --dim 1  # exit 1: 2 and 3
    """
    return job(common, lambda load: registry.explain("cat", _load_all(load, tensors)[0], dim))


@app.command(cls=compat.Command)
@with_common
def stack(tensors: TensorsArg, dim: JoinDimOption = 0, *, common: Common) -> Job:
    """Put tensors side by side along a new dimension: torch.stack((a, b, ...), dim).

    \b
    Examples:
      tshape stack "[1, 2]" "[3, 4]"
      tshape stack "[1, 2]" "[3, 4]" --dim 1
    """
    return job(common, lambda load: registry.explain("stack", _load_all(load, tensors)[0], dim))


@app.command(cls=compat.Command)
@with_common
def expr(
    expression: Annotated[
        str,
        typer.Argument(metavar="EXPR", help="A tensor expression, e.g. 'x @ w.T + b'.", show_default=False),
    ],
    tensor: Annotated[
        Optional[list[str]],
        typer.Option("--tensor", "-t", metavar="NAME=TENSOR", help="Bind a name: -t x=[1,2,3] -t w=@w.json."),
    ] = None,
    *,
    common: Common,
) -> Job:
    """Explain a whole tensor expression, step by step, innermost first; never evaluated as Python.

    Allowed: names bound with -t; int, float and tuple literals; + - * / @ and unary minus;
    indexing with ints, slices, None and ...; the methods squeeze, unsqueeze, reshape, view,
    flatten, permute, transpose, expand, matmul, sum, mean, contiguous, size, dim, float, int
    and the attributes T and shape; torch.cat, stack, matmul, einsum, broadcast_to, sum, mean,
    zeros, ones, arange, unsqueeze, squeeze, reshape, flatten, permute, transpose.
    Anything else is refused (exit 2).

    \b
    Examples:
      tshape expr "x @ w.T + b" -t x="[[0.5,0.6,0.7]]" -t w="[[1.0,0,0],[0,1,0]]" -t b="[0.1,0.2]"
      tshape expr "x.unsqueeze(0).shape" -t x="[1,2,3]"
      tshape expr "torch.cat((a, b), dim=1)" -t a="ones(2, 3)" -t b="zeros(2, 1)"
    """

    def build(load: Loader) -> "Explanation":
        from tensorshape_cli import expr

        bound = _bindings(tensor or [])
        program = expr.compile_expr(expression, list(bound))  # refused before any tensor is read
        return expr.explain(program, {name: load(text, name) for name, text in bound.items()})

    return job(common, build)


@app.command(cls=compat.Command)
@with_common
def why(
    text: Annotated[
        str,
        typer.Argument(
            metavar="TEXT",
            help="The error message or traceback; @FILE reads it from a file, - from standard input.",
            show_default=False,
        ),
    ],
    *,
    common: Common,
) -> Job:
    """Explain a PyTorch error: paste its message or traceback, get the rule and the fix.

    The numbers in torch's message become shape-only tensors, the op runs again to confirm
    the error, and the explanation names the fix in code. Nothing of the pasted text runs.
    Pipe a traceback in: python train.py 2>&1 | tshape why -

    \b
    Examples:
      tshape why "mat1 and mat2 shapes cannot be multiplied (64x512 and 256x10)"
      tshape why @examples/train_error.txt
      tshape why "shape '[4, 5]' is invalid for input of size 12" --json
    """

    def build(load: Loader) -> "Explanation":
        from tensorshape_cli.why import explain, read_text

        return explain(read_text(text))

    return job(common, build)


@app.command(cls=compat.Command)
@with_common
def trace(
    target: Annotated[
        str,
        typer.Argument(
            metavar="FILE.py:NAME", help="A function or an nn.Module in a Python file.", show_default=False
        ),
    ],
    inputs: Annotated[
        Optional[list[str]],
        typer.Option(
            "--input",
            "-i",
            metavar="[NAME=]TENSOR",
            help="An input, positional in order or by name; shape(8, 3, 224, 224) traces shape-only.",
        ),
    ] = None,
    init: Annotated[
        Optional[str],
        typer.Option(
            "--init",
            metavar="KWARGS",
            help="Arguments of an nn.Module class, as Python literals: 'n=10, p=0.5'.",
        ),
    ] = None,
    depth: Annotated[
        Optional[int],
        typer.Option(
            "--depth", min=0, help="Fold modules deeper than N (the model is 0) into one step each."
        ),
    ] = None,
    *,
    common: Common,
) -> Job:
    """Run your own code and explain every torch call it makes, up to the one that fails.

    This RUNS FILE.py, as `python FILE.py` would import it (its `if __name__ == "__main__":`
    block does not run), then calls NAME: a function, an nn.Module subclass (constructed with
    --init) or a module-level nn.Module. Each step is one call: where, the shapes in and out,
    the module path. Shape-only inputs run on the meta device, parameters too. Exit 1 when the
    code raises, with the failing call explained.

    \b
    Examples:
      tshape trace examples/cnn.py:CNN -i "shape(8, 3, 32, 32)"   # exit 1: in_features do not match
      tshape trace examples/cnn.py:CNN -i "shape(8, 3, 32, 32)" --depth 0  # exit 1: in_features do not match
    """

    def build(load: Loader) -> object:
        from tensorshape_cli.tracing.target import explain_target

        return explain_target(target, inputs or [], init, depth, load)

    return job(common, build, user_code=True)  # type: ignore[arg-type]


@app.command(cls=compat.Command)
@with_common
def demo(*, common: Common) -> Job:
    """Replay the notebook: unsqueeze, view, the weighted layer, nn.Linear.

    \b
    Examples:
      tshape demo
      tshape demo --lang es
    """
    return job(common, lambda load: op("demo").explain())


@app.command("inspect", cls=compat.Command)
@with_common
def inspect_file(
    file: Annotated[
        str,
        typer.Argument(metavar="FILE", help="A .pt, .pth, .safetensors or .npy file.", show_default=False),
    ],
    against: Annotated[
        Optional[str],
        typer.Option(
            "--against",
            metavar="OTHER",
            help="Compare with another tensor file (e.g. the model's state_dict saved): missing keys, "
            "unexpected keys and shape mismatches, as load_state_dict would report them (exit 1 if any).",
        ),
    ] = None,
    *,
    common: Common,
) -> Job:
    """List every tensor in a file: name, shape, dtype, elements, and the total parameter count.

    Nothing but the shapes is read, so a checkpoint of any size is listed at once.

    \b
    Examples:
      tshape inspect examples/model.pt
      tshape inspect examples/model.safetensors --json
      tshape inspect examples/model.pt --against examples/model.safetensors
    """

    def build(load: Loader) -> "Explanation":
        from tensorshape_cli.ops import inspect

        kind, shapes, others = inspect.load_shapes(file, common.dtype)
        if against is None:
            return registry.explain("inspect", file, kind, shapes, others)
        return inspect.explain_against(file, against, shapes, inspect.load_shapes(against, common.dtype)[1])

    return job(common, build)


@app.command("run", cls=compat.Command)
@with_common
def run_file(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="A file of tshape command lines, or - for standard input.",
            show_default=False,
        ),
    ],
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop at the first line that does not exit 0.")
    ] = False,
    *,
    common: Common,
) -> Outcome:
    """Run a file of command lines in one process: torch is imported once, not once per line.

    Each non-empty line that does not start with # is a tshape command line without the
    word tshape, quoted as in a shell. The output format (--format, --json, -q) is the run's;
    the other options given here apply to every line. The exit code is the highest of the
    lines'.

    \b
    Examples:
      tshape run examples/shapes.tshape  # exit 1: line 7 fails, as it says
      tshape run examples/shapes.tshape -q --lang es  # exit 1
    """
    from tensorshape_cli import batch

    commands = getattr(_click_command(), "commands", {})
    return batch.plan(file, common, commands, fail_fast=fail_fast)


serve_app = typer.Typer(
    name="serve",
    help="A warm server: torch imported once, every tshape call of this user forwarded to it.\n\n"
    "While it runs, each tshape call runs in a process forked from it, on the caller's own "
    "terminal, files and environment, in milliseconds instead of a second. "
    "TSHAPE_NO_SERVER=1 makes a call run cold. Example: tshape serve start",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(serve_app)


@serve_app.command("start")
def serve_start(
    idle: Annotated[
        int,
        typer.Option("--idle", metavar="SECONDS", min=1, help="End after this many seconds without a call."),
    ] = 900,
) -> Outcome:
    """Start this user's warm server for this installation (once: a second start finds it)."""
    from tensorshape_cli.serve import control

    return control.start(idle)


@serve_app.command("stop")
def serve_stop() -> Outcome:
    """Stop the warm server; calls already running finish first."""
    from tensorshape_cli.serve import control

    return control.stop()


@serve_app.command("status")
def serve_status() -> Outcome:
    """Say whether a warm server runs, its version, pid and since when (exit 1 when none runs)."""
    from tensorshape_cli.serve import control

    return control.status()


def _dims(values: Optional[list[str]], what: str = "--dim") -> Optional[list[int]]:
    from tensorshape_cli.inputs import parse_dims

    return parse_dims(values or None, what)


def _shape(text: str, what: str = "--shape") -> list[int]:
    from tensorshape_cli.inputs import parse_shape

    return parse_shape(text, what)


def _pair(text: Optional[str], what: str = "--transpose") -> Optional[tuple[int, int]]:
    """A,B for --transpose and --dims of transpose: exactly two dims."""
    if text is None:
        return None
    dims = _shape(text, what)
    if len(dims) != 2:
        from tensorshape_cli.errors import InputError

        raise InputError(t("cli.two_dims", what=what))
    return dims[0], dims[1]


def _load_all(load: Loader, texts: list[str]) -> tuple[list[object], list[str]]:
    """Several TENSOR arguments, named a, b, c, … as torch's messages name operands."""
    names = op("broadcast").operand_names(len(texts))
    return [load(text, name) for text, name in zip(texts, names, strict=True)], names


def _bindings(options: list[str]) -> dict[str, str]:
    """`-t NAME=TENSOR` options → {name: tensor text}, the names checked."""
    import keyword
    import re

    from tensorshape_cli.errors import InputError
    from tensorshape_cli.text import clip

    seen: dict[str, str] = {}
    for option in options:
        name, sep, text = option.partition("=")
        name = name.strip()
        if not sep or not text.strip():
            raise InputError(t("expr.binding", spec=clip(option)))
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or keyword.iskeyword(name) or name == "torch":
            raise InputError(t("expr.binding_name", name=clip(name)))
        if name in seen:
            raise InputError(t("expr.binding_twice", name=name))
        seen[name] = text
    return seen


def _seed(common: Common) -> int:
    return 0 if common.seed is None else common.seed


def _click_command() -> Any:
    return compat.click_command(app)


def invoke(argv: Optional[list[str]] = None) -> int:
    """Run one command line, print what became of it, and return its exit code: never a traceback."""
    from tensorshape_cli import execute

    return execute.run(argv)
