"""torch's error messages → which rule failed, and the numbers it names.

One pattern per wording, several per family where torch releases worded it differently.
Every pattern is searched anywhere in the message (other libraries wrap torch's words in
their own), and each is linear in the length of the text: literal words around bounded
runs of digits, commas and spaces, never a nested repetition.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int, ...]
MAX_DIMS = 64  # a shape with more sizes than torch allows is not one torch printed


@dataclass
class Diagnosis:
    """A recognised error: its family (`kind`), the operands' shapes, and its other numbers."""

    kind: str
    shapes: dict[str, Shape] = field(default_factory=dict)
    numbers: dict[str, Any] = field(default_factory=dict)


def sizes(text: str, sep: str = ",") -> Shape:
    """'8, 1, 28, 28' or '2 x 2' → (8, 1, 28, 28); () for an empty list."""
    parts = [p.strip() for p in text.split(sep) if p.strip()]
    if len(parts) > MAX_DIMS:
        raise ValueError("too many sizes")
    return tuple(int(p) for p in parts)


def _shape(name: str, group: int, sep: str = ",") -> Callable[[re.Match[str]], tuple[str, Shape]]:
    return lambda m: (name, sizes(m.group(group), sep))


LIST = r"([\d, ]{0,2000})"  # the sizes torch prints inside [...]
SIGNED_LIST = r"([-\d, ]{0,2000})"


@dataclass(frozen=True)
class Pattern:
    kind: str
    regex: re.Pattern[str]
    build: Callable[[re.Match[str]], Diagnosis]


def _matmul(m: re.Match[str]) -> Diagnosis:
    a, b, c, d = (int(m.group(i)) for i in range(1, 5))
    return Diagnosis("matmul", {"mat1": (a, b), "mat2": (c, d)})


def _conv_channels(m: re.Match[str]) -> Diagnosis:
    return Diagnosis(
        "conv_channels",
        {"input": sizes(m.group(3)), "weight": sizes(m.group(2))},
        {"groups": int(m.group(1)), "expected": int(m.group(4)), "got": int(m.group(5))},
    )


def _conv_channels_old(m: re.Match[str]) -> Diagnosis:
    weight = sizes(m.group(1))
    got = sizes(m.group(2))
    return Diagnosis(
        "conv_channels",
        {"input": got, "weight": weight},
        {"groups": 1, "expected": int(m.group(3)), "got": int(m.group(4))},
    )


def _conv_dims(m: re.Match[str]) -> Diagnosis:
    return Diagnosis(
        "conv_input_dims",
        {"input": sizes(m.group(4))},
        {"unbatched": int(m.group(1)), "batched": int(m.group(2)), "op": m.group(3)},
    )


def _conv_dims_old(m: re.Match[str]) -> Diagnosis:
    weight = sizes(m.group(2))
    dims = int(m.group(1))
    return Diagnosis(
        "conv_input_dims",
        {"input": sizes(m.group(4)), "weight": weight},
        {"unbatched": dims - 1, "batched": dims, "op": f"conv{dims - 2}d"},
    )


def _kernel(m: re.Match[str]) -> Diagnosis:
    return Diagnosis(
        "conv_kernel_too_big", {}, {"padded": sizes(m.group(1), "x"), "kernel": sizes(m.group(2), "x")}
    )


def _pool(m: re.Match[str]) -> Diagnosis:
    return Diagnosis(
        "pool_output_too_small", {}, {"input": sizes(m.group(1), "x"), "output": sizes(m.group(2), "x")}
    )


def _view_size(m: re.Match[str]) -> Diagnosis:
    return Diagnosis("view_size", {}, {"shape": sizes(m.group(1)), "numel": int(m.group(2))})


def _broadcast(m: re.Match[str]) -> Diagnosis:
    return Diagnosis("broadcast", {}, {"a": int(m.group(1)), "b": int(m.group(2)), "dim": int(m.group(3))})


def _expand(m: re.Match[str]) -> Diagnosis:
    return Diagnosis(
        "expand", {"x": sizes(m.group(5))}, {"target": sizes(m.group(4)), "dim": int(m.group(3))}
    )


def _cat(m: re.Match[str]) -> Diagnosis:
    return Diagnosis(
        "cat",
        {},
        {
            "dim": int(m.group(1)),
            "expected": int(m.group(2)),
            "got": int(m.group(3)),
            "index": int(m.group(4)),
        },
    )


def _cat_old(m: re.Match[str]) -> Diagnosis:
    # "… except in dimension 1. Got 3 and 4 in dimension 0 (The offending index is 1)"
    return Diagnosis(
        "cat",
        {},
        {
            "dim": int(m.group(1)),
            "expected": int(m.group(2)),
            "got": int(m.group(3)),
            "at_dim": int(m.group(4)),
            "index": int(m.group(5)),
        },
    )


def _stack(m: re.Match[str]) -> Diagnosis:
    return Diagnosis(
        "stack",
        {"first": sizes(m.group(1)), "other": sizes(m.group(3))},
        {"first_index": int(m.group(2)), "index": int(m.group(4))},
    )


def _dim_range(m: re.Match[str]) -> Diagnosis:
    return Diagnosis("dim_range", {}, {"lo": int(m.group(1)), "hi": int(m.group(2)), "dim": int(m.group(3))})


def _index_bounds(m: re.Match[str]) -> Diagnosis:
    return Diagnosis(
        "index_bounds", {}, {"index": int(m.group(1)), "dim": int(m.group(2)), "size": int(m.group(3))}
    )


def _target_dtype(m: re.Match[str]) -> Diagnosis:
    return Diagnosis("ce_target_dtype", {}, {"dtype": m.group(1)})


def _ce_batch(m: re.Match[str]) -> Diagnosis:
    return Diagnosis("ce_batch", {}, {"input": int(m.group(1)), "target": int(m.group(2))})


def _ce_size(m: re.Match[str]) -> Diagnosis:
    return Diagnosis("ce_target_size", {"target": sizes(m.group(2))}, {"expected": sizes(m.group(1))})


def _layer_norm(m: re.Match[str]) -> Diagnosis:
    return Diagnosis("layer_norm", {"input": sizes(m.group(3))}, {"normalized_shape": sizes(m.group(1))})


def _batch_norm(m: re.Match[str]) -> Diagnosis:
    return Diagnosis("batch_norm", {}, {"features": int(m.group(2)), "channels": int(m.group(1))})


def _lstm(m: re.Match[str]) -> Diagnosis:
    return Diagnosis("rnn_input_size", {}, {"expected": int(m.group(1)), "got": int(m.group(2))})


def _bmm(m: re.Match[str]) -> Diagnosis:
    return Diagnosis(
        "bmm",
        {},
        {"expected": (int(m.group(1)), int(m.group(2))), "got": (int(m.group(3)), int(m.group(4)))},
    )


def _simple(kind: str) -> Callable[[re.Match[str]], Diagnosis]:
    return lambda m: Diagnosis(kind)


PATTERNS: tuple[Pattern, ...] = tuple(
    Pattern(kind, re.compile(regex), build)
    for kind, regex, build in (
        ("matmul", r"mat1 and mat2 shapes cannot be multiplied \((\d{1,19})x(\d{1,19}) and (\d{1,19})x(\d{1,19})\)", _matmul),
        # torch 1.x: "size mismatch, m1: [64 x 512], m2: [256 x 10]"
        ("matmul", r"size mismatch, m1: \[(\d{1,19}) x (\d{1,19})\], m2: \[(\d{1,19}) x (\d{1,19})\]", _matmul),
        ("bmm", r"Expected size for first two dimensions of batch2 tensor to be: \[(\d{1,19}), (\d{1,19})\] but got: \[(\d{1,19}), (\d{1,19})\]", _bmm),
        ("conv_channels", r"Given groups=(\d{1,19}), weight of size \[" + LIST + r"\], expected input\[" + LIST + r"\] to have (\d{1,19}) channels, but got (\d{1,19}) channels instead", _conv_channels),
        ("conv_input_dims", r"Expected (\d)D \(unbatched\) or (\d)D \(batched\) input to (\w{1,40}), but got input of size: \[" + LIST + r"\]", _conv_dims),
        # torch ≤ 1.10: "Expected 4-dimensional input for 4-dimensional weight [16, 3, 3, 3], but got 2-dimensional input of size [3, 224] instead"
        ("conv_input_dims", r"Expected (\d)-dimensional input for \d-dimensional weight \[" + LIST + r"\], but got (\d)-dimensional input of size \[" + LIST + r"\] instead", _conv_dims_old),
        ("conv_kernel_too_big", r"Calculated padded input size per channel: \(([\d x]{1,200})\)\. Kernel size: \(([\d x]{1,200})\)\. Kernel size can't be greater than actual input size", _kernel),
        ("pool_output_too_small", r"Given input size: \(([\dx]{1,200})\)\. Calculated output size: \(([-\dx]{1,200})\)\. Output size is too small", _pool),
        ("view_size", r"shape '\[" + SIGNED_LIST + r"\]' is invalid for input of size (\d{1,19})", _view_size),
        ("view_stride", r"view size is not compatible with input tensor's size and stride", _simple("view_stride")),
        ("broadcast", r"The size of tensor a \((\d{1,19})\) must match the size of tensor b \((\d{1,19})\) at non-singleton dimension (\d{1,3})", _broadcast),
        ("expand", r"The expanded size of the tensor \((-?\d{1,19})\) must match the existing size \((\d{1,19})\) at non-singleton dimension (\d{1,3})\.\s{0,4}Target sizes: \[" + SIGNED_LIST + r"\]\.\s{0,4}Tensor sizes: \[" + LIST + r"\]", _expand),
        ("cat", r"Sizes of tensors must match except in dimension (\d{1,3})\. Expected size (\d{1,19}) but got size (\d{1,19}) for tensor number (\d{1,9}) in the list", _cat),
        ("cat", r"Sizes of tensors must match except in dimension (\d{1,3})\. Got (\d{1,19}) and (\d{1,19}) in dimension (\d{1,3}) \(The offending index is (\d{1,9})\)", _cat_old),
        ("stack", r"stack expects each tensor to be equal size, but got \[" + LIST + r"\] at entry (\d{1,9}) and \[" + LIST + r"\] at entry (\d{1,9})", _stack),
        ("dim_range", r"Dimension out of range \(expected to be in range of \[(-?\d{1,19}), (-?\d{1,19})\], but got (-?\d{1,19})\)", _dim_range),
        ("index_bounds", r"index (-?\d{1,19}) is out of bounds for dimension (\d{1,3}) with size (\d{1,19})", _index_bounds),
        ("embedding_index", r"index out of range in self", _simple("embedding_index")),
        ("ce_target_dtype", r"expected scalar type Long but found (\w{1,40})", _target_dtype),
        ("ce_target_dtype", r"expected target dtype to be Long or Byte, but got (\w{1,40})", _target_dtype),
        ("ce_target_dtype", r"\"nll_loss\w{0,40}\" not implemented for '(\w{1,40})'", _target_dtype),
        ("ce_multi_target", r"0D or 1D target tensor expected, multi-target not supported", _simple("ce_multi_target")),
        ("ce_batch", r"Expected input batch_size \((\d{1,19})\) to match target batch_size \((\d{1,19})\)", _ce_batch),
        ("ce_target_size", r"Expected target size \[" + LIST + r"\], got \[" + LIST + r"\]", _ce_size),
        ("layer_norm", r"Given normalized_shape=\[" + LIST + r"\], expected input with shape \[\*, " + LIST + r"\], but got input of size ?\[" + LIST + r"\]", _layer_norm),
        ("batch_norm", r"running_mean should contain (\d{1,19}) elements not (\d{1,19})", _batch_norm),
        ("rnn_input_size", r"input\.size\(-1\) must be equal to input_size\. Expected (\d{1,19}), got (\d{1,19})", _lstm),
    )
)  # fmt: skip

# Words that name a family without its numbers: a message tshape cannot rebuild, but can
# say which family it is close to.
CLOSE = (
    ("mat1", "matmul"),
    ("mat2", "matmul"),
    ("channels", "conv_channels"),
    ("Kernel size", "conv_kernel_too_big"),
    ("is invalid for input of size", "view_size"),
    ("must match the size of tensor", "broadcast"),
    ("Sizes of tensors must match", "cat"),
    ("Dimension out of range", "dim_range"),
    ("target", "ce_target_size"),
    ("state_dict", "state_dict"),
)

# load_state_dict's report: one line per key, after "Error(s) in loading state_dict for Net:"
STATE_DICT = re.compile(r"Error\(s\) in loading state_dict for ([\w.]{1,200})")
SIZE_MISMATCH = re.compile(
    r"size mismatch for ([^\s:]{1,500}): copying a param with shape torch\.Size\(\[" + LIST + r"\]\) "
    r"from checkpoint, the shape in current model is torch\.Size\(\[" + LIST + r"\]\)"
)
KEY_LIST = re.compile(r"(Missing|Unexpected) key\(s\) in state_dict: ([^\n]{0,100000})")
QUOTED = re.compile(r'"([^"\n]{1,500})"')
MAX_KEYS = 10_000


def recognise(message: str) -> Diagnosis | None:
    """The first pattern that matches anywhere in the message; None when none does."""
    state = _state_dict(message)
    if state is not None:
        return state
    for pattern in PATTERNS:
        match = pattern.regex.search(message)
        if match:
            try:
                return pattern.build(match)
            except ValueError:  # a number torch never prints (too many sizes)
                continue
    return None


def close_family(message: str) -> str | None:
    """A family whose words the message uses, though no pattern read its numbers."""
    for words, kind in CLOSE:
        if words in message:
            return kind
    return None


def _state_dict(message: str) -> Diagnosis | None:
    head = STATE_DICT.search(message)
    if head is None:
        return None
    mismatches: list[tuple[str, Shape, Shape]] = []
    for match in SIZE_MISMATCH.finditer(message):
        if len(mismatches) >= MAX_KEYS:
            break
        try:
            mismatches.append((match.group(1), sizes(match.group(2)), sizes(match.group(3))))
        except ValueError:
            continue
    keys: dict[str, list[str]] = {"Missing": [], "Unexpected": []}
    for match in KEY_LIST.finditer(message):
        keys[match.group(1)] += QUOTED.findall(match.group(2))[:MAX_KEYS]
    return Diagnosis(
        "state_dict",
        {},
        {
            "model": head.group(1),
            "mismatches": mismatches,
            "missing": keys["Missing"],
            "unexpected": keys["Unexpected"],
        },
    )
