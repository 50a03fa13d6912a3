"""Load the weights bench/experiments/torch/timm_parity.ts wrote into timm's own models and compare logits.

    python3 bench/experiments/torch/timm_parity.py <dir> [out.json]

Prints one JSON line per model: the timm version, keys timm expected but did not get (and
the reverse), and the max |ours - timm| over the logits next to the logits' scale.
"""
import json
import sys
from pathlib import Path

import numpy as np
import timm
import torch
from safetensors.torch import load_file


def main() -> None:
    folder = Path(sys.argv[1])
    rows = []
    for weights in sorted(folder.glob("*.safetensors")):
        name = weights.name.removesuffix(".safetensors")
        row = {"model": name, "timm": timm.__version__}
        try:
            model = timm.create_model(name, pretrained=False, num_classes=1000).eval()
            state = load_file(str(weights))
            result = model.load_state_dict(state, strict=False)
            # buffers timm rebuilds itself (index tables, masks, batch counters) may be absent
            row["missing"] = [k for k in result.missing_keys]
            row["unexpected"] = [k for k in result.unexpected_keys]
            x = torch.from_numpy(np.load(folder / f"{name}.input.npy"))
            ours = np.load(folder / f"{name}.logits.npy")
            with torch.no_grad():
                theirs = model(x).numpy()
            row["maxAbsDiff"] = float(np.abs(ours - theirs).max())
            row["logitScale"] = float(np.abs(theirs).max())
        except Exception as e:  # report and go on to the next model
            row["error"] = f"{type(e).__name__}: {e}"
        rows.append(row)
        print(json.dumps(row), flush=True)
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
