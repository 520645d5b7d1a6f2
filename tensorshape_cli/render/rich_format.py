"""The terminal view: matrices as small tables, 3-D tensors as side-by-side panels,
the dimension an operation adds or broadcasts highlighted."""

from __future__ import annotations

import io
from typing import Any, TextIO

from rich import box
from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table as RichTable
from rich.text import Text

from tensorshape_cli.explanation import MISMATCH, Explanation, Step, Table, TensorInfo
from tensorshape_cli.messages import EN, t
from tensorshape_cli.render.cells import cells, flat, kind, layout, summary_text, table_rows
from tensorshape_cli.text import fmt_num, fmt_shape

MARK = "bold magenta"
CODE = "bold cyan"
DIM = "dim"
STATUS_STYLE = {MISMATCH: "red"}
MAX_PANELS = 12  # beyond this, leading dims are elided like values
# The widest line drawn, whatever the terminal says: panels fill their width with spaces,
# so COLUMNS=100000 would make every line of the demo 100,000 characters (51 MB in all).
MAX_WIDTH = 160

# The error panel's title, in words: error kinds (stable ids, kept in the JSON) by what went wrong.
ERROR_TITLES = {
    "dim_out_of_range": "render.error_title.dim",
    "dim_repeated": "render.error_title.dim",
    "view_size_mismatch": "render.error_title.numel",
    "view_two_inferred": "render.error_title.infer",
    "view_cannot_infer": "render.error_title.infer",
    "view_negative": "render.error_title.size",
    "expand_new_dim": "render.error_title.size",
    "view_not_contiguous": "render.error_title.not_contiguous",
    "weighted_rank": "render.error_title.rank",
    "linear_rank": "render.error_title.rank",
    "linear_weight_rank": "render.error_title.rank",
    "cat_rank": "render.error_title.rank",
    "cat_scalar": "render.error_title.rank",
    "matmul_scalar": "render.error_title.rank",
    "expand_rank": "render.error_title.rank",
    "permute_length": "render.error_title.rank",
    "weighted_mismatch": "render.error_title.sizes",
    "linear_in_features": "render.error_title.sizes",
    "linear_bias": "render.error_title.sizes",
    "matmul_mismatch": "render.error_title.sizes",
    "matmul_batch_mismatch": "render.error_title.sizes",
    "cat_mismatch": "render.error_title.sizes",
    "stack_mismatch": "render.error_title.sizes",
    "expand_mismatch": "render.error_title.sizes",
    "broadcast_mismatch": "render.error_title.sizes",
    "flatten_order": "render.error_title.order",
    "matmul_dtype": "render.error_title.dtype",
    "mean_dtype": "render.error_title.dtype",
    "expr_type": "render.error_title.type",
    "expr_zero_division": "render.error_title.zero_division",
    "torch_error": "render.error_title.torch",
    "trace_raised": "render.error_title.raised",
    "movedim_length": "render.error_title.rank",
    "expr_chained": "render.error_title.type",
    # tshape why: the errors it recognises
    "batch_norm_features": "render.error_title.sizes",
    "bmm_mismatch": "render.error_title.sizes",
    "cat_size_mismatch": "render.error_title.sizes",
    "conv_channels": "render.error_title.sizes",
    "cross_entropy_batch": "render.error_title.sizes",
    "layer_norm_shape": "render.error_title.sizes",
    "matmul_inner_mismatch": "render.error_title.sizes",
    "rnn_input_size": "render.error_title.sizes",
    "state_dict_mismatch": "render.error_title.sizes",
    "cross_entropy_target_shape": "render.error_title.sizes",
    "conv_input_dims": "render.error_title.rank",
    "conv_kernel_too_big": "render.error_title.size",
    "pool_output_too_small": "render.error_title.size",
    "cross_entropy_target_dtype": "render.error_title.dtype",
    "embedding_index": "render.error_title.index",
    "index_out_of_range": "render.error_title.index",
}


def error_title(error_kind: str) -> str:
    """The table above for today's kinds; a family or front-end names its own kinds' titles
    in its catalog module as `error_title.<kind>` (messages/families/)."""
    if error_kind in ERROR_TITLES:
        return t(ERROR_TITLES[error_kind])
    own = f"error_title.{error_kind}"
    return t(own) if own in EN else t("render.error_title.other")


def shape_text(info: TensorInfo) -> Text:
    """`shape (3, 1, 2)` with the marked dimensions highlighted."""
    text = Text(t("render.shape", shape="").rstrip() + " (")
    for i, size in enumerate(info.shape):
        if i:
            text.append(", ")
        text.append(str(size), style=MARK if i in info.marked else "bold")
    text.append(",)" if len(info.shape) == 1 else ")")
    text.append(" · " + kind(info), style="bold")  # a vector, a row, a column: visible without colour
    text.append(f" · {info.dtype} · " + t("render.stride", stride=fmt_shape(info.stride)) + " · ", style=DIM)
    text.append(
        t("render.contiguous") if info.contiguous else t("render.not_contiguous"),
        style=DIM if info.contiguous else "yellow",
    )
    if info.meta:
        text.append(" · " + t("render.meta"), style="yellow")
    return text


def _matrix(grid: list[Any], info: TensorInfo, row_dim: int, col_dim: int) -> RichTable:
    """A 2-D block as a table with its row and column indices."""
    table = RichTable(box=box.SIMPLE_HEAD, show_header=True, show_edge=False, pad_edge=False, padding=(0, 1))
    row_style = MARK if row_dim in info.marked else DIM
    col_style = MARK if col_dim in info.marked else DIM
    ncols = max((len(r) for r in grid if isinstance(r, list)), default=0)
    table.add_column("", style=row_style, justify="right")
    labels = _indices(info.shape[col_dim] if col_dim >= 0 else 1, ncols)
    for label in labels:
        table.add_column(Text(label, style=col_style), justify="right")
    row_labels = _indices(info.shape[row_dim] if row_dim >= 0 else 1, len(grid))
    for label, row in zip(row_labels, grid, strict=True):
        if not isinstance(row, list):  # an elided row
            table.add_row("⋮", *["⋮"] * ncols)
        else:
            table.add_row(label, *("…" if c == "..." else c for c in row))
    return table


def _vector(grid: list[str], info: TensorInfo) -> RichTable:
    """A 1-D tensor in brackets, `[ 1  2  3 ]`, its indices above: no row label, so it cannot
    be taken for a (1, n) matrix, whose row 0 is labelled."""
    table = RichTable(box=None, show_header=True, show_edge=False, pad_edge=False, padding=(0, 1))
    style = MARK if 0 in info.marked else DIM
    table.add_column("", justify="right")
    for label in _indices(info.shape[0], len(grid)):
        table.add_column(Text(label, style=style), justify="right")
    table.add_column("")
    table.add_row("[", *("…" if c == "..." else c for c in grid), "]")
    return table


def _indices(size: int, shown: int) -> list[str]:
    """Index labels for `shown` cells of a dimension of `size`, with '…' where elided."""
    if shown >= size:
        return [str(i) for i in range(size)]
    half = (shown - 1) // 2
    return [*map(str, range(half)), "…", *map(str, range(size - half, size))]


def tensor_view(info: TensorInfo, width: int) -> RenderableType:
    grid = cells(info)
    if grid is None:
        summary = summary_text(info)
        return Text(summary or t("render.no_values"), style="italic" if summary else "italic yellow")
    ndim = len(info.shape)
    if ndim and _row_width(grid, ndim) > width:  # too wide for a table: torch's own layout, wrapped
        return Text(layout(info) or "")
    if ndim == 0:
        return Text(grid, style="bold")
    if ndim == 1:
        return _vector(grid, info)
    if ndim == 2:
        return _matrix(grid, info, 0, 1)
    return Columns(_panels(grid, info, []), padding=(0, 1))


def _row_width(grid: list[Any], ndim: int) -> int:
    """Roughly how wide one row of tables would be on screen."""
    cell = max((len(c) for c in flat(grid)), default=1) + 2
    columns = len(grid) if ndim == 1 else max((len(r) for r in flat_rows(grid, ndim)), default=0)
    panels = 1 if ndim < 3 else min(len(grid), MAX_PANELS)
    return panels * (columns + 1) * cell + 4 * panels


def flat_rows(grid: list[Any], ndim: int) -> list[list[str]]:
    if ndim <= 2:
        return [r for r in grid if isinstance(r, list)]
    return [r for block in grid if isinstance(block, list) for r in flat_rows(block, ndim - 1)]


def _panels(
    grid: list[Any], info: TensorInfo, prefix: list[str], room: list[int] | None = None
) -> list[RenderableType]:
    """Leading dimensions become labelled panels [0], [1], … ([i, j] for 4-D and up), at most
    MAX_PANELS in all: a (2, 2, …, 2) tensor of 12 dimensions would otherwise be 512 panels,
    which rich takes minutes to lay out."""
    room = [MAX_PANELS] if room is None else room
    depth = len(prefix)
    labels = _indices(info.shape[depth], len(grid))
    panels: list[RenderableType] = []
    for label, block in zip(labels, grid, strict=True):
        if room[0] <= 0:  # more blocks than panels: say so once
            if room[0] == 0:
                panels.append(Text("…", style=DIM))
                room[0] = -1
            break
        if not isinstance(block, list):
            panels.append(Text("…", style=DIM))
            continue
        if len(info.shape) - depth > 3:
            panels.extend(_panels(block, info, [*prefix, label], room))
            continue
        title = Text("[" + ", ".join([*prefix, label]) + "]", style=MARK if depth in info.marked else "")
        panels.append(
            Panel(_matrix(block, info, depth + 1, depth + 2), title=title, box=box.ROUNDED, expand=False)
        )
        room[0] -= 1
    return panels


def _table(table: Table) -> RichTable:
    out = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in table.columns:
        out.add_column(col, justify="right" if col != table.columns[-1] else "left")
    marked = {(r, c) for r, c in table.marked}
    for r, row in enumerate(table_rows(table)):
        style = STATUS_STYLE.get(table.row_status(r), "")
        out.add_row(*(Text(v, style=MARK) if (r, c) in marked else v for c, v in enumerate(row)), style=style)
    return out


def _step(n: int, step: Step, width: int) -> Panel:
    parts: list[RenderableType] = [Text(">>> " + step.code, style=CODE)]
    if step.tensor is not None:
        parts += [shape_text(step.tensor), tensor_view(step.tensor, width - 4)]
    if step.table is not None:
        parts.append(_table(step.table))
    if step.note:
        parts.append(Text(step.note))
    title = Text(f" {n}. {step.title} ", style="bold")
    return Panel(Group(*parts), title=title, title_align="left", box=box.ROUNDED, expand=True)


def _checks(ex: Explanation) -> RichTable:
    table = RichTable(
        title=t("render.checks"), title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False
    )
    table.add_column("")
    table.add_column(t("render.col.check"), style="bold")
    table.add_column(t("render.col.by_hand"))
    table.add_column(t("render.col.torch"), justify="right")
    for c in ex.checks:
        mark = Text("✓", style="green") if c.ok else Text("✗", style="bold red")
        by_hand = (
            c.expression
            if isinstance(c.manual, bool) or c.manual is None
            else f"{c.expression} = {fmt_num(c.manual)}"
        )
        table.add_row(mark, c.label, by_hand, fmt_num(c.torch))
    return table


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich's own answer is SystemExit(1); the runner gives every format the same: exit 141
        self.quiet = True
        raise BrokenPipeError


def render(ex: Explanation, out: TextIO) -> None:
    console = _Console(file=out, highlight=False)  # rich itself honours NO_COLOR
    console.width = min(console.width, MAX_WIDTH)
    draw(ex, console)


EXPORT_WIDTH = 110  # columns of an exported picture: wide enough for tables, narrow enough for a slide


def export(explanations: list[Explanation], path: str) -> None:
    """The rich rendering saved as SVG or HTML (by the file's extension), with colours
    whatever the terminal or NO_COLOR say: the file is a picture, not terminal output."""
    console = Console(
        file=io.StringIO(),
        record=True,
        width=EXPORT_WIDTH,
        force_terminal=True,
        color_system="truecolor",
        no_color=False,
        highlight=False,
    )
    for ex in explanations:
        draw(ex, console)
    title = "tshape: " + (explanations[0].call if explanations else "")
    if path.lower().endswith(".svg"):
        console.save_svg(path, title=title)
    else:
        console.save_html(path)


def draw(ex: Explanation, console: Console) -> None:
    if ex.preface:
        console.print(Text(ex.preface, style="bold"))
    if ex.part:
        console.print(Rule(Text(ex.part, style="bold"), align="left"))
    if ex.command:
        console.print(
            Text("$ " + ex.command, style=CODE)
            if ex.part
            else Rule(Text("$ " + ex.command, style=CODE), align="left")
        )
    console.print(Text(ex.title or ex.op, style="bold"))
    console.print(Text(ex.call, style=CODE))
    for n, step in enumerate(ex.steps, 1):
        console.print(_step(n, step, console.width))
    if ex.checks:
        console.print(_checks(ex))
    if ex.result is not None:
        console.print(Text(t("render.result", summary="").rstrip()), shape_text(ex.result))
    if ex.error is not None:
        body = Text(ex.error.message, style="bold")
        if ex.error.hint:
            body.append("\n" + t("render.hint", hint=ex.error.hint), style="")
        console.print(
            Panel(
                body,
                title=Text(f" {error_title(ex.error.kind)} ", style="bold red"),
                border_style="red",
                title_align="left",
            )
        )
    console.print()
