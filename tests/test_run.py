"""tshape run FILE|-: a file of command lines in one process, each line as `tshape LINE` would run."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest
import torch
from conftest import assert_one_line, assert_schema, assert_tensor, run_tshape
from hypothesis import given, settings
from hypothesis import strategies as st

GOOD = [
    'unsqueeze "[1, 2, 3]" --dim 0',
    'view "arange(1, 13)" --shape 3,-1',
    "weighted",
    'linear "[[0.5, 0.6, 0.7]]" --weight "[[1, 0, 0], [0, 1, 0]]" --bias "[0.1, 0.2]"',
]
INVALID = 'view "arange(12)" --shape 5,3'  # exit 1: explained
BAD = 'unsqueeze "[[1, 2], [3]]"'  # exit 2: unreadable input


def write(tmp_path, *lines: str) -> str:
    path = tmp_path / "batch.tshape"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def without_line(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "line"}


def test_each_line_as_its_own_command(tshape, tmp_path):
    path = write(tmp_path, *GOOD)
    r = tshape("run", path, "--json")
    assert r.code == 0, r.stderr
    assert r.stderr == ""
    docs = r.docs
    assert [d["line"] for d in docs] == [1, 2, 3, 4]
    for doc, line in zip(docs, GOOD, strict=True):
        assert_schema(doc)
        alone = tshape(*shlex.split(line), "--json")
        assert without_line(doc) == alone.doc


def test_failing_lines_do_not_stop_the_run(tshape, tmp_path):
    path = write(tmp_path, GOOD[0], INVALID, BAD, GOOD[1], "frobnicate 3", 'view "arange(4)', GOOD[2])
    r = tshape("run", path, "--json")
    assert r.code == 2  # the highest of the lines' exit codes
    docs = r.docs
    assert [d["line"] for d in docs] == [1, 2, 3, 4, 5, 6, 7]
    for doc in docs:
        assert_schema(doc)
    assert docs[0]["error"] is None
    assert docs[1]["error"]["kind"] == "view_size_mismatch"
    assert [docs[i]["error"]["kind"] for i in (2, 4, 5)] == ["usage"] * 3
    assert docs[2]["op"] == "unsqueeze" and docs[2]["call"] == BAD
    assert "row 1" in docs[2]["error"]["message"]
    assert "frobnicate" in docs[4]["error"]["message"]
    assert "quotation" in docs[5]["error"]["message"]
    assert_tensor(docs[3]["result"], torch.arange(1, 13).view(3, -1))
    assert docs[6]["op"] == "weighted" and docs[6]["error"] is None
    # stderr names the file and line of each bad line, then sums up
    err = r.stderr.splitlines()
    assert err[0].startswith(f"{path}:3: ") and "row 1" in err[0]
    assert err[1].startswith(f"{path}:5: ") and "frobnicate" in err[1]
    assert err[2].startswith(f"{path}:6: ")
    assert "4 of 7" in err[3] and "2, 3, 5, 6" in err[3]


@pytest.mark.parametrize(
    ("lines", "code"),
    [([GOOD[0]], 0), ([GOOD[0], INVALID], 1), ([INVALID, GOOD[0]], 1), ([BAD, INVALID], 2), ([], 0)],
)
def test_exit_code_is_the_highest(tshape, tmp_path, lines, code):
    assert tshape("run", write(tmp_path, *lines), "-q").code == code


def test_fail_fast_stops_at_the_first_failure(tshape, tmp_path):
    path = write(tmp_path, GOOD[0], INVALID, GOOD[1], BAD)
    r = tshape("run", path, "--fail-fast", "--json")
    assert r.code == 1
    assert [d["line"] for d in r.docs] == [1, 2]
    r = tshape("run", write(tmp_path, GOOD[0], BAD, GOOD[1]), "--fail-fast", "-q")
    assert r.code == 2
    assert r.stdout == "1 3\n\n"  # the failed line is an empty line; the third did not run


def test_comments_blank_lines_continuations_and_the_word_tshape(tshape, tmp_path):
    path = write(
        tmp_path,
        "# shapes for the report",
        "",
        "   # an indented comment",
        "tshape unsqueeze '[1, 2, 3]' --dim 0   # a trailing comment",
        'linear "[[0.5, 0.6, 0.7]]" \\',
        '    --weight "[[1, 0, 0], [0, 1, 0]]" \\',
        '    --bias "[0.1, 0.2]"',
        "   ",
        "view 'arange(1, 13)' --shape 2,-1",
    )
    r = tshape("run", path, "--json")
    assert r.code == 0, r.stderr
    assert [d["line"] for d in r.docs] == [4, 5, 9]
    assert r.docs[1] == {**tshape(*shlex.split(GOOD[3]), "--json").doc, "line": 5}


def test_standard_input(tshape):
    r = tshape("run", "-", "-q", input="\n".join(GOOD) + "\n")
    assert r.code == 0, r.stderr
    expected = [
        torch.tensor([1, 2, 3]).unsqueeze(0).shape,
        torch.arange(1, 13).view(3, -1).shape,
        torch.Size([2, 2]),
        torch.Size([1, 2]),
    ]
    assert r.stdout.splitlines() == [" ".join(map(str, s)) for s in expected]


def test_a_line_cannot_read_standard_input(tshape, tmp_path):
    # it would swallow the rest of a batch read from stdin
    r = tshape("run", "-", "--json", input="unsqueeze - --dim 0\n" + GOOD[0] + "\n")
    assert r.code == 2
    assert [d["line"] for d in r.docs] == [1, 2]
    assert "standard input" in r.docs[0]["error"]["message"]
    assert r.docs[1]["error"] is None


def test_run_inside_run_is_refused(tshape, tmp_path):
    path = write(tmp_path, "run batch.tshape")
    r = tshape("run", path)
    assert r.code == 2
    assert "run cannot be used" in r.stderr


def test_the_format_is_the_runs(tshape, tmp_path):
    path = write(tmp_path, GOOD[0] + " -q", GOOD[1] + " --format plain")
    r = tshape("run", path, "--json")
    assert r.code == 0
    assert [d["op"] for d in r.docs] == ["unsqueeze", "view"]


def test_plain_output_heads_each_explanation_with_its_line(tshape, tmp_path):
    path = write(tmp_path, GOOD[0], INVALID)
    r = tshape("run", path, "-f", "plain")
    assert r.code == 1
    assert "$ tshape unsqueeze '[1, 2, 3]' --dim 0  # line 1" in r.stdout
    assert "$ tshape view 'arange(12)' --shape 5,3  # line 2" in r.stdout
    assert "15" in r.stdout  # the explanation of the failure is printed
    r = tshape("run", path, "-f", "rich")
    assert "# line 2" in r.stdout


def test_run_options_apply_to_every_line(tshape, tmp_path):
    path = write(tmp_path, "unsqueeze '[1, 2]' --dim 0", "unsqueeze '[1, 2]' --dim 0 --dtype int32")
    docs = tshape("run", path, "--dtype", "float64", "--json").docs
    assert_tensor(docs[0]["result"], torch.tensor([1, 2], dtype=torch.float64).unsqueeze(0))
    assert_tensor(docs[1]["result"], torch.tensor([1, 2], dtype=torch.int32).unsqueeze(0))  # its own wins
    docs = tshape("run", write(tmp_path, "view 'zeros(1000, 1000)' --shape -1"), "--meta", "--json").docs
    assert docs[0]["result"]["values"] is None and "summary" not in docs[0]["result"]


def test_a_seed_makes_each_line_as_reproducible_as_its_own_process(tshape, tmp_path):
    line = "unsqueeze 'rand(3)' --dim 0"
    docs = tshape("run", write(tmp_path, line, line), "--seed", "5", "--json").docs
    alone = tshape(*shlex.split(line), "--seed", "5", "--json").doc
    torch.manual_seed(5)
    assert_tensor(docs[0]["result"], torch.rand(3).unsqueeze(0))
    assert without_line(docs[0]) == without_line(docs[1]) == alone


def test_missing_and_unreadable_batch_files(tshape, tmp_path):
    r = tshape("run", str(tmp_path / "nope.tshape"))
    assert r.code == 2
    assert_one_line(r.stderr)
    binary = tmp_path / "bin.tshape"
    binary.write_bytes(b"unsqueeze '[1]'\n\xff\xfe\n")
    r = tshape("run", str(binary), "-q")
    assert r.code == 2
    assert "UTF-8" in r.stderr


def test_help(tshape):
    r = tshape("run", "--help")
    assert r.code == 0
    assert "--fail-fast" in r.stdout


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from([(GOOD[0], 0), (GOOD[1], 0), (INVALID, 1), (BAD, 2)]), max_size=6))
def test_any_mix_of_lines(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("batch") / "b.tshape"
    path.write_text("\n".join(text for text, _ in lines) + "\n")
    r = run_tshape("run", str(path), "--json")
    assert r.code == max((code for _, code in lines), default=0)
    assert [d["line"] for d in r.docs] == list(range(1, len(lines) + 1))
    assert [d["error"] is None for d in r.docs] == [code == 0 for _, code in lines]


def test_ctrl_c_ends_the_run(tshape, tmp_path, monkeypatch):
    from tensorshape_cli.ops import view

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(view, "explain", interrupted)
    r = tshape("run", write(tmp_path, GOOD[0], GOOD[1], GOOD[0]), "-q")
    assert r.code == 130
    assert r.stdout == "1 3\n"  # the line after the interrupted one did not run


# --- a batch file is data: bounded lines, no writes, one -q line per command line ----------------


def _run_process(*args: str, stdin=subprocess.DEVNULL, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tensorshape_cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=stdin,
        **kwargs,
    )


def test_q_prints_one_line_per_command_line(tshape, tmp_path):
    lines = [GOOD[0], BAD, 'unsqueeze "[1, 2]"', INVALID, "# a comment", "inspect examples/model.pt"]
    r = tshape("run", write(tmp_path, *lines), "-q")
    assert r.code == 2
    model = torch.load("examples/model.pt", weights_only=True)
    out = r.stdout.splitlines()
    assert out[:2] == ["1 3", ""]  # a line that failed (exit 2) is an empty line
    # several results (the unsqueeze tour): one line, joined by '; ', as the command alone prints them
    assert out[2] == "; ".join(tshape("unsqueeze", "[1, 2]", "-q").stdout.splitlines())
    tour = {" ".join(map(str, torch.tensor([1, 2]).unsqueeze(d).shape)) for d in (0, 1, -1, -2)}
    assert set(out[2].split("; ")) == tour
    assert out[3] == ""  # exit 1: explained on stderr, an empty line here
    assert out[4] == "; ".join(" ".join([k, *map(str, v.shape)]) for k, v in model.items())
    assert len(out) == 5


@pytest.mark.parametrize(
    "option", ["--export", "--export=out.svg", "--install-completion", "--show-completion"]
)
def test_a_line_cannot_write_files_or_install_completion(tshape, tmp_path, monkeypatch, option):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    words = [option, "out.svg"] if option == "--export" else [option]
    line = " ".join(["unsqueeze", '"[1, 2]"', "-d", "0", *words])
    r = tshape("run", write(tmp_path, line), "--json")
    assert r.code == 2
    assert option.split("=")[0] in r.stderr and "cannot be used in a line" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.tshape"]  # nothing written


def test_run_itself_refuses_export(tshape, tmp_path):
    r = tshape("run", write(tmp_path, GOOD[0]), "--export", str(tmp_path / "x.svg"))
    assert r.code == 2 and r.stdout == ""
    assert_one_line(r.stderr)
    assert not (tmp_path / "x.svg").exists()


def test_a_line_too_long_is_refused_with_its_number(tshape, tmp_path):
    from tensorshape_cli.batch import MAX_LINE_CHARS

    path = tmp_path / "long.tshape"
    path.write_text(GOOD[0] + "\n" + "unsqueeze " + "1" * (MAX_LINE_CHARS + 10) + "\n")
    r = tshape("run", str(path), "-q")
    assert r.code == 2 and r.stdout == "1 3\n"
    assert "line 2" in r.stderr and "longer than" in r.stderr


def test_endless_zeros_on_stdin_stop_at_once():
    with open("/dev/zero", "rb") as zeros:
        proc = _run_process("run", "-", stdin=zeros)
    assert proc.returncode == 2
    assert "NUL" in proc.stderr


def test_a_nul_on_a_line_is_refused(tshape, tmp_path):
    path = tmp_path / "nul.tshape"
    path.write_bytes(b'unsqueeze "@a\x00b" -d 0\n')
    r = tshape("run", str(path))
    assert r.code == 2 and "NUL" in r.stderr


def test_long_lines_split_as_shlex_does(tshape, tmp_path):
    # split in linear time: a 1.5 MB literal on a line is one word, as shlex reads it
    from tensorshape_cli.batch import split_words

    values = ", ".join(["1"] * 500_000)
    line = f"sum '[{values}]' --dim 0"
    assert split_words(line) == ["sum", f"[{values}]", "--dim", "0"]  # (shlex itself takes minutes)
    r = tshape("run", write(tmp_path, line), "-q")
    assert r.code == 0, r.stderr
    assert r.stdout == "\n"  # a 0-dim result: an empty shape


@given(st.text(alphabet="ab \t'\"\\#=\n", max_size=16))
@settings(max_examples=300, deadline=None)
def test_words_are_split_as_shlex_splits_them(text):
    from tensorshape_cli.batch import split_words
    from tensorshape_cli.errors import InputError

    try:
        expected = shlex.split(text, comments=True)
    except ValueError:
        with pytest.raises(InputError):
            split_words(text)
        return
    assert split_words(text) == expected


def test_special_files_as_the_batch_file(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = _run_process("run", str(fifo))
    assert proc.returncode == 2 and "FIFO" in proc.stderr
    proc = _run_process("run", "/dev/zero")
    assert proc.returncode == 2 and "character device" in proc.stderr
    if os.path.exists("/proc/self/mem"):
        proc = _run_process("run", "/proc/self/mem")
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "tensorshape_cli", "run", "-"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=None,
        close_fds=True,
        preexec_fn=lambda: os.close(0),
    )
    assert proc.returncode == 2 and "closed" in proc.stderr
