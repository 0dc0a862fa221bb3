#!/usr/bin/python3
"""bench/train_python.py — the notebook's training setting in plain PyTorch, for `make bench`:
40 seed images (PIL, Resize(192, squish) bilinear, ImageNet normalisation), RandomSplitter(0.2),
torchvision resnet18 + fastai's head (random init: no ImageNet weights offline), Adam as fastai,
fine_tune(epochs=1): one frozen epoch then one unfrozen epoch of batch 32 (drop_last) plus the
validation pass. fastai itself is not packaged in Debian; this is what it runs.
Usage: train_python.py IMAGES_DIR [--bf16]  → one JSON line with seconds for loading and per epoch.
--bf16: forwards under torch.autocast("cpu", dtype=torch.bfloat16), the loss in fp32.
"""
import glob
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from torchvision.models import resnet18

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from torch_genreid import ConcatPool, MEAN, STD  # noqa: E402


def main():
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    torch.manual_seed(42)
    bf16 = "--bf16" in sys.argv
    t0 = time.perf_counter()
    files = sorted(glob.glob(os.path.join(sys.argv[1], "*", "*.png")))
    classes = sorted({os.path.basename(os.path.dirname(f)) for f in files})
    xs, ys = [], []
    for f in files:
        img = Image.open(f).convert("RGB").resize((192, 192), Image.BILINEAR)
        x = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255.0
        xs.append((x - MEAN) / STD)
        ys.append(classes.index(os.path.basename(os.path.dirname(f))))
    X, Y = torch.stack(xs), torch.tensor(ys)
    perm = torch.randperm(len(files))
    valid, train = perm[:int(0.2 * len(files))], perm[int(0.2 * len(files)):]
    body = nn.Sequential(*list(resnet18().children())[:-2])
    head = nn.Sequential(ConcatPool(), nn.Flatten(), nn.BatchNorm1d(1024), nn.Dropout(0.25), nn.Linear(1024, 512, bias=False),
                         nn.ReLU(inplace=True), nn.BatchNorm1d(512), nn.Dropout(0.5), nn.Linear(512, len(classes), bias=False))
    model = nn.Sequential(body, head)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01)
    t_load = time.perf_counter() - t0
    epochs = []
    for frozen in (True, False):
        t1 = time.perf_counter()
        for name, p in body.named_parameters():
            p.requires_grad = not frozen or "bn" in name or ".1." in name.split("downsample")[-1][:3]
        model.train()
        idx = train[torch.randperm(len(train))]
        for b in range(len(idx) // 32):
            sel = idx[b * 32:(b + 1) * 32]
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = model(X[sel])
            loss = nn.functional.cross_entropy(out.float(), Y[sel])
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            nn.functional.cross_entropy(model(X[valid]).float(), Y[valid])
        epochs.append(time.perf_counter() - t1)
    print(json.dumps({"load_s": t_load, "epoch_frozen_s": epochs[0], "epoch_unfrozen_s": epochs[1],
                      "total_s": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()
