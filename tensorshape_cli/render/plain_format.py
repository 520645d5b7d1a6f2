"""Plain text: the rich view's content with no colour and no boxes, for pipes and logs."""

from __future__ import annotations

from typing import TextIO

from tensorshape_cli.explanation import Check, Explanation, Table, TensorInfo
from tensorshape_cli.messages import t
from tensorshape_cli.render.cells import layout, summary_text, table_rows
from tensorshape_cli.text import fmt_num, fmt_shape


def tensor_summary(info: TensorInfo) -> str:
    parts = [
        t("render.shape", shape=fmt_shape(info.shape)),
        info.dtype,
        t("render.stride", stride=fmt_shape(info.stride)),
        t("render.contiguous") if info.contiguous else t("render.not_contiguous"),
    ]
    if info.meta:
        parts.append(t("render.meta"))
    return " · ".join(parts)


def check_text(c: Check) -> str:
    """`1*1 + 5*3 + 9*5 = 61  (torch: 61)`; a yes/no check shows only what was compared."""
    if isinstance(c.manual, bool) or c.manual is None:
        return c.expression
    return f"{c.expression} = {fmt_num(c.manual)}  ({t('render.torch_says', value=fmt_num(c.torch))})"


def table_lines(table: Table) -> list[str]:
    grid = [table.columns, *table_rows(table)]
    widths = [max(len(row[i]) for row in grid) for i in range(len(table.columns))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in grid]


def _indent(text: str, pad: str = "    ") -> str:
    return "\n".join(pad + line if line else line for line in text.splitlines())


def render(ex: Explanation, out: TextIO) -> None:
    lines: list[str] = []
    if ex.preface:
        lines += [ex.preface, ""]
    if ex.part:
        lines += [f"== {ex.part} =="]
    if ex.command:
        lines += [f"$ {ex.command}"]
    lines += [ex.title or ex.op, f"  {ex.call}", ""]
    for n, step in enumerate(ex.steps, 1):
        lines.append(f"{n}. {step.title}")
        lines.append(f"    >>> {step.code}")
        if step.tensor is not None:
            lines.append("    " + tensor_summary(step.tensor))
            grid = layout(step.tensor)
            if grid is not None:
                lines.append(_indent(grid))
            elif summary_text(step.tensor):
                lines.append("    " + str(summary_text(step.tensor)))
        if step.table is not None:
            lines += ["    " + row for row in table_lines(step.table)]
        if step.note:
            lines.append(_indent(step.note))
        lines.append("")
    if ex.checks:
        lines.append(t("render.checks"))
        for c in ex.checks:
            mark = "✓" if c.ok else "✗"
            lines.append(f"  {mark} {c.label}: {check_text(c)}")
        lines.append("")
    if ex.result is not None:
        lines.append(t("render.result", summary=tensor_summary(ex.result)))
    if ex.error is not None:
        lines.append(t("render.error", message=ex.error.message))
        if ex.error.hint:
            lines.append(t("render.hint", hint=ex.error.hint))
    out.write("\n".join(lines).rstrip("\n") + "\n\n")
