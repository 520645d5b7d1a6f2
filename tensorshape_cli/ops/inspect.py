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
from tensorshape_cli.text import elide_terms, fmt_bytes, fmt_count, fmt_shape

if TYPE_CHECKING:
    import torch

MAX_OTHERS_SHOWN = 8

CALLS = {
    "pt": 'torch.load("{path}", weights_only=True)',
    "npy": 'torch.from_numpy(numpy.load("{path}", allow_pickle=False))',
    "safetensors": 'safetensors.torch.load_file("{path}")',
}


def explain(
    path: str, kind: str, tensors: dict[str, torch.Tensor], others: list[str] | None = None
) -> Explanation:
    """`tensors` maps each key (a file name for a lone tensor) to a shape-only tensor.

    Keys and the path come from the file and the user: shown with control characters
    escaped (an ESC in a key would drive the terminal, a newline would break -q's lines)."""
    from tensorshape_cli.files import shown_path

    others = [shown_path(k) for k in others or []]
    tensors = {shown_path(k): v for k, v in tensors.items()}
    path = shown_path(path)
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
    terms = elide_terms([fmt_count(math.prod(tensor.shape)) for tensor in tensors.values()])
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


def load_shapes(file: str, dtype: str | None) -> tuple[str, dict[str, torch.Tensor], list[str]]:
    """(kind, {label: shape-only tensor}, non-tensor keys) of a tensor file, read shapes only."""
    from pathlib import Path

    from tensorshape_cli import tensorfiles
    from tensorshape_cli.describe import torch_dtype
    from tensorshape_cli.errors import InputError

    if not file.lower().endswith(tensorfiles.SUFFIXES):
        raise InputError(t("inspect.suffix", path=file, known=", ".join(tensorfiles.SUFFIXES)))
    found = tensorfiles.open_file(Path(file).expanduser(), t("file.arg"))
    cast = torch_dtype(dtype)
    shapes = {found.label(k): v if cast is None else v.to(cast) for k, v in found.shapes.items()}
    return found.kind, shapes, found.others


def explain_against(
    path: str, other: str, checkpoint: dict[str, torch.Tensor], model: dict[str, torch.Tensor]
) -> Explanation:
    """What `model.load_state_dict(checkpoint)` would report, from the two files' shapes alone:
    keys the model has and the checkpoint lacks (missing), keys only the checkpoint has
    (unexpected), and keys in both whose shapes differ (size mismatch)."""
    from tensorshape_cli.explanation import MISMATCH, OK, STRETCHED, OpError
    from tensorshape_cli.files import shown_path

    ex = Explanation(
        op="inspect",
        call=f"model.load_state_dict(torch.load({shown_path(path)!r}))  # model: {shown_path(other)}",
        title=t("inspect.against.title", path=shown_path(path), other=shown_path(other)),
        inputs={shown_path(k): info(v) for k, v in checkpoint.items()},
    )
    missing = [k for k in model if k not in checkpoint]
    unexpected = [k for k in checkpoint if k not in model]
    mismatched = [k for k in checkpoint if k in model and tuple(checkpoint[k].shape) != tuple(model[k].shape)]
    table = Table(
        [
            t("inspect.col.name"),
            t("inspect.against.col.file"),
            t("inspect.against.col.other"),
            t("inspect.against.col.what"),
        ],
        [],
    )
    for key in [*checkpoint, *missing]:
        saved = fmt_shape(checkpoint[key].shape) if key in checkpoint else "—"
        current = fmt_shape(model[key].shape) if key in model else "—"
        if key in mismatched:
            table.add([shown_path(key), saved, current, t("inspect.against.mismatch")], MISMATCH)
        elif key in unexpected:
            table.add([shown_path(key), saved, current, t("inspect.against.unexpected")], STRETCHED)
        elif key in missing:
            table.add([shown_path(key), saved, current, t("inspect.against.missing")], STRETCHED)
        else:
            table.add([shown_path(key), saved, current, t("inspect.against.same")], OK)
    note = t(
        "inspect.against.note",
        same=len(checkpoint) - len(unexpected) - len(mismatched),
        mismatched=len(mismatched),
        missing=len(missing),
        unexpected=len(unexpected),
    )
    ex.steps.append(
        Step(t("inspect.against.step"), "sorted(set(checkpoint) ^ set(model))", None, note, table)
    )
    differ = len(missing) + len(unexpected) + len(mismatched)
    if differ:
        fixes = [
            layer_fix(k, tuple(checkpoint[k].shape), tuple(model[k].shape))
            for k in mismatched[:MAX_OTHERS_SHOWN]
        ]
        prefix = common_prefix(missing, unexpected)
        fixes.append(
            t("why.state.prefix.hint", prefix=prefix)
            if prefix
            else t("why.state.keys.hint")
            if missing or unexpected
            else ""
        )
        ex.error = OpError(
            "state_dict_mismatch",
            t(
                "inspect.against.message",
                mismatched=len(mismatched),
                missing=len(missing),
                unexpected=len(unexpected),
            ),
            "; ".join(f for f in fixes if f),
        )
    return ex


def layer_fix(key: str, saved: tuple[int, ...], current: tuple[int, ...]) -> str:
    """What layer the checkpoint's shape asks for: a Linear's weight is (out, in), a conv's
    (out, in, kernel...)."""
    from tensorshape_cli.text import fmt_args

    layer = key.rsplit(".", 1)[0] if "." in key else key
    if key.endswith("weight") and len(saved) == 2:
        cur_out, cur_in = (*current, 0, 0)[:2]
        return t(
            "why.state.linear.hint", layer=layer, out=saved[0], inp=saved[1], cur_out=cur_out, cur_in=cur_in
        )
    if key.endswith("weight") and len(saved) in (3, 4, 5):
        return t("why.state.conv.hint", layer=layer, out=saved[0], inp=saved[1], kernel=fmt_args(saved[2:]))
    return t("why.state.other.hint", key=key, saved=fmt_shape(saved))


def common_prefix(missing: list[str], unexpected: list[str]) -> str:
    """`module.` (DataParallel) or another prefix that turns every unexpected key into a missing one."""
    if not missing or not unexpected:
        return ""
    wanted = set(missing)
    first = unexpected[0]
    for key in missing:
        if first.endswith(key) and first != key:
            prefix = first[: len(first) - len(key)]
            if all(k.startswith(prefix) and k[len(prefix) :] in wanted for k in unexpected):
                return prefix
    return ""


# --- the op contract: how every front-end (a command, expr, …) finds and calls this op ------

from tensorshape_cli.registry import Call, OpSpec, register  # noqa: E402


def _explain_call(call: Call) -> Explanation:
    """The file's path, its kind, its tensors (shape-only) and its other entries."""
    return explain(*call.args)


register(OpSpec("inspect", "dedicated", _explain_call, command="inspect"))
