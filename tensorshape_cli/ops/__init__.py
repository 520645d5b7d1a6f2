"""One module per operation. Each exposes `explain(...) -> Explanation`: tensors and plain
parameters in, plain data out. Ops never print, never read files, never import typer or rich.
"""
