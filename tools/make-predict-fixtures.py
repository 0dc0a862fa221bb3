#!/usr/bin/python3
"""tools/make-predict-fixtures.py — what PyTorch says the shipped default model predicts for a few
committed images, with fastai's preprocessing and the model's calibration temperature:
tests/data/predict/torch_probs.tsv
(file, then one probability per class). tests/cli/test_predict.c compares `genreid predict` with it.
Run from the repository root: /usr/bin/python3 tools/make-predict-fixtures.py
"""
import json
import os
import struct
import sys

import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from torch_genreid import load_model, preprocess  # noqa: E402

IMAGES = ["tests/data/image/s1_sine440_22050.png", "tests/data/image/s2_chirp_44100.png",
          "tests/data/image/rs_grad_500x1200.png", "tests/data/image/rs_rand_37x53.png",
          "tests/data/image/dec_q85.jpg"]


def temperature(path):
    """The model's calibration temperature (safetensors metadata "calibration"; 1 when absent)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        meta = json.loads(f.read(n)).get("__metadata__", {})
    return json.loads(meta["calibration"])["temperature"] if "calibration" in meta else 1.0


def main():
    torch.set_num_threads(1)
    net, classes, pre = load_model("models/default.gmod")
    t = temperature("models/default.gmod")
    rows = ["file\t" + "\t".join(classes)]
    with torch.no_grad():
        for path in IMAGES:
            x = preprocess(Image.open(path), pre).unsqueeze(0)
            p = torch.softmax(net(x).double() / t, 1)[0]
            rows.append(path + "\t" + "\t".join(f"{v:.8f}" for v in p.tolist()))
    os.makedirs("tests/data/predict", exist_ok=True)
    with open("tests/data/predict/torch_probs.tsv", "w") as f:
        f.write("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
