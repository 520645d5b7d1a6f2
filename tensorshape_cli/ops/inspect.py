"""The tensors of a file, as a state-dict summary: name, shape, dtype, elements, and the total.

The tensors come in shape-only (on the meta device): a checkpoint of any size is listed
without reading its data.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tensorshape_cli.describe import dtype_name, info
from tensorshape_cli.explanation import Check, Explanation, Step, Table
from tensorshape_cli.messages import t
from tensorshape_cli.text import fmt_bytes, fmt_count, fmt_shape

if TYPE_CHECKING:
    import torch

MAX_TERMS_SHOWN = 6
MAX_OTHERS_SHOWN = 8

CALLS = {
    "pt": 'torch.load("{path}", weights_only=True)',
    "npy": 'torch.from_numpy(numpy.load("{path}", allow_pickle=False))',
    "safetensors": 'safetensors.torch.load_file("{path}")',
}


def explain(
    path: str, kind: str, tensors: dict[str, torch.Tensor], others: list[str] | None = None
) -> Explanation:
    """`tensors` maps each key (a file name for a lone tensor) to a shape-only tensor."""
    others = others or []
    ex = Explanation(
        op="inspect",
        call=CALLS[kind].format(path=path),
        title=t("inspect.title", path=path),
        inputs={name: info(tensor) for name, tensor in tensors.items()},
    )
    rows = [
        [name, fmt_shape(tensor.shape), dtype_name(tensor.dtype), fmt_count(tensor.numel())]
        for name, tensor in tensors.items()
    ]
    table = Table(
        [t("inspect.col.name"), t("inspect.col.shape"), t("inspect.col.dtype"), t("inspect.col.numel")], rows
    )
    total = sum(tensor.numel() for tensor in tensors.values())
    size = sum(tensor.numel() * tensor.element_size() for tensor in tensors.values())
    note = t(
        "inspect.note",
        count=len(tensors),
        total=fmt_count(total),
        size=fmt_bytes(size),
    )
    if others:
        shown = ", ".join(others[:MAX_OTHERS_SHOWN]) + (" …" if len(others) > MAX_OTHERS_SHOWN else "")
        note += " " + t("inspect.others", count=len(others), keys=shown)
    code = "{k: tuple(v.shape) for k, v in state_dict.items()}" if kind != "npy" else "x.shape"
    ex.steps.append(Step(t("inspect.step"), code, None, note, table))
    # The total, added up by hand from the shapes, against torch's own numel().
    by_hand = sum(math.prod(tensor.shape) for tensor in tensors.values())
    terms = [fmt_count(math.prod(tensor.shape)) for tensor in tensors.values()]
    if len(terms) > MAX_TERMS_SHOWN:
        hidden = len(terms) - MAX_TERMS_SHOWN + 1
        terms = [*terms[: MAX_TERMS_SHOWN - 2], t("check.more_terms", n=hidden), terms[-1]]
    ex.checks.append(
        Check(
            t("inspect.check.label"),
            " + ".join(terms) if terms else "0",
            by_hand,
            total,
            by_hand == total,
        )
    )
    return ex


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, register  # noqa: E402


def _explain_call(call: Call) -> Explanation:
    """The file's path, its kind, its tensors (shape-only) and its other entries."""
    return explain(*call.args)


register(OpSpec("inspect", "dedicated", _explain_call, command="inspect"))
