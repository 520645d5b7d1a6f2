"""tshape expr: a whole tensor expression, explained step by step, never evaluated as Python.

- parser.py: `ast` parse, the syntax whitelist and the limits (length, depth, nodes); then every
  torch name the expression uses looked up in the vocabulary, before any tensor is read.
- walker.py: evaluates innermost first; each call, operator or index becomes a registry.Call,
  explained by the spec that claims its callable (or the generic spec), one step each.
- guards.py: the universal size guard, before anything runs.
"""

from tensorshape_cli.expr.parser import Program, compile_expr
from tensorshape_cli.expr.walker import explain

__all__ = ["Program", "compile_expr", "explain"]
