"""The options of one run (frozen) and its memo (the state the run builds as it goes).

A run is one command: a command line (runner.run), a line of `tshape run`, a call of the
Python API or a magic in Jupyter. `use(options)` starts one: the options are read-only,
and a new Memo is made for it, so two runs never share what one of them seeded or
remembered. They live in a ContextVar so that nested and batch runs each see their own.

Outside any run, `current()` is DEFAULT (frozen) and `memo()` a new, empty Memo at every
call: what is written to it is forgotten at once, so nothing read or done outside a run can
leak into one (and DEFAULT has no seed, so seed_torch does nothing there).

A run's seed is the run's own: when a run that seeded torch's generator ends, the generator
is put back as it was, so the next line of a batch (or the user's notebook) draws as if the
run had not been there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

DTYPES = (
    "bool", "uint8", "int8", "int16", "int32", "int64",
    "float16", "bfloat16", "float32", "float64",
)  # fmt: skip
DEFAULT_MAX_ELEMENTS = 10_000_000
DEFAULT_MAX_VALUES = 1000


@dataclass(frozen=True)
class Settings:
    """The options of a run, as the command line gives them (--lang, --max-values, ...)."""

    lang: str = "en"
    # Above this many elements a tensor's values are elided (torch prints the same way).
    max_values: int = DEFAULT_MAX_VALUES
    max_elements: int = DEFAULT_MAX_ELEMENTS
    dtype: str | None = None
    seed: int | None = None
    meta: bool = False


@dataclass
class Memo:
    """What one run has done so far; made new by every use()."""

    # torch's generator was seeded with --seed: `rand(2)` twice draws one stream
    seeded: bool = False
    # describe.summary's memo: the same elements are summarised once
    summaries: dict[Any, Any] = field(default_factory=dict)
    # torch's own message for the contraction being explained, quoted in ours (contraction.py)
    said: str = ""
    # torch's CPU generator as it was before this run first seeded it, put back at its end
    generator_before: torch.Tensor | None = None


DEFAULT = Settings()


@dataclass(frozen=True)
class _Run:
    options: Settings
    memo: Memo


_run: ContextVar[_Run | None] = ContextVar("tshape_run", default=None)


def current() -> Settings:
    """The options of the run in progress (DEFAULT outside any)."""
    run = _run.get()
    return DEFAULT if run is None else run.options


def memo() -> Memo:
    """The memo of the run in progress; outside any, a new one at every call (see above)."""
    run = _run.get()
    return Memo() if run is None else run.memo


@contextmanager
def use(options: Settings, memo: Memo | None = None) -> Iterator[Settings]:
    """Run the block as one run with these options: with a new Memo, unless `memo` is given
    to resume a run (the trace recorder, whose hooks fire inside the user's code)."""
    run = _Run(options, Memo() if memo is None else memo)
    token = _run.set(run)
    try:
        yield options
    finally:
        _run.reset(token)
        if memo is None and run.memo.generator_before is not None:
            import torch

            torch.default_generator.set_state(run.memo.generator_before)


def seed_torch() -> None:
    """Seed torch's global generator once per run, so that `rand(2)` twice, or rand(...)
    followed by a layer's own torch.rand, draw one stream, as a script does after manual_seed."""
    seed = current().seed
    state = memo()
    if seed is not None and not state.seeded:
        seed_generator(seed)
        state.seeded = True


def seed_generator(seed: int) -> None:
    """torch.manual_seed(seed) for this run: what it does for the CPU, without the lazy seeding
    of CUDA/XPU/MTIA that records a stack trace on every call (milliseconds each, per line of
    a `tshape run`). The generator's state before is kept, to be put back when the run ends."""
    import torch

    state = memo()
    if state.generator_before is None:
        state.generator_before = torch.default_generator.get_state()
    torch.default_generator.manual_seed(seed)
