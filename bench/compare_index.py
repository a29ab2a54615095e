#!/usr/bin/python3
"""compare_index.py - our index next to FAISS and hnswlib on identical data, in one run.

Runs build/<cfg>/bench/bench_index (which generates the issue-4 data set, writes
base.fvecs / query.fvecs / gt.ivecs and measures our index), then loads the same
files into FAISS (IndexFlatIP, IndexIVFFlat, IndexScalarQuantizer and
IndexIVFScalarQuantizer QT_8bit) and hnswlib, all on one thread, and prints ours,
the peer's figure and the ratio for every row.

Run with Debian's interpreter (python3-faiss, python3-hnswlib, python3-numpy):
    /usr/bin/python3 bench/compare_index.py [--bench PATH] [--dir DIR] [--n N] [--nq Q]

Threads: OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1 for both processes,
faiss.omp_set_num_threads(1), hnswlib set_num_threads(1), except the HNSW
builds: --build-threads 1,2 builds our graph once per value (one bench_index
run each; the last graph is the one queried) and --peer-build-threads (default:
the same list) hnswlib's, in that order; a table of build wall and CPU seconds
(user + system of all threads, which waiting for a busy core does not inflate)
follows.  Queries always run on one thread.
BLAS kernel: both processes load the same system OpenBLAS 0.3.21, which does not
recognise recent Xeons and falls back to generic "Prescott" kernels.  Unless
OPENBLAS_CORETYPE is already set, this script sets it to SkylakeX on CPUs with
AVX-512 (Haswell with AVX2) for BOTH processes, so sgemm is equal on both sides;
the core each side actually ran is printed.

sq8 rows: ours re-rank 10*k candidates exactly, reading the base vectors as a
source the caller owns (the index holds only codes, ids, id map, lists; its MB
counts those); FAISS SQ8 / IVFSQ8 return sq8 scores.  "flat sq8 norerank" is
ours without the source; "flat sq8 refine" puts our re-ranked row next to FAISS
IndexRefineFlat(SQ8, k_factor 10), which keeps its own fp32 copy.  The last
lines give sq8 memory against our fp32 flat index and FAISS SQ8, and sq8
single-query speed against the fp32 bandwidth limit bench_index probed.

HNSW rows: after both graphs are built, our saved graph and hnswlib's are
queried in 3 alternating rounds and each side's best round is reported.

Peers' QPS: FAISS IVF rows use one batched call over all queries on one
thread (no Python overhead per query; FAISS also batches the coarse sgemm),
while ours is measured one query at a time, so those ratios are conservative
for us.  Flat single-query rows call FAISS once per query, as ours does.
"""
import argparse
import ctypes
import os
import resource
import subprocess
import sys
import tempfile
import time

K = 10
ROUNDS = 3


def pick_coretype():
    if os.environ.get("OPENBLAS_CORETYPE"):
        return os.environ["OPENBLAS_CORETYPE"]
    flags = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = line
                break
    if " avx512f" in flags and " avx512bw" in flags and " avx512vl" in flags:
        return "SkylakeX"
    if " avx2" in flags and " fma" in flags:
        return "Haswell"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/release/bench/bench_index")
    ap.add_argument("--dir", default="build/bench-data")
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--only", default="flat,sq8,ivf,hnsw")
    ap.add_argument("--build-threads", default="1",
                    help="comma list of our HNSW build thread counts")
    ap.add_argument("--peer-build-threads", default=None,
                    help="comma list of hnswlib build thread counts (default: --build-threads)")
    args = ap.parse_args()
    bts = [int(t) for t in args.build_threads.split(",")]
    pbts = [int(t) for t in (args.peer_build_threads or args.build_threads).split(",")]
    builds = []   # (who, threads, wall s, cpu s)

    def cpu_now():
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    os.environ["OMP_NUM_THREADS"] = "1"
    core = pick_coretype()
    if core:
        os.environ["OPENBLAS_CORETYPE"] = core

    # ---- ours ----------------------------------------------------------------
    ours, meta = {}, {}
    # one run per build thread count; after the first, HNSW only
    for i, bt in enumerate(bts if "hnsw" in args.only.split(",") else bts[:1]):
        cmd = [args.bench, "--dir", args.dir, "--n", str(args.n), "--nq", str(args.nq),
               "--only", args.only if i == 0 else "hnsw", "--threads", str(bt)]
        print("# ours:", " ".join(cmd), flush=True)
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
        for line in out.splitlines():
            if line.startswith("# "):
                kv = line[2:].split(" ", 1)
                if len(kv) == 2:
                    meta[kv[0]] = kv[1]
                continue
            f = line.split("\t")
            ours[f[0]] = dict(build=float(f[1]), mem=float(f[2]), qps=float(f[3]),
                              recall=float(f[4]))
            if f[0].startswith("hnsw") and len(f) > 8 and not (builds and builds[-1][1] == bt
                                                              and builds[-1][0] == "ours"):
                builds.append(("ours", bt, float(f[1]), float(f[8])))
        print(out, end="", flush=True)

    # Imported only now: the environment above must be in place before
    # OpenBLAS (loaded by numpy/faiss) initialises.
    import numpy as np
    import faiss
    import hnswlib

    lib = ctypes.CDLL("libopenblas.so.0")
    lib.openblas_get_corename.restype = ctypes.c_char_p
    peer_core = lib.openblas_get_corename().decode()
    faiss.omp_set_num_threads(1)

    def fvecs(path):
        a = np.fromfile(path, dtype=np.int32)
        d = a[0]
        return a.reshape(-1, d + 1)[:, 1:].copy().view(np.float32)

    def ivecs(path):
        a = np.fromfile(path, dtype=np.int32)
        d = a[0]
        return a.reshape(-1, d + 1)[:, 1:].copy()

    xb = fvecs(os.path.join(args.dir, "base.fvecs"))
    xq = fvecs(os.path.join(args.dir, "query.fvecs"))
    gt = ivecs(os.path.join(args.dir, "gt.ivecs"))
    n, d = xb.shape
    nq = xq.shape[0]

    def recall(ids):
        hit = 0
        for i in range(nq):
            hit += len(set(ids[i, :K].tolist()) & set(gt[i, :K].tolist()))
        return hit / (nq * K)

    def batch(index, search):
        t0 = time.perf_counter()
        _, ids = search(xq)
        return nq / (time.perf_counter() - t0), recall(ids)

    def single(index):
        index.search(xq[:1], K)   # warm-up, as ours does
        ids = np.empty((nq, K), dtype=np.int64)
        t0 = time.perf_counter()
        for i in range(nq):
            _, ids[i] = index.search(xq[i:i + 1], K)
        return nq / (time.perf_counter() - t0), recall(ids)

    def faiss_mb(index):
        return faiss.serialize_index(index).nbytes / 2**20

    peer = {}
    want = args.only.split(",")
    # flat
    t0 = time.perf_counter()
    fl = faiss.IndexFlatIP(d)
    fl.add(xb)
    b = time.perf_counter() - t0
    q, r = batch(fl, lambda x: fl.search(x, K))
    peer["flat batch"] = ("faiss IndexFlatIP", b, faiss_mb(fl), q, r)
    if "flat" in want:
        q, r = single(fl)
        peer["flat single"] = ("faiss IndexFlatIP", b, faiss_mb(fl), q, r)
    del fl
    if "sq8" in want:
        # Our "flat sq8 single" re-ranks 10*k candidates exactly from vectors
        # the caller owns; its peer is FAISS SQ8, which does not re-rank and
        # holds only codes, so memory compares like with like.  The nearest
        # FAISS design, IndexRefineFlat over SQ8 (k_factor 10), is shown as
        # its own row: it keeps its own fp32 copy, counted in its MB.
        t0 = time.perf_counter()
        sq = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit,
                                        faiss.METRIC_INNER_PRODUCT)
        sq.train(xb)
        sq.add(xb)
        b = time.perf_counter() - t0
        q, r = single(sq)
        peer["flat sq8 single"] = ("faiss SQ8 (no rerank)", b, faiss_mb(sq), q, r)
        peer["flat sq8 norerank"] = peer["flat sq8 single"]
        del sq
        t0 = time.perf_counter()
        base = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
        rf = faiss.IndexRefineFlat(base)
        rf.k_factor = 10
        rf.train(xb)
        rf.add(xb)
        b = time.perf_counter() - t0
        q, r = single(rf)
        peer["flat sq8 refine"] = ("faiss RefineFlat(SQ8)", b, faiss_mb(rf), q, r)
        if "flat sq8 single" in ours:   # printed right after our sq8 row
            ours = {k2: v2 for k, v in ours.items()
                    for k2, v2 in ([(k, v), ("flat sq8 refine", v)] if k == "flat sq8 single"
                                   else [(k, v)])}
        del rf, base
    if "ivf" in want:
        for quant in (0, 1):
            if quant and "sq8" not in want:
                continue
            t0 = time.perf_counter()
            cq = faiss.IndexFlatIP(d)
            if quant:
                iv = faiss.IndexIVFScalarQuantizer(cq, d, 1024, faiss.ScalarQuantizer.QT_8bit,
                                                   faiss.METRIC_INNER_PRODUCT)
            else:
                iv = faiss.IndexIVFFlat(cq, d, 1024, faiss.METRIC_INNER_PRODUCT)
            iv.train(xb)
            iv.add(xb)
            b = time.perf_counter() - t0
            for npb in (16, 32, 64):
                iv.nprobe = npb
                q, r = batch(iv, lambda x: iv.search(x, K))
                name = "ivf%s nprobe=%d" % (" sq8" if quant else "", npb)
                peer[name] = ("faiss IVF%s" % ("SQ8" if quant else "Flat"), b, faiss_mb(iv), q, r)
            del iv, cq
    if "hnsw" in want:
        for bt in pbts:
            h = None
            t0, c0 = time.perf_counter(), cpu_now()
            h = hnswlib.Index(space="ip", dim=d)
            h.init_index(max_elements=n, M=32, ef_construction=200, random_seed=100)
            h.set_num_threads(bt)
            h.add_items(xb, np.arange(n), num_threads=bt)
            b = time.perf_counter() - t0
            builds.append(("hnswlib", bt, b, cpu_now() - c0))
            print("# hnswlib build threads=%d: %.2f s" % (bt, b), flush=True)
        h.set_num_threads(1)
        with tempfile.NamedTemporaryFile(suffix=".bin") as tf:
            h.save_index(tf.name)
            mb = os.path.getsize(tf.name) / 2**20
        # Queries alternate: our saved graph (bench_index --query-only), then
        # hnswlib, ROUNDS times; each side keeps its best round, so a burst of
        # load from other processes hurts neither side alone.
        for rnd in range(ROUNDS):
            qo = subprocess.run([args.bench, "--dir", args.dir, "--query-only", "hnsw"],
                                check=True, stdout=subprocess.PIPE, text=True).stdout
            for line in qo.splitlines():
                f = line.split("\t")
                name = f[0]
                if name in ours and float(f[3]) > ours[name].get("best", 0):
                    ours[name]["best"] = float(f[3])
            for ef in (16, 32, 64, 128, 256):
                h.set_ef(ef)
                h.knn_query(xq[:1], k=K, num_threads=1)
                t0 = time.perf_counter()
                ids, _ = h.knn_query(xq, k=K, num_threads=1)
                q = nq / (time.perf_counter() - t0)
                name = "hnsw ef=%d" % ef
                if name not in peer or q > peer[name][3]:
                    peer[name] = ("hnswlib", b, mb, q, recall(ids.astype(np.int64)))
            print("# hnsw query round %d done" % (rnd + 1), flush=True)
        for name, o in ours.items():
            if "best" in o:
                print("# %s: ours %.1f q/s during the build run, best of %d alternating "
                      "rounds %.1f" % (name, o["qps"], ROUNDS, o["best"]))
                o["qps"] = o["best"]

    print()
    print("# n %d  nq %d  dim %d  ours blas %s  peer blas %s  threads 1" %
          (n, nq, d, meta.get("blas_core", "?"), peer_core))
    hdr = ("row", "peer", "ours q/s", "peer q/s", "ratio", "ours R@10", "peer R@10",
           "ours build s", "peer build s", "ours MB", "peer MB")
    print("%-20s %-22s %9s %9s %6s %9s %9s %12s %12s %8s %8s" % hdr)
    for name, o in ours.items():
        p = peer.get(name)
        if not p:
            print("%-20s %-22s %9.1f" % (name, "-", o["qps"]))
            continue
        print("%-20s %-22s %9.1f %9.1f %6.2f %9.4f %9.4f %12.2f %12.2f %8.1f %8.1f" %
              (name, p[0], o["qps"], p[3], o["qps"] / p[3], o["recall"], p[4], o["build"],
               p[1], o["mem"], p[2]))
    # sq8: memory against our fp32 flat index and FAISS SQ8, single-query
    # speed against the fp32 bandwidth limit bench_index probed in this run
    sq = ours.get("flat sq8 single")
    if sq:
        lim = float(meta.get("flat_limit_qps", "nan"))
        print("# flat sq8 single (exact re-rank): %.1f q/s = %.2fx the fp32 bandwidth limit "
              "(%.1f q/s at %s GB/s); recall@10 %.4f" %
              (sq["qps"], sq["qps"] / lim, lim, meta.get("stream_read_gbs", "?"), sq["recall"]))
        fs = ours.get("flat single")
        if fs:   # the same scan over fp32, timed in the same run
            print("# flat sq8 single = %.2fx our fp32 flat single (%.1f q/s, %.2fx the limit)" %
                  (sq["qps"] / fs["qps"], fs["qps"], fs["qps"] / lim))
        fl = fs or ours.get("flat batch")
        p = peer.get("flat sq8 single")
        print("# sq8 index memory %.1f MB = %.3fx our fp32 flat (%.1f MB)%s" %
              (sq["mem"], sq["mem"] / fl["mem"], fl["mem"],
               "; FAISS SQ8 %.1f MB" % p[2] if p else ""))
    if builds:
        # ratios against our own threads=1 build and against hnswlib at equal threads
        print()
        print("# HNSW builds, M=32 ef_construction=200, in the order run")
        print("%-8s %7s %9s %9s %12s %14s" % ("who", "threads", "wall s", "cpu s",
                                               "vs ours T=1", "ours/hnswlib"))
        one = {w: b for (w, t, b, c) in builds if t == 1}
        peer_at = {t: b for (w, t, b, c) in builds if w == "hnswlib"}
        for (w, t, b, c) in builds:
            vs1 = "%.2fx" % (one["ours"] / b) if w == "ours" and "ours" in one else "-"
            vsp = "%.2f" % (b / peer_at[t]) if w == "ours" and t in peer_at else "-"
            print("%-8s %7d %9.2f %9.2f %12s %14s" % (w, t, b, c, vs1, vsp))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
