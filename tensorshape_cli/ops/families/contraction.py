"""Contractions: mm, bmm, mv, dot, outer, inner, tensordot, einsum, bilinear, addmm & co, kron.

Every contraction but kron is one einsum: each operand's dims get letters, a letter shared by
operands is one index running over both, the letters of the output are kept and the others
are summed. So every op here is explained the same way: its einsum equation, a table of
letters (which operand dims each labels, its size, summed or kept), the output's shape from
the kept letters, and one output element written out as the sum torch computes, checked
against torch's own element in float64. matmul/@ and F.linear have dedicated specs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tensorshape_cli import registry, settings
from tensorshape_cli.describe import dtype_name
from tensorshape_cli.explanation import MISMATCH, OK, STRETCHED, Check, Explanation, OpError, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.ops import _calls
from tensorshape_cli.ops._common import (
    agrees,
    eps_of,
    shape_check,
    skipped_check,
    unravel,
    written_sum,
)
from tensorshape_cli.text import MAX_TERMS_SHOWN, elide_terms, fmt_index, fmt_num, fmt_shape

if TYPE_CHECKING:
    import torch

    from tensorshape_cli.registry import Call

# A hand sum longer than this is not written out: the check would cost more than the op.
MAX_HAND_TERMS = 20_000
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# letters for ops whose dims have no conventional names (inner, tensordot): i, j, … first
POOL = "ijlmnopqrstuvwxyzabcdefgh"

# Message ids built at run time (tests check each is in both catalogs).
RUN_TIME_IDS = (
    "contraction.role.summed",
    "contraction.role.kept",
    "contraction.role.batch",
    *(f"contraction.op.{op}" for op in ("mm", "bmm", "mv", "dot", "vdot", "outer", "inner", "tensordot")),
    *(f"contraction.op.{op}" for op in ("einsum", "bilinear", "addmm", "addmv", "baddbmm", "addbmm")),
    *(f"contraction.op.{op}" for op in ("chain", "kron")),
)


@dataclass
class Operand:
    name: str
    tensor: torch.Tensor
    letters: list[str]
    conj: bool = False  # vdot conjugates its first operand


@dataclass
class Plan:
    """An op as an einsum: operands with a letter per dim, the output's letters, and the
    optional `beta * addend + alpha * (…)` of addmm & co (bilinear's bias is an addend)."""

    op: str
    operands: list[Operand]
    out: list[str]
    equation: str
    addend: tuple[str, torch.Tensor] | None = None
    alpha: Any = 1
    beta: Any = 1
    ellipsis: set[str] = field(default_factory=set)  # letters standing for einsum's "..."
    broadcasts: bool = True  # einsum stretches a size-1 letter; mm, bmm, dot… do not


class PlanError(Exception):
    def __init__(self, error: OpError) -> None:
        super().__init__(error.message)
        self.error = error


# --- the call as an einsum -----------------------------------------------------------------------


def named_operands(call: Call) -> list[tuple[str, Any]]:
    """The tensors with the user's names; those of a list written `[a, b, c]` get a, b, c."""
    import torch

    named: list[tuple[str, Any]] = []
    for i, value in enumerate(call.args):
        code = _code(call, i, f"arg{i}")
        if isinstance(value, torch.Tensor):
            named.append((code, value))
        elif isinstance(value, (list, tuple)):
            parts = [p.strip() for p in code.strip()[1:-1].split(",")] if code.strip()[:1] in "[(" else []
            parts = [p for p in parts if p]
            simple = len(parts) == len(value) and all(p.isidentifier() for p in parts)
            for j, item in enumerate(value):
                if isinstance(item, torch.Tensor):
                    named.append((parts[j] if simple else f"{code}[{j}]", item))
    for key, value in call.kwargs.items():
        if isinstance(value, torch.Tensor):
            named.append((call.keyword_codes.get(key, key), value))
    return named


def _is_method(call: Call) -> bool:
    return bool(call.codes) and call.name.startswith(call.codes[0] + ".")


def spelled(call: Call, codes: Sequence[str]) -> str:
    """The user's call with other operand texts: `a.mm(b.T)` or `torch.mm(a, b.T)`."""
    if _is_method(call):
        method = call.name[len(call.codes[0]) + 1 :]
        return f"{codes[0]}.{method}({', '.join(codes[1:])})"
    return f"{call.name}({', '.join(codes)})"


def _code(call: Call, i: int, default: str) -> str:
    return call.codes[i] if i < len(call.codes) else default


def _tensor_at(call: Call, i: int, key: str) -> tuple[str, torch.Tensor]:
    value = _calls.arg(call, i, key)
    code = _code(call, i, key) if i < len(call.args) else call.keyword_codes.get(key, key)
    return code, value


def _rank_error(kind: str, op: str, name: str, x: torch.Tensor, want: str, hint: str) -> PlanError:
    return PlanError(
        OpError(
            kind,
            t(
                "contraction.rank",
                op=op,
                name=name,
                shape=fmt_shape(x.shape),
                n=x.dim(),
                want=want,
                torch=_said(),
            ),
            hint,
        )
    )


def plan_for(op: str, call: Call) -> Plan:
    """The einsum that `call` computes (PlanError when a rank rules it out)."""
    if op == "einsum":
        return _einsum_plan(call)
    if op in ("mm", "bmm", "mv", "dot", "vdot", "outer", "ger", "inner"):
        (na, a), (nb, b) = _tensor_at(call, 0, "input"), _tensor_at(call, 1, "mat2")
        return _pair_plan(op, call, na, a, nb, b)
    if op in ("addmm", "addmv", "baddbmm", "addbmm"):
        ni, inp = _tensor_at(call, 0, "input")
        na, a = _tensor_at(call, 1, "mat1" if op == "addmm" else ("mat" if op == "addmv" else "batch1"))
        nb, b = _tensor_at(call, 2, "mat2" if op == "addmm" else ("vec" if op == "addmv" else "batch2"))
        inner = {"addmm": "mm", "addmv": "mv", "baddbmm": "bmm", "addbmm": "bmm"}[op]
        plan = _pair_plan(inner, call, na, a, nb, b, method_hint=False)
        if op == "addbmm":  # the batch letter is summed too
            plan.out = ["i", "k"]
        plan.op = op
        plan.addend = (ni, inp)
        plan.beta = call.kwargs.get("beta", 1)  # keyword-only in torch
        plan.alpha = call.kwargs.get("alpha", 1)
        plan.equation = _equation(plan)
        return plan
    if op == "tensordot":
        return _tensordot_plan(call)
    if op == "bilinear":
        return _bilinear_plan(call)
    if op == "chain":
        return _chain_plan(call)
    raise ValueError(op)


def _equation(plan: Plan) -> str:
    return ",".join("".join(o.letters) for o in plan.operands) + "->" + "".join(plan.out)


def _pair_plan(
    op: str, call: Call, na: str, a: torch.Tensor, nb: str, b: torch.Tensor, method_hint: bool = True
) -> Plan:
    shown = {"ger": "outer"}.get(op, op)
    matmul = f"torch.matmul({na}, {nb})"
    if op == "mm":
        for name, x in ((na, a), (nb, b)):
            if x.dim() != 2:
                if x.dim() > 2 and name == na and b.dim() == 2:
                    hint = t("contraction.mm.rank.hint", matmul=matmul, flat=f"{na}.flatten(0, -2).mm({nb})")
                else:
                    hint = t("contraction.mm.rank.hint_matmul", matmul=matmul)
                raise _rank_error("mm_rank", "mm", name, x, "2", hint)
        letters = (["i", "j"], ["j", "k"], ["i", "k"])
    elif op == "bmm":
        for name, x in ((na, a), (nb, b)):
            if x.dim() != 3:
                raise _rank_error(
                    "bmm_rank", "bmm", name, x, "3", t("contraction.mm.rank.hint_matmul", matmul=matmul)
                )
        letters = (["b", "i", "j"], ["b", "j", "k"], ["b", "i", "k"])
    elif op == "mv":
        if a.dim() != 2:
            raise _rank_error(
                "mv_rank", "mv", na, a, "2", t("contraction.mm.rank.hint_matmul", matmul=matmul)
            )
        if b.dim() != 1:
            raise _rank_error(
                "mv_rank", "mv", nb, b, "1", t("contraction.mm.rank.hint_matmul", matmul=matmul)
            )
        letters = (["i", "j"], ["j"], ["i"])
    elif op in ("dot", "vdot"):
        for name, x in ((na, a), (nb, b)):
            if x.dim() != 1:
                hint = t(
                    "contraction.dot.rank.hint",
                    sum=f"({na} * {nb}).sum()",
                    flat=f"{na}.flatten().{op}({nb}.flatten())",
                )
                raise _rank_error("dot_rank", op, name, x, "1", hint)
        letters = (["i"], ["i"], [])
    elif op in ("outer", "ger"):
        for name, x in ((na, a), (nb, b)):
            if x.dim() != 1:
                hint = t(
                    "contraction.outer.rank.hint", flat=spelled(call, [f"{na}.flatten()", f"{nb}.flatten()"])
                )
                raise _rank_error("outer_rank", shown, name, x, "1", hint)
        letters = (["i"], ["j"], ["i", "j"])
    else:  # inner: the last dims are contracted, all others kept (a's, then b's)
        if a.dim() == 0 or b.dim() == 0:  # a scalar multiplies
            la = [POOL[i] for i in range(a.dim())]
            lb = [POOL[a.dim() + i] for i in range(b.dim())]
            letters = (la, lb, la + lb)
        else:
            pool = POOL
            la = [pool[i] for i in range(a.dim() - 1)] + ["k"]
            lb = [pool[a.dim() - 1 + i] for i in range(b.dim() - 1)] + ["k"]
            letters = (la, lb, la[:-1] + lb[:-1])
    plan = Plan(
        shown,
        [Operand(na, a, letters[0], conj=op == "vdot"), Operand(nb, b, letters[1])],
        letters[2],
        "",
        broadcasts=False,
    )
    plan.equation = _equation(plan)
    return plan


def _tensordot_plan(call: Call) -> Plan:
    (na, a), (nb, b) = _tensor_at(call, 0, "a"), _tensor_at(call, 1, "b")
    dims = _calls.arg(call, 2, "dims", 2)
    if isinstance(dims, int):
        da, db = list(range(a.dim() - dims, a.dim())), list(range(dims))
    else:
        da, db = ([int(d) for d in _as_list(dims[0])], [int(d) for d in _as_list(dims[1])])
    da = [d % max(a.dim(), 1) for d in da]
    db = [d % max(b.dim(), 1) for d in db]
    la = [LETTERS[8 + i] for i in range(a.dim())]  # i, j, k, …
    lb = [LETTERS[8 + a.dim() + i] for i in range(b.dim())]
    for x, y in zip(da, db, strict=False):
        if y < len(lb) and x < len(la):
            lb[y] = la[x]
    out = [c for d, c in enumerate(la) if d not in da] + [c for d, c in enumerate(lb) if d not in db]
    plan = Plan("tensordot", [Operand(na, a, la), Operand(nb, b, lb)], out, "", broadcasts=False)
    plan.equation = _equation(plan)
    return plan


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _bilinear_plan(call: Call) -> Plan:
    (n1, x1), (n2, x2) = _tensor_at(call, 0, "input1"), _tensor_at(call, 1, "input2")
    nw, w = _tensor_at(call, 2, "weight")
    bias = _calls.arg(call, 3, "bias")
    nbias = _code(call, 3, call.keyword_codes.get("bias", "bias"))
    batch = [c for c in "nmpqrstuvw"][: max(x1.dim() - 1, 0)]
    plan = Plan(
        "bilinear",
        [Operand(n1, x1, [*batch, "i"]), Operand(nw, w, ["o", "i", "j"]), Operand(n2, x2, [*batch, "j"])],
        [*batch, "o"],
        "",
        addend=(nbias, bias) if bias is not None else None,
        broadcasts=False,
    )
    if w.dim() != 3:
        raise _rank_error("bilinear_rank", "bilinear", nw, w, "3", t("contraction.bilinear.rank.hint", w=nw))
    plan.equation = _equation(plan)
    return plan


def _chain_plan(call: Call) -> Plan:
    named = named_operands(call)
    ops: list[Operand] = []
    for i, (name, x) in enumerate(named):
        if x.dim() not in (1, 2) or (x.dim() == 1 and 0 < i < len(named) - 1):
            raise _rank_error(
                "chain_rank",
                "multi_dot",
                name,
                x,
                "2",
                t("contraction.mm.rank.hint_matmul", matmul=f"{name}.flatten(0, -2)"),
            )
        if x.dim() == 1:
            ops.append(Operand(name, x, [LETTERS[i]]))
        else:
            ops.append(Operand(name, x, [LETTERS[i], LETTERS[i + 1]]))
    if not ops:
        raise PlanError(
            OpError(
                "chain_rank", t("contraction.chain.empty", torch=_said()), t("contraction.chain.empty.hint")
            )
        )
    first = [ops[0].letters[0]] if ops[0].tensor.dim() == 2 else []
    last = [ops[-1].letters[-1]] if ops[-1].tensor.dim() == 2 and len(ops) > 1 else []
    out = list(ops[0].letters) if len(ops) == 1 else first + last
    plan = Plan("chain", ops, out, "", broadcasts=False)
    plan.equation = _equation(plan)
    return plan


def _einsum_plan(call: Call) -> Plan:
    import torch

    equation, named = _einsum_args(call, torch)
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(named):
        raise PlanError(
            OpError(
                "einsum_operands",
                t("contraction.einsum.operands", eq=equation, terms=len(terms), n=len(named), torch=_said()),
                t("contraction.einsum.operands.hint", terms=len(terms), n=len(named)),
            )
        )
    used = set(eq) - set(",->.")
    spare = [c for c in LETTERS if c not in used]
    ellipsis_rank = 0
    parsed: list[list[str]] = []
    for i, ((name, x), term) in enumerate(zip(named, terms, strict=True)):
        plain = term.replace("...", "")
        if not all(c in LETTERS for c in plain) or term.count("...") > 1 or "." in plain:
            raise PlanError(
                OpError(
                    "einsum_syntax",
                    t("contraction.einsum.syntax", term=term, torch=_said()),
                    t("contraction.einsum.syntax.hint"),
                )
            )
        # without "...", one letter per dimension; with it, no more letters than dimensions
        if len(plain) > x.dim() or ("..." not in term and len(plain) != x.dim()):
            raise PlanError(
                OpError(
                    "einsum_rank",
                    t(
                        "contraction.einsum.rank",
                        i=i,
                        name=name,
                        term=term,
                        k=len(plain),
                        shape=fmt_shape(x.shape),
                        n=x.dim(),
                        torch=_said(),
                    ),
                    t("contraction.einsum.rank.hint", name=name, n=x.dim()),
                )
            )
        ellipsis_rank = max(ellipsis_rank, x.dim() - len(plain) if "..." in term else 0)
        parsed.append(list(term.replace("...", ".")))
    dots = spare[:ellipsis_rank]
    operands = []
    for (name, x), letters in zip(named, parsed, strict=True):
        if "." in letters:
            k = x.dim() - (len(letters) - 1)
            at = letters.index(".")
            letters = letters[:at] + dots[ellipsis_rank - k :] + letters[at + 1 :]
        operands.append(Operand(name, x, letters))
    if arrow:
        if rhs.count("...") > 1 or not all(c in LETTERS for c in rhs.replace("...", "")):
            raise PlanError(
                OpError(
                    "einsum_syntax",
                    t("contraction.einsum.syntax", term=rhs, torch=_said()),
                    t("contraction.einsum.syntax.hint"),
                )
            )
        out_raw = list(rhs.replace("...", "."))
        inputs = {c for o in parsed for c in o if c != "."}
        for c in out_raw:
            if c != "." and c not in inputs:
                raise PlanError(
                    OpError(
                        "einsum_output",
                        t("contraction.einsum.output_letter", letter=c, eq=equation, torch=_said()),
                        t(
                            "contraction.einsum.output_letter.hint",
                            letters=", ".join(sorted(inputs)),
                        ),
                    )
                )
            if c != "." and out_raw.count(c) > 1:
                raise PlanError(
                    OpError(
                        "einsum_output",
                        t("contraction.einsum.output_twice", letter=c, eq=equation, torch=_said()),
                        t("contraction.einsum.output_twice.hint", letter=c),
                    )
                )
        out: list[str] = []
        for c in out_raw:
            out += dots if c == "." else [c]
    else:  # implicit: the ellipsis dims, then the letters seen once, in alphabetical order
        counts: dict[str, int] = {}
        for o in parsed:
            for c in o:
                counts[c] = counts.get(c, 0) + 1
        out = dots + sorted(c for c, n in counts.items() if n == 1 and c != ".")
    plan = Plan("einsum", operands, out, equation, ellipsis=set(dots))
    return plan


def _einsum_args(call: Call, torch: Any) -> tuple[str, list[tuple[str, torch.Tensor]]]:
    """(equation, named operands) for einsum("ij,jk", a, b), einsum("…", [a, b]) and the
    sublist form einsum(a, [0, 1], b, [1, 2], [0, 2])."""
    args = call.args
    if args and isinstance(args[0], str):
        rest = args[1:]
        if len(rest) == 1 and isinstance(rest[0], (list, tuple)):
            code = _code(call, 1, "")
            parts = [p.strip() for p in code.strip("[]()").split(",")] if code[:1] in "[(" else []
            names = (
                parts
                if len(parts) == len(rest[0])
                else [f"{code or 'operands'}[{i}]" for i in range(len(rest[0]))]
            )
            return args[0], list(zip(names, rest[0], strict=True))
        return args[0], [(_code(call, i + 1, f"op{i}"), x) for i, x in enumerate(rest)]
    named: list[tuple[str, Any]] = []
    terms: list[str] = []
    i = 0
    while i + 1 < len(args) and isinstance(args[i], torch.Tensor):
        named.append((_code(call, i, f"op{len(named)}"), args[i]))
        terms.append("".join(LETTERS[int(k)] if k is not Ellipsis else "..." for k in args[i + 1]))
        i += 2
    eq = ",".join(terms)
    if i < len(args):
        eq += "->" + "".join(LETTERS[int(k)] if k is not Ellipsis else "..." for k in args[i])
    return eq, named


# --- sizes: one per letter, or a clash -------------------------------------------------------------


@dataclass
class LetterInfo:
    letter: str
    where: list[tuple[str, int, int]]  # (operand name, dim, size)
    size: int | None  # None: the sizes clash


def letter_sizes(plan: Plan) -> list[LetterInfo]:
    order: list[str] = []
    where: dict[str, list[tuple[str, int, int]]] = {}
    for o in plan.operands:
        for d, c in enumerate(o.letters):
            if c not in where:
                order.append(c)
                where[c] = []
            where[c].append((o.name, d, int(o.tensor.shape[d])))
    result = []
    for c in order:
        sizes = {s for _, _, s in where[c]}
        if plan.broadcasts and c not in _repeated_within(plan, c):
            big = sizes - {1}
            size = None if len(big) > 1 else (max(big) if big else 1)
        else:
            size = None if len(sizes) > 1 else next(iter(sizes))
        result.append(LetterInfo(c, where[c], size))
    return result


def _repeated_within(plan: Plan, letter: str) -> set[str]:
    """{letter} when some operand names it twice (a diagonal: sizes must match exactly)."""
    return {letter} if any(o.letters.count(letter) > 1 for o in plan.operands) else set()


def _shown(plan: Plan, letter: str) -> str:
    return "…" if letter in plan.ellipsis else letter


def _mismatch_message(codes: list[str], a: torch.Tensor, b: torch.Tensor, ka: int, kb: int) -> str:
    """mm's and bmm's words for inner sizes that differ: both shapes and both sizes."""
    return t(
        "contraction.mm.mismatch",
        a=codes[0],
        b=codes[1],
        sa=fmt_shape(a.shape),
        sb=fmt_shape(b.shape),
        ka=ka,
        kb=kb,
        torch=_said(),
    )


def clash_error(plan: Plan, call: Call, bad: LetterInfo) -> OpError:
    """The first letter whose sizes clash, said with both operands' sizes, and the fix."""
    sides = ", ".join(t("contraction.where", name=n, dim=d, size=s) for n, d, s in bad.where)
    letter = _shown(plan, bad.letter)
    (n1, d1, s1), (n2, d2, s2) = bad.where[0], next(w for w in bad.where if w[2] != bad.where[0][2])
    op = plan.op
    codes = [o.name for o in plan.operands]
    if op in ("mm", "addmm", "mv", "addmv") and len(codes) == 2:
        a, b = plan.operands[0].tensor, plan.operands[1].tensor
        message = _mismatch_message(codes, a, b, s1, s2)
        if op in ("mm", "addmm") and b.shape[1] == a.shape[1]:
            hint = t("contraction.hint.transpose", code=_respell(call, plan, 1, f"{codes[1]}.T"))
        elif op in ("mm", "addmm") and a.shape[0] == b.shape[0]:
            hint = t("contraction.hint.transpose", code=_respell(call, plan, 0, f"{codes[0]}.T"))
        else:
            hint = t("contraction.mm.mismatch.hint", a=codes[0], b=codes[1], ka=s1, kb=s2)
        return OpError("contraction_mismatch", message, hint)
    if op in ("bmm", "baddbmm", "addbmm") and bad.letter == "b":
        message = t("contraction.bmm.batch", a=n1, b=n2, ba=s1, bb=s2, torch=_said())
        hint = (
            t("contraction.bmm.batch.hint_one", matmul=f"torch.matmul({n1}, {n2})")
            if 1 in (s1, s2)
            else t("contraction.bmm.batch.hint", a=n1, b=n2, ba=s1, bb=s2)
        )
        return OpError("bmm_batch_mismatch", message, hint)
    if op in ("bmm", "baddbmm", "addbmm"):
        a, b = plan.operands[0].tensor, plan.operands[1].tensor
        message = _mismatch_message(codes, a, b, s1, s2)
        if b.shape[2] == a.shape[2]:
            hint = t("contraction.hint.transpose", code=_respell(call, plan, 1, f"{codes[1]}.mT"))
        else:
            hint = t("contraction.mm.mismatch.hint", a=codes[0], b=codes[1], ka=s1, kb=s2)
        return OpError("contraction_mismatch", message, hint)
    message = t("contraction.letter_clash", letter=letter, sides=sides, torch=_said())
    if op == "einsum":
        rule = (
            t("contraction.einsum.broadcast_rule")
            if plan.broadcasts and not _repeated_within(plan, bad.letter)
            else ""
        )
        hint = t("contraction.einsum.clash.hint", letter=letter, a=n1, da=d1, sa=s1, b=n2, db=d2, sb=s2)
        message = t("contraction.einsum.clash", letter=letter, sides=sides, rule=rule, torch=_said())
        return OpError("einsum_size", message, hint)
    hint = t("contraction.clash.hint", a=n1, da=d1, sa=s1, b=n2, db=d2, sb=s2)
    return OpError("contraction_mismatch", message, hint)


def _respell(call: Call, plan: Plan, which: int, new: str) -> str:
    """The user's call with one operand of the product replaced (`b` → `b.T`)."""
    codes = list(call.codes)
    target = plan.operands[which].name
    if target in codes:
        codes[codes.index(target)] = new
        return spelled(call, codes)
    return new


def _said() -> str:
    """torch's own message for the failing call, quoted in ours (kept in the run's memo)."""
    return settings.memo().said


# --- the explanation ------------------------------------------------------------------------------


def explain_op(op: str) -> Any:
    def explain(call: Call) -> Explanation:
        return _explain(op, call)

    return explain


def _explain(op: str, call: Call) -> Explanation:
    shown = {"ger": "outer", "chain_matmul": "chain", "multi_dot": "chain"}.get(op, op)
    ex = _calls.start(
        call,
        shown,
        t("contraction.title", op=t(f"contraction.op.{'kron' if op == 'kron' else _op_word(shown)}")),
    )
    if op == "kron":
        return _explain_kron(ex, call)
    ok, result = _calls.run(ex, call)
    memo = settings.memo()
    outer, memo.said = memo.said, (ex.error.message if ex.error is not None else "")
    try:
        with settings.use(settings.current(), memo):  # this run, or one for this call when outside any
            return _explain_plan(ex, shown, call, ok, result)
    finally:
        memo.said = outer


def _explain_plan(ex: Explanation, op: str, call: Call, ok: bool, result: Any) -> Explanation:
    try:
        plan = plan_for(op, call)
    except PlanError as e:
        if not ok:
            ex.error = e.error
        else:  # torch took what our rule refused: show torch's result as it is
            _calls.result_step(ex, call, result)
        return ex
    letters = letter_sizes(plan)
    ex.steps.append(_letter_step(plan, letters))
    bad = next((li for li in letters if li.size is None), None)
    if not ok:
        if bad is not None:
            ex.error = clash_error(plan, call, bad)
        elif plan.addend is not None:
            ex.error = _addend_error(plan, letters, call) or ex.error
        if ex.error is not None and ex.error.kind == "torch_error":
            ex.error = _dtype_error(plan, call) or ex.error
        return ex
    sizes = {li.letter: li.size or 0 for li in letters}
    predicted = [sizes[c] for c in plan.out]
    ex.steps.append(_rule_step(plan, sizes, predicted))
    element = _element_index(plan, predicted)
    symbolic = _symbolic(plan, sizes, element)
    if symbolic:
        index = fmt_index(element)
        ex.steps.append(
            Step(
                t("contraction.element.title"),
                f"{call.code or call.name}[{index}]" if element else (call.code or call.name),
                None,
                t("contraction.element.note", element=f"y[{index}]" if element else "y", sum=symbolic),
            )
        )
    _calls.result_step(ex, call, result, t("contraction.result", shape=fmt_shape(result.shape)))
    ex.checks.append(shape_check(t("contraction.check.shape", eq=plan.equation), predicted, result.shape))
    if result.device.type == "meta" or any(o.tensor.device.type == "meta" for o in plan.operands):
        ex.checks.append(skipped_check())
    else:
        ex.checks.extend(_hand_checks(plan, sizes, result, predicted))
    return ex


def _op_word(op: str) -> str:
    return op


def _letter_step(plan: Plan, letters: list[LetterInfo]) -> Step:
    rows: list[list[str]] = []
    status: list[str] = []
    marked: list[list[int]] = []
    for li in letters:
        where = ", ".join(t("contraction.where", name=n, dim=d, size=s) for n, d, s in li.where)
        if li.size is None:
            role, st = t("contraction.role.clash"), MISMATCH
        elif li.letter in plan.out:
            role = t("contraction.role.kept", pos=plan.out.index(li.letter))
            st = STRETCHED if any(s != li.size for _, _, s in li.where) else OK
        else:
            role, st = t("contraction.role.summed"), OK
            marked.append([len(rows), 0])
        if li.letter in plan.ellipsis and li.size is not None:
            role += " · " + t("contraction.role.batch")
        rows.append([_shown(plan, li.letter), where, "—" if li.size is None else str(li.size), role])
        status.append(st)
    table = Table(
        [
            t("contraction.col.letter"),
            t("contraction.col.where"),
            t("contraction.col.size"),
            t("contraction.col.role"),
        ],
        rows,
        marked,
        status,
    )
    names = ", ".join(o.name for o in plan.operands)
    code = f'torch.einsum("{plan.equation}", {names})'
    if plan.addend is not None:
        code = (
            f"{code} + {plan.addend[0]}"
            if (plan.alpha, plan.beta) == (1, 1)
            else f"{_num(plan.beta)}*{plan.addend[0]} + {_num(plan.alpha)}*{code}"
        )
    summed = [_shown(plan, li.letter) for li in letters if li.letter not in plan.out]
    note = t(
        "contraction.letters.note",
        eq=plan.equation,
        summed=", ".join(summed) or t("contraction.none"),
        kept=", ".join(_shown(plan, c) for c in plan.out) or t("contraction.none"),
    )
    if plan.op != "einsum":
        note = t("contraction.as_einsum", op=plan.op, eq=plan.equation) + " " + note
    if plan.ellipsis:
        note += " " + t("contraction.ellipsis.note")
    elif plan.op in ("bmm", "baddbmm"):
        note += " " + t("contraction.bmm.note")
    return Step(t("contraction.letters.title"), code, None, note, table)


def _num(value: Any) -> str:
    return fmt_num(value)


def _rule_step(plan: Plan, sizes: dict[str, int], predicted: list[int]) -> Step:
    summed = [c for c in sizes if c not in plan.out]
    count = math.prod(sizes[c] for c in summed)
    note = t(
        "contraction.rule.note",
        out=" ".join(_shown(plan, c) for c in plan.out) or "—",
        shape=fmt_shape(predicted),
        summed=" × ".join(f"{_shown(plan, c)}={sizes[c]}" for c in summed) or t("contraction.none"),
        count=count,
    )
    if plan.addend is not None:
        note += " " + t(
            "contraction.addend.note",
            name=plan.addend[0],
            shape=fmt_shape(plan.addend[1].shape),
            beta=_num(plan.beta),
            alpha=_num(plan.alpha),
            out=fmt_shape(predicted),
        )
    return Step(t("contraction.rule.title"), f"{plan.operands[0].name}.shape", None, note)


def _element_index(plan: Plan, shape: list[int]) -> list[int]:
    """The element written out: the notebook's y[0, 1] when there is one, else the first."""
    if not shape or math.prod(shape) == 0:
        return [0] * len(shape)
    return unravel(min(1, math.prod(shape) - 1), shape)


def _assignments(
    plan: Plan, sizes: dict[str, int], index: list[int]
) -> tuple[list[str], list[dict[str, int]]]:
    summed = [c for c in sizes if c not in plan.out]
    fixed = dict(zip(plan.out, index, strict=True))
    combos = []
    for values in itertools.product(*(range(sizes[c]) for c in summed)):
        combos.append({**fixed, **dict(zip(summed, values, strict=True))})
    return summed, combos


def _position(o: Operand, where: dict[str, int]) -> list[int]:
    # a size-1 dim stretched by einsum's broadcasting is read at 0
    return [0 if o.tensor.shape[d] == 1 else where[c] for d, c in enumerate(o.letters)]


def _symbolic(plan: Plan, sizes: dict[str, int], index: list[int]) -> str:
    """`a[0,0]*b[0,1] + a[0,1]*b[1,1] + …`, the middle elided for long sums."""
    summed = [c for c in sizes if c not in plan.out]
    if math.prod(sizes[c] for c in summed) > MAX_HAND_TERMS or (
        plan.out and math.prod(sizes[c] for c in plan.out) == 0
    ):
        return ""
    _, combos = _assignments(plan, sizes, index)
    terms = []
    for where in combos[:MAX_TERMS_SHOWN] + combos[-1:]:
        factors = []
        for o in plan.operands:
            pos = ",".join(str(p) for p in _position(o, where))
            ref = f"{o.name}[{pos}]" if o.letters else o.name
            factors.append(f"{ref}.conj()" if o.conj else ref)
        terms.append("*".join(factors))
    terms = elide_terms(terms[:-1] if len(combos) <= MAX_TERMS_SHOWN else terms, len(combos))
    text = " + ".join(terms) if terms else "0"
    if plan.addend is not None:
        name, x = plan.addend
        pos = ",".join(str(p) for p in _addend_position(x, index))
        ref = f"{name}[{pos}]" if x.dim() else name
        text = (
            f"{_num(plan.beta)}*{ref} + {_num(plan.alpha)}*({text})"
            if (plan.alpha, plan.beta) != (1, 1)
            else f"{text} + {ref}"
        )
    return text


def _addend_position(x: torch.Tensor, index: list[int]) -> list[int]:
    """Where an addend broadcast to the result is read for output `index` (right-aligned)."""
    tail = index[len(index) - x.dim() :] if x.dim() else []
    return [0 if s == 1 else i for s, i in zip(x.shape, tail, strict=False)]


def _hand_checks(plan: Plan, sizes: dict[str, int], result: torch.Tensor, shape: list[int]) -> list[Check]:
    """One output element as the sum of products torch computes, in float64 from the inputs."""
    summed = [c for c in sizes if c not in plan.out]
    if (shape and math.prod(shape) == 0) or math.prod(sizes[c] for c in summed) > MAX_HAND_TERMS:
        return []
    index = _element_index(plan, shape)
    values = [o.tensor.detach().tolist() for o in plan.operands]
    _, combos = _assignments(plan, sizes, index)
    terms: list[list[Any]] = []
    for where in combos:
        factors = []
        for o, v in zip(plan.operands, values, strict=True):
            for p in _position(o, where):
                v = v[p]
            factors.append(v.conjugate() if o.conj and isinstance(v, complex) else v)
        terms.append(factors)
    products = [math.prod(f) for f in terms]
    total: Any = sum(products) if products else 0
    magnitude = sum(abs(p) for p in products)
    tail = None
    if plan.addend is not None:
        _, x = plan.addend
        v = x.detach().tolist()
        for p in _addend_position(x, index):
            v = v[p]
        tail = v
        total = plan.alpha * total + (plan.beta * v if plan.beta != 0 else 0)
        magnitude = abs(plan.alpha) * magnitude + abs(plan.beta * v)
    if not result.is_floating_point() and not result.is_complex():
        total = _wrap_int(total, result)
    computed = result.detach()[tuple(index)].item()
    eps = eps_of(dtype_name(result.dtype))
    manual: Any
    theirs: Any
    if isinstance(total, complex) or isinstance(computed, complex):
        ok = all(
            agrees(float(p), float(q), float(magnitude), len(products), eps)
            for p, q in (
                (complex(total).real, complex(computed).real),
                (complex(total).imag, complex(computed).imag),
            )
        )
        manual, theirs = str(total), str(computed)
    else:
        ok = agrees(float(total), float(computed), float(magnitude), len(products), eps)
        manual, theirs = total, computed
    if all(len(f) == 2 for f in terms) and (plan.alpha, plan.beta) == (1, 1):
        expression = written_sum([(f[0], f[1]) for f in terms], tail) if terms else "0"
    else:
        body = " + ".join(elide_terms(["*".join(fmt_num(x) for x in f) for f in terms])) or "0"
        if tail is None:
            expression = body
        elif (plan.alpha, plan.beta) == (1, 1):
            expression = f"{body} + {fmt_num(tail)}"
        else:
            expression = f"{_num(plan.beta)}*{fmt_num(tail)} + {_num(plan.alpha)}*({body})"
    label = t("check.element", index=fmt_index(index)) if index else t("check.whole")
    return [Check(label, expression, manual, theirs, ok)]


def _wrap_int(value: Any, result: torch.Tensor) -> Any:
    """Python's integers do not overflow; torch's int64 (or bool) do as C does."""
    if result.dtype.is_floating_point or isinstance(value, float):
        return value
    if str(result.dtype) == "torch.bool":
        return bool(value)
    bits = result.element_size() * 8
    return ((int(value) + 2 ** (bits - 1)) % 2**bits) - 2 ** (bits - 1)


def _addend_error(plan: Plan, letters: list[LetterInfo], call: Call) -> OpError | None:
    from tensorshape_cli.ops._common import broadcast_shape

    sizes = {li.letter: li.size or 0 for li in letters}
    product = [sizes[c] for c in plan.out]
    name, x = plan.addend or ("", None)
    if x is None:
        return None
    try:
        fits = broadcast_shape([x.shape, product]) == product
    except RuntimeError:
        fits = False
    if fits:
        return None
    return OpError(
        "contraction_addend",
        t(
            "contraction.addend.mismatch",
            name=name,
            shape=fmt_shape(x.shape),
            out=fmt_shape(product),
            torch=_said(),
        ),
        t("contraction.addend.mismatch.hint", name=name, out=fmt_shape(product)),
    )


def _dtype_error(plan: Plan, call: Call) -> OpError | None:
    dtypes = {o.tensor.dtype for o in plan.operands}
    if len(dtypes) < 2:
        return None
    # convert towards the floating-point operand: an int cast would drop the fractions
    first = next((o for o in plan.operands if o.tensor.is_floating_point()), plan.operands[0])
    other = next(o for o in plan.operands if o.tensor.dtype != first.tensor.dtype)
    return OpError(
        "contraction_dtype",
        t(
            "contraction.dtype",
            a=first.name,
            b=other.name,
            da=dtype_name(first.tensor.dtype),
            db=dtype_name(other.tensor.dtype),
            torch=_said(),
        ),
        t(
            "contraction.dtype.hint",
            code=_respell(call, plan, plan.operands.index(other), f"{other.name}.to({first.name}.dtype)"),
        ),
    )


# --- kron: every element of a times the whole of b ------------------------------------------------


def _explain_kron(ex: Explanation, call: Call) -> Explanation:
    (na, a), (nb, b) = _tensor_at(call, 0, "input"), _tensor_at(call, 1, "other")
    ok, result = _calls.run(ex, call)
    if not ok:
        return ex
    n = max(a.dim(), b.dim())
    sa = [1] * (n - a.dim()) + list(a.shape)
    sb = [1] * (n - b.dim()) + list(b.shape)
    predicted = [p * q for p, q in zip(sa, sb, strict=True)]
    rows = [[str(d), str(p), str(q), str(p * q)] for d, (p, q) in enumerate(zip(sa, sb, strict=True))]
    table = Table([t("broadcast.col.dim"), na, nb, t("broadcast.col.result")], rows)
    ex.steps.append(
        Step(
            t("contraction.kron.title"),
            f"torch.kron({na}, {nb})",
            None,
            t("contraction.kron.note", a=na, b=nb),
            table,
        )
    )
    _calls.result_step(ex, call, result, t("contraction.result", shape=fmt_shape(result.shape)))
    ex.checks.append(shape_check(t("contraction.kron.check"), predicted, result.shape))
    if result.device.type == "meta":
        ex.checks.append(skipped_check())
        return ex
    if result.numel() == 0:
        return ex
    index = unravel(min(1, result.numel() - 1), predicted)
    ia = [i // q for i, q in zip(index, sb, strict=True)]
    ib = [i % q for i, q in zip(index, sb, strict=True)]
    va: Any = a.detach().reshape(sa).tolist()
    vb: Any = b.detach().reshape(sb).tolist()
    for i in ia:
        va = va[i]
    for i in ib:
        vb = vb[i]
    manual = (
        _wrap_int(va * vb, result) if not result.is_floating_point() and not result.is_complex() else va * vb
    )
    computed: Any = result.detach()[tuple(index)].item()
    if isinstance(manual, complex) or isinstance(computed, complex):
        same = (
            abs(complex(manual) - complex(computed))
            <= 2 * eps_of(dtype_name(result.dtype)) * abs(complex(manual)) + 1e-12
        )
        manual, computed = str(manual), str(computed)
    else:
        same = agrees(float(manual), float(computed), abs(float(manual)), 1, eps_of(dtype_name(result.dtype)))
    ex.checks.append(
        Check(
            t("check.element", index=fmt_index(index)),
            f"{fmt_num(va)}*{fmt_num(vb)}",
            manual,
            computed,
            same,
        )
    )
    return ex


# --- registration -------------------------------------------------------------------------------

SPECS: dict[str, tuple[str, ...]] = {
    "mm": ("torch.mm", "torch.Tensor.mm"),
    "bmm": ("torch.bmm", "torch.Tensor.bmm"),
    "mv": ("torch.mv", "torch.Tensor.mv"),
    "dot": ("torch.dot", "torch.Tensor.dot"),
    "vdot": ("torch.vdot", "torch.Tensor.vdot"),
    "outer": ("torch.outer", "torch.Tensor.outer", "torch.ger", "torch.Tensor.ger"),
    "inner": ("torch.inner", "torch.Tensor.inner"),
    "tensordot": ("torch.tensordot", "torch.functional.tensordot"),
    # torch.einsum is claimed by ops/einsum.py, which bounds its work and hands it to this spec
    "einsum": (),
    "bilinear": ("torch.nn.functional.bilinear", "torch.bilinear"),
    "addmm": ("torch.addmm", "torch.Tensor.addmm"),
    "addmv": ("torch.addmv", "torch.Tensor.addmv"),
    "baddbmm": ("torch.baddbmm", "torch.Tensor.baddbmm"),
    "addbmm": ("torch.addbmm", "torch.Tensor.addbmm"),
    "chain": ("torch.chain_matmul", "torch.functional.chain_matmul", "torch.linalg.multi_dot"),
    "kron": ("torch.kron", "torch.Tensor.kron"),
}

for _op, _targets in SPECS.items():
    registry.register(
        registry.OpSpec(
            name=f"contraction.{_op}",
            family="contraction",
            explain=explain_op(_op),
            targets=_targets,
            summary="contraction.summary",
        )
    )
