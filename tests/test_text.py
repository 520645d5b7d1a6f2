"""text.py: the one copy of each small formatting helper (first line of a message, a clipped
text, an elided sum, nan and inf)."""

from __future__ import annotations

import math

import pytest
import torch

from tensorshape_cli.messages import t
from tensorshape_cli.text import (
    MAX_TERMS_SHOWN,
    clip,
    elide_terms,
    error_line,
    first_line,
    fmt_nonfinite,
    fmt_num,
)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_are_written_as_torch_prints_them(value):
    assert f"tensor({fmt_nonfinite(value)})" == str(torch.tensor(value))
    assert fmt_num(value) == fmt_nonfinite(value)


def test_first_line_of_a_message():
    assert first_line("  shape '[5, 3]' is invalid\n  for input of size 12 ") == "shape '[5, 3]' is invalid"
    assert first_line("") == first_line(" \n ") == ""
    long = "x" * 300
    assert first_line(long) == long
    assert first_line(long, 200) == "x" * 199 + "…" and len(first_line(long, 200)) == 200
    assert first_line("x" * 200, 200) == "x" * 200


def test_an_exception_that_says_nothing_is_named_by_its_type():
    assert error_line(ValueError("bad\nvalue")) == "bad"
    assert error_line(ValueError()) == "ValueError"
    assert first_line(ValueError()) == ""


def test_clip_keeps_one_line():
    assert clip("a\n  b\tc") == "a b c"
    assert clip("abcdefgh", 5) == "abcd…"
    assert clip("abcde", 5) == "abcde"


def test_a_long_sum_keeps_its_first_terms_and_its_last():
    short = [str(i) for i in range(MAX_TERMS_SHOWN)]
    assert elide_terms(short) == short
    terms = [str(i) for i in range(10)]
    shown = elide_terms(terms)
    hidden = 10 - (MAX_TERMS_SHOWN - 1)  # every term is shown or counted, once
    assert shown == [*terms[: MAX_TERMS_SHOWN - 2], t("check.more_terms", n=hidden), "9"]
    assert elide_terms(terms, gap="…") == [*terms[: MAX_TERMS_SHOWN - 2], "…", "9"]
    assert elide_terms(terms, most=4) == ["0", "1", t("check.more_terms", n=7), "9"]
    # only the first few and the last of 1000 terms at hand
    assert elide_terms([*terms[:MAX_TERMS_SHOWN], "999"], total=1000)[-2:] == [
        t("check.more_terms", n=1000 - MAX_TERMS_SHOWN + 1),
        "999",
    ]
