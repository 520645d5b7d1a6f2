"""Run options and the per-run memo: options are frozen, every run has a memo of its own,
and a run's seed stays in that run (its lines, its generator)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from conftest import assert_tensor

from tensorshape_cli import describe, settings


def test_options_are_frozen():
    options = settings.Settings(lang="es", seed=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.seed = 4  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.DEFAULT.max_elements = 1  # type: ignore[misc]
    # the per-run state is not part of the options any more
    assert not {"seeded", "summaries"} & {f.name for f in dataclasses.fields(settings.Settings)}


def test_outside_a_run_the_options_are_the_defaults_and_nothing_is_remembered():
    assert settings.current() is settings.DEFAULT == settings.Settings()
    settings.memo().seeded = True
    settings.memo().summaries["k"] = 1
    assert settings.memo() is not settings.memo()
    assert settings.memo().seeded is False and settings.memo().summaries == {}


def test_two_runs_never_share_a_memo():
    x = torch.arange(6.0)
    options = settings.Settings()
    with settings.use(options):
        first = settings.memo()
        assert settings.memo() is first  # one memo for the whole run
        describe.summary(x)
        assert first.summaries
    with settings.use(options):  # the same options, a new run
        second = settings.memo()
        assert second is not first and second.summaries == {} and not second.seeded
        with settings.use(options):  # a run inside a run has its own too
            assert settings.memo() is not second
        assert settings.memo() is second
        with settings.use(options, second):  # unless it resumes this one (the trace recorder)
            assert settings.memo() is second
    assert settings.current() is settings.DEFAULT


def test_a_run_seeds_once_and_the_next_run_seeds_again():
    with settings.use(settings.Settings(seed=7)):
        settings.seed_torch()
        first = torch.rand(3)
        settings.seed_torch()  # the same run: the stream goes on
        second = torch.rand(3)
    with settings.use(settings.Settings(seed=7)):
        settings.seed_torch()  # a new run: seeded anew
        again = torch.rand(3)
    torch.manual_seed(7)
    want = torch.rand(3), torch.rand(3)
    assert torch.equal(first, want[0]) and torch.equal(second, want[1])
    assert torch.equal(again, want[0])


def test_a_seeded_run_puts_the_generator_back_when_it_ends():
    torch.manual_seed(11)
    before = torch.default_generator.get_state()
    with settings.use(settings.Settings(seed=7)):
        settings.seed_torch()
        torch.rand(5)
    assert torch.equal(torch.default_generator.get_state(), before)
    with settings.use(settings.Settings()):  # a run without a seed leaves the generator alone
        drawn = torch.rand(2)
    torch.manual_seed(11)
    assert torch.equal(drawn, torch.rand(2))


def test_rand_twice_in_one_command_draws_one_stream(tshape):
    r = tshape("cat", "rand(2)", "rand(2)", "--seed", "3", "--json")
    assert r.code == 0, r.stderr
    torch.manual_seed(3)
    a, b = torch.rand(2), torch.rand(2)
    assert not torch.equal(a, b)
    assert_tensor(r.doc["result"], torch.cat((a, b)))


def test_random_calls_in_an_expression_draw_one_stream(tshape):
    r = tshape("expr", "torch.rand(2) - torch.rand(2)", "--seed", "3", "--json")
    assert r.code == 0, r.stderr
    torch.manual_seed(3)
    a = torch.rand(2)
    assert_tensor(r.doc["result"], a - torch.rand(2))


def test_a_batch_lines_seed_does_not_leak_into_the_next_line(tshape, tmp_path):
    line = "unsqueeze 'rand(3)' --dim 0"
    path = tmp_path / "batch.tshape"
    path.write_text(f"{line} --seed 5\n{line} --seed 5\n{line}\n")
    torch.manual_seed(1234)  # the process's own stream, before the run
    docs = tshape("run", str(path), "--json").docs
    torch.manual_seed(5)
    seeded = torch.rand(3).unsqueeze(0)
    # each seeded line starts the stream again: the first line's seeding is not remembered
    assert_tensor(docs[0]["result"], seeded)
    assert_tensor(docs[1]["result"], seeded)
    # a line without --seed draws from the process's stream, as if no line had seeded it
    torch.manual_seed(1234)
    assert_tensor(docs[2]["result"], torch.rand(3).unsqueeze(0))
