"""tshape: explains, step by step, what PyTorch does to a tensor's shape and values."""

__version__ = "0.1.0"
