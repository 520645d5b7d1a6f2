"""A recording → one Explanation, op "trace": one step per recorded call, in the order made.

--depth N folds every module deeper than N (the model is depth 0, its children 1, …) into one
step: its inputs and output. Consecutive folded calls of numbered blocks (layers.0, layers.1,
…) of one class with the same shapes in and out (twelve identical transformer layers) are one
step with a count.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tensorshape_cli.explanation import Explanation, Step, Table, TensorInfo
from tensorshape_cli.messages import t
from tensorshape_cli.text import first_line, fmt_count, fmt_shape
from tensorshape_cli.tracing import explain_failure
from tensorshape_cli.tracing.recorder import MAX_CALLS, Arg, Call, Failure, Node, Recorder, Site


@dataclass
class _Item:
    step: Step
    # equal for folded module calls that are the same block with the same shapes
    key: tuple[Any, ...] | None = None
    path: str = ""
    cls: str = ""
    count: int = 1
    last: str = ""


def build(
    recorder: Recorder,
    call: str,
    inputs: dict[str, TensorInfo] | None = None,
    result: TensorInfo | None = None,
    depth: int | None = None,
) -> Explanation:
    ex = Explanation(op="trace", call=call, title=t("trace.title"), inputs=inputs or {})
    ex.steps = [_merged(item) for item in _merge(_walk(recorder.root, depth))]
    if recorder.dropped:
        ex.steps.append(
            Step(
                t("trace.dropped.title"),
                "",
                None,
                t("trace.dropped", n=fmt_count(recorder.dropped), limit=fmt_count(MAX_CALLS)),
            )
        )
    if recorder.failure is not None:
        error, table = explain_failure.explain(recorder.failure)
        ex.steps.append(_failed_step(recorder.failure))
        if table is not None:
            last = ex.steps[-1]
            ex.steps.append(
                Step(
                    t("trace.why.title"),
                    last.code,
                    None,
                    "",
                    table,
                    location=last.location,
                    module=last.module,
                )
            )
        ex.error = error
    else:
        ex.result = result
    return ex


# --- which records are steps -------------------------------------------------------------------


def _walk(node: Node, depth: int | None) -> Iterator[_Item]:
    for child in node.children:
        if isinstance(child, Call):
            if child.error is None:  # a failing call is the last step; one the code caught is none
                yield _Item(_call_step(child))
            continue
        folded = child.torch_defined or (depth is not None and child.depth > depth)
        if not folded:
            yield from _walk(child, depth)  # also when it raised: what ran inside it before
        elif child.done:
            yield _module_item(child, by_depth=depth is not None and child.depth > depth)
        # a folded module that raised: the failing step at the end stands for it


def _merge(items: Iterator[_Item]) -> Iterator[_Item]:
    current: _Item | None = None
    for item in items:
        if current is not None and item.key is not None and item.key == current.key:
            current.count += 1
            current.last = item.path
            continue
        if current is not None:
            yield current
        current = item
    if current is not None:
        yield current


def _merged(item: _Item) -> Step:
    if item.count > 1:
        item.step.title = t(
            "trace.title.repeated", first=item.path, last=item.last, cls=item.cls, n=item.count
        )
    return item.step


# --- the steps ---------------------------------------------------------------------------------


def _call_step(call: Call) -> Step:
    title = call.name if call.module is None or call.module.path is None else _in(call.name, call.module)
    note = _where(call.site)
    if call.more_outputs:
        note += "\n" + t("trace.more_outputs", shapes=", ".join(fmt_shape(s) for s in call.more_outputs))
    return _step(title, call.site, call.output, note, call.args, call.module)


def _module_item(node: Node, by_depth: bool) -> _Item:
    """One step for a module call; folded by --depth, a numbered block (layers.3) can merge
    with its identical neighbours."""
    title = t("trace.title.module", path=_label(node), cls=node.cls)
    note = _where(node.site)
    inner = [c for c in node.inner if c.error is None]
    args = node.inputs
    if node.torch_defined and len(inner) == 1:  # nn.Linear → F.linear(input, weight, bias)
        note += "\n" + t("trace.module.one_call", cls=node.cls, name=inner[0].name)
        args = inner[0].args
    elif not node.torch_defined:
        note += "\n" + t("trace.module.folded")
    if node.more_outputs:
        note += "\n" + t("trace.more_outputs", shapes=", ".join(fmt_shape(s) for s in node.more_outputs))
    step = _step(title, node.site, node.output, note, args, node)
    parent, _, last = (node.path or "").rpartition(".")
    if not (by_depth and last.isdigit()):
        return _Item(step)
    key = (
        parent,
        node.cls,
        tuple((a.shape, a.dtype) for a in node.inputs),
        None if node.output is None else (tuple(node.output.shape), node.output.dtype),
        tuple(map(tuple, node.more_outputs)),
    )
    return _Item(step, key, path=node.path or "", cls=node.cls, last=node.path or "")


def _failed_step(failure: Failure) -> Step:
    raised = t("trace.raised", type=type(failure.error).__name__, message=first_line(failure.error))
    site = failure.site or Site("", 0, "")
    if failure.call is not None:
        call = failure.call
        name = call.name if call.module is None or call.module.path is None else _in(call.name, call.module)
        return _step(
            t("trace.title.failed", name=name),
            site,
            None,
            _where(site) + "\n" + raised,
            call.args,
            call.module,
        )
    if failure.node is not None:
        node = failure.node
        title = t("trace.title.failed", name=t("trace.title.module", path=_label(node), cls=node.cls))
        return _step(title, site, None, _where(site) + "\n" + raised, node.inputs, node)
    return _step(
        t("trace.title.raised"), site, None, (_where(site) + "\n" if site.file else "") + raised, [], None
    )


def _step(
    title: str,
    site: Site | None,
    tensor: TensorInfo | None,
    note: str,
    args: list[Arg],
    node: Node | None,
) -> Step:
    site = site or Site("", 0, "")
    module = None if node is None else node.path
    return Step(
        title, site.code, tensor, note, _args_table(args), location=(site.file, site.line), module=module
    )


def _args_table(args: list[Arg]) -> Table | None:
    if not args:
        return None
    columns = [t("trace.col.argument"), t("trace.col.shape"), "dtype", "stride"]
    return Table(columns, [[a.name, fmt_shape(a.shape), a.dtype, fmt_shape(a.stride)] for a in args])


def _in(name: str, node: Node) -> str:
    return t("trace.title.in", name=name, module=_label(node))


def _label(node: Node) -> str:
    """A module as the steps name it: its path, or its class for the outermost one."""
    return node.path or node.cls


def _where(site: Site | None) -> str:
    if site is None or not site.file:
        return ""
    return t("trace.where", file=_shown(site.file), line=site.line)


def _shown(path: str) -> str:
    """A path under the working directory is shown relative to it, as the user typed it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel
