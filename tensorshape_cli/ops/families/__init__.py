"""Family specs: one module per family of torch ops, each registering its OpSpec (registry.py)."""
