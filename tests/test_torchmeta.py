"""torchmeta: result shapes on meta before anything runs, and a fast path that changes nothing.

The fast path is proved faithful on torch's own operator test database: the sample inputs of
every op the vocabulary allows, as meta tensors, give the same shapes, dtypes, strides and
the same exception type and message with and without it. Both runs are fresh subprocesses
(op_db itself imports sympy and torch._dynamo, which would hide the fast path), fed the
samples as plain data.
"""

from __future__ import annotations

import itertools
import pickle
import subprocess
import sys
import textwrap
from typing import Any

import pytest
import torch

from tensorshape_cli import torchmeta, vocabulary
from tensorshape_cli.torchmeta import Unsizable, output_shapes

SAMPLES_PER_OP = 1


class _T:
    """A tensor as plain data: what a meta copy needs."""

    def __init__(self, t: torch.Tensor) -> None:
        self.shape, self.stride, self.dtype = tuple(t.shape), tuple(t.stride()), t.dtype


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        if value.layout != torch.strided or value.is_quantized:
            raise TypeError("not a strided tensor")
        return _T(value)
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, complex, str, torch.dtype, torch.memory_format)):
        return value
    if isinstance(value, (torch.layout, torch.device, slice, type(Ellipsis))):
        return value
    raise TypeError(f"cannot pass {type(value).__name__}")


def op_path(op: Any) -> str:
    name = op.name
    return vocabulary.normalise(name if "." in name else f"torch.{name}")


def op_db_corpus() -> list[tuple[str, str, Any, Any]]:
    """(path, kind, args, kwargs) for the first samples of every allowed op of op_db."""
    from torch.testing._internal.common_methods_invocations import op_db

    corpus = []
    for op in op_db:
        entry = vocabulary.lookup(op_path(op)) or vocabulary.lookup(f"torch.Tensor.{op.name}")
        if entry is None or entry.kind == "property" or entry.random:
            continue
        try:
            samples = list(itertools.islice(op.sample_inputs("cpu", torch.float32), SAMPLES_PER_OP))
        except Exception:
            continue
        for sample in samples:
            kwargs = dict(sample.kwargs)
            if vocabulary.refused_kwargs(entry.path, kwargs):
                continue
            try:
                args = _plain((sample.input, *sample.args))
                kw = _plain(kwargs)
                pickle.dumps((args, kw))
            except Exception:
                continue
            corpus.append((entry.path, entry.kind, args, kw))
    return corpus


RUNNER = textwrap.dedent(
    """
    import pickle, sys
    import torch
    from tensorshape_cli import torchmeta, vocabulary
    sys.modules["__main__"]._T = type("_T", (), {})

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if name == "_T":
                return sys.modules["__main__"]._T
            return super().find_class(module, name)

    fast, start = sys.argv[1] == "fast", int(sys.argv[2])
    corpus = Unpickler(sys.stdin.buffer).load()[start:]

    def meta(value):
        if isinstance(value, sys.modules["__main__"]._T):
            return torch.empty_strided(value.shape, value.stride, dtype=value.dtype, device="meta")
        if isinstance(value, (list, tuple)):
            return type(value)(meta(v) for v in value)
        if isinstance(value, dict):
            return {k: meta(v) for k, v in value.items()}
        return value

    def outcome(fn, args, kwargs):
        try:
            result = fn(*args, **kwargs)
        except Exception as error:
            return ("error", type(error).__name__, str(error))
        flat = result if isinstance(result, (list, tuple)) else [result]
        return ("ok", [
            (tuple(t.shape), str(t.dtype), tuple(t.stride())) if isinstance(t, torch.Tensor)
            else type(t).__name__ for t in flat
        ])

    results, first_slow = [], None
    for path, kind, args, kwargs in corpus:
        fn = vocabulary.lookup(path).fn
        args, kwargs = meta(args), meta(kwargs)
        if fast:
            with torchmeta.fast_meta():
                results.append(outcome(fn, args, kwargs))
        else:
            results.append(outcome(fn, args, kwargs))
        if fast and ("sympy" in sys.modules or "torch._dynamo" in sys.modules):
            first_slow = path  # the fast path gave way to torch's: go on in a fresh process
            break
    sys.stdout.buffer.write(pickle.dumps((results, first_slow)))
    """
)


def _start(mode: str, start: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-c", RUNNER, mode, str(start)]
    return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(process: subprocess.Popen[bytes], data: bytes) -> tuple[list[Any], str | None]:
    out, err = process.communicate(data, timeout=900)
    assert process.returncode == 0, err.decode()[-2000:]
    return pickle.loads(out)  # type: ignore[no-any-return]


def test_the_fast_path_is_faithful_on_op_db():
    """Every sample runs under the fast path in a process where it is still whole: when an op
    needs the real sympy or dynamo (the fast path then gives way), the rest go on afresh."""
    corpus = op_db_corpus()
    assert len(corpus) > 500
    data = pickle.dumps(corpus)
    slow_process = _start("slow", 0)  # runs alongside the fast ones
    fast: list[Any] = []
    gave_way: list[str] = []
    while len(fast) < len(corpus):
        results, path = _finish(_start("fast", len(fast)), data)
        fast.extend(results)
        if path is not None:
            gave_way.append(path)
    slow, _ = _finish(slow_process, data)
    assert len(fast) == len(slow) == len(corpus)
    differ = [(c[0], f, s) for c, f, s in zip(corpus, fast, slow, strict=True) if f != s]
    assert not differ, differ[:5]
    failures = sum(r[0] == "error" for r in slow)
    print(f"\n{len(corpus)} op_db samples on meta, {failures} of them torch errors: the same with or without")
    print(f"ops whose meta kernel needs the real sympy or dynamo ({len(gave_way)}): {', '.join(gave_way)}")
    assert failures < len(corpus)  # both outcomes are compared, not only errors


SPEED_CHECK = textwrap.dedent(
    """
    import sys
    import torch
    import torch.nn.functional as F
    from tensorshape_cli.torchmeta import output_shapes
    x, w = torch.empty(64, 512), torch.empty(10, 512)
    output_shapes(F.linear, (x, w), {})
    output_shapes(torch.add, (x, x), {})
    output_shapes(torch.cat, ([x, x],), {})
    output_shapes(torch.sum, (x,), {"dim": 0})
    output_shapes(F.softmax, (x,), {"dim": -1})
    output_shapes(F.conv2d, (torch.empty(1, 3, 8, 8), torch.empty(4, 3, 3, 3)), {})
    slow = ("sympy", "torch._dynamo", "torch.fx.experimental.symbolic_shapes")
    print(sorted(m for m in slow if m in sys.modules))
    """
)


def test_shape_only_ops_import_neither_sympy_nor_dynamo():
    done = subprocess.run([sys.executable, "-c", SPEED_CHECK], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stderr


def test_fast_meta_restores_everything():
    check = textwrap.dedent(
        """
        import sys, torch
        from tensorshape_cli import torchmeta
        x = torch.empty(3, 4, device="meta")
        with torchmeta.fast_meta():
            assert sys.modules["sympy"].__class__.__name__ == "_StandIn"
            x + x
            seeded = list(torchmeta._dynamo_disabled())
            assert seeded and all(getattr(f, "__dynamo_disable", None) is f for f in seeded)
        assert "sympy" not in sys.modules
        assert "torch.fx.experimental.symbolic_shapes" not in sys.modules
        assert not any(hasattr(f, "__dynamo_disable") for f in seeded)
        x + x  # torch's own path again: imports what it needs
        assert "torch._dynamo" in sys.modules and "sympy" in sys.modules
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


def test_a_stand_in_hands_other_names_to_the_real_module():
    check = textwrap.dedent(
        """
        import sys, torch
        from tensorshape_cli import torchmeta
        with torchmeta.fast_meta():
            import sympy
            assert sympy.Symbol("n").name == "n"  # not answered fast: the real sympy is loaded
            assert type(sys.modules["sympy"]).__name__ == "module"
            assert sympy.Basic is sys.modules["sympy"].Basic
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


def _shapes(result: Any) -> list[tuple[int, ...]]:
    if isinstance(result, torch.Tensor):
        return [tuple(result.shape)]
    if isinstance(result, (list, tuple)):
        return [shape for item in result for shape in _shapes(item)]
    return []


CALLS = [
    (torch.nn.functional.linear, (torch.randn(4, 3), torch.randn(2, 3)), {}),
    (torch.add, (torch.randn(5, 1), torch.randn(4)), {}),
    (torch.cat, ([torch.randn(2, 3), torch.randn(4, 3)],), {}),
    (torch.sum, (torch.randn(2, 3, 4),), {"dim": (0, 2), "keepdim": True}),
    (torch.nn.functional.softmax, (torch.randn(2, 3),), {"dim": -1}),
    (
        torch.nn.functional.conv2d,
        (torch.randn(1, 3, 9, 9), torch.randn(4, 3, 3, 3)),
        {"stride": 2, "padding": 3},
    ),
    (torch.topk, (torch.randn(3, 7), 2), {}),
    (torch.split, (torch.randn(7, 2), 3), {}),
    (torch.Tensor.view, (torch.randn(2, 6), 3, -1), {}),
    (torch.einsum, ("ij,jk->ik", torch.randn(2, 3), torch.randn(3, 4)), {}),
    (torch.zeros, (2, 3), {"device": "cpu"}),
    (torch.randn, (3, 2), {"generator": torch.Generator().manual_seed(0)}),
]


@pytest.mark.parametrize(("fn", "args", "kwargs"), CALLS, ids=lambda v: getattr(v, "__name__", ""))
def test_output_shapes_are_torch_s(fn, args, kwargs):
    assert output_shapes(fn, args, kwargs) == _shapes(fn(*args, **kwargs))


@pytest.mark.parametrize(
    "module",
    [
        torch.nn.Linear(3, 2),
        torch.nn.LSTM(3, 4, batch_first=True),
        torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2)),
    ],
    ids=["Linear", "LSTM", "Sequential"],
)
def test_a_module_is_sized_on_a_meta_copy(module):
    x = torch.randn(2, 4, 3)
    before = [p.clone() for p in module.parameters()]
    assert output_shapes(module, (x,), {}) == _shapes(module(x))
    assert all(not p.is_meta for p in module.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


def test_multihead_attention_is_sized():
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    q, k = torch.randn(2, 5, 8), torch.randn(2, 7, 8)
    assert output_shapes(mha, (q, k, k), {}) == _shapes(mha(q, k, k))


def test_huge_results_are_sized_without_allocating():
    big = torch.empty(100_000, 100_000, device="meta")
    assert output_shapes(torch.matmul, (big, big), {}) == [(100_000, 100_000)]
    assert output_shapes(torch.ones, (10**6, 10**6), {}) == [(10**6, 10**6)]


def test_a_shape_error_is_torch_s_error():
    with pytest.raises(RuntimeError):
        torch.add(torch.randn(3), torch.randn(4))
    with pytest.raises(RuntimeError):
        output_shapes(torch.add, (torch.randn(3), torch.randn(4)), {})


def _numel(shapes: list[tuple[int, ...]]) -> list[int]:
    return [int(torch.Size(s).numel()) for s in shapes]


def _bounded_by(bound: list[tuple[int, ...]], real: Any) -> bool:
    got = _shapes(real)
    return len(bound) == len(got) and all(
        len(b) == len(g) and all(bi >= gi for bi, gi in zip(b, g, strict=True))
        for b, g in zip(bound, got, strict=True)
    )


x = torch.tensor([[0.0, 1.0, 2.0], [3.0, 0.0, 0.0]])
DATA_DEPENDENT = [
    (torch.nonzero, (x,), {}),
    (torch.nonzero, (x,), {"as_tuple": True}),
    (torch.argwhere, (x,), {}),
    (torch.where, (x > 0,), {}),
    (torch.masked_select, (x, torch.tensor([True, False, True])), {}),
    (torch.unique, (torch.tensor([3, 1, 3, 2]),), {"return_inverse": True, "return_counts": True}),
    (torch.unique, (torch.tensor([[1, 2], [1, 2], [0, 1]]),), {"dim": 0}),
    (torch.unique_consecutive, (torch.tensor([1, 1, 2, 1]),), {}),
    (torch.Tensor.__getitem__, (x, x > 0), {}),
    (torch.Tensor.__getitem__, (torch.randn(2, 3, 4), (slice(None), torch.tensor([True, False, True]))), {}),
]


@pytest.mark.parametrize(("fn", "args", "kwargs"), DATA_DEPENDENT, ids=lambda v: getattr(v, "__name__", ""))
def test_data_dependent_ops_get_an_upper_bound(fn, args, kwargs):
    bound = output_shapes(fn, args, kwargs)
    assert _bounded_by(bound, fn(*args, **kwargs)), (bound, _shapes(fn(*args, **kwargs)))


@pytest.mark.parametrize(
    ("fn", "args", "kwargs"),
    [
        (torch.repeat_interleave, (torch.randn(3, 2), torch.tensor([1, 0, 4])), {"dim": 0}),
        (torch.repeat_interleave, (torch.tensor([2, 3]),), {}),
        (torch.bincount, (torch.tensor([0, 5, 5, 2]),), {}),
        (torch.bincount, (torch.tensor([1]),), {"minlength": 4}),
    ],
    ids=["repeat_interleave", "repeat_interleave_counts", "bincount", "bincount_minlength"],
)
def test_data_dependent_ops_sized_exactly_from_real_inputs(fn, args, kwargs):
    assert output_shapes(fn, args, kwargs) == _shapes(fn(*args, **kwargs))


def test_shape_only_data_dependent_ops_are_unsizable():
    repeats = torch.empty(3, dtype=torch.long, device="meta")
    with pytest.raises(Unsizable) as caught:
        output_shapes(torch.repeat_interleave, (torch.empty(3, device="meta"), repeats), {})
    assert caught.value.op == "repeat_interleave"
    with pytest.raises(Unsizable) as caught:
        output_shapes(torch.equal, (torch.randn(2), torch.randn(2)), {})
    assert caught.value.op == "equal" and caught.value.bound is None


def test_no_torch_at_import():
    done = subprocess.run(
        [sys.executable, "-c", "import sys, tensorshape_cli.torchmeta; print('torch' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"


def test_nesting_fast_meta_keeps_it_active():
    with torchmeta.fast_meta(), torchmeta.fast_meta():
        y = torch.empty(2, 3, device="meta") * 2
    assert y.shape == (2, 3)
    assert not any(isinstance(m, torchmeta._StandIn) for m in list(sys.modules.values()))
