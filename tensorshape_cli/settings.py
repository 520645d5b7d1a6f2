"""Per-run settings that ops and renderers read: language, value limits, random generator.

They live in a ContextVar so that a batch run can give every line its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

DTYPES = (
    "bool", "uint8", "int8", "int16", "int32", "int64",
    "float16", "bfloat16", "float32", "float64",
)  # fmt: skip
DEFAULT_MAX_ELEMENTS = 10_000_000
DEFAULT_MAX_VALUES = 1000


@dataclass
class Settings:
    lang: str = "en"
    # Above this many elements a tensor's values are elided (torch prints the same way).
    max_values: int = DEFAULT_MAX_VALUES
    max_elements: int = DEFAULT_MAX_ELEMENTS
    dtype: str | None = None
    seed: int | None = None
    meta: bool = False
    seeded: bool = False
    # describe.summary's memo for this run: the same elements are summarised once
    summaries: dict[Any, Any] = field(default_factory=dict)


_current: ContextVar[Settings] = ContextVar("tshape_settings", default=Settings())  # noqa: B039


def seed_torch() -> None:
    """Seed torch's global generator once per command, so that `rand(2)` twice, or rand(...)
    followed by a layer's own torch.rand, draw one stream, as a script does after manual_seed."""
    s = current()
    if s.seed is not None and not s.seeded:
        import torch

        torch.default_generator.manual_seed(s.seed)  # torch.manual_seed for the CPU, see ops/linear.py
        s.seeded = True


def current() -> Settings:
    return _current.get()


@contextmanager
def use(settings: Settings) -> Iterator[Settings]:
    token = _current.set(settings)
    try:
        yield settings
    finally:
        _current.reset(token)
