"""Random ops from the allowed set, on random operands, agree with torch.

Hypothesis draws any function or Tensor method of the vocabulary (random ones excepted: they
want --seed), one or two small float tensors of broadcastable or clashing shapes, and an
optional dim. The expression goes through the same path as `tshape expr`; torch is called
directly in the test on the same tensors. Where torch returns, tshape explains the same
result (shape, dtype, values); where torch raises, tshape explains a failure; either way it
never crashes. Most draws of an op that wants other arguments are failures, which is the
point: every one of them must be a clean, explained failure.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tensorshape_cli import api, vocabulary
from tensorshape_cli.errors import InputError

# Ops whose result, correct as it is, is not comparable value by value here: empty tensors
# with uninitialised values (empty*), memory addresses, and packed weights whose padding bytes
# are whatever the memory held (fbgemm_pack_*).
UNCOMPARABLE = ("empty", "data_ptr", "storage_offset", "fbgemm_pack")


def _paths() -> list[str]:
    paths = []
    for path in sorted(vocabulary.allowed_paths()):
        entry = vocabulary.lookup(path)
        if entry is None or entry.random or entry.kind not in ("function", "method"):
            continue
        if path.rsplit(".", 1)[-1].startswith("_") or any(u in path for u in UNCOMPARABLE):
            continue
        paths.append(path)
    return paths


PATHS = _paths()
SHAPES = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)
EXTRA = st.sampled_from(["", "0", "-1", "dim=1", "1, 2"])


def _written(path: str, operands: list[str], extra: str) -> str:
    args = ", ".join([*operands[1:], extra] if path.startswith("torch.Tensor.") else [*operands, extra])
    args = args.strip(", ")
    if path.startswith("torch.Tensor."):
        return f"{operands[0]}.{path.rsplit('.', 1)[-1]}({args})"
    return f"{path}({args})"


def _torch_result(fn: Any, tensors: list[torch.Tensor], extra: str) -> tuple[bool, Any]:
    """torch's own outcome, called as the expression calls it."""
    args: list[Any] = list(tensors)
    kwargs: dict[str, Any] = {}
    if extra.startswith("dim="):
        kwargs["dim"] = int(extra[4:])
    elif extra:
        args += [int(v) for v in extra.split(",")]
    try:
        return True, fn(*args, **kwargs)
    except Exception as e:  # torch's refusal, of whatever type
        return False, e


def _same_values(got: Any, want: Any) -> bool:
    if isinstance(want, (list, tuple)):
        return isinstance(got, list) and len(got) == len(want) and all(map(_same_values, got, want))
    if isinstance(want, complex) or isinstance(got, complex):
        return got == want
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if isinstance(want, float) or isinstance(got, float):
        return math.isclose(float(got), float(want), rel_tol=1e-5, abs_tol=1e-6) or got == want
    return bool(got == want)


def _assert_tensor(record: Any, want: torch.Tensor) -> None:
    if want.layout != torch.strided:  # sparse: tshape shows the values dense
        want = want.to_dense()
    assert record.shape == list(want.shape)
    assert record.dtype == str(want.dtype).removeprefix("torch.")
    if record.values is not None and not want.is_complex():
        assert _same_values(record.values, want.tolist()), (record.values, want.tolist())


def _disagreement(path: str, tensors: list[torch.Tensor], extra: str) -> str | None:
    """None when tshape agrees with torch on this call; else what differs."""
    names = [f"t{i}" for i in range(len(tensors))]
    text = _written(path, names, extra)
    entry = vocabulary.lookup(path)
    assert entry is not None, path
    ok, want = _torch_result(entry.fn, [t.clone() for t in tensors], extra)
    try:
        ex = api.explain(text, **dict(zip(names, tensors, strict=True)))
    except InputError as e:  # refused with a sentence: only what torch refuses, or a result
        # tshape does not explain (sparse, mkldnn, quantized: it says so)
        if not ok or (isinstance(want, torch.Tensor) and (want.layout != torch.strided or want.is_quantized)):
            return None
        return f"{text}: refused ({e}) where torch returns"
    except Exception as e:
        return f"{text}: tshape crashed: {e!r}"
    if not ok:
        return None if ex.error is not None else f"{text}: explained as a success where torch raises {want!r}"
    if ex.error is not None:
        return f"{text}: explained as a failure ({ex.error.message}) where torch returns"
    try:
        if isinstance(want, torch.Tensor):
            assert ex.result is not None
            _assert_tensor(ex.result, want)
        elif isinstance(want, (tuple, list)) and want and all(isinstance(w, torch.Tensor) for w in want):
            assert ex.outputs is not None and len(ex.outputs) == len(want)
            for record, w in zip(ex.outputs, want, strict=True):
                _assert_tensor(record, w)
    except AssertionError as e:
        return f"{text}: another result than torch's {e}"
    return None


# Every allowed op, called as a learner first tries it: on a matrix, on two, along a dim.
SWEEP = (((2, 3),), ""), (((2, 3), (2, 3)), ""), (((2, 3), (3,)), ""), (((3, 2),), "0"), (((2, 3),), "dim=1")


@pytest.mark.filterwarnings("ignore")
def test_every_allowed_op_agrees_with_torch_on_the_first_calls_a_learner_tries():
    generator = torch.Generator().manual_seed(0)
    found = []
    for path in PATHS:
        for shapes, extra in SWEEP:
            tensors = [torch.randn(shape, generator=generator) for shape in shapes]
            problem = _disagreement(path, tensors, extra)
            if problem:
                found.append(problem)
    assert not found, "\n".join(found)


@pytest.mark.filterwarnings("ignore")
@settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    path=st.sampled_from(PATHS),
    shapes=st.lists(SHAPES, min_size=1, max_size=2),
    extra=EXTRA,
    seed=st.integers(0, 2**16),
)
def test_a_random_allowed_op_on_random_operands_agrees_with_torch(path, shapes, extra, seed):
    generator = torch.Generator().manual_seed(seed)
    tensors = [torch.randn(shape, generator=generator) for shape in shapes]
    problem = _disagreement(path, tensors, extra)
    assert problem is None, problem


@pytest.mark.filterwarnings("ignore")
def test_every_allowed_op_agrees_with_torch_on_shape_only_operands():
    """The same calls on meta tensors (`shape(2, 3)`): torch's own shapes and dtypes, or a
    failure where torch (its meta kernels) raises."""
    found = []
    for path in PATHS:
        for shapes, extra in SWEEP:
            tensors = [torch.empty(shape, device="meta") for shape in shapes]
            problem = _disagreement(path, tensors, extra)
            if problem:
                found.append(problem)
    assert not found, "\n".join(found)
