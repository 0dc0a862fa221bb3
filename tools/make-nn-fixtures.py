#!/usr/bin/python3
"""tools/make-nn-fixtures.py — PyTorch reference dumps for the nn tests (tests/nn/test_model.c).

Builds torchvision.models.resnet18 / resnet34 + fastai's create_head written in plain torch.nn
(fastai is not installed: AdaptiveConcatPool2d = cat([max, avg]), Flatten, BatchNorm1d(1024),
Dropout(0.25), Linear(1024,512,bias=False), ReLU, BatchNorm1d(512), Dropout(0.5), Linear(512,C,
bias=False)), loads weights from a counter-based splitmix64 generator defined identically in
tests/nn/nn_rng.h, and writes tests/data/nn/<arch>.bin:
  input, act.stem/layer1..4/pool/head1, logits, loss, labels   (training-mode forward; 4x3x40x40, layer4 is 2x2)
  grad.<param>   [sum, sum of squares, values]  values = full grad if numel <= 4096, else the
                 256 entries at nn_fixture_index(k, numel) (k = 0..255)
  after.<buffer> BN running stats / num_batches_tracked after the training forward
  eval.input, eval.logits   one eval-mode forward of a fresh model (resnet18: 1x3x192x192)
and tests/data/nn/resnet18_bf16.bin, the mixed-precision reference: for the same weights, input
and labels, the records above (input, labels, eval.input, then act.*, logits, loss, grad.*,
eval.logits) under two prefixes: "bf16." with every forward under torch.autocast("cpu",
dtype=torch.bfloat16) (convolutions and linears in bf16, activations between them left bf16 as
autocast leaves them, the loss in fp32 on fp32 logits), and "fp32." without autocast. The test
measures genreid's bf16 path against both, with PyTorch's own bf16-vs-fp32 distance as the yardstick.
Dropout p is set to 0 in the training pass (torch's bernoulli stream is not reproduced; the C
test turns dropout off likewise with nn_workspace_set_dropout). Full weights/gradients are not
stored (a resnet18 state_dict is 46 MB); the weights are regenerated from the seed on both sides.

Format: b"NNFX0001", then records to EOF: u32 name length, name (ASCII), u32 ndim, u32 dims[ndim],
float32 little-endian data. Run: /usr/bin/python3 tools/make-nn-fixtures.py [--bf16-only] (about a
minute). The kink-free input seed is searched on the machine that runs it, so another CPU may pick
another input; the C tests read the input from the file.
"""
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
WEIGHT_SEED = 20261128
INDEX_SEED = 777
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "nn")


def mix(z):
    z = z.astype(np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def rng_at(seed, idx):
    """element idx (uint64 array) of the splitmix64 stream started at state seed"""
    with np.errstate(over="ignore"):
        return mix(np.uint64(seed) + (idx.astype(np.uint64) + np.uint64(1)) * GOLDEN)


def uniform_at(seed, start, n):
    idx = np.arange(start, start + n, dtype=np.uint64)
    return (rng_at(seed, idx) >> np.uint64(40)).astype(np.float64) * (1.0 / 16777216.0)


def fixture_weight(name, shape, u):
    """value from uniform u in [0,1): same formulas, in double, as nn_fixture_weights in C"""
    leaf = name.rsplit(".", 1)[1]
    if leaf == "weight" and len(shape) == 4:
        fan_out = shape[0] * shape[2] * shape[3]
        return (2.0 * u - 1.0) * math.sqrt(6.0 / fan_out)
    if leaf == "weight" and len(shape) == 2:
        return (2.0 * u - 1.0) * math.sqrt(6.0 / shape[1])
    if leaf == "weight":
        return 1.0 + (2.0 * u - 1.0) * 0.2
    if leaf in ("bias", "running_mean"):
        return (2.0 * u - 1.0) * 0.2
    if leaf == "running_var":
        return 1.0 + 0.5 * u
    return np.zeros_like(u)  # num_batches_tracked


def fixture_index(k, n):
    return int(rng_at(INDEX_SEED, np.array([k], dtype=np.uint64))[0] % np.uint64(n))


class ConcatPool(nn.Module):  # fastai AdaptiveConcatPool2d: max first
    def forward(self, x):
        return torch.cat([F.adaptive_max_pool2d(x, 1), F.adaptive_avg_pool2d(x, 1)], 1)


class Net(nn.Module):
    def __init__(self, arch, n_classes):
        super().__init__()
        r = getattr(torchvision.models, arch)()
        self.conv1, self.bn1, self.relu, self.maxpool = r.conv1, r.bn1, r.relu, r.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = r.layer1, r.layer2, r.layer3, r.layer4
        self.head = nn.Sequential(ConcatPool(), nn.Flatten(), nn.BatchNorm1d(1024), nn.Dropout(0.25),
                                  nn.Linear(1024, 512, bias=False), nn.ReLU(inplace=True),
                                  nn.BatchNorm1d(512), nn.Dropout(0.5), nn.Linear(512, n_classes, bias=False))

    def forward(self, x):
        acts = {}
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        acts["stem"] = x
        for i in range(1, 5):
            x = getattr(self, "layer%d" % i)(x)
            acts["layer%d" % i] = x
        h = self.head
        x = h[1](h[0](x))
        acts["pool"] = x
        x = h[5](h[4](h[3](h[2](x))))
        acts["head1"] = x.clone()
        x = h[8](h[7](h[6](x)))
        return x, acts


def load_fixture_weights(net):
    sd = net.state_dict()
    offset = 0
    for name, t in sd.items():
        n = t.numel()
        u = uniform_at(WEIGHT_SEED, offset, n)
        offset += n
        if name.endswith("num_batches_tracked"):
            t.zero_()
            continue
        v = fixture_weight(name, list(t.shape), u).astype(np.float32)
        t.copy_(torch.from_numpy(v.reshape(t.shape)))
    net.load_state_dict(sd)


def rec(f, name, arr):
    a = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
    b = name.encode()
    f.write(struct.pack("<I", len(b)) + b + struct.pack("<I", a.ndim))
    f.write(struct.pack("<%dI" % a.ndim, *a.shape))
    f.write(a.astype("<f4").tobytes())


def relu_inputs(net, x):
    """every ReLU's input (pre-hooks: the ReLUs are in place and shared within a block)"""
    got = []
    hooks = [m.register_forward_pre_hook(lambda m, i: got.append(i[0].detach().clone()))
             for m in net.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    return got


def kink_count(net, x):
    """ReLU inputs within 5x their own fp32 rounding error of the kink: there the gradient of a
    different fp32 implementation may flip (one flipped element moved upstream gradients by 1-8%
    in the first fixture). Measured as fp32 vs fp64 PyTorch on the same weights and input."""
    net64 = Net(net.arch, 3)
    net64.load_state_dict(net.state_dict())
    net64.head[3].p = net64.head[7].p = 0.0
    net64.double().train()
    a, b = relu_inputs(net, x), relu_inputs(net64, x.double())
    return sum(int(((v.abs() < 5 * (u.double() - v).abs()) | ((u > 0) != (v > 0))).sum()) for u, v in zip(a, b))


def kink_free_seed(arch, batch, size):
    """the input: the first torch seed whose forward has no ReLU input near its kink"""
    for seed in range(100):
        torch.manual_seed(seed)
        net = Net(arch, 3)
        net.arch = arch
        load_fixture_weights(net)
        net.head[3].p = 0.0
        net.head[7].p = 0.0
        net.train()
        x = torch.randn(batch, 3, size, size)
        kinks = kink_count(net, x)
        if kinks == 0:
            break
        print("%s: input seed %d has %d ReLU inputs at a kink, next" % (arch, seed, kinks))
    return seed


def grad_record(g):
    """[sum, sum of squares, values]: all values if few, else 256 sampled"""
    g = g.detach().double().numpy().ravel()
    vals = g if g.size <= 4096 else np.array([g[fixture_index(k, g.size)] for k in range(256)])
    return np.concatenate([[g.sum(), (g * g).sum()], vals])


def dump_bf16(batch, size, labels, eval_size, path):
    seed = kink_free_seed("resnet18", batch, size)
    with open(path + ".tmp", "wb") as f:
        f.write(b"NNFX0001")
        torch.manual_seed(seed)
        Net("resnet18", 3)  # draws from the generator first, as in kink_free_seed
        x = torch.randn(batch, 3, size, size)
        torch.manual_seed(1)
        Net("resnet18", 3)
        xe = torch.randn(1, 3, eval_size, eval_size)
        y = torch.tensor(labels)
        rec(f, "input", x.numpy())
        rec(f, "labels", y.numpy().astype(np.float32))
        rec(f, "eval.input", xe.numpy())
        for tag, on in (("fp32.", False), ("bf16.", True)):
            net = Net("resnet18", 3)
            load_fixture_weights(net)
            net.head[3].p = net.head[7].p = 0.0
            net.train()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=on):
                logits, acts = net(x)
            logits = logits.float()
            loss = F.cross_entropy(logits, y)
            loss.backward()
            for k, v in acts.items():
                rec(f, tag + "act." + k, v.detach().float().numpy())
            rec(f, tag + "logits", logits.detach().numpy())
            rec(f, tag + "loss", [loss.item()])
            for name, t in net.named_parameters():
                rec(f, tag + "grad." + name, grad_record(t.grad))
            net = Net("resnet18", 3)  # fresh running statistics, as the C test's eval model
            load_fixture_weights(net)
            net.eval()
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=on):
                le, _ = net(xe)
            rec(f, tag + "eval.logits", le.float().numpy())
            print("%s%s loss %.6f" % (path, " " + tag, loss.item()))
    os.replace(path + ".tmp", path)


def dump(arch, batch, size, labels, eval_size, path):
    seed = kink_free_seed(arch, batch, size)
    torch.manual_seed(seed)
    net = Net(arch, 3)
    load_fixture_weights(net)
    net.head[3].p = 0.0
    net.head[7].p = 0.0
    net.train()
    x = torch.randn(batch, 3, size, size)
    y = torch.tensor(labels)
    logits, acts = net(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    with open(path + ".tmp", "wb") as f:
        f.write(b"NNFX0001")
        rec(f, "input", x.numpy())
        for k, v in acts.items():
            rec(f, "act." + k, v.detach().numpy())
        rec(f, "logits", logits.detach().numpy())
        rec(f, "loss", [loss.item()])
        rec(f, "labels", y.numpy().astype(np.float32))
        params = dict(net.named_parameters())
        for name, t in net.state_dict().items():
            if name in params:
                g = params[name].grad.detach().double().numpy().ravel()
                head = [g.sum(), (g * g).sum()]
                if g.size <= 4096:
                    vals = g
                else:
                    vals = np.array([g[fixture_index(k, g.size)] for k in range(256)])
                rec(f, "grad." + name, np.concatenate([head, vals]))
            else:
                rec(f, "after." + name, t.detach().double().numpy().ravel())
        if eval_size:
            torch.manual_seed(1)
            net2 = Net(arch, 3)
            load_fixture_weights(net2)
            net2.eval()
            xe = torch.randn(1, 3, eval_size, eval_size)
            with torch.no_grad():
                le, _ = net2(xe)
            rec(f, "eval.input", xe.numpy())
            rec(f, "eval.logits", le.numpy())
    os.replace(path + ".tmp", path)
    print("%s: loss %.6f, %d bytes" % (path, loss.item(), os.path.getsize(path)))


def main():
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    if "--bf16-only" not in sys.argv:
        dump("resnet18", 4, 40, [0, 2, 1, 2], 192, os.path.join(OUT, "resnet18.bin"))
    if "--bf16-only" not in sys.argv:
        dump("resnet34", 4, 40, [1, 0, 2, 0], 0, os.path.join(OUT, "resnet34.bin"))
    dump_bf16(4, 40, [0, 2, 1, 2], 192, os.path.join(OUT, "resnet18_bf16.bin"))


if __name__ == "__main__":
    sys.exit(main())
