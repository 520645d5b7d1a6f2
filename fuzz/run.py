"""Fuzz tshape for a bounded time. Not part of CI or pytest: run it by hand.

    python fuzz/run.py                                   # both targets, 120 s each
    python fuzz/run.py --target cli --seconds 600
    python fuzz/run.py --engine hypothesis               # where atheris is not installed

Targets (fuzz/harness.py says what each checks): `parser`, any text into the TENSOR
reader; `cli`, any command line and standard input into the console script's function;
`run`, batch files on `tshape run -`; `files`, mutated .npy/.pt/.safetensors bytes;
`export`, --export paths of every kind; `expr`, expressions from a grammar of allowed ops
over tensors of random shapes. The last four run with hypothesis whatever the
engine. Every target runs in its own process under an address-space limit
(--memory-mb, default 4096, by resource.RLIMIT_AS): unbounded memory is a finding.

Engines:
- atheris (`pip install atheris`, wheels for Linux x86-64): coverage-guided libFuzzer over
  tensorshape_cli's own code (torch is not instrumented). Each target runs in its own
  process; the corpus grows in fuzz/corpus/TARGET/ (not committed) and is reused by the
  next run; an input that breaks a guarantee is saved as fuzz/findings/TARGET-crash-*
  and stops that target. Replay one with `python fuzz/run.py --replay FILE --target T`.
- hypothesis: random and structured inputs (harness.strategies) in batches until the time is
  up, each finding shrunk to a small example. The default when atheris is missing.

Prints, per target, how many inputs ran and what was found; exits 1 if anything was.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402

TARGETS = ("parser", "cli", "run", "files", "export", "expr")
HYPOTHESIS_ONLY = ("run", "files", "export", "expr")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", choices=[*TARGETS, "all"], default="all")
    parser.add_argument("--seconds", type=int, default=120, help="per target (default 120)")
    parser.add_argument("--engine", choices=["atheris", "hypothesis", "auto"], default="auto")
    parser.add_argument("--replay", type=Path, help="run one saved atheris input again")
    parser.add_argument("--memory-mb", type=int, default=4096, help="address space of each target's process")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--hypothesis-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replay:
        return replay(args.target, args.replay)
    if args.worker:
        return atheris_worker(args.target, args.seconds)
    if args.hypothesis_worker:
        runs, findings = run_hypothesis(args.target, args.seconds)
        print(f"RESULT {runs}")
        for finding in findings:
            print(f"FINDING {finding}")
        return 0
    engine = args.engine
    if engine == "auto":
        engine = "atheris" if _has_atheris() else "hypothesis"
    targets = TARGETS if args.target == "all" else (args.target,)
    found = False
    for target in targets:
        used = "hypothesis" if target in HYPOTHESIS_ONLY else engine
        if used == "atheris":
            runs, findings = run_atheris(target, args.seconds, args.memory_mb)
        else:
            runs, findings = run_limited(target, args.seconds, args.memory_mb)
        print(f"{target}: {runs:,} inputs in {args.seconds} s ({used}), {len(findings)} finding(s)")
        for finding in findings:
            print(f"  {finding}")
        found = found or bool(findings)
    return 1 if found else 0


def _has_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


# --- atheris -----------------------------------------------------------------------------------


def _address_space(megabytes: int) -> Callable[[], None]:
    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))

    return limit


def run_limited(target: str, seconds: int, megabytes: int) -> tuple[int, list[str]]:
    """The hypothesis engine in a child process under an address-space limit: a MemoryError
    there is a finding (any exception is), and so is the child dying."""
    command = [sys.executable, __file__, "--hypothesis-worker", "--target", target, "--seconds", str(seconds)]
    proc = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=HERE.parent,
        preexec_fn=_address_space(megabytes),
    )
    runs = [int(m) for m in re.findall(r"^RESULT (\d+)$", proc.stdout, re.MULTILINE)]
    findings = re.findall(r"^FINDING (.*)$", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or not runs:
        findings.append(
            f"the target's process ended with {proc.returncode}: {(proc.stderr or proc.stdout)[-500:]}"
        )
    return (runs[-1] if runs else 0), findings


def run_atheris(target: str, seconds: int, megabytes: int = 4096) -> tuple[int, list[str]]:
    """One libFuzzer process per target; its final stats give the number of inputs run."""
    command = [sys.executable, __file__, "--worker", "--target", target, "--seconds", str(seconds)]
    proc = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=HERE.parent,
        preexec_fn=_address_space(megabytes),
    )
    log = proc.stdout + proc.stderr
    (HERE / "findings").mkdir(exist_ok=True)
    (HERE / "findings" / f"{target}.log").write_text(log)
    runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log) or re.findall(r"#(\d+)\s", log)
    findings = []
    if proc.returncode != 0:
        lines = [line for line in log.splitlines() if "Finding" in line or "Error" in line]
        saved = re.findall(r"Test unit written to (\S+)", log)
        findings.append(" ".join([*lines[-2:], *(f"(input: {s})" for s in saved)]) or log[-500:])
    return (int(runs[-1]) if runs else 0), findings


def atheris_worker(target: str, seconds: int) -> int:
    import atheris
    import torch  # noqa: F401 - imported first, so that it is not instrumented

    # every module of the package is imported here, so that atheris instruments all of them
    with atheris.instrument_imports(include=["tensorshape_cli"]):
        import tensorshape_cli.cli
        import tensorshape_cli.inputs
        import tensorshape_cli.runner  # noqa: F401
        from tensorshape_cli.ops import demo, linear, unsqueeze, view, weighted  # noqa: F401
        from tensorshape_cli.render import json_format, plain_format, quiet_format, rich_format  # noqa: F401

    corpus = HERE / "corpus" / target
    corpus.mkdir(parents=True, exist_ok=True)
    findings = HERE / "findings"
    findings.mkdir(exist_ok=True)

    def one_input(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        try:
            if target == "parser":
                harness.check_parser(harness.text_from(fdp))
            else:
                harness.check_cli(*harness.argv_from(fdp))
        except BaseException:
            # saved here too: libFuzzer does not always get to write its crash-* file
            name = hashlib.sha1(data).hexdigest()
            (findings / f"{target}-crash-{name}").write_bytes(data)
            print(f"Test unit written to {findings / f'{target}-crash-{name}'}", file=sys.stderr)
            raise

    libfuzzer = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={seconds}",
        "-timeout=30",  # a hang
        "-rss_limit_mb=6144",
        "-max_len=4096",
        "-print_final_stats=1",
        f"-artifact_prefix={findings}/{target}-",
    ]
    atheris.Setup(libfuzzer, one_input)
    atheris.Fuzz()
    return 0


def replay(target: str, path: Path) -> int:
    import atheris

    fdp = atheris.FuzzedDataProvider(path.read_bytes())
    if target == "parser":
        text = harness.text_from(fdp)
        print(repr(text))
        harness.check_parser(text)
    else:
        argv, stdin = harness.argv_from(fdp)
        print(argv, stdin)
        harness.check_cli(argv, stdin)
    print("no finding")
    return 0


# --- hypothesis ----------------------------------------------------------------------------------


def run_hypothesis(target: str, seconds: int) -> tuple[int, list[str]]:
    from hypothesis import HealthCheck, given, settings

    texts, command_lines = harness.strategies()
    count = 0
    batch_settings = settings(
        max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )

    if target == "parser":

        @batch_settings
        @given(texts)
        def batch(text: str) -> None:
            nonlocal count
            count += 1
            harness.check_parser(text)

    elif target == "cli":

        @batch_settings
        @given(command_lines)
        def batch(case: tuple[list[str], bytes]) -> None:
            nonlocal count
            count += 1
            harness.check_cli(*case)

    else:
        strategy = harness.more_strategies()[target]
        check = {
            "run": harness.check_run,
            "files": harness.check_file,
            "export": harness.check_export,
            "expr": harness.check_expr,
        }[target]

        @batch_settings
        @given(strategy)
        def batch(case: tuple) -> None:  # type: ignore[type-arg]
            nonlocal count
            count += 1
            check(*case)

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            batch()
        except Exception as e:
            return count, [f"{type(e).__name__}: {str(e).strip()[:500]}"]
    return count, []


if __name__ == "__main__":
    sys.exit(main())
