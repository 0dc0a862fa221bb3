#!/usr/bin/python3
"""bench/spectro_python.py — the notebook's spectrogram pipeline in Python, for `make bench`.

A faithful equivalent of the seed's audio-plot.py (librosa.load → amplitude_to_db(|stft|) →
specshow(cmap='jet') on a 12x5 in figure → savefig) with Debian's numpy, soundfile and matplotlib
(librosa itself is not packaged in Debian 12): same decode (soundfile float32, mean of channels),
same STFT (periodic Hann 2048, hop 512, centre zero padding, rfft), same dB rule, and
pcolormesh drawn the way librosa.display.specshow draws it with no axis types.
Usage: spectro_python.py OUTDIR FILE... ; prints per-stage mean ms per clip as JSON on stdout.
"""
import json
import os
import sys
import time

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402


def load(path):
    y, sr = sf.read(path, dtype="float32", always_2d=True)
    return np.mean(y.T, axis=0), sr


def stft_db(y, n_fft=2048, hop=512):
    win = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    yp = np.pad(y, n_fft // 2)
    n_frames = 1 + len(y) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = yp[idx] * win
    S = np.abs(np.fft.rfft(frames, axis=1)).astype(np.float32).T
    D = 10.0 * np.log10(np.maximum(1e-10, S * S))
    return np.maximum(D, D.max() - 80.0).astype(np.float32)


def render(D, out):
    plt.figure(figsize=(12, 5))
    ax = plt.gca()
    # specshow with no axis types: integer cell edges, cmap jet, no ticks
    x = np.arange(D.shape[1] + 1)
    yc = np.arange(D.shape[0] + 1)
    ax.pcolormesh(x, yc, D, cmap="jet", shading="flat")
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(yc.min(), yc.max())
    ax.set_xticks([])
    ax.set_yticks([])
    plt.savefig(out)
    plt.close()


def main():
    outdir, files = sys.argv[1], sys.argv[2:]
    t = {"load": 0.0, "stft_db": 0.0, "render_png": 0.0, "total": 0.0}
    for i, f in enumerate(files):
        t0 = time.perf_counter()
        y, _ = load(f)
        t1 = time.perf_counter()
        D = stft_db(y)
        t2 = time.perf_counter()
        render(D, os.path.join(outdir, f"{i}.png"))
        t3 = time.perf_counter()
        t["load"] += t1 - t0
        t["stft_db"] += t2 - t1
        t["render_png"] += t3 - t2
        t["total"] += t3 - t0
    n = max(1, len(files))
    print(json.dumps({k: 1000.0 * v / n for k, v in t.items()} | {"clips": len(files)}))


if __name__ == "__main__":
    main()
