"""The user's source line, read with `ast` (never run), to name the layer and the tensors.

`y = self.fc(x)` → a call of `self.fc` on `x`; `x.view(4, 5)` → the method `view` of `x`;
`a @ b` → the operator `@` on `a` and `b`. The explanation and its fix then use the user's
own names instead of torch's (mat1, input, self).
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field

MAX_SOURCE = 2000  # a source line longer than this is not parsed


@dataclass(frozen=True)
class Site:
    func: str  # "self.fc", "x.view", "torch.cat", "F.linear", or an operator: "@", "+"
    receiver: str | None = None  # for a method: the expression it is called on ("x")
    args: list[str] = field(default_factory=list)  # the positional arguments, as written
    keywords: dict[str, str] = field(default_factory=dict)

    @property
    def method(self) -> str:
        return self.func.rsplit(".", 1)[-1]


OPERATORS = {ast.MatMult: "@", ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def sites(code: str) -> list[Site]:
    """Every call and tensor operator on the line, outermost first; [] when it does not parse."""
    if not code or len(code) > MAX_SOURCE:
        return []
    text = code.strip().rstrip(":")
    for prefix in ("return ", "yield "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found: list[Site] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = _text(text, node.func)
            receiver = _text(text, node.func.value) if isinstance(node.func, ast.Attribute) else None
            args = [_text(text, a) for a in node.args]
            keywords = {k.arg: _text(text, k.value) for k in node.keywords if k.arg}
            found.append(Site(func, receiver, args, keywords))
        elif isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            found.append(
                Site(OPERATORS[type(node.op)], None, [_text(text, node.left), _text(text, node.right)])
            )
    return found


def find(code: str, *methods: str) -> Site | None:
    """The first call on the line whose last name is one of `methods` (or any, when none)."""
    for site in sites(code):
        if not methods or site.method in methods or site.func in methods:
            return site
    return None


def layer_call(code: str) -> Site | None:
    """A call of a module held in a variable or an attribute (`self.fc(x)`, `model.conv1(x)`,
    `fc(x)`): the first call that is neither torch's (torch., F., nn.) nor a Tensor method."""
    import torch

    for site in sites(code):
        root = site.func.split(".", 1)[0]
        if site.func in OPERATORS.values() or root in ("torch", "F", "nn", "np", "numpy"):
            continue
        if site.receiver is not None and root != "self" and hasattr(torch.Tensor, site.method):
            continue  # x.view(...), x.sum(...): a tensor's method
        if site.receiver is None and site.func in BUILTINS:
            continue
        return site
    return None


BUILTINS = frozenset({"len", "print", "range", "list", "tuple", "int", "float", "zip", "enumerate", "super"})


def _text(source: str, node: ast.AST) -> str:
    return ast.get_source_segment(source, node) or ""
