#!/usr/bin/python3
"""compare_gensim.py - our SGNS (bench_sgns) against gensim Word2Vec, side by side.

For each dataset (synth; movielens when ratings.csv is present) it
  1. runs bench_sgns, which generates/loads the corpus, holds out each session's
     last item, trains, and writes the training corpus, the evaluation pairs,
     our vectors (word2vec text + binary) and our top-10 lists to --out;
  2. trains gensim Word2Vec in a separate Python process on the same corpus file
     with identical hyperparameters (sg=1, hs=0, negative=5, window=5,
     vector_size=64, sample=1e-3, alpha=0.025, min_alpha=0.0001, epochs=5,
     ns_exponent=0.75, min_count=1, workers=2, seed=1), timing model.train()
     only (vocabulary building is not counted for gensim; for us the whole
     i2v_train call is);
  3. computes next-item hit-rate@10 for both with the same numpy code, reads our
     exported files with KeyedVectors.load_word2vec_format, and checks that
     gensim's most_similar on our vectors returns our own top-10 lists.
Peak memory is each process's VmHWM (bench_sgns: whole process; gensim:
the worker process after training).  Exits 1 if gensim is missing.

usage: /usr/bin/python3 bench/compare_gensim.py [--bench build/release/bench/bench_sgns]
          [--out DIR] [--ratings PATH] [--threads 2] [--epochs 5] [--seed 1]
          [--dataset synth|movielens|all] [--corpus-file]
--corpus-file also times gensim's corpus_file mode (workers read the file
without the GIL), its fastest way to train.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time


def read_corpus(path):
    with open(path) as f:
        return [line.split() for line in f]


def read_pairs(path):
    with open(path) as f:
        return [tuple(line.split()) for line in f if line.strip()]


def hit_rate(kv, pairs, k=10):
    """Share of (query, target) pairs whose target is among the query's k nearest
    (cosine, query excluded); a query without a vector counts as a miss."""
    import numpy as np
    vecs = kv.get_normed_vectors()
    hits = 0
    qs = [(kv.key_to_index.get(q), t) for q, t in pairs]
    rows = [(i, t) for i, t in qs if i is not None]
    for at in range(0, len(rows), 256):
        chunk = rows[at:at + 256]
        idx = np.array([i for i, _ in chunk])
        sc = vecs[idx] @ vecs.T
        sc[np.arange(len(chunk)), idx] = -np.inf
        top = np.argpartition(-sc, k, axis=1)[:, :k]
        for (i, t), row in zip(chunk, top):
            ti = kv.key_to_index.get(t)
            hits += ti is not None and ti in row
    return hits / len(pairs) if pairs else 0.0


def peak_rss_mb():
    """VmHWM of this process image (ru_maxrss would include the parent's
    peak, inherited across fork + exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(args):
    """Runs in its own process so ru_maxrss is gensim's alone."""
    from gensim.models import Word2Vec
    sents = read_corpus(args.corpus)
    n_tok = sum(len(s) for s in sents)
    if args.corpus_file:
        # gensim's fastest mode: workers read the file themselves, no GIL.
        m = Word2Vec(vector_size=64, window=5, min_count=1, sg=1, hs=0, negative=5,
                     ns_exponent=0.75, sample=1e-3, alpha=0.025, min_alpha=0.0001,
                     epochs=args.epochs, workers=args.threads, seed=args.seed)
        m.build_vocab(corpus_file=args.corpus)
        t0, c0 = time.perf_counter(), time.process_time()
        m.train(corpus_file=args.corpus, total_examples=len(sents),
                total_words=n_tok, epochs=args.epochs)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        rss = peak_rss_mb()
        hr = hit_rate(m.wv, read_pairs(args.pairs))
        print(f"result impl=gensim-cf tokens={n_tok} items={len(m.wv)} train_s={dt:.4f} "
              f"cpu_s={cpu:.4f} tok_per_s={n_tok * args.epochs / dt:.0f} hit10={hr:.4f} "
              f"peak_rss_mb={rss:.1f}", flush=True)
        return
    m = Word2Vec(vector_size=64, window=5, min_count=1, sg=1, hs=0, negative=5,
                 ns_exponent=0.75, sample=1e-3, alpha=0.025, min_alpha=0.0001,
                 epochs=args.epochs, workers=args.threads, seed=args.seed)
    m.build_vocab(sents)
    t0, c0 = time.perf_counter(), time.process_time()
    m.train(sents, total_examples=len(sents), epochs=args.epochs)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = peak_rss_mb()
    hr = hit_rate(m.wv, read_pairs(args.pairs))
    print(f"result impl=gensim tokens={n_tok} items={len(m.wv)} train_s={dt:.4f} cpu_s={cpu:.4f} "
          f"tok_per_s={n_tok * args.epochs / dt:.0f} hit10={hr:.4f} peak_rss_mb={rss:.1f}",
          flush=True)


def parse_result(text, impl):
    for line in text.splitlines():
        if line.startswith("result ") and f"impl={impl}" in line:
            return dict(kv.split("=", 1) for kv in line.split()[1:])
    return None


def compare(args, name):
    out = args.out
    cmd = [args.bench, "--dataset", name, "--out", out, "--threads", str(args.threads),
           "--epochs", str(args.epochs), "--seed", str(args.seed)]
    if args.ratings:
        cmd += ["--ratings", args.ratings]
    r = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        return False
    ours = parse_result(r.stdout, "ours")
    if ours is None:        # skipped (no ratings file)
        return True
    g = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker",
                        "--corpus", f"{out}/{name}.corpus.txt", "--pairs",
                        f"{out}/{name}.eval.txt", "--threads", str(args.threads),
                        "--epochs", str(args.epochs), "--seed", str(args.seed)], capture_output=True, text=True)
    if g.returncode != 0:
        sys.stderr.write(g.stderr)
        return False
    gen = parse_result(g.stdout, "gensim")
    gcf = None
    if args.corpus_file:
        g2 = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker",
                             "--corpus-file", "--corpus", f"{out}/{name}.corpus.txt",
                             "--pairs", f"{out}/{name}.eval.txt", "--threads",
                             str(args.threads), "--epochs", str(args.epochs), "--seed",
                             str(args.seed)], capture_output=True, text=True)
        if g2.returncode != 0:
            sys.stderr.write(g2.stderr)
            return False
        gcf = parse_result(g2.stdout, "gensim-cf")

    from gensim.models import KeyedVectors
    import numpy as np
    kb = KeyedVectors.load_word2vec_format(f"{out}/{name}.ours.bin", binary=True)
    kt = KeyedVectors.load_word2vec_format(f"{out}/{name}.ours.txt", binary=False)
    same_files = (kb.index_to_key == kt.index_to_key and
                  np.array_equal(kb.vectors, kt.vectors))
    pairs = read_pairs(f"{out}/{name}.eval.txt")
    hr_ours_py = hit_rate(kb, pairs)
    agree = overlap = total = 0
    with open(f"{out}/{name}.ours.nn.txt") as f:
        for line in f:
            q, *nn = line.split()
            g_nn = [k for k, _ in kb.most_similar(q, topn=len(nn))]
            total += 1
            agree += g_nn == nn
            overlap += len(set(g_nn) & set(nn)) / len(nn)

    def row(label, a, b, fmt):
        ratio = a / b if b else float("nan")   # ours / gensim
        print(f"  {label:<28} {fmt.format(a):>12} {fmt.format(b):>12} {ratio:>8.2f}")

    print(f"{name}: {ours['tokens']} training tokens, {ours['items']} items, "
          f"{len(pairs)} eval pairs, epochs={args.epochs}, threads={args.threads}")
    print(f"  {'':<28} {'ours':>12} {'gensim':>12} {'ratio':>8}")
    row("tokens*epochs/s", float(ours["tok_per_s"]), float(gen["tok_per_s"]), "{:.0f}")
    row("train seconds (wall)", float(ours["train_s"]), float(gen["train_s"]), "{:.3f}")
    row("train CPU seconds", float(ours["cpu_s"]), float(gen["cpu_s"]), "{:.3f}")
    n_work = float(ours["tokens"]) * args.epochs
    row("tokens*epochs/CPU-s", n_work / float(ours["cpu_s"]), n_work / float(gen["cpu_s"]),
        "{:.0f}")
    row("hit-rate@10 (numpy)", hr_ours_py, float(gen["hit10"]), "{:.4f}")
    row("peak RSS MiB", float(ours["peak_rss_mb"]), float(gen["peak_rss_mb"]), "{:.1f}")
    print(f"  hit-rate@10 by bench_sgns (C): {float(ours['hit10']):.4f}; "
          f"difference ours - gensim: {hr_ours_py - float(gen['hit10']):+.4f}")
    if gcf:
        print(f"  gensim corpus_file mode (its fastest; vocabulary from the file):")
        row("  tokens*epochs/s", float(ours["tok_per_s"]), float(gcf["tok_per_s"]), "{:.0f}")
        row("  train CPU seconds", float(ours["cpu_s"]), float(gcf["cpu_s"]), "{:.3f}")
        row("  hit-rate@10 (numpy)", hr_ours_py, float(gcf["hit10"]), "{:.4f}")
        row("  peak RSS MiB", float(ours["peak_rss_mb"]), float(gcf["peak_rss_mb"]), "{:.1f}")
    print(f"  our .bin and .txt load identically in gensim: {same_files}")
    print(f"  gensim most_similar on our file = our top-10: {agree}/{total} lists identical, "
          f"mean overlap {overlap / max(total, 1):.3f}")
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/release/bench/bench_sgns")
    ap.add_argument("--out")
    ap.add_argument("--ratings")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dataset", default="all")
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--corpus-file", action="store_true",
                    help="also time gensim's corpus_file mode")
    ap.add_argument("--corpus")
    ap.add_argument("--pairs")
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return 0
    try:
        import gensim
    except ImportError:
        print("compare_gensim: gensim is not installed (apt install python3-gensim)",
              file=sys.stderr)
        return 1
    print(f"gensim {gensim.__version__}")
    tmp = None
    if not args.out:
        tmp = tempfile.TemporaryDirectory()
        args.out = tmp.name
    ok = True
    for name in (["synth", "movielens"] if args.dataset == "all" else [args.dataset]):
        ok &= compare(args, name)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
