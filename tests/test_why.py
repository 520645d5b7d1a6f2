"""`tshape why`: real error texts, made by torch in the test, explained with the fix.

Every message here is produced by running the failing op in the test (or is an older torch
release's wording of the same error, written out); the suggested fix is then run and must no
longer raise.
"""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_one_line, run_tshape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from tensorshape_cli.why.patterns import recognise
from tensorshape_cli.why.traceback import parse


def torch_message(fn) -> str:
    try:
        fn()
    except (RuntimeError, IndexError, ValueError) as e:
        return f"{type(e).__name__}: {e}"
    raise AssertionError("expected torch to raise")


def traceback_of(message: str, code: str = "y = model(x)", user: str = "/home/ana/train.py") -> str:
    return (
        "Traceback (most recent call last):\n"
        f'  File "{user}", line 42, in <module>\n'
        f"    {code}\n"
        "    ^^^^^^^^^^^^\n"
        '  File "/opt/venv/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1751, '
        "in _wrapped_call_impl\n"
        "    return self._call_impl(*args, **kwargs)\n"
        f"{message}\n"
    )


def why(text: str, *extra: str):
    return run_tshape("why", text, "--json", *extra)


# --- matmul: the Linear after a flatten --------------------------------------------------


def test_mat1_mat2_names_the_layer_and_its_fix_runs():
    x = torch.zeros(64, 512)
    message = torch_message(lambda: nn.Linear(256, 10)(x))
    r = why(traceback_of(message, "return self.fc(x)"))
    assert r.code == 0, r.stderr
    doc = r.doc
    assert doc["op"] == "matmul"
    assert doc["inputs"]["mat1"]["shape"] == [64, 512] and doc["inputs"]["mat2"]["shape"] == [256, 10]
    assert doc["location"] == {"file": "/home/ana/train.py", "line": 42, "code": "return self.fc(x)"}
    assert all(c["ok"] for c in doc["checks"]) and doc["checks"]
    hint = doc["error"]["hint"]
    assert "self.fc" in hint
    inp, out = map(int, re.search(r"nn\.Linear\((\d+), (\d+)\)", hint).groups())
    assert nn.Linear(inp, out)(x).shape == (64, 10)  # the suggested layer no longer raises


@pytest.mark.parametrize(
    "text",
    [
        "mat1 and mat2 shapes cannot be multiplied (64x512 and 256x10)",
        "RuntimeError: size mismatch, m1: [64 x 512], m2: [256 x 10] "
        "at /pytorch/aten/src/TH/generic/THTensorMath.cpp:41",
        "lightning.fabric.utilities.exceptions.MisconfigurationException: step failed: "
        "RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x512 and 256x10)",
    ],
    ids=["torch 2", "torch 1.x", "wrapped"],
)
def test_mat1_mat2_in_every_wording(text):
    r = why(text)
    assert r.code == 0, r.stderr
    assert r.doc["inputs"]["mat1"]["shape"] == [64, 512]
    assert "nn.Linear(512, 10)" in r.doc["error"]["hint"]


def test_operands_named_from_the_source_line():
    a, b = torch.zeros(3, 4), torch.zeros(5, 4)
    message = torch_message(lambda: a @ b)
    doc = why(traceback_of(message, "y = a @ b")).doc
    hint = doc["error"]["hint"]
    assert "a @ b.T" in hint
    assert (a @ b.T).shape == (3, 5)


# --- convolution --------------------------------------------------------------------------


def test_conv_channels_with_the_layer_to_build():
    x = torch.zeros(8, 1, 28, 28)
    message = torch_message(lambda: nn.Conv2d(3, 16, 3)(x))
    doc = why(traceback_of(message, "x = self.conv1(x)")).doc
    assert doc["op"] == "conv2d" and doc["inputs"]["input"]["shape"] == [8, 1, 28, 28]
    assert doc["checks"][0]["ok"]
    hint = doc["error"]["hint"]
    c_in, c_out, k = map(int, re.search(r"nn\.Conv2d\((\d+), (\d+), kernel_size=(\d+)\)", hint).groups())
    assert "self.conv1" in hint
    assert nn.Conv2d(c_in, c_out, k)(x).shape == (8, 16, 26, 26)
    assert x.expand(-1, 3, -1, -1).shape == (8, 3, 28, 28) and "x.expand(-1, 3, -1, -1)" in hint


def test_conv_channels_last_suggests_the_permute():
    x = torch.zeros(8, 224, 224, 3)
    message = torch_message(lambda: nn.Conv2d(3, 16, 3)(x))
    hint = why(message).doc["error"]["hint"]
    assert "x.permute(0, 3, 1, 2)" in hint
    assert nn.Conv2d(3, 16, 3)(x.permute(0, 3, 1, 2)).shape == (8, 16, 222, 222)


def test_conv_missing_batch_dims():
    x = torch.zeros(3, 224)
    message = torch_message(lambda: nn.Conv2d(3, 16, 3)(x))
    doc = why(message).doc
    assert doc["error"]["kind"] == "conv_input_dims"
    assert "x.unsqueeze(0)" in doc["error"]["hint"]
    assert nn.Conv2d(1, 16, 3)(x.unsqueeze(0)).dim() == 3


def test_conv_old_wording():
    text = (
        "RuntimeError: Expected 4-dimensional input for 4-dimensional weight [16, 3, 3, 3], "
        "but got 2-dimensional input of size [3, 224] instead"
    )
    doc = why(text).doc
    assert doc["error"]["kind"] == "conv_input_dims" and doc["inputs"]["input"]["shape"] == [3, 224]


def test_kernel_larger_than_the_input():
    x = torch.zeros(1, 3, 2, 2)
    message = torch_message(lambda: nn.Conv2d(3, 4, 3)(x))
    doc = why(message).doc
    assert doc["error"]["kind"] == "conv_kernel_too_big" and all(c["ok"] for c in doc["checks"])
    padding = int(re.search(r"padding=(\d+)", doc["error"]["hint"]).group(1))
    assert nn.Conv2d(3, 4, 3, padding=padding)(x).shape[-1] >= 1


# --- view, broadcasting, cat, dims --------------------------------------------------------


def test_view_size_with_the_inferred_fix():
    x = torch.zeros(12)
    message = torch_message(lambda: x.view(4, 5))
    doc = why(traceback_of(message, "y = x.view(4, 5)")).doc
    assert doc["op"] == "view"
    assert "x.view(4, -1)" in doc["error"]["hint"]
    assert list(x.view(4, -1).shape) == [4, 3] and "(4, 3)" in doc["error"]["hint"]


def test_view_not_contiguous():
    x = torch.zeros(2, 3).transpose(0, 1)
    message = torch_message(lambda: x.view(6))
    doc = why(traceback_of(message, "y = x.view(6)")).doc
    assert doc["error"]["kind"] == "view_not_contiguous"
    assert "x.reshape(6)" in doc["error"]["hint"] and "x.contiguous().view(6)" in doc["error"]["hint"]
    assert x.reshape(6).shape == (6,)


def test_broadcast_sizes_at_a_dimension():
    a, b = torch.zeros(2, 4), torch.zeros(2, 5)
    message = torch_message(lambda: a + b)
    doc = why(traceback_of(message, "y = a + b")).doc
    assert doc["op"] == "broadcast"
    assert "dimension 1" in doc["error"]["message"]
    assert set(doc["inputs"]) == {"a", "b"}


def test_cat_sizes():
    message = torch_message(lambda: torch.cat([torch.zeros(2, 3), torch.zeros(2, 4)]))
    doc = why(message).doc
    assert doc["op"] == "cat" and "dim=1" in doc["error"]["hint"]
    assert torch.cat([torch.zeros(2, 3), torch.zeros(2, 4)], dim=1).shape == (2, 7)


def test_cat_older_wording():
    text = (
        "Sizes of tensors must match except in dimension 0. "
        "Got 3 and 4 in dimension 1 (The offending index is 1)"
    )
    assert why(text).doc["op"] == "cat"


def test_dimension_out_of_range():
    message = torch_message(lambda: torch.zeros(2, 3).sum(2))
    doc = why(traceback_of(message, "y = x.sum(2)")).doc
    assert doc["error"]["kind"] == "dim_out_of_range"
    assert "[-2, 1]" in doc["error"]["message"]
    assert doc["checks"][0]["ok"]


def test_index_out_of_bounds():
    message = torch_message(lambda: torch.zeros(2, 3)[:, 5])
    doc = why(message).doc
    assert doc["error"]["kind"] == "index_out_of_range" and "0 to 2" in doc["error"]["hint"]


# --- embedding, losses, normalization, recurrent layers -----------------------------------


def test_embedding_index_names_the_layer():
    message = torch_message(lambda: nn.Embedding(10, 3)(torch.tensor([10])))
    doc = why(traceback_of(message, "h = self.emb(tokens)")).doc
    assert doc["error"]["kind"] == "embedding_index"
    assert "self.emb" in doc["error"]["hint"] and "tokens.max()" in doc["error"]["hint"]


def test_cross_entropy_float_target():
    logits, target = torch.zeros(4, 3), torch.tensor([0.0, 1, 2, 1])
    message = torch_message(lambda: F.cross_entropy(logits, target))
    doc = why(traceback_of(message, "loss = F.cross_entropy(logits, target)")).doc
    assert doc["error"]["kind"] == "cross_entropy_target_dtype"
    assert "target.long()" in doc["error"]["hint"]
    F.cross_entropy(logits, target.long())  # the fix runs


def test_cross_entropy_older_dtype_wording():
    assert why("RuntimeError: expected scalar type Long but found Float").doc["error"]["kind"] == (
        "cross_entropy_target_dtype"
    )


def test_cross_entropy_multi_target():
    logits, target = torch.zeros(4, 3), torch.zeros(4, 1, dtype=torch.long)
    message = torch_message(lambda: F.cross_entropy(logits, target))
    doc = why(traceback_of(message, "loss = criterion(logits, target)")).doc
    assert doc["error"]["kind"] == "cross_entropy_target_shape"
    assert "target.squeeze(1)" in doc["error"]["hint"]
    F.cross_entropy(logits, target.squeeze(1))


def test_cross_entropy_batch_sizes():
    message = torch_message(lambda: F.cross_entropy(torch.zeros(4, 3), torch.zeros(5, dtype=torch.long)))
    doc = why(message).doc
    assert doc["error"]["kind"] == "cross_entropy_batch" and "4" in doc["error"]["message"]


def test_layer_norm_and_lstm():
    message = torch_message(lambda: nn.LayerNorm(4)(torch.zeros(2, 5)))
    doc = why(traceback_of(message, "x = self.norm(x)")).doc
    assert "nn.LayerNorm((5,))" in doc["error"]["hint"]
    nn.LayerNorm((5,))(torch.zeros(2, 5))
    message = torch_message(lambda: nn.LSTM(4, 8)(torch.zeros(2, 3, 5)))
    doc = why(traceback_of(message, "out, _ = self.rnn(x)")).doc
    assert "input_size=5" in doc["error"]["hint"]
    nn.LSTM(5, 8)(torch.zeros(2, 3, 5))


# --- load_state_dict --------------------------------------------------------------------


def test_state_dict_mismatch_per_key_and_the_layer_to_build():
    saved = nn.Sequential(nn.Linear(512, 10)).state_dict()
    message = torch_message(lambda: nn.Sequential(nn.Linear(256, 10)).load_state_dict(saved))
    doc = why(message).doc
    assert doc["op"] == "load_state_dict"
    assert doc["inputs"]["0.weight"]["shape"] == [10, 512]
    inp, out = map(int, re.search(r"with nn\.Linear\((\d+), (\d+)\)", doc["error"]["hint"]).groups())
    nn.Sequential(nn.Linear(inp, out)).load_state_dict(saved)  # the suggested layer loads


def test_state_dict_dataparallel_prefix():
    saved = {f"module.{k}": v for k, v in nn.Linear(2, 3).state_dict().items()}
    message = torch_message(lambda: nn.Linear(2, 3).load_state_dict(saved))
    doc = why(message).doc
    assert "module." in doc["error"]["hint"]
    nn.Linear(2, 3).load_state_dict({k.removeprefix("module."): v for k, v in saved.items()})


# --- what why does not know, and hostile text ---------------------------------------------


def test_unknown_error_and_no_error_exit_2():
    r = run_tshape("why", "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB")
    assert r.code == 2
    assert_one_line(r.stderr)
    r = run_tshape("why", "hello world")
    assert r.code == 2 and "no error message" in r.stderr
    assert_one_line(r.stderr)


def test_a_close_family_is_named():
    r = run_tshape("why", "RuntimeError: mat1 and mat2 must have the same dtype")
    assert r.code == 2 and "matrix product" in r.stderr


def test_standard_input_and_spanish():
    message = torch_message(lambda: torch.zeros(12).view(4, 5))
    r = run_tshape("why", "-", "--lang", "es", input=traceback_of(message, "y = x.view(4, 5)"))
    assert r.code == 0, r.stderr
    assert "Dónde falló" in r.stdout and "Where it failed" not in r.stdout


def test_last_exception_of_a_chain_and_the_users_frame():
    first = torch_message(lambda: torch.zeros(12).view(4, 5))
    last = torch_message(lambda: torch.zeros(2, 3) @ torch.zeros(4, 5))
    text = traceback_of(first) + "\nDuring handling of the above exception, another exception occurred:\n\n"
    text += traceback_of(last, "z = a @ b", user="/home/ana/eval.py")
    parsed = parse(text)
    assert parsed.location is not None and parsed.location.file == "/home/ana/eval.py"
    assert recognise(parsed.message).kind == "matmul"


def test_very_long_shapes():
    shape = [2] * 60
    message = f"shape '{shape}' is invalid for input of size 7"
    doc = why(message).doc
    assert doc["error"]["kind"] == "view_size_mismatch"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400))
def test_any_text_is_explained_or_refused_in_one_line(text):
    r = run_tshape("why", text)
    assert r.code in (0, 1, 2)
    if r.code == 2:
        assert_one_line(r.stderr)


REAL = traceback_of(
    "RuntimeError: Given groups=1, weight of size [16, 3, 3, 3], expected input[8, 1, 28, 28] "
    "to have 3 channels, but got 1 channels instead",
    "x = self.conv1(x)",
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_tracebacks_never_crash(data):
    chars = list(REAL)
    header = REAL.index("\n") + 1  # kept: the fixture refuses any output with a Python traceback's header
    for _ in range(data.draw(st.integers(0, 12))):
        i = data.draw(st.integers(header, len(chars) - 1))
        chars[i] = data.draw(st.sampled_from([*"0123456789[],x ()\n\"'-", "9" * 30]))
    r = run_tshape("why", "".join(chars))
    assert r.code in (0, 1, 2)
    if r.code == 2:
        assert_one_line(r.stderr)


def test_a_size_past_64_bits_anywhere_in_a_traceback_is_one_sentence():
    # Found by the test above: a digit of REAL's message turned into 30 nines made torch.empty
    # raise TypeError (exit 70). Every digit of the message, in turn.
    header = REAL.index("\n") + 1
    positions = [i for i, c in enumerate(REAL) if c.isdigit() and i >= header]
    assert positions
    for i in positions:
        r = run_tshape("why", REAL[:i] + "9" * 30 + REAL[i + 1 :])
        assert r.code in (0, 1, 2), (i, r.stderr)
        if r.code == 2:
            assert_one_line(r.stderr)


def test_a_megabyte_of_text_is_read_in_linear_time():
    text = ("[" + "1, " * 300 + "\n") * 1500 + REAL  # ~1.3 MB: only its last MiB is read
    r = run_tshape("why", "-", input=text)
    assert r.code == 0, r.stderr


# --- inspect --against: what load_state_dict would say, from two files -------------------


def test_inspect_against_lists_what_load_state_dict_reports(tmp_path):
    checkpoint = nn.Sequential(nn.Linear(512, 10), nn.ReLU())
    model = nn.Sequential(nn.Linear(256, 10), nn.ReLU(), nn.Linear(10, 2))
    torch.save(checkpoint.state_dict(), tmp_path / "ckpt.pt")
    torch.save(model.state_dict(), tmp_path / "model.pt")
    with pytest.raises(RuntimeError) as raised:
        model.load_state_dict(checkpoint.state_dict())
    reported = str(raised.value)
    r = run_tshape("inspect", str(tmp_path / "ckpt.pt"), "--against", str(tmp_path / "model.pt"), "--json")
    assert r.code == 1
    doc = r.doc
    rows = {
        row[0]: (row[1], row[2], status)
        for row, status in zip(
            doc["steps"][0]["table"]["rows"], doc["steps"][0]["table"]["status"], strict=True
        )
    }
    for key in ("2.weight", "2.bias"):  # missing, as torch reports them
        assert f'"{key}"' in reported and rows[key][0] == "—"
    assert "size mismatch for 0.weight" in reported and rows["0.weight"][2] == "mismatch"
    assert rows["0.bias"][2] == "ok"
    inp, out = map(int, re.search(r"with nn\.Linear\((\d+), (\d+)\)", doc["error"]["hint"]).groups())
    fixed = nn.Sequential(nn.Linear(inp, out), nn.ReLU())
    fixed.load_state_dict(checkpoint.state_dict())


def test_inspect_against_the_same_shapes_exits_0(tmp_path):
    torch.save(nn.Linear(2, 3).state_dict(), tmp_path / "a.pt")
    torch.save(nn.Linear(2, 3).state_dict(), tmp_path / "b.pt")
    r = run_tshape("inspect", str(tmp_path / "a.pt"), "--against", str(tmp_path / "b.pt"), "--json")
    assert r.code == 0 and r.doc["error"] is None
    nn.Linear(2, 3).load_state_dict(torch.load(tmp_path / "a.pt", weights_only=True))


def test_inspect_against_a_dataparallel_prefix(tmp_path):
    state = nn.Linear(2, 3).state_dict()
    torch.save({f"module.{k}": v for k, v in state.items()}, tmp_path / "dp.pt")
    torch.save(state, tmp_path / "plain.pt")
    r = run_tshape("inspect", str(tmp_path / "dp.pt"), "--against", str(tmp_path / "plain.pt"), "--json")
    assert r.code == 1 and "removeprefix('module.')" in r.doc["error"]["hint"]


# --- every family, in every form a message reaches a user ---------------------------------

FAMILY_ERRORS = {
    "matmul": lambda: nn.Linear(256, 10)(torch.zeros(64, 512)),
    "conv_channels": lambda: nn.Conv2d(3, 16, 3)(torch.zeros(8, 1, 28, 28)),
    "conv_input_dims": lambda: nn.Conv2d(3, 16, 3)(torch.zeros(3, 224)),
    "conv_kernel_too_big": lambda: nn.Conv2d(3, 4, 3)(torch.zeros(1, 3, 2, 2)),
    "view_size": lambda: torch.zeros(12).view(4, 5),
    "view_stride": lambda: torch.zeros(2, 3).transpose(0, 1).view(6),
    "broadcast": lambda: torch.zeros(2, 4) + torch.zeros(2, 5),
    "cat": lambda: torch.cat([torch.zeros(2, 3), torch.zeros(2, 4)]),
    "stack": lambda: torch.stack([torch.zeros(2), torch.zeros(3)]),
    "dim_range": lambda: torch.zeros(2, 3).sum(2),
    "index_bounds": lambda: torch.zeros(2, 3)[:, 5],
    "embedding_index": lambda: nn.Embedding(10, 3)(torch.tensor([10])),
    "ce_target_dtype": lambda: F.cross_entropy(torch.zeros(4, 3), torch.zeros(4)),
    "ce_multi_target": lambda: F.cross_entropy(torch.zeros(4, 3), torch.zeros(4, 1, dtype=torch.long)),
    "ce_batch": lambda: F.cross_entropy(torch.zeros(4, 3), torch.zeros(5, dtype=torch.long)),
    "layer_norm": lambda: nn.LayerNorm(4)(torch.zeros(2, 5)),
    "rnn_input_size": lambda: nn.LSTM(4, 8)(torch.zeros(2, 3, 5)),
    "state_dict": lambda: nn.Linear(2, 3).load_state_dict(nn.Linear(4, 3).state_dict()),
}


def _forms(message: str) -> dict[str, str]:
    """The message as torch wrote it, inside a traceback, and wrapped by another library."""
    return {
        "bare": message,
        "traceback": traceback_of(message),
        "wrapped": f"lightning.fabric.utilities.exceptions.MisconfigurationException: step failed: {message}",
        "context": "epoch 3/10: 100%|██████████| 12/12\n" + traceback_of(message) + "\nwandb: finished\n",
    }


@pytest.mark.parametrize("kind", sorted(FAMILY_ERRORS))
@pytest.mark.parametrize("form", ["bare", "traceback", "wrapped", "context"])
def test_every_family_in_every_form(kind, form):
    message = torch_message(FAMILY_ERRORS[kind])
    text = _forms(message)[form]
    assert recognise(parse(text).message).kind == kind
    r = run_tshape("why", text, "--json")
    assert r.code == 0, (kind, form, r.stderr)
    doc = r.doc
    assert doc["error"]["hint"] and doc["error"]["message"]
    assert all(c["ok"] for c in doc["checks"]), doc["checks"]  # reproduced on shape-only tensors
    if form in ("traceback", "context"):
        assert doc["location"]["file"] == "/home/ana/train.py"
