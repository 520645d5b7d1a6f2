"""What the shape and indexing families share: a rule that predicts the result's shape(s) from
the inputs' shapes and arguments alone, and traces an output element back to where it came from.

Each op of these families moves elements without computing new ones (or adds a few, as
scatter_add does), so two checks can really fail: the shape the rule predicts in Python against
torch's, and one output element read by hand from the input (plain Python over `x.tolist()`)
against torch's element.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tensorshape_cli.explanation import Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops import _calls
from tensorshape_cli.ops._common import agrees, eps_of, shape_check, skipped_check
from tensorshape_cli.text import fmt_index, fmt_num, fmt_shape

if TYPE_CHECKING:
    import torch

    from tensorshape_cli.registry import Call

# (expression a person reads, the value worked out by hand, how many terms were summed)
Traced = tuple[str, Any, int]


@dataclass
class Rule:
    """The rule of one call, worked out from shapes and arguments, before torch runs."""

    title: str
    code: str  # Python that runs as written and gives the predicted shape(s)
    note: str
    shapes: list[list[int]]  # one shape per output; one for a single tensor result
    table: Table | None = None
    several: bool = False  # the op returns a tuple of tensors (split, unbind, meshgrid)
    # (output number, index in it) → where that element comes from; None: not traceable
    trace: Callable[[int, tuple[int, ...]], Traced | None] | None = None
    probes: list[tuple[int, tuple[int, ...]]] | None = None  # None: the first and last element
    # Set when the result's size depends on the values (nonzero, masks): why, with the bound
    data_dependent: str = ""
    steps: list[Step] = field(default_factory=list)  # extra steps after the rule
    checks: list[Check] = field(default_factory=list)  # extra checks that hold on shape-only too


class NoRule(Exception):
    """The arguments are outside what the rule covers: torch decides (and explains) alone."""


def explain(
    call: Call,
    op: str,
    title: str,
    rule_of: Callable[[Call], Rule],
    failure_of: Callable[[Call, BaseException], OpError | None],
) -> Explanation:
    ex = _calls.start(call, op, title)
    meta = any(x.device.type == "meta" for _, x in _calls.operands(call))
    try:
        rule: Rule | None = rule_of(call)
    except (NoRule, ValueError, TypeError, IndexError, KeyError, ZeroDivisionError, AttributeError):
        rule = None
    if rule is not None and rule.data_dependent and meta:
        # torch has no meta kernel here: the size is decided by values a shape-only tensor lacks
        ex.steps.append(Step(rule.title, rule.code, None, rule.data_dependent, rule.table))
        ex.steps.append(Step(t("moves.unknown.title"), call.code or call.name, None, t("moves.unknown")))
        ex.checks.append(skipped_check())
        return ex
    ok, result = _calls.run(ex, call)
    if not ok:
        ours = failure_of(call, result)
        if ours is not None:
            quoted = ex.error.message if ex.error else ""
            ours.message = f"{ours.message} (torch: {quoted})"
            ex.error = ours
        return ex
    if rule is not None:
        note = rule.note + (" " + rule.data_dependent if rule.data_dependent else "")
        ex.steps.append(Step(rule.title, rule.code, None, note, rule.table))
        ex.steps += rule.steps
    _calls.result_step(ex, call, result)
    if rule is None:
        return ex
    outputs = _as_list(result)
    for i, shape in enumerate(rule.shapes):
        got = list(outputs[i].shape) if i < len(outputs) else []
        label = t("check.shape") if not rule.several else t("moves.check.piece_shape", k=i)
        check = shape_check(rule.code if not rule.several else f"({rule.code})[{i}]", shape, got)
        check.label = label
        ex.checks.append(check)
    if len(rule.shapes) != len(outputs):
        ex.checks.append(Check(t("moves.check.count"), rule.code, len(rule.shapes), len(outputs), False))
    ex.checks += rule.checks
    if meta:
        ex.checks.append(skipped_check())
        return ex
    if rule.trace is not None:
        ex.checks += element_checks(rule, outputs, call.result_name)
    return ex


def element_checks(rule: Rule, outputs: list[torch.Tensor], name: str = "y") -> list[Check]:
    checks: list[Check] = []
    probes = rule.probes
    if probes is None:
        probes = []
        for k, out in enumerate(outputs):
            if out.numel():
                probes = [(k, (0,) * out.dim())]
                break
        last = max((k for k, out in enumerate(outputs) if out.numel()), default=None)
        if last is not None:
            out = outputs[last]
            probes.append((last, tuple(s - 1 for s in out.shape)))
    seen: set[tuple[int, tuple[int, ...]]] = set()
    for k, idx in probes:
        if (k, idx) in seen or k >= len(outputs) or outputs[k].numel() == 0:
            continue
        seen.add((k, idx))
        assert rule.trace is not None
        traced = rule.trace(k, idx)
        if traced is None:
            continue
        expression, manual, n_terms = traced
        out = outputs[k]
        got = out[idx].item() if out.dim() else out.item()
        label = (
            t("moves.check.element", name=name, index=fmt_index(idx))
            if not rule.several
            else t("moves.check.piece", k=k, name=name, index=fmt_index(idx))
        )
        checks.append(Check(label, expression, _num(manual), _num(got), same(manual, got, n_terms, out)))
    return checks


def same(manual: Any, got: Any, n_terms: int, out: torch.Tensor) -> bool:
    if isinstance(manual, complex) or isinstance(got, complex):
        return complex(manual) == complex(got)
    eps = eps_of(str(out.dtype).removeprefix("torch."))
    return agrees(float(manual), float(got), abs(float(manual)), n_terms, eps)


def _num(v: Any) -> Any:
    if isinstance(v, complex):
        return str(v)
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return fmt_num(v)
    return v


def _as_list(result: Any) -> list[torch.Tensor]:
    import torch

    if isinstance(result, torch.Tensor):
        return [result]
    return [r for r in result if isinstance(r, torch.Tensor)]


def read(values: Any, idx: Sequence[int]) -> Any:
    """The element at idx of nested lists (x.tolist()), by plain Python indexing."""
    for i in idx:
        values = values[i]
    return values


def at(name: str, idx: Sequence[int]) -> str:
    """`x[1, 2]` as Python writes the element; `x` alone for a 0-d tensor."""
    return f"{name}[{fmt_index(idx)}]" if len(idx) else name


def copied(name: str, values: Any, idx: Sequence[int], via: str = "") -> Traced:
    """An element copied from name[idx]: the expression shows where, the value is read by hand."""
    where = at(name, idx)
    return (f"{via} = {where}" if via else where, read(values, idx), 0)


def wrap(dim: int, n: int) -> int:
    """A dim counted from the start, as torch reads it (a 0-d tensor has dims -1 and 0)."""
    m = max(n, 1)
    if not -m <= dim < m:
        raise NoRule
    return dim % m


def ints(value: Any) -> list[int]:
    """An int, a tuple/list of ints or torch.Size as a list of ints."""
    import torch

    if isinstance(value, torch.Tensor):
        if value.device.type == "meta":
            raise NoRule
        return [int(v) for v in value.reshape(-1).tolist()]
    if isinstance(value, int):
        return [value]
    return [int(v) for v in value]


def rest_ints(call: Call, index: int, name: str) -> list[int]:
    """Sizes given either spread (x.repeat(2, 3)) or as one sequence (x.repeat((2, 3)))."""
    if len(call.args) > index + 1:
        return [int(v) for v in call.args[index:]]
    value = _calls.arg(call, index, name)
    if value is None:
        raise NoRule
    return ints(value)


def dim_table(rows: list[list[str]], moved: Sequence[int] = ()) -> Table:
    """The table most rules show: one row per dimension of the result."""
    table = Table([t("moves.col.dim"), t("moves.col.from"), t("moves.col.size")], [])
    for i, row in enumerate(rows):
        table.add(row, "stretched" if i in moved else "ok")
    return table


def torch_text(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def shape_text(shape: Sequence[int]) -> str:
    return fmt_shape(list(shape))
