"""tools/torch_genreid.py — a genreid model file in PyTorch, for fixtures and benchmarks.

Reads a genreid model (safetensors + metadata) with numpy alone, builds the same network with plain
torch.nn (torchvision's BasicBlock; widths 64..512 for resnet18/34, 16..128 for 'small') plus
fastai's head, loads the weights, and preprocesses images as fastai does (PIL RGB → resize
(size, size) BILINEAR → /255 → ImageNet normalisation). Used by tools/make-predict-fixtures.py and
bench/predict_python.py with Debian's /usr/bin/python3.
"""
import json
import struct

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from torchvision.models.resnet import BasicBlock

DTYPES = {"F32": np.float32, "I64": np.int64, "F16": np.float16}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hlen])
    meta = header.pop("__metadata__", {})
    base = 8 + hlen
    tensors = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        arr = np.frombuffer(raw[base + b:base + e], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


class ConcatPool(nn.Module):
    def forward(self, x):  # fastai AdaptiveConcatPool2d: max first, then average
        return torch.cat([nn.functional.adaptive_max_pool2d(x, 1), nn.functional.adaptive_avg_pool2d(x, 1)], 1)


class GenreNet(nn.Module):
    def __init__(self, arch, n_classes):
        super().__init__()
        depth = {"resnet18": [2, 2, 2, 2], "resnet34": [3, 4, 6, 3], "small": [2, 2, 2, 2]}[arch]
        width = [16, 32, 64, 128] if arch == "small" else [64, 128, 256, 512]
        self.conv1 = nn.Conv2d(3, width[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inp = width[0]
        for s in range(4):
            blocks = []
            for b in range(depth[s]):
                stride = 2 if (b == 0 and s > 0) else 1
                down = None
                if stride != 1 or inp != width[s]:
                    down = nn.Sequential(nn.Conv2d(inp, width[s], 1, stride, bias=False), nn.BatchNorm2d(width[s]))
                blocks.append(BasicBlock(inp, width[s], stride, down))
                inp = width[s]
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        f = 2 * width[3]
        self.head = nn.Sequential(ConcatPool(), nn.Flatten(), nn.BatchNorm1d(f), nn.Dropout(0.25),
                                  nn.Linear(f, 512, bias=False), nn.ReLU(inplace=True), nn.BatchNorm1d(512),
                                  nn.Dropout(0.5), nn.Linear(512, n_classes, bias=False))

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.head(x)


def load_model(path):
    tensors, meta = read_safetensors(path)
    classes = json.loads(meta["classes"])
    pre = json.loads(meta["preprocess"])
    net = GenreNet(meta["arch"], len(classes))
    state = {k: (v.to(torch.int64) if k.endswith("num_batches_tracked") else v) for k, v in tensors.items()}
    net.load_state_dict(state, strict=True)
    net.eval()
    return net, classes, pre


MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def preprocess(img, pre):
    img = img.convert("RGB").resize((pre["width"], pre["height"]), Image.BILINEAR)
    x = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255.0
    return (x - MEAN) / STD
