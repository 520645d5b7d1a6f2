"""The vocabulary: what expr may call, derived from torch, pure, and refused with reasons.

The purity test runs torch's own operator test database (op_db): every allowed op with
sample inputs is called on them, and must leave every input tensor as it was (values and
_version) and touch no file. The coverage of op_db by the vocabulary is printed (-s).
"""

from __future__ import annotations

import builtins
import collections
import io
import itertools
import os
import subprocess
import sys
from typing import Any

import pytest
import torch

from tensorshape_cli import vocabulary
from tensorshape_cli.messages.en import MESSAGES as EN
from tensorshape_cli.messages.es import MESSAGES as ES

SAMPLES_PER_OP = 2


def _op_db() -> list[Any]:
    from torch.testing._internal.common_methods_invocations import op_db

    return list(op_db)


def _entry(op: Any) -> tuple[vocabulary.Entry | None, str]:
    path = vocabulary.normalise(op.name if "." in op.name else f"torch.{op.name}")
    entry = vocabulary.lookup(path)
    if entry is None and "." not in op.name:
        method = vocabulary.lookup(f"torch.Tensor.{op.name}")
        if method is not None:
            return method, method.path
    return entry, path


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


class _Writes:
    """Every file opened for writing, by any route Python offers."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[str] = []
        real_open, real_os_open = builtins.open, os.open

        def watched_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            if any(c in mode for c in "wax+"):
                self.paths.append(str(file))
            return real_open(file, mode, *args, **kwargs)

        def watched_os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND):
                self.paths.append(str(path))
            return real_os_open(path, flags, *args, **kwargs)

        def unreachable(*args: Any, **kwargs: Any) -> None:
            self.paths.append("torch.save/torch.load")
            raise AssertionError("an allowed op reached torch.save or torch.load")

        monkeypatch.setattr(builtins, "open", watched_open)
        monkeypatch.setattr(io, "open", watched_open)
        monkeypatch.setattr(os, "open", watched_os_open)
        for name in ("save", "load"):
            monkeypatch.setattr(torch, name, unreachable)
            monkeypatch.setattr(torch.serialization, name, unreachable)


def test_the_allowed_set_is_pure_on_op_db(tmp_path, monkeypatch, capsys):
    ops = _op_db()
    vocabulary.allowed_paths()  # built from the real torch.save/load, before they are watched
    monkeypatch.chdir(tmp_path)
    writes = _Writes(monkeypatch)
    torch.manual_seed(0)
    called, mutated, samples = set(), [], 0
    for op in ops:
        entry, _ = _entry(op)
        if entry is None or entry.kind == "property":
            continue
        try:
            sample_list = list(itertools.islice(op.sample_inputs("cpu", torch.float32), SAMPLES_PER_OP))
        except Exception:
            continue
        for sample in sample_list:
            args, kwargs = (sample.input, *sample.args), dict(sample.kwargs)
            if vocabulary.refused_kwargs(entry.path, kwargs, args):
                continue
            inputs = _tensors((args, kwargs))
            before = [(t.detach().clone(), t._version) for t in inputs]
            try:
                entry.fn(*args, **kwargs)
            except Exception:
                continue  # a sample torch itself refuses for this variant: nothing ran
            samples += 1
            called.add(entry.path)
            for t, (values, version) in zip(inputs, before, strict=True):
                same = t._version == version and torch.equal(t.isnan(), values.isnan())
                same = same and torch.equal(t.nan_to_num(), values.nan_to_num())
                if not same:
                    mutated.append(entry.path)
    assert samples > 800 and len(called) > 400
    assert not mutated, sorted(set(mutated))
    assert writes.paths == []
    assert list(tmp_path.iterdir()) == []
    with capsys.disabled():
        print(f"\n{samples} op_db samples of {len(called)} allowed ops: no input changed, no file written")


def test_op_db_coverage(capsys):
    """Which of op_db's ops the vocabulary accepts, and why it refuses the others."""
    accepted, refused, unknown = [], collections.defaultdict(list), []
    for op in _op_db():
        entry, path = _entry(op)
        if entry is not None:
            accepted.append(path)
            continue
        why = vocabulary.refusal(path) or vocabulary.refusal(f"torch.Tensor.{op.name}")
        (refused[why] if why else unknown).append(op.name)
    total = len(accepted) + sum(map(len, refused.values())) + len(unknown)
    with capsys.disabled():
        print(f"\nop_db: {len(accepted)}/{total} ops accepted ({len(accepted) / total:.1%})")
        for why, names in sorted(refused.items()):
            print(f"  refused, {why} ({len(names)}): {', '.join(sorted(names))}")
        print(f"  not a torch name expr can write ({len(unknown)}): {', '.join(sorted(unknown))}")
    assert len(accepted) / total > 0.9


def _rng_draws(make: Any) -> bool:
    state = torch.random.get_rng_state()
    make()
    drew = not torch.equal(state, torch.random.get_rng_state())
    torch.random.set_rng_state(state)
    return drew


@pytest.mark.parametrize(
    ("path", "make"),
    [
        ("torch.nn.Linear", lambda: torch.nn.Linear(2, 2)),
        ("torch.nn.Conv2d", lambda: torch.nn.Conv2d(1, 2, 3)),
        ("torch.nn.Embedding", lambda: torch.nn.Embedding(4, 2)),
        ("torch.nn.LSTM", lambda: torch.nn.LSTM(2, 3)),
        ("torch.nn.MultiheadAttention", lambda: torch.nn.MultiheadAttention(4, 2)),
        ("torch.nn.LayerNorm", lambda: torch.nn.LayerNorm(3)),
        ("torch.nn.BatchNorm1d", lambda: torch.nn.BatchNorm1d(3)),
        ("torch.nn.ReLU", lambda: torch.nn.ReLU()(torch.ones(2))),
        (
            "torch.nn.CrossEntropyLoss",
            lambda: torch.nn.CrossEntropyLoss()(torch.ones(2, 3), torch.tensor([0, 1])),
        ),
        ("torch.nn.Dropout", lambda: torch.nn.Dropout()(torch.ones(4))),
        ("torch.nn.functional.dropout", lambda: torch.nn.functional.dropout(torch.ones(4))),
        ("torch.nn.functional.softmax", lambda: torch.nn.functional.softmax(torch.ones(4), 0)),
        ("torch.randn", lambda: torch.randn(3)),
        ("torch.zeros", lambda: torch.zeros(3)),
        ("torch.Tensor.bernoulli", lambda: torch.full((3,), 0.5).bernoulli()),
        ("torch.Tensor.gather", lambda: torch.ones(2, 2).gather(1, torch.zeros(2, 1, dtype=torch.long))),
    ],
)
def test_random_flag_is_whether_torch_draws_random_numbers(path, make):
    entry = vocabulary.lookup(path)
    assert entry is not None
    assert entry.random == _rng_draws(make)


_Q, _K = torch.randn(2, 5, 8), torch.randn(2, 6, 8)


@pytest.mark.parametrize(
    ("path", "args", "kwargs", "make"),
    [
        ("F.scaled_dot_product_attention", (_Q, _K, _K), {}, None),
        ("F.scaled_dot_product_attention", (_Q, _K, _K), {"dropout_p": 0.0}, None),
        ("F.scaled_dot_product_attention", (_Q, _K, _K), {"dropout_p": 0.1}, None),
        ("F.scaled_dot_product_attention", (_Q, _K, _K, None, 0.5), {}, None),
        ("F.dropout", (_Q,), {}, None),
        ("F.dropout", (_Q, 0.0), {}, None),
        ("F.dropout", (_Q, 0.3), {"training": False}, None),
        ("F.dropout", (_Q, 0.3, False), {}, None),
        ("F.dropout2d", (_Q, 0), {}, None),
        ("F.alpha_dropout", (_Q, 0.2), {"training": True}, None),
        ("torch.dropout", (_Q, 0.0, True), {}, None),
        ("torch.dropout", (_Q, 0.4, True), {}, None),
        ("F.rrelu", (_Q,), {}, None),
        ("F.rrelu", (_Q,), {"training": True}, None),
        ("torch.Tensor.bernoulli", (torch.full((3,), 0.5),), {"p": 0.0}, None),
        ("nn.Dropout", (), {}, lambda layer: layer(_Q)),
        ("nn.Dropout", (0.0,), {}, lambda layer: layer(_Q)),
        ("nn.Dropout", (), {"p": 0}, lambda layer: layer(_Q)),
        ("nn.Dropout1d", (0.25,), {}, lambda layer: layer(_Q)),
        ("nn.MultiheadAttention", (8, 2), {"batch_first": True}, lambda layer: layer(_Q, _K, _K)),
        (
            "nn.MultiheadAttention",
            (8, 2),
            {"dropout": 0.0, "batch_first": True},
            lambda layer: layer(_Q, _K, _K),
        ),
        ("nn.Linear", (4, 2), {}, None),
        ("nn.ReLU", (), {}, lambda layer: layer(_Q)),
    ],
)
def test_a_call_needs_a_seed_only_when_it_draws(path, args, kwargs, make):
    """Entry.draws(args, kwargs) against torch's generator: dropout with p=0 or training=False
    (sdpa's default dropout_p) draws nothing, so expr needs no --seed for it."""
    entry = vocabulary.lookup(path)
    assert entry is not None

    def run() -> None:
        out = entry.fn(*args, **kwargs)
        if make is not None:
            make(out)

    assert entry.draws(args, kwargs) == _rng_draws(run)


def test_dropout_free_calls_run_without_a_seed(tshape):
    bind = ["-t", "q=shape(2,5,8)", "-t", "k=shape(2,6,8)", "-t", "v=shape(2,6,8)"]
    assert tshape("expr", "F.scaled_dot_product_attention(q, k, v)", *bind).code == 0
    refused = tshape("expr", "F.scaled_dot_product_attention(q, k, v, dropout_p=0.1)", *bind)
    assert refused.code == 2 and "--seed" in refused.stderr
    assert tshape("expr", "nn.Dropout(0.0)(q)", bind[0], bind[1]).code == 0
    assert tshape("expr", "F.dropout(q, 0.5, training=False)", bind[0], bind[1]).code == 0
    assert tshape("expr", "nn.Dropout(0.5)(q)", bind[0], bind[1]).code == 2


@pytest.mark.parametrize(
    ("written", "path", "kind"),
    [
        ("torch.softmax", "torch.softmax", "function"),
        ("F.softmax", "torch.nn.functional.softmax", "function"),
        ("nn.functional.softmax", "torch.nn.functional.softmax", "function"),
        ("torch.nn.functional.softmax", "torch.nn.functional.softmax", "function"),
        ("torch.Tensor.softmax", "torch.Tensor.softmax", "method"),
        ("torch.Tensor.gather", "torch.Tensor.gather", "method"),
        ("torch.Tensor.mT", "torch.Tensor.mT", "property"),
        ("torch.Tensor.shape", "torch.Tensor.shape", "property"),
        ("nn.Linear", "torch.nn.Linear", "module"),
        ("torch.nn.Sequential", "torch.nn.Sequential", "module"),
        ("torch.linalg.norm", "torch.linalg.norm", "function"),
        ("linalg.vector_norm", "torch.linalg.vector_norm", "function"),
        ("torch.fft.rfft", "torch.fft.rfft", "function"),
        ("torch.special.expit", "torch.special.expit", "function"),
        ("torch.functional.split", "torch.split", "function"),
    ],
)
def test_lookup_takes_every_spelling(written, path, kind):
    entry = vocabulary.lookup(written)
    assert entry is not None
    assert (entry.path, entry.kind) == (path, kind)
    assert vocabulary.normalise(written) == path
    assert entry.fn is eval(path, {"torch": torch})  # a constant path of the test
    assert path in vocabulary.allowed_paths()
    assert vocabulary.refusal(written) is None


LAYERS = ["Linear", "Conv2d", "LayerNorm", "Embedding", "LSTM", "MultiheadAttention"]
LAYERS += ["CrossEntropyLoss", "Sequential"]


@pytest.mark.parametrize("name", LAYERS)
def test_the_issue_s_layers_are_allowed(name):
    entry = vocabulary.lookup(f"nn.{name}")
    assert entry is not None and entry.fn is getattr(torch.nn, name) and entry.kind == "module"


# Each refusal category: names torch has, the id, and words of its message in both languages.
WORDING = {
    vocabulary.INPLACE: ("changes a tensor in place", "modifica un tensor in place"),
    vocabulary.FILES: ("reads or writes files", "lee o escribe archivos"),
    vocabulary.STATE: ("changes torch's global state", "cambia el estado global de torch"),
    vocabulary.OUT: ("out= writes into an existing tensor", "out= escribe en un tensor existente"),
    vocabulary.INPLACE_KWARG: ("inplace=True changes its input", "inplace=True modifica su entrada"),
    vocabulary.RANDOM: ("draws random numbers; give --seed N", "genera números aleatorios; da --seed N"),
    vocabulary.NOT_AN_OP: ("is not a tensor operation", "no es una operación de tensores"),
    vocabulary.ESCAPES: (
        "hands out what is not a tensor result",
        "entrega algo que no es un tensor resultado",
    ),
}

REFUSED = [
    ("torch.Tensor.data", vocabulary.ESCAPES),
    ("torch.Tensor.grad", vocabulary.ESCAPES),
    ("torch.Tensor.numpy", vocabulary.ESCAPES),
    ("torch.Tensor.tolist", vocabulary.ESCAPES),
    ("torch.Tensor.storage", vocabulary.ESCAPES),
    ("torch.Tensor.add_", vocabulary.INPLACE),
    ("torch.relu_", vocabulary.INPLACE),
    ("F.relu_", vocabulary.INPLACE),
    ("torch.Tensor.__iadd__", vocabulary.INPLACE),
    ("torch.Tensor.__setitem__", vocabulary.INPLACE),
    ("torch.Tensor.uniform_", vocabulary.INPLACE),
    ("torch.load", vocabulary.FILES),
    ("torch.save", vocabulary.FILES),
    ("torch.from_file", vocabulary.FILES),
    ("torch.manual_seed", vocabulary.STATE),
    ("torch.seed", vocabulary.STATE),
    ("torch.set_default_dtype", vocabulary.STATE),
    ("torch.set_default_device", vocabulary.STATE),
    ("torch.set_num_threads", vocabulary.STATE),
    ("torch.set_grad_enabled", vocabulary.STATE),
    ("torch.use_deterministic_algorithms", vocabulary.STATE),
    ("torch.set_printoptions", vocabulary.STATE),
    ("torch.Tensor.backward", vocabulary.STATE),
    ("torch.Tensor.register_hook", vocabulary.STATE),
    ("torch.compile", vocabulary.NOT_AN_OP),
    ("torch.typename", vocabulary.NOT_AN_OP),
]


@pytest.mark.parametrize(("path", "why"), REFUSED)
def test_refusals_say_why(path, why):
    assert vocabulary.lookup(path) is None
    assert vocabulary.refusal(path) == why
    english, spanish = WORDING[why]
    assert english in EN[why].format(name=path)
    assert spanish in ES[why].format(name=path)
    assert path in EN[why].format(name=path)


def test_every_refusal_id_is_in_both_catalogs_and_tested():
    constants = {k: v for k, v in vars(vocabulary).items() if k.isupper() and isinstance(v, str)}
    ids = {v for v in constants.values() if v.startswith("vocab.")}
    assert ids == set(WORDING)
    assert ids <= set(EN) and ids <= set(ES)
    assert set(vocabulary.refused_paths().values()) <= ids


def test_refused_kwargs():
    x = torch.ones(2)
    assert vocabulary.refused_kwargs("torch.add", {"out": x}) == vocabulary.OUT
    assert vocabulary.refused_kwargs("F.relu", {"inplace": True}) == vocabulary.INPLACE_KWARG
    assert vocabulary.refused_kwargs("torch.nn.functional.relu", {"inplace": False}) is None
    assert vocabulary.refused_kwargs("torch.add", {"alpha": 2}) is None
    for why in (vocabulary.OUT, vocabulary.INPLACE_KWARG):
        english, spanish = WORDING[why]
        assert english in EN[why] and spanish in ES[why]


@pytest.mark.parametrize(
    ("path", "args", "kwargs"),
    [
        ("F.batch_norm", lambda m, v: (torch.randn(4, 3), m, v), {"training": True}),
        ("F.instance_norm", lambda m, v: (torch.randn(2, 3, 5), m, v), {}),
        ("torch.native_batch_norm", lambda m, v: (torch.randn(4, 3), None, None, m, v, True, 0.1, 1e-5), {}),
    ],
)
def test_running_statistics_written_in_training_are_refused(path, args, kwargs):
    mean, var = torch.zeros(3), torch.ones(3)
    call_args = args(mean, var)
    vocabulary.lookup(path).fn(*call_args, **kwargs)
    assert not torch.equal(mean, torch.zeros(3))  # torch does write them (without a _version bump)
    assert vocabulary.refused_kwargs(path, kwargs, call_args) == vocabulary.INPLACE
    x = torch.randn(4, 3)
    assert vocabulary.refused_kwargs("F.batch_norm", {}, (x, mean, var)) is None  # eval mode reads them
    assert vocabulary.refused_kwargs("F.instance_norm", {}, (x.unsqueeze(0),)) is None


def test_random_ops_are_allowed_and_flagged():
    for path in ("torch.randn", "torch.rand", "torch.randint", "torch.multinomial", "F.dropout", "nn.Linear"):
        entry = vocabulary.lookup(path)
        assert entry is not None and entry.random, path
        assert vocabulary.refusal(path) is None
    english, spanish = WORDING[vocabulary.RANDOM]
    assert english in EN[vocabulary.RANDOM] and spanish in ES[vocabulary.RANDOM]


def test_the_set_agrees_with_the_schemas():
    """Every allowed aten-backed function has a pure overload; every refused in-place one has none."""
    allowed = vocabulary.allowed_paths()
    for path in allowed:
        name = path.rpartition(".")[2]
        if path.startswith("torch.Tensor.") or not path.startswith("torch.") or name.startswith("__"):
            continue
        packet = getattr(torch.ops.aten, name, None) if path.count(".") == 1 else None
        if packet is None or not packet.overloads():
            continue
        schemas = [getattr(packet, o)._schema for o in packet.overloads()]
        non_out = [s for s in schemas if not s.overload_name.endswith("out")]
        if non_out:
            assert any(not s.is_mutable for s in non_out), path
    assert not any(p.endswith("_") and not p.endswith("__") for p in allowed)


def test_counts():
    kinds = collections.Counter(vocabulary.lookup(p).kind for p in vocabulary.allowed_paths())
    assert kinds["function"] > 600 and kinds["method"] > 300
    assert kinds["property"] > 20 and kinds["module"] > 100


def test_no_torch_at_import():
    code = "import sys, tensorshape_cli.vocabulary; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_schemas_read_by_name_say_what_the_whole_schema_table_says():
    # each op is judged from its own aten schemas, read by name on first lookup: they must be
    # the ones torch's full table lists, with the same mutation and file annotations
    table: dict[str, list[Any]] = {}
    for schema in torch._C._jit_get_all_schemas():
        if schema.name.startswith("aten::"):
            table.setdefault(schema.name[len("aten::") :], []).append(schema)
    meta = vocabulary._AtenMeta()
    for name, schemas in table.items():
        known = meta.schemas(name)
        computing = [s for s in schemas if s.overload_name != "out" and not s.overload_name.endswith("_out")]
        assert sorted(known.overloads) == sorted(s.overload_name for s in schemas), name
        assert known.mutating == any(s.is_mutable for s in computing), name
        assert known.pure == any(not s.is_mutable for s in computing), name
        takes_a_file = any(a.name == "filename" for s in schemas for a in s.arguments)
        assert known.files == ("file" in name and takes_a_file), name
    assert meta.only_mutating("relu_") and not meta.only_mutating("relu")
    assert meta.reads_files("from_file")
    assert not meta.has_op("no_such_op")
