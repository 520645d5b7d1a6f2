"""The convolution and pooling family: every number against torch, computed here."""

from __future__ import annotations

import ast
import json
import math
import re
import shlex
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_schema, assert_tensor, find_check, run_tshape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_lang import (
    CLOSE,
    ENGLISH_MESSAGES,
    ENGLISH_WORDS,
    OPEN,
    WORD,
    _is_code,
    _without_pointer,
    doc_texts,
    outside_catalog,
    visible_texts,
)
from torch import nn

from tensorshape_cli import messages, registry
from tensorshape_cli import settings as tshape_settings
from tensorshape_cli.messages import EN
from tensorshape_cli.messages.es import MESSAGES as ES
from tensorshape_cli.ops.families import conv
from tensorshape_cli.registry import Call

SPEC = registry.get("conv")
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def explain(fn, *args, codes=None, lang="en", **kwargs):
    names = codes or ["x", "w", "b"][: len(args)]
    code = f"F.{fn.__name__}({', '.join(names)})"
    with tshape_settings.use(tshape_settings.Settings(lang=lang)):
        return SPEC.explain(Call(fn=fn, name=fn.__name__, args=args, kwargs=kwargs, codes=names, code=code))


def raises(fn, *args, **kwargs) -> str:
    with pytest.raises((RuntimeError, ValueError)) as info:
        fn(*args, **kwargs)
    return str(info.value)


def literal(t: torch.Tensor) -> str:
    return json.dumps(t.tolist())


# --- the registry -------------------------------------------------------------------------------


def test_every_target_resolves_in_this_torch_and_finds_the_spec():
    assert len(SPEC.targets) >= 40
    for path in SPEC.targets:
        target = registry.resolve(path)
        assert target is not None, path
        assert registry.for_callable(target) is SPEC, path
    assert registry.for_callable(F.conv2d) is SPEC
    assert registry.for_callable(torch.max_pool2d) is SPEC


def test_runtime_ids_and_error_titles_are_in_both_catalogs():
    for msg_id in conv.RUNTIME_IDS:
        assert msg_id in EN and msg_id in ES, msg_id
    source = Path(conv.__file__).read_text(encoding="utf-8")
    kinds = set(re.findall(r'"((?:conv|pool|fold)_[a-z_]+)"', source)) - {"conv_transpose"}
    assert kinds == set(conv.ERROR_KINDS)
    for kind in kinds:
        assert f"error_title.{kind}" in EN and f"error_title.{kind}" in ES, kind


# --- conv2d: shape, formula, one element by hand --------------------------------------------------


def conv_inputs(seed=0, c=3, h=28, w=28, out=4, k=3):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(2, c, h, w, generator=g),
        torch.randn(out, c, k, k, generator=g),
        torch.randn(out, generator=g),
    )


def test_conv2d_result_formula_and_element_agree_with_torch():
    x, w, b = conv_inputs()
    y = F.conv2d(x, w, b, stride=2, padding=1)
    ex = explain(F.conv2d, x, w, b, stride=2, padding=1)
    doc = ex.to_dict()
    assert_schema(doc)
    assert doc["error"] is None
    assert_tensor(doc["result"], y, rel=1e-6, values=False)
    notes = " ".join(s["note"] for s in doc["steps"])
    assert f"floor((28 + 2·1 − 1·(3 − 1) − 1) / 2) + 1 = {y.shape[2]}" in notes
    assert find_check(doc, "shape")["torch"] == str(tuple(y.shape))
    element = [c for c in doc["checks"] if c["label"].startswith("element y[")]
    assert len(element) == 1 and element[0]["ok"]
    index = tuple(int(i) for i in re.findall(r"\d+", element[0]["label"]))
    assert element[0]["torch"] == pytest.approx(float(y[index]), rel=1e-6)
    assert element[0]["manual"] == pytest.approx(float(y[index]), rel=1e-5, abs=1e-5)
    assert element[0]["expression"].endswith(f" + {float(b[0]):.6g}".replace("+ -", "+ -"))
    # the written sum names the operands as the user did and ends with the bias
    assert "x[0,0," in notes and "b[0]" in notes


def test_the_element_check_fails_when_torch_gives_another_number(monkeypatch):
    x, w, b = conv_inputs()
    monkeypatch.setattr(conv, "_kind_of", lambda call: ("conv", 2))
    ex = explain(lambda *a, **k: F.conv2d(*a, **k) + 1e-2, x, w, b)
    element = [c for c in ex.checks if c.label.startswith("element")]
    assert element and not element[0].ok
    assert not ex.ok


def test_conv2d_channel_rule_and_groups():
    x = torch.randn(1, 4, 6, 6)
    w = torch.randn(6, 2, 3, 3)
    y = F.conv2d(x, w, groups=2)
    doc = explain(F.conv2d, x, w, groups=2).to_dict()
    assert_tensor(doc["result"], y, values=False)
    note = next(s["note"] for s in doc["steps"] if s["title"] == EN["conv.channels.title"])
    assert f"2 × groups 2 = {x.shape[1]}" in note and f"out_channels = {y.shape[1]}" in note
    element = next(c for c in doc["checks"] if c["label"].startswith("element"))
    assert element["ok"] and element["torch"] == pytest.approx(float(y[0, 0, 0, 0]), rel=1e-6)


def test_padding_same_and_valid():
    x, w, b = conv_inputs(h=9, w=7, k=3)
    for padding in ("same", "valid"):
        y = F.conv2d(x, w, b, padding=padding, dilation=2)
        doc = explain(F.conv2d, x, w, b, padding=padding, dilation=2).to_dict()
        assert_tensor(doc["result"], y, rel=1e-6, values=False)
        assert all(c["ok"] for c in doc["checks"])
        assert f"padding='{padding}'" in " ".join(s["note"] for s in doc["steps"])


@pytest.mark.parametrize(
    ("fn", "x", "w", "kwargs"),
    [
        (F.conv1d, (2, 4, 11), (3, 4, 3), {"stride": 2, "padding": 1}),
        (F.conv3d, (1, 2, 5, 6, 7), (3, 2, 2, 3, 2), {"dilation": (1, 2, 1)}),
        (torch.conv2d, (3, 9, 9), (2, 3, 4, 4), {}),  # unbatched
        (F.conv_transpose2d, (1, 2, 4, 5), (2, 3, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
        (F.conv_transpose1d, (2, 4, 6), (4, 1, 3), {"groups": 2}),
        (torch.conv_transpose3d, (1, 2, 3, 3, 3), (2, 1, 2, 2, 2), {"stride": 2}),
    ],
)
def test_conv_spellings_agree_with_torch(fn, x, w, kwargs):
    g = torch.Generator().manual_seed(1)
    xt, wt = torch.randn(*x, generator=g), torch.randn(*w, generator=g)
    y = fn(xt, wt, **kwargs)
    doc = explain(fn, xt, wt, **kwargs).to_dict()
    assert doc["error"] is None
    assert_tensor(doc["result"], y, rel=1e-5, values=False)
    element = next(c for c in doc["checks"] if c["label"].startswith("element"))
    index = tuple(int(i) for i in re.findall(r"\d+", element["label"]))
    assert element["ok"] and element["torch"] == pytest.approx(float(y[index]), rel=1e-6)
    assert element["manual"] == pytest.approx(float(y[index]), rel=1e-5, abs=1e-5)
    if "transpose" in fn.__name__:
        assert "(H − 1)·stride − 2·padding" in " ".join(s["note"] for s in doc["steps"])


def test_shape_only_conv_explains_shapes_and_skips_values():
    x, w = torch.empty(8, 3, 32, 32, device="meta"), torch.empty(16, 3, 5, 5, device="meta")
    y = F.conv2d(x, w, stride=2, padding=2)
    doc = explain(F.conv2d, x, w, stride=2, padding=2).to_dict()
    assert doc["error"] is None
    assert doc["result"]["shape"] == list(y.shape) and doc["result"]["values"] is None
    assert find_check(doc, "shape")["ok"]
    assert find_check(doc, EN["check.skipped.label"])["manual"] is None
    assert f"floor((32 + 2·2 − 1·(5 − 1) − 1) / 2) + 1 = {y.shape[-1]}" in json.dumps(doc, ensure_ascii=False)


# --- pooling ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "shape", "args", "kwargs"),
    [
        (F.max_pool2d, (1, 2, 7, 7), (3,), {"stride": 2, "padding": 1, "ceil_mode": True}),
        (torch.max_pool2d, (1, 2, 6, 6), (2,), {}),
        (F.max_pool1d, (2, 3, 9), (3,), {"stride": 2, "dilation": 2}),
        (F.max_pool3d, (1, 1, 4, 5, 6), (2,), {"return_indices": True}),
        (F.avg_pool2d, (1, 2, 5, 5), (3,), {"stride": 2, "padding": 1, "ceil_mode": True}),
        (F.avg_pool3d, (1, 1, 4, 4, 4), (2,), {"padding": 1, "count_include_pad": False}),
        (torch.avg_pool1d, (2, 8), (3,), {}),
        (F.adaptive_avg_pool2d, (1, 2, 7, 5), ((3, 2),), {}),
        (F.adaptive_max_pool2d, (1, 2, 7, 5), (3,), {}),
        (torch.adaptive_max_pool1d, (2, 7), (3,), {}),
        (F.lp_pool2d, (1, 2, 6, 6), (2, 2), {}),
        (F.unfold, (1, 2, 5, 5), (2,), {"padding": 1}),
        (F.fold, (1, 8, 16), ((5, 5), 2), {}),
    ],
)
def test_pooling_and_unfold_agree_with_torch(fn, shape, args, kwargs):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(2))
    result = fn(x, *args, **kwargs)
    y = result[0] if isinstance(result, tuple) else result
    doc = explain(fn, x, *args, codes=["x", *map(repr, args)], **kwargs).to_dict()
    assert doc["error"] is None, doc["error"]
    if isinstance(result, tuple):
        assert_tensor(doc["outputs"][0], y, values=False)
        assert_tensor(doc["outputs"][1], result[1], values=False)
    else:
        assert_tensor(doc["result"], y, rel=1e-6, values=False)
    assert find_check(doc, "shape")["ok"]
    for check in doc["checks"]:
        assert check["ok"], check
        if check["label"].startswith("element"):
            index = tuple(int(i) for i in re.findall(r"\d+", check["label"]))
            assert check["torch"] == pytest.approx(float(y[index]), rel=1e-6)
            assert check["manual"] == pytest.approx(float(y[index]), rel=1e-5, abs=1e-6)


def test_max_pool_window_is_written_out_with_its_values():
    x = torch.tensor([[[[1.0, 5, 2], [3, 4, 0], [7, 1, 1]]]])
    y = F.max_pool2d(x, 2, stride=1)
    doc = explain(F.max_pool2d, x, 2, codes=["x", "2"], stride=1).to_dict()
    check = find_check(doc, "element y[0, 0, 0, 0]")
    assert check["expression"] == "max(1, 5, 3, 4)"
    assert check["manual"] == float(y[0, 0, 0, 0]) == 5.0
    y = F.avg_pool2d(x, 2, stride=1)
    doc = explain(F.avg_pool2d, x, 2, codes=["x", "2"], stride=1).to_dict()
    check = find_check(doc, "element y[0, 0, 0, 0]")
    assert check["expression"] == "(1 + 5 + 3 + 4) / 4"
    assert check["torch"] == float(y[0, 0, 0, 0]) == 3.25


# --- failures ------------------------------------------------------------------------------------


def test_channels_last_input_is_told_with_permute():
    x, w = torch.randn(2, 8, 8, 3), torch.randn(16, 3, 3, 3)
    said = raises(F.conv2d, x, w)
    error = explain(F.conv2d, x, w).error
    assert error.kind == "conv_channels"
    assert said.splitlines()[0] in error.message
    assert "x.permute(0, 3, 1, 2)" in error.hint and "nn.Conv2d(8, 16, 3)" in error.hint
    F.conv2d(x.permute(0, 3, 1, 2), w)  # the fix runs


def test_grayscale_into_rgb_layer_is_told_with_expand():
    x, w = torch.randn(4, 1, 8, 8), torch.randn(16, 3, 3, 3)
    raises(F.conv2d, x, w)
    error = explain(F.conv2d, x, w).error
    assert error.kind == "conv_channels"
    assert "x.expand(-1, 3, -1, -1)" in error.hint and "nn.Conv2d(1, 16, 3)" in error.hint
    assert "1 × groups 1 = 3" not in error.message and "3 × groups 1 = 3" in error.message
    F.conv2d(x.expand(-1, 3, -1, -1), w)


def test_missing_batch_and_channel_dims():
    x, w = torch.randn(28, 28), torch.randn(16, 1, 3, 3)
    raises(F.conv2d, x, w)
    error = explain(F.conv2d, x, w).error
    assert error.kind == "conv_rank"
    assert "x.unsqueeze(0)" in error.hint and str(tuple(x.unsqueeze(0).shape)) in error.hint
    F.conv2d(x.unsqueeze(0), w)
    # a batch of one-channel images read as one image with N channels
    x = torch.randn(8, 28, 28)
    raises(F.conv2d, x, w)
    error = explain(F.conv2d, x, w).error
    assert error.kind == "conv_channels" and "x.unsqueeze(1)" in error.hint
    assert F.conv2d(x.unsqueeze(1), w).shape[0] == 8


def test_wrong_number_of_dims():
    x, w = torch.randn(2, 3, 8, 8, 1), torch.randn(4, 3, 3, 3)
    raises(F.conv2d, x, w)
    error = explain(F.conv2d, x, w).error
    assert error.kind == "conv_rank" and "x.squeeze(4)" in error.hint
    F.conv2d(x.squeeze(4), w)
    x = torch.randn(2, 5, 3, 8, 8)
    error = explain(F.conv2d, x, w).error
    assert error.kind == "conv_rank" and "x.flatten(0, 1)" in error.hint
    F.conv2d(x.flatten(0, 1), w)


def test_kernel_larger_than_the_padded_input_gives_a_kernel_and_a_padding_that_fit():
    x, w = torch.randn(1, 3, 2, 4), torch.randn(4, 3, 3, 3)
    said = raises(F.conv2d, x, w)
    ex = explain(F.conv2d, x, w)
    assert ex.error.kind == "conv_kernel_size"
    assert "Kernel size can't be greater" in said and said.splitlines()[0] in ex.error.message
    assert "H: the padded input is 2 + 2·0 = 2 but the kernel spans 1·(3 − 1) + 1 = 3" in ex.error.message
    kernel = re.search(r"kernel_size=(\(\d+, \d+\)|\d+)", ex.error.hint).group(1)
    padding = re.search(r"padding=(\(\d+, \d+\)|\d+)", ex.error.hint).group(1)
    kernel_t, padding_t = ast.literal_eval(kernel), ast.literal_eval(padding)
    F.conv2d(x, torch.randn(4, 3, *((kernel_t,) * 2 if isinstance(kernel_t, int) else kernel_t)))
    F.conv2d(x, w, padding=padding_t)
    size_step = [s for s in ex.to_dict()["steps"] if s["table"]]
    assert size_step and "mismatch" in size_step[0]["table"]["status"]


def test_pool_output_size_and_padding_rules():
    x = torch.randn(2, 4, 1, 1)
    raises(F.max_pool2d, x, 2)
    assert explain(F.max_pool2d, x, 2, codes=["x", "2"]).error.kind == "pool_output_size"
    raises(F.avg_pool2d, x, 2)
    assert explain(F.avg_pool2d, x, 2, codes=["x", "2"]).error.kind == "pool_output_size"
    x = torch.randn(1, 1, 8, 8)
    said = raises(F.max_pool2d, x, 3, padding=2)
    error = explain(F.max_pool2d, x, 3, codes=["x", "3"], padding=2).error
    assert error.kind == "pool_padding" and "padding=1" in error.hint and said in error.message
    F.max_pool2d(x, 3, padding=1)


def test_groups_bias_same_stride_and_fold_rules():
    x = torch.randn(1, 4, 8, 8)
    raises(F.conv2d, x, torch.randn(6, 1, 3, 3), groups=4)
    error = explain(F.conv2d, x, torch.randn(6, 1, 3, 3), groups=4).error
    assert error.kind == "conv_groups" and "1, 2" in error.hint
    F.conv2d(x, torch.randn(6, 2, 3, 3), groups=2)
    raises(F.conv2d, x, torch.randn(6, 4, 3, 3), torch.randn(5))
    assert explain(F.conv2d, x, torch.randn(6, 4, 3, 3), torch.randn(5)).error.kind == "conv_bias"
    raises(F.conv2d, x, torch.randn(6, 4, 3, 3), stride=2, padding="same")
    error = explain(F.conv2d, x, torch.randn(6, 4, 3, 3), stride=2, padding="same").error
    assert error.kind == "conv_same_stride" and "padding=1" in error.hint
    blocks = torch.randn(1, 8, 15)
    raises(F.fold, blocks, (5, 5), 2)
    error = explain(F.fold, blocks, (5, 5), 2, codes=["x", "(5, 5)", "2"]).error
    assert (
        error.kind == "fold_blocks"
        and f"{F.unfold(torch.zeros(1, 2, 5, 5), 2).shape[-1]} blocks" in error.hint
    )
    raises(F.fold, torch.randn(1, 7, 16), (5, 5), 2)
    assert (
        explain(F.fold, torch.randn(1, 7, 16), (5, 5), 2, codes=["x", "(5, 5)", "2"]).error.kind
        == "fold_channels"
    )


def test_transposed_output_size_and_weight_rank():
    x = torch.randn(1, 2, 1, 1)
    w = torch.randn(2, 3, 1, 1)
    raises(F.conv_transpose2d, x, w, padding=1)
    error = explain(F.conv_transpose2d, x, w, padding=1).error
    assert error.kind == "conv_transpose_size"
    assert "(1 − 1)·1 − 2·1 + 1·(1 − 1) + 0 + 1 = -1" in error.message
    F.conv_transpose2d(x, w, padding=0)  # less padding, as the hint says
    raises(F.conv2d, torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3))
    error = explain(F.conv2d, torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3)).error
    assert error.kind == "conv_weight_rank" and "nn.Conv2d(" in error.hint


def test_an_error_no_rule_explains_keeps_torchs_words():
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64)
    w = torch.randn(3, 2, 3, 3)
    said = raises(F.conv2d, x, w)
    error = explain(F.conv2d, x, w).error
    assert error.kind == "torch_error" and error.message == said.splitlines()[0]


# --- the commands -------------------------------------------------------------------------------


def test_conv2d_command_is_a_real_layer_under_seed(tshape):
    x = torch.arange(2 * 6 * 6, dtype=torch.float32).reshape(1, 2, 6, 6) / 10
    torch.manual_seed(3)
    m = nn.Conv2d(2, 4, (3, 5), stride=(2, 1), padding=1)
    with torch.no_grad():
        y = m(x)
    r = tshape("conv2d", literal(x), "--out-channels", "4", "--kernel-size", "3,5", "--stride", "2,1",
               "--padding", "1", "--seed", "3", "--json")  # fmt: skip
    assert r.code == 0, r.stderr
    doc = r.doc
    assert_schema(doc)
    assert_tensor(doc["result"], y, rel=1e-5)
    assert_tensor(doc["inputs"]["m.weight"], m.weight, rel=0)
    assert_tensor(doc["inputs"]["m.bias"], m.bias, rel=0)
    assert all(c["ok"] for c in doc["checks"])
    assert doc["steps"][0]["code"] == "m = nn.Conv2d(2, 4, (3, 5), stride=(2, 1), padding=1)"


def test_conv_commands_shape_only_and_siblings(tshape):
    for command, shape, layer, extra in [
        ("conv1d", (8, 4, 50), nn.Conv1d(4, 8, 5, padding="same"), ["--padding", "same"]),
        ("conv3d", (2, 1, 16, 16, 16), nn.Conv3d(1, 4, 3, stride=2), ["--stride", "2"]),
    ]:
        y = layer.to("meta")(torch.empty(*shape, device="meta"))
        args = [command, f"shape{shape}", "--out-channels", str(layer.out_channels), "--kernel-size",
                str(layer.kernel_size[0]), *extra, "--json"]  # fmt: skip
        r = tshape(*args)
        assert r.code == 0, r.stderr
        assert r.doc["result"]["shape"] == list(y.shape)
    x = torch.randn(1, 2, 7, 7, generator=torch.Generator().manual_seed(0))
    for command, fn in (("maxpool2d", F.max_pool2d), ("avgpool2d", F.avg_pool2d)):
        r = tshape(
            command,
            literal(x),
            "--kernel-size",
            "3",
            "--stride",
            "2",
            "--padding",
            "1",
            "--ceil-mode",
            "--json",
        )
        assert r.code == 0, r.stderr
        assert_tensor(r.doc["result"], fn(x, 3, 2, 1, ceil_mode=True), rel=1e-6)


@pytest.mark.parametrize(
    ("args", "code", "kind"),
    [
        (
            ["conv2d", "shape(8, 28, 28, 3)", "--in-channels", "3", "--out-channels", "16", "-k", "3"],
            1,
            "conv_channels",
        ),
        (["conv2d", "shape(28, 28)", "--out-channels", "16", "-k", "3"], 1, "conv_rank"),
        (["conv2d", "shape(1, 3, 2, 2)", "--out-channels", "4", "-k", "3"], 1, "conv_kernel_size"),
        (
            ["conv2d", "shape(1, 4, 8, 8)", "--out-channels", "6", "-k", "3", "--groups", "4"],
            1,
            "conv_groups",
        ),
        (["maxpool2d", "shape(1, 4, 1, 1)", "-k", "2"], 1, "pool_output_size"),
        (["conv2d", "shape(1, 4, 8, 8)", "--out-channels", "6", "-k", "x"], 2, None),
        (["conv2d", "shape(1, 4, 8, 8)", "--out-channels", "6", "-k", "3,3,3"], 2, None),
        (["conv2d", "shape(1, 4, 8, 8)", "--out-channels", "6", "-k", "3", "--padding", "full"], 2, None),
        (["avgpool2d", "shape(1, 4, 8, 8)", "-k", "2", "--dilation", "2"], 2, None),
        (["conv2d", "shape(1, 4, 8, 8)", "-k", "3"], 2, None),
    ],
)
def test_command_exit_codes(tshape, args, code, kind):
    r = tshape(*args, "--json")
    assert r.code == code, (r.stdout, r.stderr)
    if kind:
        assert r.doc["error"]["kind"] == kind
    else:
        assert r.stdout == "" and len(r.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", ["conv1d", "conv2d", "conv3d", "maxpool1d", "maxpool2d", "maxpool3d",
                                     "avgpool1d", "avgpool2d", "avgpool3d"])  # fmt: skip
def test_help_examples_run(tshape, command):
    r = tshape(command, "--help")
    assert r.code == 0
    examples = [line.strip() for line in r.stdout.splitlines() if line.strip().startswith("tshape ")]
    assert len(examples) >= 2
    for example in examples:
        line, _, comment = example.partition("  #")
        expected = int(m.group(1)) if (m := re.search(r"exit (\d)", comment)) else 0
        assert tshape(*shlex.split(line)[1:], "--json").code == expected, example


CASES_ES = [
    [
        "conv2d",
        "randn(1, 3, 8, 8)",
        "--out-channels",
        "2",
        "--kernel-size",
        "3",
        "--stride",
        "2",
        "--padding",
        "1",
    ],
    ["conv2d", "shape(8, 28, 28, 3)", "--in-channels", "3", "--out-channels", "16", "--kernel-size", "3"],
    ["conv2d", "shape(1, 3, 2, 2)", "--out-channels", "4", "--kernel-size", "3"],
    [
        "maxpool2d",
        "randn(1, 1, 5, 5)",
        "--kernel-size",
        "3",
        "--stride",
        "2",
        "--padding",
        "1",
        "--ceil-mode",
    ],
    ["avgpool1d", "randn(1, 2, 6)", "--kernel-size", "2"],
    ["conv2d", "shape(1, 4, 8, 8)", "--out-channels", "6", "-k", "x"],
]


@pytest.mark.parametrize("args", CASES_ES, ids=[" ".join(a)[:40] for a in CASES_ES])
def test_spanish_has_no_english(args):
    texts = visible_texts(args)
    assert texts
    english = [(i, text) for text in texts for i, pattern in ENGLISH_MESSAGES.items() if pattern.found(text)]
    assert not english, english
    words = [(word, text) for text in texts for word in WORD.findall(text) if word.lower() in ENGLISH_WORDS]
    assert not words, words


@pytest.mark.parametrize("args", CASES_ES, ids=[" ".join(a)[:40] for a in CASES_ES])
def test_every_text_comes_from_the_catalog(args, monkeypatch):
    """Spanish swapped for English in ⟦ ⟧: every letter a user reads is inside the brackets, or code."""
    wrapped = {k: v if k.startswith("number.") else OPEN + v + CLOSE for k, v in EN.items()}
    monkeypatch.setitem(messages.CATALOGS, "es", wrapped)
    r = run_tshape(*args, "--json", "--lang", "es")
    if r.code == 2:
        assert outside_catalog(r.stderr) in ("", "tshape:"), r.stderr
        return
    for doc in r.docs:
        words, code = doc_texts(doc)
        sources = [doc["call"], *(s["code"] for s in doc["steps"])]
        names = set(re.findall(r"\w+", " ".join(sources)))
        leaks = [w for w in words if re.search("[A-Za-z]", outside_catalog(_without_pointer(w, sources)))]
        leaks += [c for c in code if not _is_code(outside_catalog(c), names)]
        assert not leaks, leaks


def test_spanish_failure_says_the_fix():
    r = run_tshape("conv2d", "shape(8, 28, 28, 3)", "--in-channels", "3", "--out-channels", "16", "-k", "3",
                   "--json", "--lang", "es")  # fmt: skip
    assert r.code == 1
    error = r.doc["error"]
    assert "x.permute(0, 3, 1, 2)" in error["hint"] and "canales" in error["message"]


# --- property: random valid parameters give torch's shape -----------------------------------------


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on even kernels
@PROPERTY
@given(
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    k=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    p=st.one_of(st.tuples(st.integers(0, 2), st.integers(0, 2)), st.sampled_from(["same", "valid"])),
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    groups=st.sampled_from([1, 2]),
    meta=st.booleans(),
)
def test_conv2d_shape_is_torchs(h, w, k, s, p, d, groups, meta):
    if p == "same":
        s = (1, 1)  # torch refuses 'same' with a stride (tested above)
    device = "meta" if meta else "cpu"
    x = torch.randn(1, 4, h, w, device=device)
    weight = torch.randn(6, 4 // groups, *k, device=device)
    ex = explain(F.conv2d, x, weight, stride=s, padding=p, dilation=d, groups=groups)
    try:
        y = F.conv2d(x, weight, stride=s, padding=p, dilation=d, groups=groups)
    except RuntimeError:
        assert ex.error is not None and ex.error.kind == "conv_kernel_size"
        return
    assert ex.error is None and ex.result is not None
    assert ex.result.shape == list(y.shape)
    assert all(c.ok for c in ex.checks)
    pads = (0, 0) if p == "valid" else p
    if p == "same":
        assert list(y.shape[2:]) == [h, w]
    else:
        spatial = [
            math.floor((n + 2 * pi - di * (ki - 1) - 1) / si) + 1
            for n, pi, di, ki, si in zip((h, w), pads, d, k, s, strict=True)
        ]
        assert list(y.shape[2:]) == spatial


@PROPERTY
@given(
    h=st.integers(1, 12),
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
    ceil=st.booleans(),
    op=st.sampled_from([F.max_pool2d, F.avg_pool2d]),
)
def test_pool2d_shape_is_torchs(h, k, s, p, ceil, op):
    x = torch.randn(1, 2, h, h + 1)
    ex = explain(op, x, k, codes=["x", str(k)], stride=s, padding=p, ceil_mode=ceil)
    try:
        y = op(x, k, stride=s, padding=p, ceil_mode=ceil)
    except RuntimeError:
        assert ex.error is not None and ex.error.kind in ("pool_output_size", "pool_padding")
        return
    assert ex.error is None and ex.result is not None
    assert ex.result.shape == list(y.shape)
    assert all(c.ok for c in ex.checks), ex.checks


def test_conv2d_command_layer_takes_the_inputs_dtype(tshape):
    x = torch.arange(2 * 5 * 5, dtype=torch.float64).reshape(1, 2, 5, 5) / 7
    torch.manual_seed(0)
    m = nn.Conv2d(2, 3, 3, dtype=torch.float64)
    with torch.no_grad():
        y = m(x)
    r = tshape("conv2d", literal(x), "--out-channels", "3", "-k", "3", "--dtype", "float64", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], y, rel=1e-12)
    assert all(c["ok"] for c in r.doc["checks"])
