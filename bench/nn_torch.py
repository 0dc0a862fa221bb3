#!/usr/bin/python3
"""bench/nn_torch.py — the PyTorch anchor for bench/nn_bench.c: torchvision resnet18 + the fastai
head (plain torch.nn, as in tools/make-nn-fixtures.py), fp32, 2 threads, 3x192x192 inputs.
  nn_torch.py MODE [--tuned] [--iters N]
MODE: train32 (forward + cross-entropy + backward + AdamW step, batch 32), infer32, infer1 (eval,
no_grad). --tuned: channels_last model and input (run it with MALLOC_MMAP_THRESHOLD_ and
MALLOC_TRIM_THRESHOLD_ set so glibc keeps big blocks: nn_bench does). --bf16: the forward under
torch.autocast("cpu", dtype=torch.bfloat16), the loss in fp32 on fp32 logits (what a PyTorch user
does for mixed precision on the CPU). Prints one JSON line:
{"ms": median ms per iteration, "rss_mib": peak RSS, "iters": N}."""
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class ConcatPool(nn.Module):
    def forward(self, x):
        return torch.cat([F.adaptive_max_pool2d(x, 1), F.adaptive_avg_pool2d(x, 1)], 1)


def model(n_classes=2):
    r = torchvision.models.resnet18()
    body = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, r.layer3, r.layer4)
    head = nn.Sequential(ConcatPool(), nn.Flatten(), nn.BatchNorm1d(1024), nn.Dropout(0.25),
                         nn.Linear(1024, 512, bias=False), nn.ReLU(inplace=True), nn.BatchNorm1d(512),
                         nn.Dropout(0.5), nn.Linear(512, n_classes, bias=False))
    return nn.Sequential(body, head)


def main():
    mode = sys.argv[1]
    tuned = "--tuned" in sys.argv
    bf16 = "--bf16" in sys.argv
    iters = int(sys.argv[sys.argv.index("--iters") + 1]) if "--iters" in sys.argv else 4
    torch.set_num_threads(2)
    torch.manual_seed(0)
    net = model()
    batch = 1 if mode == "infer1" else 32
    x = torch.randn(batch, 3, 192, 192)
    y = torch.randint(0, 2, (batch,))
    if tuned:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    times = []
    if mode == "train32":
        net.train()
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01)
        for i in range(iters + 1):
            t = time.perf_counter()
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = net(x)
            loss = F.cross_entropy(out.float(), y)
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t)
    else:
        net.eval()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            for i in range(iters + 1):
                t = time.perf_counter()
                net(x)
                times.append(time.perf_counter() - t)
    times = sorted(times[1:])  # first iteration warms up
    ms = 1000 * times[len(times) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"ms": ms, "rss_mib": rss, "iters": iters}))


if __name__ == "__main__":
    main()
