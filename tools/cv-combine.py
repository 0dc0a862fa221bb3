#!/usr/bin/python3
"""Scores an ensemble from out-of-fold probability files written by `genreid train --cv source
--cv-out FILE` (the same items in each): the mean of the members' probabilities, per item.
Prints what `--cv` prints for one model: per-source accuracy (worst first), overall and balanced
accuracy, log loss, and ECE (15 bins).  Usage: tools/cv-combine.py A.tsv [B.tsv ...]"""
import math
import sys


def read(path):
    with open(path) as f:
        head = f.readline().rstrip("\n").split("\t")
        rows = {}
        for line in f:
            v = line.rstrip("\n").split("\t")
            rows[v[0]] = (v[1], v[2], [float(x) for x in v[3:]])
    return head[3:], rows


def main(paths):
    classes, first = read(paths[0])
    members = [first] + [read(p)[1] for p in paths[1:]]
    items = sorted(first)
    for m in members[1:]:
        if sorted(m) != items:
            sys.exit("cv-combine: the files do not hold the same items")
    per_src, ll, right, conf_hits = {}, 0.0, 0, []
    recall = {c: [0, 0] for c in classes}
    for it in items:
        src, label = first[it][0], first[it][1]
        p = [sum(m[it][2][k] for m in members) / len(members) for k in range(len(classes))]
        best = max(range(len(p)), key=lambda k: p[k])
        ok = classes[best] == label
        right += ok
        s = per_src.setdefault(src, [0, 0])
        s[0] += ok
        s[1] += 1
        recall[label][0] += ok
        recall[label][1] += 1
        ll -= math.log(max(p[classes.index(label)], 1e-30))
        conf_hits.append((p[best], ok))
    n = len(items)
    print("ensemble of %d: %s" % (len(paths), " + ".join(paths)))
    for src, (r, t) in sorted(per_src.items(), key=lambda kv: (kv[1][0] / kv[1][1], kv[0])):
        print("  %-28s %4d/%-4d %.3f" % (src, r, t, r / t))
    bal = sum(r / t for r, t in recall.values()) / len(recall)
    bins = [[0, 0.0, 0] for _ in range(15)]
    for c, ok in conf_hits:
        b = min(int(c * 15), 14)
        bins[b][0] += 1
        bins[b][1] += c
        bins[b][2] += ok
    ece = sum(abs(h - s) for k, s, h in bins if k) / n
    worst = sorted(per_src.items(), key=lambda kv: kv[1][0] / kv[1][1])[:3]
    print("overall accuracy %.4f (%d/%d), balanced accuracy %.4f, log loss %.4f, ECE %.4f" % (right / n, right, n, bal, ll / n, ece))
    print("worst sources: " + ", ".join("%s %.3f" % (s, r / t) for s, (r, t) in worst))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
