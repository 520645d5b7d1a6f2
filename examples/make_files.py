"""Make the tensor files in examples/ from the notebook's own values.

    python examples/make_files.py

model.pt and model.safetensors hold the same state dict: the weighted layer's weights
and the nn.Linear's parameters; x.npy holds the weighted layer's input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent


def state_dict() -> dict[str, torch.Tensor]:
    return {
        "weighted.weights": torch.arange(1, 7, dtype=torch.float32).view(3, 2),
        "fc.weight": torch.tensor([[0.5, 0.6, 0.7], [0.8, 0.9, 1.0]]),
        "fc.bias": torch.tensor([0.1, 0.2]),
    }


def main() -> None:
    state = state_dict()
    torch.save(state, HERE / "model.pt")
    save_file(state, str(HERE / "model.safetensors"))
    x = np.arange(1, 13, dtype=np.float32).reshape(3, 2, 2)  # (models, batch, classes)
    np.save(HERE / "x.npy", x)
    for name in ("model.pt", "model.safetensors", "x.npy"):
        print(f"wrote examples/{name} ({(HERE / name).stat().st_size} bytes)")


if __name__ == "__main__":
    main()
