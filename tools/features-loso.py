#!/usr/bin/python3
"""Leave-one-source-out CV of the audio classifier's recipe in numpy, on a matrix written by
build/tools/dump-features (OUT.npy [clips][1 + copies][9][101], OUT.tsv): the harness for trying
a change to the recipe in minutes before writing it in C (models/MODEL_CARD.md's experiment tables).

It is the recipe of `genreid train --cv source --classifier features --balance --l2 30 --augment eq`
(src/data/featfit.c, src/nn/logreg.c): every window of a training clip and of its first eq copy is
one row; rows weighted so every class, and within a class every source, weighs the same; features
standardised on the training rows; a two-class softmax regression with l2/2 * |W|^2 on both rows'
weights (which is a logistic regression with l2/4 * |w|^2); a clip's probability is its windows'
mean. On the 511 clips of scripts/default-data it reproduces the C run's count and log loss.

  tools/features-loso.py OUT [--l2 30] [--copies 1]

Import it to try something: load(), balance_weights(), fit(), predict(), loso(), report()."""
import argparse

import numpy as np
from scipy.optimize import minimize


def load(prefix):
    """x [clips][1 + copies][windows][features] float64, y, source, file (numpy arrays)."""
    rows = [line.rstrip("\n").split("\t") for line in open(prefix + ".tsv")]
    x = np.load(prefix + ".npy").astype(np.float64)
    if x.ndim != 4 or x.shape[0] != len(rows):
        raise SystemExit(f"features-loso: {prefix}.npy and {prefix}.tsv do not match")
    y = np.array([int(r[0]) for r in rows])
    return x, y, np.array([r[2] for r in rows]), np.array([r[3] for r in rows])


def balance_weights(y, source):
    """Per clip: every class sums to the same, and within a class every source (train.c)."""
    w = np.zeros(len(y))
    for c in np.unique(y):
        in_c = y == c
        sources = np.unique(source[in_c])
        for s in sources:
            k = in_c & (source == s)
            w[k] = 1.0 / (len(sources) * k.sum())
    return w / w.sum()


def fit(rows, y, w, l2):
    """(mean, sd, weights + bias) of the balanced logistic regression on rows."""
    mean, sd = rows.mean(0), rows.std(0) + 1e-9
    z = (rows - mean) / sd
    k = z.shape[1]
    sw = w * len(w) / w.sum()
    t = y.astype(np.float64)

    def objective(p):
        s = z @ p[:k] + p[k]
        loss = np.sum(sw * (np.logaddexp(0, s) - t * s)) + l2 / 4 * p[:k] @ p[:k]
        g = sw * (1 / (1 + np.exp(-s)) - t)
        return loss, np.concatenate([z.T @ g + l2 / 2 * p[:k], [g.sum()]])

    r = minimize(objective, np.zeros(k + 1), jac=True, method="L-BFGS-B", options={"maxiter": 2000, "gtol": 1e-8})
    return mean, sd, r.x


def predict(model, windows):
    """Probability of class 1 per clip: the mean over its windows (axis -2)."""
    mean, sd, p = model
    s = ((windows - mean) / sd) @ p[:-1] + p[-1]
    return (1 / (1 + np.exp(-s))).mean(-1)


def loso(x, y, source, copies=1, l2=30.0, fit_fn=fit):
    """Out-of-fold probability of class 1 for every clip, each source predicted by the others."""
    prob = np.zeros(len(y))
    nw, nf = x.shape[2], x.shape[3]
    for s in np.unique(source):
        train = source != s
        w = balance_weights(y[train], source[train])
        per_clip = (copies + 1) * nw
        rows = x[train][:, : copies + 1].reshape(-1, nf)
        model = fit_fn(rows, np.repeat(y[train], per_clip), np.repeat(w, per_clip), l2)
        prob[~train] = predict(model, x[~train][:, 0])
    return prob


def report(prob, y, source, name="", table=False):
    right = (prob > 0.5) == (y == 1)
    ll = -np.mean(np.log(np.clip(np.where(y == 1, prob, 1 - prob), 1e-12, 1)))
    per = sorted((right[source == s].mean(), s, right[source == s].sum(), (source == s).sum()) for s in np.unique(source))
    balanced = np.mean([right[y == c].mean() for c in np.unique(y)])
    if table:
        for acc, s, k, n in per:
            print(f"  {s:28s} {k:3d}/{n:<3d} {acc:.3f}")
    worst = ", ".join(f"{s} {k}/{n}" for _, s, k, n in per[:5])
    print(f"{name}accuracy {right.mean():.4f} ({right.sum()}/{len(y)})  balanced {balanced:.3f}  log loss {ll:.3f}  worst: {worst}")
    return right


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("prefix", help="OUT as given to dump-features")
    ap.add_argument("--l2", type=float, default=30.0)
    ap.add_argument("--copies", type=int, default=1, help="eq copies per training clip (at most what was dumped)")
    a = ap.parse_args()
    x, y, source, _ = load(a.prefix)
    if not 0 <= a.copies < x.shape[1]:
        raise SystemExit(f"features-loso: the matrix holds {x.shape[1] - 1} eq copies")
    report(loso(x, y, source, a.copies, a.l2), y, source, table=True)


if __name__ == "__main__":
    main()
