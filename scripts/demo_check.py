#!/usr/bin/env python3
"""demo_check.py - a quick, model-free sanity check of the demo data.

Stand-ins for the three methods (standard library only, no embeddings):
  behaviour: item-item co-occurrence cosine within sessions (window 5),
             the signal Item2Vec learns;
  text:      TF-IDF cosine of title + description (en word tokens);
  hybrid:    the behaviour top 7, then the 3 best text matches among items
             with no training events (a cold-start quota).
Split: each user's last event by time is held out (training uses the rest);
the query is the event just before it in the same session.  Held-out cases
are labelled by what the generator made them: "sub" (same category as the
query), "comp" (another category), "new" (an item with no training events).
Prints HR@10 per case.  Usage: scripts/demo_check.py [data/demo]
"""
import collections
import csv
import functools
import math
import re
import sys

K = 10


def main(d):
    text, cat = {}, {}
    with open(d + "/catalog.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            text[r["id"]] = (r["title"] + " " + r["description"]).lower()
            cat[r["id"]] = r["category"]
    with open(d + "/sessions.csv", newline="", encoding="utf-8") as f:
        ev = list(csv.DictReader(f))
    sess = collections.defaultdict(list)
    last = {}
    for i, r in enumerate(ev):
        sess[r["session_id"]].append(i)
        u = r["user_id"]
        if u not in last or int(r["timestamp"]) >= int(ev[last[u]]["timestamp"]):
            last[u] = i
    held = set(last.values())

    co = collections.defaultdict(collections.Counter)
    freq = collections.Counter()
    for idx in sess.values():
        tr = [ev[i]["item_id"] for i in idx if i not in held]
        freq.update(tr)
        for x in range(len(tr)):
            for y in range(max(0, x - 5), min(len(tr), x + 6)):
                if x != y:
                    co[tr[x]][tr[y]] += 1

    tok = {k: re.findall(r"[a-z0-9]+", v) for k, v in text.items()}
    df = collections.Counter(w for t in tok.values() for w in set(t))
    n = len(text)
    vec, inv = {}, collections.defaultdict(list)
    for k, t in tok.items():
        v = {w: c * math.log(n / df[w]) for w, c in collections.Counter(t).items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vec[k] = {w: x / norm for w, x in v.items()}
        for w, x in vec[k].items():
            inv[w].append((k, x))

    @functools.lru_cache(None)
    def text_scores(q):
        sc = collections.Counter()
        for w, x in vec[q].items():
            for k, y in inv[w]:
                sc[k] += x * y
        sc.pop(q, None)
        return sc

    @functools.lru_cache(None)
    def behaviour_scores(q):
        return collections.Counter(
            {k: c / math.sqrt(freq[q] * freq[k]) for k, c in co[q].items()})

    def top(sc, k=K):
        return [x for x, _ in sorted(sc.items(), key=lambda t: (-t[1], t[0]))[:k]]

    def hybrid(q, quota=3):
        out = top(behaviour_scores(q), K - quota)
        cold = collections.Counter({k: v for k, v in text_scores(q).items() if freq[k] == 0})
        return out + [x for x in top(cold, quota) if x not in out]

    cases = []
    for i in last.values():
        idx = sess[ev[i]["session_id"]]
        p = idx.index(i)
        if p == 0:
            continue
        q, tgt = ev[idx[p - 1]]["item_id"], ev[i]["item_id"]
        kind = "new" if freq[tgt] == 0 else ("sub" if cat[q] == cat[tgt] else "comp")
        cases.append((q, tgt, kind))

    methods = [("behaviour", lambda q: top(behaviour_scores(q))),
               ("text", lambda q: top(text_scores(q))),
               ("hybrid", hybrid)]
    kinds = ["sub", "comp", "new", "all"]
    count = collections.Counter(k for _, _, k in cases)
    count["all"] = len(cases)
    print("HR@%d  %s" % (K, "  ".join("%s (n=%d)" % (k, count[k]) for k in kinds)))
    for name, f in methods:
        hit = collections.Counter()
        for q, tgt, kind in cases:
            h = tgt in f(q)
            hit[kind] += h
            hit["all"] += h
        print("%-10s" % name + "".join("  %-12.3f" % (hit[k] / max(count[k], 1)) for k in kinds))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/demo")
