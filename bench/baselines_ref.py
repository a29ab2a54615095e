#!/usr/bin/python3
"""baselines_ref.py DB [neighbours=100] [lambda=200] [history=5]

An independent numpy re-implementation of embedlab's baselines and of
`eval`'s split, for parity with bench_baselines on the same database:
popularity, item-kNN (dense cosine, top-N per item), transition backed off to
item-kNN, and EASE in its primal form B = I - P/diag(P) when items <= rows,
else the same scores from the user-side inverse (float64 throughout, where
embedlab uses float32).  Prints R@10, R@50, NDCG@10 and MRR@10 per model.

Split (as eval.c): events grouped by user (by session when the database has
no users), ordered by (timestamp, corpus position), the corpus being sessions
by id, then time, then insertion; each group's last event is held out, the
rest trains.  Needs python3-numpy (scripts/deps.sh bench).
"""
import collections
import math
import sqlite3
import sys

import numpy as np


def load(db):
    con = sqlite3.connect(db)
    ev = con.execute("SELECT session, user, item, coalesce(ts, -9223372036854775808), id "
                     "FROM events ORDER BY session, ts, id").fetchall()
    has_users = any(u is not None for _, u, _, _, _ in ev)
    return ev, has_users


def split(ev, has_users):
    groups = collections.defaultdict(list)
    for pos, (s, u, it, ts, _) in enumerate(ev):
        key = ("u", u) if has_users and u is not None else ("s", s)
        if has_users and u is None:
            key = None   # events without a user only train
        groups[key].append((ts, pos, it))
    held = set()
    cases = []
    for key in sorted(groups, key=lambda k: (k is None, str(k))):
        g = sorted(groups[key])
        if key is None or len(g) < 2:
            continue
        held.add(g[-1][1])
        cases.append(([it for _, _, it in g[:-1]], g[-1][2]))
    train = [(s, u, it) for pos, (s, u, it, _, _) in enumerate(ev) if pos not in held]
    return train, cases


def metrics(rank, cases):
    r10 = r50 = nd = mrr = 0.0
    for hist, target in cases:
        lst = rank(hist)
        if target in lst[:50]:
            r50 += 1
        if target in lst[:10]:
            i = lst.index(target)
            r10 += 1
            nd += 1 / math.log2(i + 2)
            mrr += 1 / (i + 1)
    n = len(cases)
    return r10 / n, r50 / n, nd / n, mrr / n


def top(scores, hist_idx, positive, ids, k=50):
    s = scores.astype(np.float64).copy()
    s[list(hist_idx)] = -np.inf
    order = np.lexsort((ids, -s))   # score desc, id asc
    out = []
    for j in order:
        if s[j] == -np.inf or (positive and not s[j] > 0):
            break
        out.append(int(ids[j]))
        if len(out) == k:
            break
    return out


def main():
    args = dict(a.split("=", 1) for a in sys.argv[2:])
    nb, lam, hist_n = int(args.get("neighbours", 100)), float(args.get("lambda", 200)), \
        int(args.get("history", 5))
    ev, has_users = load(sys.argv[1])
    train, cases = split(ev, has_users)
    ids = np.array(sorted({it for _, _, it in train}))
    ix = {int(x): i for i, x in enumerate(ids)}
    rows = collections.OrderedDict()
    for s, u, it in train:
        rows.setdefault(("u", u) if has_users and u is not None else ("s", s), set()).add(ix[it])
    X = np.zeros((len(rows), len(ids)), np.float32)
    for r, its in enumerate(rows.values()):
        X[r, list(its)] = 1
    n = len(ids)
    print(f"# {sys.argv[1]}: {len(train)} training events, {X.shape[0]} rows x {n} items, "
          f"{len(cases)} cases; neighbours={nb} lambda={lam:g} history={hist_n}")

    def known(hist):
        return [ix[h] for h in hist if h in ix]

    pop = np.zeros(n)   # eval's popularity: training events, repeats included
    for _, _, it in train:
        pop[ix[it]] += 1
    res = {"Popularity": metrics(lambda h: top(pop, known(h), True, ids), cases)}

    G = X.T @ X
    d = np.sqrt(np.diag(G)).astype(np.float64)
    S = (G / d[:, None] / d[None, :]).astype(np.float32)
    np.fill_diagonal(S, 0)
    keep = np.zeros_like(S)
    kk = min(nb, n - 1)
    for i in range(n):   # the best kk per row, ties to the lower index
        row = S[i].astype(np.float64)
        order = np.lexsort((np.arange(n), -row))[:kk]
        order = order[row[order] > 0]
        keep[i, order] = S[i, order]
    del S

    def knn_scores(hist):
        last = list(dict.fromkeys(reversed(known(hist))))[:hist_n]
        return keep[last].astype(np.float64).sum(0)

    res["item-kNN"] = metrics(lambda h: top(knn_scores(h), known(h), True, ids), cases)

    T = collections.defaultdict(collections.Counter)
    sess = collections.OrderedDict()
    for s, _, it in train:
        sess.setdefault(s, []).append(ix[it])
    for seq in sess.values():
        for a, b in zip(seq, seq[1:]):
            if a != b:
                T[a][b] += 1

    def trans(hist):
        k = known(hist)
        sc = knn_scores(hist)
        sc[k] = 0
        mx = sc.max()
        if mx > 0:
            sc = sc / mx * 0.999
        if k:
            for b, c in T[k[-1]].items():
                sc[b] += c
        return top(sc, k, True, ids)

    res["Transition"] = metrics(trans, cases)

    Xd = X.astype(np.float64)
    if n <= X.shape[0]:
        P = np.linalg.inv(Xd.T @ Xd + lam * np.eye(n))
        B = np.eye(n) - P / np.diag(P)

        def ease(hist):
            x = np.zeros(n)
            x[list(set(known(hist)))] = 1
            return x @ B
    else:   # Woodbury: the same B from the user-side inverse
        K = np.linalg.inv(Xd @ Xd.T + lam * np.eye(X.shape[0]))
        den = 1 - np.einsum("ui,ui->i", Xd, K @ Xd)

        def ease(hist):
            x = np.zeros(n)
            x[list(set(known(hist)))] = 1
            return (Xd.T @ (K @ (Xd @ x))) / den

    res["EASE"] = metrics(lambda h: top(ease(h), known(h), False, ids), cases)
    print(f"{'model':12s} {'R@10':>7s} {'R@50':>7s} {'NDCG@10':>8s} {'MRR@10':>7s}")
    for name, (r10, r50, nd, mrr) in res.items():
        print(f"{name:12s} {r10:7.4f} {r50:7.4f} {nd:8.4f} {mrr:7.4f}")


if __name__ == "__main__":
    main()
