#!/usr/bin/python3
"""bench/predict_python.py — the notebook's way of classifying one clip, as a user would run it:
load (soundfile), STFT + dB (numpy, librosa's conventions), draw the seed figure (matplotlib
specshow-equivalent pcolormesh, savefig to PNG in memory), read it back (PIL), fastai's
preprocessing and the same network with the same weights (torch, tools/torch_genreid.py).
Usage: predict_python.py MODEL FILE  → prints "FILE: label p" like genreid predict.
"""
import io
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
sys.path.insert(0, os.path.dirname(__file__))
from spectro_python import load, stft_db  # noqa: E402
from torch_genreid import load_model, preprocess  # noqa: E402


def main():
    model_path, path = sys.argv[1], sys.argv[2]
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    net, classes, pre = load_model(model_path)
    y, _ = load(path)
    D = stft_db(y)
    plt.figure(figsize=(12, 5))
    ax = plt.gca()
    ax.pcolormesh(range(D.shape[1] + 1), range(D.shape[0] + 1), D, cmap="jet", shading="flat")
    ax.set_xticks([])
    ax.set_yticks([])
    buf = io.BytesIO()
    plt.savefig(buf, format="png")
    plt.close()
    buf.seek(0)
    with torch.no_grad():
        p = torch.softmax(net(preprocess(Image.open(buf), pre).unsqueeze(0)), 1)[0]
    k = int(p.argmax())
    print(f"{path}: {classes[k]} {p[k]:.2f}")


if __name__ == "__main__":
    main()
