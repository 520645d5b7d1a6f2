"""--lang: one catalog per language with the same ids and parameters, and no word outside them.

Three checks that no user-visible string bypasses the catalog:
- every command of CORPUS is run in Spanish, and no English message (template) or common
  English word shows up in what the user reads;
- the Spanish catalog is swapped for a pseudo-language in which every message is wrapped
  in ⟦ ⟧, and every text a command shows must then be bracketed (or be code, or torch's own
  words);
- the renderers draw an Explanation with empty texts in the pseudo-language, and no letter
  may appear outside the brackets.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
from pathlib import Path
from string import Formatter
from typing import Any

import pytest
import torch
from conftest import assert_one_line, assert_schema, assert_tensor, run_tshape, torch_layout

from tensorshape_cli import messages, render, settings
from tensorshape_cli.explanation import Check, Explanation, OpError, Step, Table, TensorInfo
from tensorshape_cli.inputs import CONSTRUCTORS
from tensorshape_cli.messages import CATALOGS, EN, LANGUAGES, lang_in_argv, resolve_lang
from tensorshape_cli.messages.es import MESSAGES as ES

ROOT = Path(__file__).resolve().parent.parent

# Ids whose Spanish is the same as the English: words the notebook keeps in English
# (Bias, batch, stride, torch, dim), "Error", and messages without words.
SAME_IN_BOTH = {
    "usage.as_written",  # a usage error of Click's that tshape does not know, as Click wrote it
    "unsqueeze.note_negative",
    "linear.bias.title",
    "linear.check.row",
    "weighted.dim.batch",
    "broadcast.col.dim",
    "render.stride",
    "render.torch_says",
    "render.kind.ndim",
    "demo.part",
    "demo.part.linear",
    "unsqueeze.col.dim",
    "unsqueeze.col.same",
    "render.error",
    "render.col.torch",
    "word.no",
    "squeeze.col.dim",
    "permute.col.stride",
    "permute.check.stride.label",
    "inspect.col.dtype",
    "matmul.result",
    "expr.value",
    "expr.kind.shape",
    "expr.note.shape",
    "expr.what.node",
    "expr.what.Await",
    "expr.what.Yield",
    "expr.what.YieldFrom",
    "expr.what.torch_attribute",
    "expr.what.attribute_called",
    "expr.what.torch_function",
    "expr.kind.function",
    "expr.kind.method",
    "check.element",
    "moves.check.element",
    "check.whole",
    "matmul.dim.n",
    "matmul.dim.k",
    "matmul.dim.m",
}

# English messages that are also code a Spanish text may show: the method x.view, which the
# notebook's Spanish keeps, and the notebook's variable `summed`.
ALSO_CODE = {"reshape.word.view", "reduce.sum.verb"}

# Every command, and the branches that write different messages: explained, invalid (exit 1),
# unreadable input and bad command lines (exit 2).
CORPUS: list[list[str]] = [
    ["unsqueeze", "[1, 2, 3]"],
    ["unsqueeze", "[[1, 2], [3, 4]]", "--dim", "1"],
    ["unsqueeze", "[1, 2, 3]", "--dim", "-1"],
    ["unsqueeze", "[1, 2, 3]", "--dim", "5"],
    ["unsqueeze", "shape(2, 3)", "--dim", "0"],
    ["unsqueeze", "7"],
    ["view", "arange(1, 13)", "--shape", "3,-1"],
    ["view", "arange(1, 13)", "--shape", "5,3"],
    ["view", "arange(1, 13)", "--shape", "-1,-1"],
    ["view", "arange(1, 13)", "--shape", "5,-1"],
    ["view", "arange(1, 13)", "--shape", "0,-1"],
    ["view", "arange(1, 13)", "--shape", "2,-3"],
    ["view", "[[1, 2, 3], [4, 5, 6]]", "--transpose", "0,1", "--shape", "-1"],
    ["view", "[[1, 2, 3], [4, 5, 6]]", "--transpose", "0,1", "--shape", "3,2"],
    ["view", "zeros(3, 4)", "--transpose", "0,5", "--shape", "12"],
    ["view", "arange(20000)", "--shape", "100,-1"],
    ["view", "shape(4, 3)", "--shape", "12"],
    ["weighted"],
    ["weighted-sum", "--random", "--seed", "0"],
    ["weighted", "--weights", "examples/weights.json", "--batch", "5"],
    ["weighted", "zeros(3, 2, 4)", "--weights", "ones(3, 2)"],
    ["weighted", "zeros(3, 2)"],
    ["weighted", "shape(3, 2, 2)", "--weights", "shape(3, 2)"],
    ["linear"],
    ["linear", "rand(2, 5, 3)", "--out-features", "4", "--seed", "1"],
    ["linear", "[1, 2, 3]", "--weight", "[[1, 0, 0]]", "--no-bias"],
    ["linear", "ones(1, 10)", "--out-features", "1"],
    ["linear", "[[1.0, 2.0]]", "--weight", "[[1, 0, 0]]"],
    ["linear", "7"],
    ["linear", "[[1.0, 2.0]]", "--weight", "[1, 2]"],
    ["linear", "[[1.0, 2.0]]", "--weight", "[[1, 0]]", "--bias", "[1, 2, 3]"],
    ["demo"],
    ["squeeze", "zeros(2, 1, 3, 1)"],
    ["squeeze", "zeros(2, 1, 3)", "--dim", "0,1"],
    ["squeeze", "zeros(2, 1, 3)", "--dim", "3"],
    ["reshape", "arange(1, 13)", "--shape", "3,-1"],
    ["reshape", "[[1, 2, 3], [4, 5, 6]]", "--transpose", "0,1", "--shape", "-1"],
    ["reshape", "shape(4, 3)", "--transpose", "0,1", "--shape", "-1"],
    ["reshape", "arange(12)", "--shape", "5,3"],
    ["flatten", "zeros(2, 3, 4)", "--start-dim", "1"],
    ["flatten", "7"],
    ["flatten", "zeros(2, 3, 4)", "--start-dim", "2", "--end-dim", "1"],
    ["permute", "zeros(2, 3, 4)", "--dims", "2,0,1"],
    ["permute", "zeros(2, 1, 4)", "--dims", "1,0,2"],
    ["permute", "zeros(2, 3, 4)", "--dims", "0,1"],
    ["permute", "zeros(2, 3, 4)", "--dims", "0,0,1"],
    ["transpose", "[[1, 2, 3], [4, 5, 6]]", "--dims", "0,1"],
    ["transpose", "[[1, 2, 3], [4, 5, 6]]", "--dims", "0,2"],
    ["expand", "[[1], [2]]", "--shape", "4,2,3"],
    ["expand", "[[1], [2]]", "--shape", "-1,5"],
    ["expand", "[1, 2, 3]", "--shape", "2,4"],
    ["expand", "[1, 2, 3]", "--shape", "-1,3"],
    ["expand", "[[1], [2]]", "--shape", "3"],
    ["broadcast", "shape(5, 3, 4, 1)", "shape(3, 1, 1)"],
    ["broadcast", "[[1], [2]]", "[10, 20, 30]"],
    ["broadcast", "shape(2, 3, 4)", "shape(5, 4, 3)"],
    ["matmul", "[[1, 2, 3], [4, 5, 6]]", "[[1, 0], [0, 1], [1, 1]]"],
    ["matmul", "shape(5, 1, 2, 3)", "shape(4, 3, 7)"],
    ["matmul", "[1.0, 2, 3]", "ones(2, 3, 4)"],
    ["matmul", "[1.0, 2, 3]", "[4.0, 5, 6]"],
    ["matmul", "ones(2, 3)", "ones(4, 3)"],
    ["matmul", "ones(2, 2, 3)", "ones(3, 3, 2)"],
    ["matmul", "7", "[1, 2]"],
    ["matmul", "[[1, 2]]", "[[1.5], [2.5]]"],
    ["sum", "[[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[9, 10], [11, 12]]]", "--dim", "0"],
    ["sum", "arange(1, 13)"],
    ["sum", "zeros(2, 3)", "--dim", "0,0"],
    ["mean", "[[1.0, 2], [3, 4]]", "--dim", "1", "--keepdim"],
    ["mean", "[1, 2, 3]"],
    ["mean", "zeros(2, 3)", "--dim", "2"],
    ["cat", "ones(2, 3)", "zeros(2, 1)", "--dim", "1"],
    ["cat", "[1, 2]", "[1.5]"],
    ["cat", "zeros(2, 3)", "zeros(3, 4)", "--dim", "1"],
    ["cat", "zeros(2, 3)", "[1, 2, 3]"],
    ["cat", "7", "[1, 2]"],
    ["stack", "[1, 2]", "[3, 4]", "--dim", "1"],
    ["stack", "[1, 2]", "[3, 4, 5]"],
    ["expr", "(x * w.view(3, 1, -1)).sum(0)", "-t", "x=@examples/x.json", "-t", "w=@examples/weights.json"],
    ["expr", "(a @ b).sum(-1)", "-t", "a=shape(8, 1, 5, 3)", "-t", "b=shape(4, 3, 7)"],
    ["expr", "x.transpose(0, 1).view(-1)", "-t", "x=[[1, 2, 3], [4, 5, 6]]"],
    ["expr", "x[0, :, None].T.contiguous() + x.mean(1).unsqueeze(1)", "-t", "x=[[1.0, 2, 3], [4, 5, 6]]"],
    ["expr", "torch.cat([x, x], 0).flatten()", "-t", "x=zeros(2, 3)"],
    ["expr", "x.expand(4, 2, 3).shape", "-t", "x=[[1], [2]]"],
    ["expr", "x.__class__", "-t", "x=[1]"],
    ["expr", "2**10**10"],
    ["expr", "y + 1"],
    ["expr", "(x"],
    ["expr", "torch.zeros(100000, 100000)"],
    ["inspect", "examples/model.pt"],
    ["inspect", "examples/model.safetensors"],
    ["inspect", "examples/x.json"],
    ["inspect", "examples/nonexistent.pt"],
    ["run", "examples/shapes.tshape"],
    ["run", "examples/nonexistent.tshape"],
    ["unsqueeze", "examples/x.npy", "--dim", "0"],
    ["view", "examples/model.pt:fc.weight", "--meta", "--shape", "-1"],
    ["linear", "[[0.5, 0.6, 0.7]]", "-W", "examples/model.pt:fc.weight", "-b", "examples/model.pt:fc.bias"],
    ["unsqueeze", "rand(100000, 100000)", "--meta", "--dim", "1"],
    # exit 2: unreadable input
    ["unsqueeze", "[[1, 2], [3]]"],
    ["unsqueeze", "zero(3)"],
    ["unsqueeze", "[1, 2"],
    ["unsqueeze", "[1, x]"],
    ["unsqueeze", "@/nonexistent/dir/x.json"],
    ["unsqueeze", "hello"],
    ["unsqueeze", "zeros(100000, 100000)"],
    ["unsqueeze", "arange(1, 5, 0)"],
    ["unsqueeze", "-"],
    ["view", "arange(3)", "--shape", "x"],
    ["view", "arange(3)", "--shape", ""],
    ["view", "arange(3)", "--transpose", "0", "--shape", "3"],
    ["linear", "[[1, 2, 3]]", "--weight", "[[1, 0, 0], [0, 1, 0]]", "--out-features", "3"],
    ["linear", "[[1, 2, 3]]", "--bias", "[1, 2]", "--no-bias"],
    ["weighted", "-", "--weights", "-"],
    ["unsqueeze", "examples/model.pt"],
    ["unsqueeze", "examples/model.pt:fc.wieght"],
    ["unsqueeze", "examples/x.npy:key"],
    ["unsqueeze", "examples/shapes.tshape"],
    # tshape why: pasted errors, recognised (exit 0) or not (exit 2)
    ["why", "mat1 and mat2 shapes cannot be multiplied (64x512 and 256x10)"],
    [
        "why",
        "Given groups=1, weight of size [16, 3, 3, 3], expected input[8, 1, 28, 28] "
        "to have 3 channels, but got 1 channels instead",
    ],
    ["why", "shape '[4, 5]' is invalid for input of size 12"],
    ["why", "The size of tensor a (4) must match the size of tensor b (5) at non-singleton dimension 1"],
    ["why", "RuntimeError: 0D or 1D target tensor expected, multi-target not supported"],
    [
        "why",
        'Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: "fc.bias". \n\t'
        "size mismatch for fc.weight: copying a param with shape torch.Size([10, 512]) from checkpoint, "
        "the shape in current model is torch.Size([10, 256]).",
    ],
    ["why", "RuntimeError: CUDA out of memory"],
    ["why", "hello"],
    # exit 2: bad command lines (Click's usage errors)
    ["bogus"],
    ["unsqueeze"],
    ["view", "[1]"],
    ["unsqueeze", "[1]", "--dim", "x"],
    ["unsqueeze", "[1]", "--nope"],
    ["view", "[1]", "--sape", "1"],
    ["unsqueeze", "[1]", "-f", "xml"],
    ["weighted", "--batch", "0"],
    ["unsqueeze", "[1]", "extra"],
    ["unsqueeze", "[1]", "--json=1"],
    ["unsqueeze", "[1]", "--dim"],
]
IDS = [" ".join(a)[:50] for a in CORPUS]

TEXT_KEYS = {"title", "note", "label", "expression", "message", "hint"}


def fields(template: str) -> list[tuple[str, str, str | None]]:
    """The named parameters of a template, with their format spec and conversion."""
    return sorted(
        (name, spec or "", conversion)
        for _, name, spec, conversion in Formatter().parse(template)
        if name is not None
    )


def es(*args: str, env: dict[str, str | None] | None = None) -> Any:
    return run_tshape(*args, "--lang", "es", env=env)


# --- the catalogs -------------------------------------------------------------------------------


def test_spanish_is_a_language():
    assert set(LANGUAGES) == {"en", "es"}
    assert CATALOGS["es"] is ES


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_catalog_has_exactly_the_english_ids(lang):
    catalog = CATALOGS[lang]
    missing = sorted(set(EN) - set(catalog))
    extra = sorted(set(catalog) - set(EN))
    assert not missing, f"ids to translate into {lang!r}: {missing}"
    assert not extra, f"ids in {lang!r} that English does not have: {extra}"


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_message_has_the_english_parameters(lang):
    catalog = CATALOGS[lang]
    differ = {
        msg_id: (fields(EN[msg_id]), fields(catalog[msg_id]))
        for msg_id in sorted(set(EN) & set(catalog))
        if fields(EN[msg_id]) != fields(catalog[msg_id])
    }
    assert not differ, f"parameters differ in {lang!r} (english, {lang}): {differ}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_formats(lang):
    for msg_id, template in CATALOGS[lang].items():
        values = {name: "1" for name, _, _ in fields(template)}
        assert template.format(**values), msg_id


def test_spanish_is_translated():
    same = sorted(i for i in EN if i in ES and ES[i] == EN[i] and i not in SAME_IN_BOTH)
    assert not same, f"still in English: {same}"
    assert set(EN) >= SAME_IN_BOTH


def test_spanish_writes_accents():
    # Natural Spanish, not ASCII: the words the notebook writes with accents keep them.
    text = " ".join(ES.values())
    for word in ("Verificación", "dimensión", "posición", "válidas", "parámetros", "sí"):
        assert word in text, word


# --- which language ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "env", "expected"),
    [
        (None, {}, "en"),
        ("es", {}, "es"),
        ("ES", {}, "es"),
        ("en", {"TSHAPE_LANG": "es", "LANG": "es_ES.UTF-8"}, "en"),
        ("es", {"TSHAPE_LANG": "en"}, "es"),
        (None, {"TSHAPE_LANG": "es"}, "es"),
        (None, {"TSHAPE_LANG": "es_AR.UTF-8"}, "es"),
        (None, {"TSHAPE_LANG": "es-MX"}, "es"),
        (None, {"TSHAPE_LANG": "en", "LANG": "es_ES.UTF-8"}, "en"),
        (None, {"TSHAPE_LANG": "fr", "LANG": "es_ES.UTF-8"}, "es"),  # a language tshape lacks: skipped
        (None, {"TSHAPE_LANG": "", "LANG": "es_MX.UTF-8"}, "es"),
        (None, {"LANG": "es_ES.UTF-8"}, "es"),
        (None, {"LANG": "es"}, "es"),
        (None, {"LANG": "es_ES@euro"}, "es"),
        (None, {"LC_MESSAGES": "es_CL.UTF-8", "LANG": "en_US.UTF-8"}, "es"),
        (None, {"LC_ALL": "es_ES.UTF-8", "LANG": "en_US.UTF-8"}, "es"),
        (None, {"LC_ALL": "C", "LANG": "es_ES.UTF-8"}, "en"),  # LC_ALL overrides LANG
        (None, {"LC_ALL": "en_GB.UTF-8", "LC_MESSAGES": "es_ES.UTF-8"}, "en"),
        (None, {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "es_PE.UTF-8"}, "es"),  # empty is unset
        (None, {"LANG": "fr_FR.UTF-8"}, "en"),
        (None, {"LANG": "C.UTF-8"}, "en"),
        (None, {"LANG": "et_EE.UTF-8"}, "en"),
    ],
)
def test_resolve_lang(option, env, expected):
    assert resolve_lang(option, env) == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["view", "x", "--lang", "es"], "es"),
        (["view", "x", "--lang=es"], "es"),
        (["view", "--lang", "es", "--lang", "en"], "en"),
        (["view", "--lang", "fr"], None),
        (["view", "--lang"], None),
        (["view", "--", "--lang", "es"], None),
        (["view", "x"], None),
    ],
)
def test_lang_in_argv(argv, expected):
    assert lang_in_argv(argv) == expected


@pytest.mark.parametrize(
    ("args", "env", "spanish"),
    [
        (["--lang", "es"], {}, True),
        (["--lang", "ES"], {}, True),
        (["--lang=es"], {}, True),
        ([], {"TSHAPE_LANG": "es"}, True),
        ([], {"LANG": "es_ES.UTF-8"}, True),
        ([], {"LC_MESSAGES": "es_AR.UTF-8"}, True),
        ([], {"LC_ALL": "es_MX.UTF-8", "LANG": "en_US.UTF-8"}, True),
        ([], {"LC_ALL": "C", "LANG": "es_ES.UTF-8"}, False),
        (["--lang", "en"], {"TSHAPE_LANG": "es"}, False),
        (["--lang", "en"], {"LANG": "es_ES.UTF-8"}, False),
        ([], {"LANG": "de_DE.UTF-8"}, False),
        ([], {}, False),
    ],
)
def test_lang_option_and_environment(tshape, args, env, spanish):
    r = tshape("unsqueeze", "[1, 2, 3]", "--dim", "0", "-f", "plain", *args, env=env)
    assert r.code == 0, r.stderr
    catalog = ES if spanish else EN
    assert r.stdout.startswith(catalog["unsqueeze.title"] + "\n")
    assert f"1. {catalog['step.input_of'].format(name='x')}\n" in r.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["unsqueeze", "[1, 2, 3]"],
        ["view", "arange(1, 13)", "-s", "3,-1"],
        ["weighted"],
        ["weighted-sum"],
        ["linear"],
        ["demo"],
    ],
)
def test_every_command_takes_lang(tshape, args):
    r = tshape(*args, "--lang", "es", "--json")
    assert r.code == 0, r.stderr
    for doc in r.docs:
        assert_schema(doc)
        assert doc["steps"][0]["title"] == ES["step.input_of"].format(name="x")


def test_an_unknown_lang_is_a_usage_error(tshape):
    r = tshape("unsqueeze", "[1]", "--lang", "fr")
    assert r.code == 2
    assert r.stdout == ""
    assert_one_line(r.stderr)
    assert "'en', 'es'" in r.stderr


def test_help_lists_lang(tshape):
    r = tshape("demo", "--help")
    assert r.code == 0
    assert "--lang" in r.stdout
    assert "TSHAPE_LANG" in r.stdout


# --- the same explanation, in Spanish --------------------------------------------------------------


def test_weighted_in_spanish_as_the_notebook_writes_it(tshape):
    x = torch.arange(1, 13, dtype=torch.float32).view(3, 2, 2)
    w = torch.arange(1, 7, dtype=torch.float32).view(3, 2)
    wv = w.view(3, 1, -1)
    summed = torch.sum(x * wv, dim=0)
    r = tshape("weighted", "--lang", "es", "-f", "plain")
    assert r.code == 0
    out = r.stdout
    # the notebook's three steps, numbered once (by the view), not "3. Paso 1: …"
    assert "3. View de los pesos" in out and "4. Multiplicación" in out and "5. Suma" in out
    assert "Paso 1" not in out
    assert "Verificación manual" in out
    assert f"forma {tuple(summed.shape)}" in out
    assert torch_layout(summed) in out
    for b in range(2):
        for c in range(2):
            terms = " + ".join(f"{int(x[m, b, c])}*{int(wv[m, 0, c])}" for m in range(3))
            value = int(summed[b, c])
            assert f"✓ batch={b}, clase={c}: {terms} = {value}  (torch: {value})" in out


def test_demo_in_spanish(tshape):
    r = tshape("demo", "--lang", "es", "-f", "plain")
    assert r.code == 0
    for words in ("Entrada x", "Verificación manual", "agregar dimensión al inicio", "Pesos", "forma"):
        assert words in r.stdout, words
    assert torch_layout(torch.tensor([1, 2, 3]).unsqueeze(0)) in r.stdout


def test_unsqueeze_tour_titles_say_where(tshape):
    x = torch.tensor([[1, 2], [3, 4]])
    r = tshape("unsqueeze", "[[1, 2], [3, 4]]", "--lang", "es", "--json")
    tour = [s for s in r.doc["steps"][2:] if s["tensor"] is not None]
    assert len(tour) == x.dim() + 1
    for step, d in zip(tour, range(x.dim() + 1), strict=True):
        assert_tensor(step["tensor"], x.unsqueeze(d))
        pos = d % (x.dim() + 1)
        where = "al inicio" if pos == 0 else "al final" if pos == x.dim() else "en el medio"
        assert step["title"].startswith(
            f"unsqueeze({d}) ≡ unsqueeze({d - x.dim() - 1}): agregar dimensión {where}"
        )


def test_counts_are_grouped_the_spanish_way(tshape):
    # RAE: groups of three separated by a space from five digits on; four digits stay whole.
    x = torch.arange(20000)
    r = tshape("view", "arange(20000)", "-s", "7,-1", "--lang", "es", "--json")
    assert r.code == 1
    numel = f"{x.numel():,}".replace(",", "\u00a0")
    assert numel in r.doc["error"]["message"]
    r = tshape("view", "arange(1000)", "-s", "7,-1", "--lang", "es", "--json")
    assert str(torch.arange(1000).numel()) in r.doc["error"]["message"]
    r = tshape("view", "arange(20000)", "-s", "7,-1", "--json")
    assert f"{x.numel():,}" in r.doc["error"]["message"]


def _same_data(en: Any, es: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Walk two JSON documents: same keys and numbers everywhere; only texts may differ."""
    if isinstance(en, dict):
        assert isinstance(es, dict) and list(en) == list(es), path
        return [p for k in en for p in _same_data(en[k], es[k], (*path, k))]
    if isinstance(en, list):
        assert isinstance(es, list) and len(en) == len(es), path
        return [p for i, (a, b) in enumerate(zip(en, es, strict=True)) for p in _same_data(a, b, (*path, i))]
    textual = "table" in path or (bool(path) and path[-1] in TEXT_KEYS)
    if path[:1] == ("checks",) and path[-1] in ("manual", "torch") and isinstance(en, str):
        textual = bool(re.search("[A-Za-z]", en))  # a word, e.g. reshape's view or copy
    if not textual:
        assert en == es, (path, en, es)
        return []
    return [path] if en != es else []


@pytest.mark.parametrize("args", CORPUS, ids=IDS)
def test_json_keys_and_data_stay_the_same_in_spanish(tshape, args):
    en = tshape(*args, "--json")
    es_run = tshape(*args, "--json", "--lang", "es")
    assert en.code == es_run.code
    if en.code == 2:
        assert_one_line(es_run.stderr)
        assert es_run.stderr != en.stderr
        return
    assert len(en.docs) == len(es_run.docs)
    translated = [p for a, b in zip(en.docs, es_run.docs, strict=True) for p in _same_data(a, b)]
    assert translated, "no text changed"
    quiet_en = tshape(*args, "-q")
    quiet_es = tshape(*args, "-q", "--lang", "es")
    assert quiet_en.stdout == quiet_es.stdout
    assert quiet_en.code == quiet_es.code


# --- no English in Spanish ---------------------------------------------------------------------------

# Words of English that Spanish text never has. The names the notebook keeps in English
# (batch, bias, stride, view, broadcasting, notebook) and code (weight, step, end) are not here.
ENGLISH_WORDS = {
    "the", "is", "are", "of", "and", "with", "from", "must", "not", "cannot", "which", "would",
    "only", "each", "every", "into", "than", "when", "that", "this", "there", "one", "two",
    "input", "result", "storage", "checks", "check", "hint", "shape", "elements", "element",
    "dimension", "dimensions", "valid", "position", "inserted", "models", "classes", "outputs",
    "compared", "hand", "yes", "equal", "rule", "missing", "stretched", "neither", "values",
    "parameters", "contiguous", "empty", "standard", "file", "unknown", "expected", "got",
    "such", "option", "argument", "invalid", "see", "possible", "unexpected", "extra", "requires",
    "internal", "shows", "more", "use", "write", "give", "takes", "size", "sizes", "number",
    "data", "same", "new", "middle", "infer", "multiply", "add", "convert", "range", "out",
}  # fmt: skip
# torch's own words, quoted at the end of a message of tshape: "… (torch: mat1 and mat2 …)".
TORCH_QUOTED = re.compile(r"\(torch: .*\)$")
# A word standing alone: not part of code such as x.shape, --transpose, in_features or size[1].
WORD = re.compile(r"(?<![\w.\-])[A-Za-z]+(?![\w(\[])")


class EnglishMessage:
    """An English message, whatever its parameters, standing alone as WORD does.

    `found(text)` is `pattern.search(text)`, with a plain substring test first: a text that
    lacks the message's longest literal piece cannot match, and that test is what nearly
    every (message, text) pair stops at.
    """

    def __init__(self, template: str) -> None:
        pieces = [(literal, name) for literal, name, _, _ in Formatter().parse(template)]
        parts = [re.escape(literal) + (".*?" if name is not None else "") for literal, name in pieces]
        head = r"(?<![\w.\-])" if template[:1].isalpha() else ""
        tail = r"(?![\w(\[])" if template[-1:].isalpha() else ""
        # A leading or trailing `.*?` changes nothing for search(); left out, it costs nothing.
        body = "".join(parts).removeprefix(".*?").removesuffix(".*?")
        self.pattern = re.compile(head + body + tail)
        self.key = max((literal for literal, _ in pieces), key=len)

    def found(self, text: str) -> bool:
        return self.key in text and self.pattern.search(text) is not None


ENGLISH_MESSAGES = {
    msg_id: EnglishMessage(template)
    for msg_id, template in EN.items()
    if msg_id not in SAME_IN_BOTH | ALSO_CODE
    and not msg_id.startswith("number.")
    and re.search(r"[A-Za-z]{3,}", "".join(lit for lit, *_ in Formatter().parse(template)))
}


def doc_texts(doc: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The texts of one JSON explanation: (words a user reads, code tshape writes).

    Code: a check's hand sum or torch.allclose(...), and the operands' names over a table.
    torch's own message (error kind torch_error) is neither: tshape quotes it as it is.
    """
    words = [s["title"] for s in doc["steps"]] + [s["note"] for s in doc["steps"]]
    words += [c["label"] for c in doc["checks"]]
    code = [c["expression"] for c in doc["checks"]]
    for step in doc["steps"]:
        if step.get("table"):
            code += step["table"]["columns"]
            words += [c for row in step["table"]["rows"] for c in row]
    if doc["error"] and doc["error"]["kind"] != "torch_error":
        words += [doc["error"]["message"], doc["error"]["hint"]]
    return words, code


# torch's own words as a Spanish message quotes them: "… (según torch: …)"
TORCH_QUOTED_ES = re.compile(r"\(según torch: .*\)")


def english_words(doc: dict[str, Any]) -> list[str]:
    """English words standing alone in what a user reads of one JSON explanation; torch's
    own words, quoted as they are, left out."""
    words, _ = doc_texts(doc)
    texts = [TORCH_QUOTED_ES.sub("", TORCH_QUOTED.sub("", w)) for w in words]
    return [w for text in texts for w in WORD.findall(text) if w.lower() in ENGLISH_WORDS]


def visible_texts(args: list[str], lang_args: tuple[str, ...] = ("--lang", "es")) -> list[str]:
    """What a user reads, leaving out code: JSON text fields, plain lines, stderr."""
    texts: list[str] = []
    as_json = run_tshape(*args, "--json", *lang_args)
    codes: set[str] = set()
    torch_says: list[str] = []  # torch's own words, which tshape quotes as they are
    for doc in as_json.docs:
        codes.add("  " + doc["call"])
        if doc["error"] and doc["error"]["kind"] == "torch_error":
            torch_says.append(doc["error"]["message"])
        words, code = doc_texts(doc)
        texts += words + code
    plain = run_tshape(*args, "-f", "plain", *lang_args)
    for line in plain.stdout.splitlines():
        if line in codes or line.lstrip().startswith((">>>", "$ ")) or any(m in line for m in torch_says):
            continue
        texts.append(line)
    texts += as_json.stderr.splitlines() + plain.stderr.splitlines()
    # Names that are code, not English: the constructors' list, and what the user typed.
    typed = re.compile(
        r"\b("
        + "|".join(re.escape(w) for a in args if not a.startswith("-") for w in re.findall(r"\w+", a))
        + r")\b"
    )
    texts = [TORCH_QUOTED.sub("", text) for text in texts]
    texts = [text.replace(", ".join(CONSTRUCTORS), "") for text in texts]
    return [typed.sub("", text) for text in texts]


def test_the_scan_finds_every_english_message_it_looks_for():
    # Each English message, with its parameters filled in, inside a Spanish sentence.
    for msg_id, message in ENGLISH_MESSAGES.items():
        template = EN[msg_id]
        text = "Paso 1: " + template.format(**{name: "1" for name, _, _ in fields(template)}) + " ."
        assert message.found(text), msg_id
        assert not message.found(text.replace(message.key, "")), msg_id


@pytest.mark.parametrize("args", CORPUS, ids=IDS)
def test_no_english_in_spanish(args, monkeypatch):
    monkeypatch.chdir(ROOT)
    texts = visible_texts(args)
    assert texts
    english = [
        (msg_id, text)
        for text in texts
        for msg_id, message in ENGLISH_MESSAGES.items()
        if message.found(text)
    ]
    assert not english, english
    words = [(word, text) for text in texts for word in WORD.findall(text) if word.lower() in ENGLISH_WORDS]
    assert not words, words


# --- pseudo-language: every text comes from the catalog ------------------------------------------------

OPEN, CLOSE = "⟦", "⟧"
INNERMOST = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")


@pytest.fixture
def pseudo(monkeypatch):
    """Spanish replaced by English wrapped in ⟦ ⟧ (numbers' grouping is data, not words)."""
    wrapped = {k: v if k.startswith("number.") else OPEN + v + CLOSE for k, v in EN.items()}
    monkeypatch.setitem(messages.CATALOGS, "es", wrapped)
    monkeypatch.chdir(ROOT)


def outside_catalog(text: str) -> str:
    """What is left of a text once every message of the catalog is taken out."""
    while INNERMOST.search(text):
        text = INNERMOST.sub(" ", text)
    return text.strip()


def _is_code(text: str, names: set[str]) -> bool:
    """No letters; or a call or an expression Python reads; or a name the explained code uses.

    A bare word is valid Python too, so a lone name must be one of the code's own names.
    """
    if not re.search("[A-Za-z]", text):
        return True
    if text in ("None", "True", "False"):  # Python's constants, as an index is written (x[:, None])
        return True
    if text.isidentifier():
        return text in names
    try:
        ast.parse(text, mode="eval")
    except SyntaxError:
        try:  # a hand check written as an assignment: y[0, 0] = x[0, 0]
            ast.parse(text, mode="exec")
        except SyntaxError:
            return False
    return bool(re.search(r"[()\[\]*+@=]", text))


def _without_pointer(text: str, sources: list[str]) -> str:
    """A note without the code it points into: expr's failing line, and the ^^^ under it."""
    lines = text.split("\n")
    return "\n".join(line for line in lines if line not in sources and not re.fullmatch(r"\s*\^+\s*", line))


def _clipped_code(text: str, sources: list[str]) -> bool:
    """Code cut short with …, e.g. a long operand's name over a table."""
    return text.endswith("…") and any(text[:-1] in source for source in sources)


@pytest.mark.parametrize("args", CORPUS, ids=IDS)
def test_every_text_comes_from_the_catalog(args, pseudo):
    r = run_tshape(*args, "--json", "--lang", "es")
    if r.code == 2:
        rest = outside_catalog(r.stderr)
        assert rest in ("", "tshape:"), r.stderr
        return
    leaks = []
    for doc in r.docs:
        words, code = doc_texts(doc)  # every letter of the words must come from the catalog
        sources = [doc["call"], *(s["code"] for s in doc["steps"])]
        names = set(re.findall(r"\w+", " ".join(sources)))
        data = {*doc["inputs"], *(i["dtype"] for i in doc["inputs"].values())}  # e.g. inspect's table
        words = [_without_pointer(text, sources) for text in words]
        # a cell that is exactly a name of the explained code (an index written `None`) is code
        leaks += [
            text
            for text in words
            if re.search("[A-Za-z]", outside_catalog(text)) and text not in data and text not in names
        ]
        leaks += [
            text
            for text in code
            if not _is_code(outside_catalog(text), names) and not _clipped_code(text, sources)
        ]
    assert not leaks, leaks
    # The title (not part of the JSON) is the line above each call in the plain format.
    lines = run_tshape(*args, "-f", "plain", "--lang", "es").stdout.splitlines()
    calls = {"  " + doc["call"] for doc in r.docs}
    titles = [lines[i - 1] for i, line in enumerate(lines) if line in calls]
    assert len(titles) == len(r.docs)
    assert all(outside_catalog(title) == "" for title in titles), titles


def _everything() -> Explanation:
    """An Explanation with every part a renderer draws, and no words of its own."""
    values = TensorInfo([2, 2], "", [2, 1], True, values=[[1, 2], [3, 4]], marked=[1])
    elided = TensorInfo(
        [2, 8], "", [8, 1], False, preview=[[1, 2, 3, "...", 6, 7, 8]] * 2, summary={"min": 1}
    )
    meta = TensorInfo([2, 3, 4], "", [12, 4, 1], True, meta=True)
    three = TensorInfo([2, 1, 2], "", [2, 2, 1], True, values=[[[1, 2]], [[3, 4]]])
    steps = [
        Step("", "", values, "", Table(["", ""], [["1", "2"]])),
        Step("", "", elided, ""),
        Step("", "", meta, ""),
        Step("", "", three, ""),
        Step("", "", None, ""),
    ]
    checks = [Check("", "", 1, 1, True), Check("", "", 2.5, 2.5, False), Check("", "", True, True, True)]
    return Explanation("", "", {}, steps, checks, values, OpError("", "", "1"), title="", command="")


@pytest.mark.parametrize("fmt", ["plain", "rich", "json", "quiet"])
def test_renderers_have_no_words_of_their_own(fmt, pseudo, monkeypatch, capsys):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    out = io.StringIO()
    ex = _everything()
    with settings.use(settings.Settings(lang="es")):
        if fmt == "quiet":  # -q: the shapes on stdout; a failure's sentence is the boundary's to say
            from tensorshape_cli import execute

            assert ex.error is not None
            execute.emit(execute.Outcome(1, messages=(execute.error(ex.error.message),), format=fmt))
            ex = dataclasses.replace(ex, error=None)
        render.get(fmt)(ex, out)
    text = out.getvalue() + capsys.readouterr().err
    assert text.strip()
    rest = outside_catalog(text).replace("tshape:", "")  # the program's name, before a message
    rest = re.sub(r"\bTrue\b", "", rest)  # a check's value, as Python writes it
    if fmt == "json":  # JSON's keys are English by design; its values here are empty
        rest = re.sub(r'"[a-z_]+":', "", rest)
        rest = re.sub(r"\b(true|false|null)\b", "", rest)
        rest = re.sub(r'"(ok|stretched|mismatch)"', "", rest)  # a table row's status, an identifier
    assert not re.search("[A-Za-z]", rest), rest


def test_readme_spanish_example_is_what_tshape_prints(tshape):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## En español") :]
    assert "tshape demo --lang es" in section
    shown = re.search(r"```text\n(.*?)```", section, re.S)
    assert shown is not None
    r = tshape("unsqueeze", "[1,2,3]", "--dim", "0", "--lang", "es", "--format", "plain")
    assert r.code == 0
    assert r.stdout.strip() == shown.group(1).strip()
