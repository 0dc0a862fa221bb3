#!/usr/bin/python3
"""tools/make-model-fixtures.py — writes the PyTorch reference fixtures under tests/data/model/ that the
C tests of src/core/rng, src/nn/optim, src/nn/schedule and src/model/{pth,safetensors} compare against.

References (none written here): torch's CPU generator (torch.manual_seed, torch.randperm, torch.rand),
torch.optim.AdamW / torch.optim.SGD, torch.optim.lr_scheduler.OneCycleLR, torch.save. fastai is not
installed on this machine, so the fastai formulas (Adam callbacks, combined_cos/combine_scheds, fine_tune,
even_mults) are re-typed below from fastai 2.7's source and checked against torch where they overlap
(fastai Adam == AdamW is asserted here before anything is written).

Leaves out: anything made from the commercial seed clips. Everything is small (< 1 MB in all):
full-size resnet18 layouts are saved as stride-0 expanded views of tiny storages (torch.save keeps the
storage, not the view), so the torchvision/fastai layout tests run without a 46 MB file.

Usage: /usr/bin/python3 tools/make-model-fixtures.py [OUTDIR]   (default tests/data/model)
"""
import io
import math
import os
import struct
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import torch
import torchvision

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/data/model"
os.makedirs(OUT, exist_ok=True)


def path(name):
    return os.path.join(OUT, name)


# ---------------------------------------------------------------- rng
def write_rng():
    with open(path("rng.txt"), "w") as f:
        f.write("# torch %s CPU generator. Lines:\n" % torch.__version__)
        f.write("# randperm SEED N v0 v1 ...   torch.manual_seed(SEED); torch.randperm(N)\n")
        f.write("# rand32 SEED K v...          torch.manual_seed(SEED); torch.rand(K) (float32, %.9g)\n")
        f.write("# rand64 SEED K v...          torch.manual_seed(SEED); torch.rand(K, dtype=float64) (%.17g)\n")
        f.write("# randint SEED K v...         torch.manual_seed(SEED); torch.randint(0, 2**31, (K,))\n")
        f.write("# split SEED N valid... | train...   fastai RandomSplitter(valid_pct=0.2, seed=SEED) on N items\n")
        for seed in (0, 1, 42, 2024, 123456789):
            for n in (1, 2, 5, 10, 37, 100, 1000):
                torch.manual_seed(seed)
                p = torch.randperm(n).tolist()
                f.write("randperm %d %d %s\n" % (seed, n, " ".join(map(str, p))))
        for seed in (0, 42):
            torch.manual_seed(seed)
            f.write("rand32 %d 8 %s\n" % (seed, " ".join("%.9g" % v for v in torch.rand(8).tolist())))
            torch.manual_seed(seed)
            f.write("rand64 %d 8 %s\n" % (seed, " ".join("%.17g" % v for v in
                                                       torch.rand(8, dtype=torch.float64).tolist())))
            torch.manual_seed(seed)
            f.write("randint %d 8 %s\n" % (seed, " ".join(map(str, torch.randint(0, 2**31, (8,)).tolist()))))
        for n in (10, 51, 200):
            # fastai.data.transforms.RandomSplitter._inner
            torch.manual_seed(42)
            rand_idx = list(torch.randperm(n).numpy())
            cut = int(0.2 * n)
            f.write("split 42 %d %s | %s\n" % (n, " ".join(map(str, rand_idx[:cut])),
                                                 " ".join(map(str, rand_idx[cut:]))))


# ---------------------------------------------------------------- fastai schedule formulas (fastai 2.7)
def cos_anneal(start, end, pos):  # fastai.callback.schedule._cos_anneal
    return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2


def combined_cos(pct, start, middle, end):  # combine_scheds([pct,1-pct],[SchedCos(s,m),SchedCos(m,e)])
    pcts = torch.cumsum(torch.tensor([0] + [pct, 1 - pct]), 0)  # float32, as fastai
    pct_lim = len(pcts) - 2
    scheds = [(start, middle), (middle, end)]

    def inner(pos):
        idx = min((pos >= pcts).nonzero().max(), pct_lim)
        actual_pos = (pos - pcts[idx]) / (pcts[idx + 1] - pcts[idx])
        s, e = scheds[idx]
        return cos_anneal(s, e, actual_pos.item())
    return inner


def even_mults(start, stop, n):  # fastai.torch_core.even_mults
    if n == 1:
        return stop
    mult = stop / start
    step = mult ** (1 / (n - 1))
    return np.array([start * (step ** i) for i in range(n)])


def unslice(lr, n_groups):  # fastai.optimizer._BaseOptimizer.set_hyper for a slice
    lo, hi = lr
    if lo:
        return even_mults(lo, hi, n_groups)
    return np.array([hi / 10] * (n_groups - 1) + [hi])


def one_cycle_values(n_epoch, n_iter, lr_max, div=25., div_final=1e5, pct_start=0.25, moms=(0.95, 0.85, 0.95)):
    """ParamScheduler.before_batch: set hypers from pct_train; pct_train starts at 0. and grows by
    1./(n_iter*n_epoch) after every batch (TrainEvalCallback.after_batch)."""
    mom_f = combined_cos(pct_start, *moms)
    out = []
    pct_train = 0.
    for _ in range(n_epoch * n_iter):
        lrs = [combined_cos(pct_start, l / div, l, l / div_final)(pct_train) for l in lr_max]
        out.append((lrs, mom_f(pct_train)))
        pct_train += 1. / (n_iter * n_epoch)
    return out


def write_schedule():
    with open(path("schedule.txt"), "w") as f:
        f.write("# fastai 2.7 formulas on torch %s. Lines: KIND STAGE EPOCH BATCH lr0 lr1 lr2 mom\n" % torch.__version__)
        # fit_one_cycle(2, lr_max=1e-3) on 3 groups (lr_max as a plain number sets every group), 10 batches/epoch
        for k, (lrs, mom) in enumerate(one_cycle_values(2, 10, np.array([1e-3] * 3))):
            f.write("onecycle 0 %d %d %s %.17g\n" % (k // 10, k % 10, " ".join("%.17g" % v for v in lrs), mom))
        # fine_tune(3, base_lr=2e-3, freeze_epochs=1), 7 batches per epoch
        base_lr = 2e-3
        n_iter = 7
        vals = one_cycle_values(1, n_iter, unslice((None, base_lr), 3), pct_start=0.99)
        for k, (lrs, mom) in enumerate(vals):
            f.write("finetune 0 %d %d %s %.17g\n" % (k // n_iter, k % n_iter, " ".join("%.17g" % v for v in lrs), mom))
        base_lr /= 2
        vals = one_cycle_values(3, n_iter, unslice((base_lr / 100, base_lr), 3), pct_start=0.3, div=5.0)
        for k, (lrs, mom) in enumerate(vals):
            f.write("finetune 1 %d %d %s %.17g\n" % (k // n_iter, k % n_iter, " ".join("%.17g" % v for v in lrs), mom))
        # torch OneCycleLR with fastai's defaults mapped: div_factor=div, final_div_factor=div_final/div,
        # base/max momentum 0.85/0.95; total_steps = 20, pct_start 0.25.
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.AdamW([p], lr=1e-3, betas=(0.95, 0.99))
        sch = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=20, pct_start=0.25,
                                                  anneal_strategy="cos", div_factor=25., final_div_factor=1e5 / 25.,
                                                  base_momentum=0.85, max_momentum=0.95)
        for k in range(20):
            g = opt.param_groups[0]
            f.write("torchonecycle 0 0 %d %.17g %.17g %.17g %.17g\n" % (k, g["lr"], g["lr"], g["lr"], g["betas"][0]))
            opt.step()
            sch.step()


# ---------------------------------------------------------------- optimiser
# A small model as an nn_param list: (name, shape, group, no_wd, is_bn)
OPT_PARAMS = [
    ("0.0.weight", (4, 3, 3, 3), 0, 0, 0),
    ("0.1.weight", (4,), 0, 1, 1),
    ("0.1.bias", (4,), 0, 1, 1),
    ("1.lin.weight", (6, 8), 1, 0, 0),
    ("1.lin.bias", (6,), 1, 1, 0),
    ("2.weight", (3, 6), 2, 0, 0),
    ("2.bias", (3,), 2, 1, 0),
]
OPT_STEPS = 5


def fastai_adam_step(ps, grads, state, lr, mom, sqr_mom=0.99, eps=1e-5, wd=0.01):
    """fastai.optimizer.Adam callbacks: weight_decay, average_grad(dampening=True), average_sqr_grad,
    step_stat, adam_step — on plain tensors."""
    for i, (p, g, (name, shape, grp, no_wd, is_bn)) in enumerate(zip(ps, grads, OPT_PARAMS)):
        if g is None:
            continue
        if not no_wd:
            p.mul_(1 - lr[grp] * wd)
        st = state.setdefault(i, {"grad_avg": torch.zeros_like(p), "sqr_avg": torch.zeros_like(p), "step": 0})
        st["grad_avg"].mul_(mom).add_(g, alpha=1 - mom)
        st["sqr_avg"].mul_(sqr_mom).addcmul_(g, g, value=1 - sqr_mom)
        st["step"] += 1
        debias1 = 1 - mom ** st["step"]
        debias2 = 1 - sqr_mom ** st["step"]
        p.addcdiv_(st["grad_avg"], (st["sqr_avg"] / debias2).sqrt() + eps, value=-lr[grp] / debias1)


def write_optim():
    g = torch.Generator().manual_seed(7)
    init = [torch.randn(s[1], generator=g) for s in OPT_PARAMS]
    grads = [[torch.randn(s[1], generator=g) for s in OPT_PARAMS] for _ in range(OPT_STEPS)]
    frozen = [s[2] == 0 and not s[4] for s in OPT_PARAMS]  # group 0 frozen, its BN params train (train_bn)
    # hyper-parameters per step: discriminative lrs even_mults(1e-4, 1e-2, 3) scaled, beta1 moving like one-cycle
    lo, hi = 1e-4, 1e-2
    base = even_mults(lo, hi, 3)
    hypers = [(base * (1 + 0.5 * k), 0.95 - 0.02 * k) for k in range(OPT_STEPS)]

    flat = lambda ts: torch.cat([t.reshape(-1) for t in ts]).numpy().astype(np.float32)
    np.save(path("optim_init.npy"), flat(init))
    np.save(path("optim_grads.npy"), np.stack([flat(gs) for gs in grads]))
    np.save(path("optim_hypers.npy"), np.array([[*lr, mom] for lr, mom in hypers], dtype=np.float32))

    def run_torch(kind, n_steps):
        ps = [torch.nn.Parameter(t.clone()) for t in init]
        groups = []
        for grp in range(3):
            for wdflag in (0, 1):
                sel = [p for p, s, fz in zip(ps, OPT_PARAMS, frozen) if s[2] == grp and s[3] == wdflag and not fz]
                if sel:
                    groups.append({"params": sel, "grp": grp, "weight_decay": 0.0 if wdflag else 0.01})
        if kind == "adamw":
            opt = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99), eps=1e-5, foreach=False)
        else:
            for gr in groups:
                gr["weight_decay"] = 0.0
            opt = torch.optim.SGD(groups, lr=1e-3, momentum=0.9, dampening=0, foreach=False)
        for k in range(n_steps):
            lr, mom = hypers[k]
            for gr in opt.param_groups:
                gr["lr"] = float(lr[gr["grp"]])
                if kind == "adamw":
                    gr["betas"] = (mom, 0.99)
            for p, gg, fz in zip(ps, grads[k], frozen):
                p.grad = None if fz else gg.clone()
            opt.step()
        return [p.detach() for p in ps]

    def run_fastai(n_steps):
        ps = [t.clone() for t in init]
        state = {}
        for k in range(n_steps):
            lr, mom = hypers[k]
            fastai_adam_step(ps, [None if fz else gg for gg, fz in zip(grads[k], frozen)], state,
                             [float(v) for v in lr], mom)
        return ps

    for n in (1, OPT_STEPS):
        a = flat(run_torch("adamw", n))
        b = flat(run_fastai(n))
        rel = np.abs(a - b).max() / np.abs(a).max()
        assert rel < 1e-6, ("fastai Adam != torch AdamW", rel)
        np.save(path("optim_adamw_after%d.npy" % n), a)
    np.save(path("optim_sgd_after%d.npy" % OPT_STEPS), flat(run_torch("sgd", OPT_STEPS)))


# ---------------------------------------------------------------- torch.save fixtures
def expanded(shape, g, dtype=torch.float32):
    """A tensor of `shape` whose storage holds only shape[-1] values (stride 0 on other dims)."""
    base = torch.randn(shape[-1], generator=g).to(dtype)
    return base.expand(*shape) if len(shape) > 1 else base.clone()


def fastai_resnet(arch, n_out):
    m = getattr(torchvision.models, arch)()
    body = torch.nn.Sequential(*list(m.children())[:-2])
    head = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),  # (stand-ins, no params)
                               torch.nn.BatchNorm1d(1024), torch.nn.Dropout(0.25),
                               torch.nn.Linear(1024, 512, bias=False), torch.nn.ReLU(inplace=True),
                               torch.nn.BatchNorm1d(512), torch.nn.Dropout(0.5),
                               torch.nn.Linear(512, n_out, bias=False))
    return torch.nn.Sequential(body, head)


def write_expect(name, sd, g, picks=4):
    """Lines: KEY NDIM SHAPE... then `at FLATINDEX VALUE` picks, from torch's contiguous copy."""
    with open(path(name), "w") as f:
        for k, t in sd.items():
            c = t.contiguous().reshape(-1).to(torch.float64)
            idx = ([0, c.numel() - 1] + torch.randint(0, c.numel(), (picks,), generator=g).tolist()
                   if c.numel() else [])
            f.write("%s %d %s %s\n" % (k, t.dim(), " ".join(map(str, t.shape)),
                                       " ".join("%d:%.9g" % (i, c[i].item()) for i in idx)))


def write_pth():
    g = torch.Generator().manual_seed(11)
    # torchvision resnet18 layout, expanded views
    ref = torchvision.models.resnet18().state_dict()
    sd = OrderedDict((k, expanded(tuple(v.shape), g) if v.dtype == torch.float32 else torch.tensor(0))
                     for k, v in ref.items())
    sd._metadata = ref._metadata  # as a real state_dict(): pickled with BUILD after the items
    torch.save(sd, path("tv_resnet18_tiny.pth"))
    write_expect("tv_resnet18_tiny.expect", sd, g)
    # fastai learn.model.state_dict() layout, 2 classes
    sd = OrderedDict((k, expanded(tuple(v.shape), g) if v.dtype == torch.float32 else torch.tensor(17))
                     for k, v in fastai_resnet("resnet18", 2).state_dict().items())
    torch.save(sd, path("fastai_resnet18_tiny.pth"))
    write_expect("fastai_resnet18_tiny.expect", sd, g)
    # pickle/storage corner cases
    base = torch.randn(10, generator=g)
    misc = OrderedDict()
    misc["a.weight"] = torch.randn(3, 4, generator=g)
    misc["a.t"] = torch.randn(4, 3, generator=g).t()           # strides (1, 3)
    misc["shared1"] = base[2:6]                                 # storage offset 2
    misc["shared2"] = base[5:].view(5)                          # same storage, offset 5
    misc["step"] = base[::3]                                    # stride 3
    misc["bn.num_batches_tracked"] = torch.tensor(123, dtype=torch.int64)
    misc["half"] = torch.randn(5, generator=g).half()
    misc["bf16"] = torch.randn(2, 3, generator=g).bfloat16()
    misc["scalar"] = torch.tensor(3.5)
    misc["empty"] = torch.zeros(0, 4)
    misc["param"] = torch.nn.Parameter(torch.randn(2, generator=g))
    torch.save(misc, path("misc.pth"))
    write_expect("misc.expect", OrderedDict((k, v.detach()) for k, v in misc.items()), g, picks=2)
    # the same dict in the legacy (pre-1.6, non-zip) format: refused
    torch.save(OrderedDict(a=torch.ones(2)), path("legacy.pth"), _use_new_zipfile_serialization=False)
    # a fastai Learner.save-like {'model': state_dict} wrapper
    torch.save({"model": OrderedDict(w=torch.arange(4.))}, path("wrapped.pth"))

    # hostile pickles inside an otherwise torch-like zip
    def evil(name, pkl):
        with zipfile.ZipFile(path(name), "w", zipfile.ZIP_STORED) as z:
            z.writestr("archive/data.pkl", pkl)
            z.writestr("archive/version", "3\n")
    evil("evil_os_system.pth", b"\x80\x02cos\nsystem\nX\x06\x00\x00\x00echo 1\x85R.")
    evil("evil_posix_system.pth", b"\x80\x02cposix\nsystem\nX\x06\x00\x00\x00echo 1\x85R.")
    evil("evil_eval.pth", b"\x80\x02cbuiltins\neval\nX\x03\x00\x00\x001+1\x85R.")
    evil("evil_stack_global.pth", b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x06echo 1\x85R.")
    # a persistent id that is not ('storage', ...)
    evil("evil_persid.pth", b"\x80\x02}X\x01\x00\x00\x00a(X\x04\x00\x00\x00fileX\x01\x00\x00\x000tQs.")
    # a tensor claiming 2**40 elements on a 4-element storage
    buf = io.BytesIO()
    torch.save(OrderedDict(a=torch.ones(4)), buf)
    zin = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    pkl = None
    for n in zin.namelist():
        if n.endswith("data.pkl"):
            pkl = zin.read(n)
    assert b"K\x04\x85" in pkl, "size tuple of ones(4) not where expected"
    huge = pkl.replace(b"K\x04\x85", b"\x8a\x06\x00\x00\x00\x00\x00\x01\x85", 1)  # LONG1 2**40
    with zipfile.ZipFile(path("evil_huge.pth"), "w", zipfile.ZIP_STORED) as z:
        for n in zin.namelist():
            z.writestr(n, huge if n.endswith("data.pkl") else zin.read(n))


if __name__ == "__main__":
    write_rng()
    write_schedule()
    write_optim()
    write_pth()
    total = sum(os.path.getsize(path(f)) for f in os.listdir(OUT))
    print("wrote %s (%d files, %d bytes)" % (OUT, len(os.listdir(OUT)), total))
