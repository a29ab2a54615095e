#!/usr/bin/python3
"""serve_compare.py [BUILD_DIR] [--no-peer] [--seconds S]

`embedlab serve` under load (wrk from Debian, loopback only, fixed duration),
side by side with the same model served by PyTorch behind FastAPI/uvicorn
(bench/peer_torch_server.py, one request at a time and batched), in one run;
prints one table naming the CPU and the load.

  1. /v1/similar on the demo shop (data/demo: Item2Vec, builtin text encoder,
     HNSW over text), 8 connections: requests/s, p50, p99;
  2. /v1/embeddings, one 16-token sentence per request, one client: p50,
     beside the encoder's in-process p50 for the same sentence (bench_bert);
  3. the same with 32 concurrent clients: sentences/s, p50, p99, errors, and
     the encoder's batch sizes from /metrics;
  4. the hostile catalogue (tests/e2e/serve_hostile.py, 1,000 requests): the
     server still answers;
  5. the arithmetic of the 32-client row: the model's FLOPs per 16-token
     sentence, this CPU's fp32 FMA peak as measured (bench_peak), the encoder
     alone at the server's own batch size (bench_bert call=N), and what 3x
     the PyTorch server would need.
With the full MiniLM shape (a random-weight model written by
tests/fixtures/make_tiny_bert.py into BUILD_DIR/bench-minilm, as
compare_bert.py makes it; needs python3-torch).  --no-peer (what `make bench`
runs) measures our server only and needs no PyTorch: the embeddings rows
then use the demo shop's builtin encoder.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SECONDS = 10
SINGLE_WORDS = 14   # + [CLS] + [SEP] = 16 tokens


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"


def load():
    return open("/proc/loadavg").read().split()[:3]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_http(url, proc, what, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            sys.exit("%s exited (%d)" % (what, proc.returncode))
        try:
            subprocess.run(["curl", "-sf", "-o", "/dev/null", url], check=True, timeout=5)
            return
        except subprocess.SubprocessError:
            time.sleep(0.2)
    sys.exit("%s did not answer %s" % (what, url))


class Ours:
    def __init__(self, app, db, tmp, extra=(), threads=2):
        self.log = open(os.path.join(tmp, "serve.log"), "w+")
        self.p = subprocess.Popen([app, "serve", "--db", db, "--listen", "127.0.0.1:0",
                                   "--threads", str(threads), "--quiet"] + list(extra),
                                  stderr=self.log)
        t0 = time.time()
        self.port = None
        while self.port is None and time.time() - t0 < 120:
            self.log.seek(0)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.log.read())
            if m:
                self.port = int(m.group(1))
            elif self.p.poll() is not None:
                self.log.seek(0)
                sys.exit("embedlab serve exited: " + self.log.read())
            else:
                time.sleep(0.05)
        self.base = "http://127.0.0.1:%d" % self.port

    def cpu_seconds(self):
        """user + system CPU seconds of the server so far (all its threads)"""
        f = open("/proc/%d/stat" % self.p.pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def metrics(self):
        return sh(["curl", "-sf", self.base + "/metrics"])

    def stop(self):
        self.p.terminate()
        rc = self.p.wait(30)
        if rc != 0:
            self.log.seek(0)
            sys.exit("embedlab serve exited %d on SIGTERM: %s" % (rc, self.log.read()[-2000:]))


class Peer:
    def __init__(self, model, batch, tmp):
        self.port = free_port()
        self.log = open(os.path.join(tmp, "peer%d.log" % batch), "w")
        cmd = ["/usr/bin/python3", os.path.join(HERE, "peer_torch_server.py"), model, str(self.port)]
        self.p = subprocess.Popen(cmd + (["--batch"] if batch else []), stderr=self.log)
        self.base = "http://127.0.0.1:%d" % self.port
        wait_http(self.base + "/healthz", self.p, "the PyTorch peer")

    def stop(self):
        self.p.terminate()
        self.p.wait(30)


def wrk(url, body, conns, seconds, tmp):
    """wrk -c conns for `seconds`: requests/s, p50/p99 ms, errors."""
    lua = os.path.join(tmp, "post.lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n'
                % json.dumps(json.dumps(body)))   # a JSON string literal is a Lua one (ASCII)
    out = sh(["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", "%ds" % seconds,
              "--latency", "--timeout", "10s", "-s", lua, url])

    def ms(tag):
        m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)\s*$" % tag, out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = 0
    for pat in (r"Non-2xx or 3xx responses:\s+(\d+)", r"Socket errors:.*?(\d+).*?(\d+).*?(\d+).*?(\d+)"):
        m = re.search(pat, out)
        if m:
            errors += sum(int(g) for g in m.groups())
    return {"rps": rps, "p50": ms("50"), "p99": ms("99"), "errors": errors}


def prepare_demo(app, build):
    db = os.path.join(build, "bench-serve-demo.db")
    if not os.path.exists(db):
        tmp = db + ".tmp"
        for s in ("", "-wal", "-shm"):
            if os.path.exists(tmp + s):
                os.remove(tmp + s)
        sh([app, "--db", tmp, "--strict", "-c", "load catalog data/demo/catalog.csv",
            "-c", "load sessions data/demo/sessions.csv", "-c", "train item2vec", "-c", "encode text",
            "-c", "index build text hnsw"], cwd=ROOT)
        os.rename(tmp, db)
    return db


def prepare_minilm(app, build):
    sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
    import random
    import make_tiny_bert as M
    mdir = os.path.join(build, "bench-minilm")
    if not os.path.exists(os.path.join(mdir, "model.safetensors")):
        print("writing a random-weight MiniLM-shape model to", mdir, file=sys.stderr)
        M.minilm(mdir)
    vocab = [l.rstrip("\n") for l in open(os.path.join(mdir, "vocab.txt"), encoding="utf-8")]
    words = [w for w in vocab if w.isascii() and w.isalpha() and w.islower() and len(w) >= 3]
    r = random.Random(7)
    single = " ".join(r.choice(words) for _ in range(SINGLE_WORDS))
    db = os.path.join(build, "bench-serve-minilm.db")
    if not os.path.exists(db):
        tmp = db + ".tmp"
        sh([app, "--db", tmp, "--strict", "-c", "gen demo --items 200 --sessions 400",
            "-c", "train item2vec", "-c", "encode text model=" + os.path.abspath(mdir)])
        os.rename(tmp, db)
    return mdir, db, single


def main():
    args = sys.argv[1:]
    peer = "--no-peer" not in args
    seconds = SECONDS
    if "--seconds" in args:
        seconds = int(args[args.index("--seconds") + 1])
    build = next((a for a in args if not a.startswith("--") and not a.isdigit()), "build/release")
    app = os.path.abspath(os.path.join(build, "embedlab"))
    for tool in ("wrk", "curl"):
        if not shutil.which(tool):
            sys.exit("serve_compare: %s is not installed (scripts/deps.sh bench)" % tool)
    tmp = tempfile.mkdtemp(prefix="embedlab-serve-bench-")
    rows = []
    env_note = "OPENBLAS_CORETYPE=%s" % os.environ.get("OPENBLAS_CORETYPE", "(auto)")
    started_load = load()
    try:
        demo = prepare_demo(app, build)
        srv = Ours(app, demo, tmp)
        sim = wrk(srv.base + "/v1/similar", {"item": "I00980", "k": 10}, 8, seconds, tmp)
        rows.append(("/v1/similar, demo shop, 8 connections", "embedlab", sim,
                     ">= 5,000 req/s, p99 < 5 ms"))
        if not peer:
            one = wrk(srv.base + "/v1/embeddings", {"input": "wireless earbuds with long battery life"},
                      1, seconds, tmp)
            rows.append(("/v1/embeddings builtin, 1 client", "embedlab", one, ""))
            many = wrk(srv.base + "/v1/embeddings", {"input": "wireless earbuds with long battery life"},
                       32, seconds, tmp)
            rows.append(("/v1/embeddings builtin, 32 clients", "embedlab", many, ""))
        srv.stop()
        with open(os.path.join(tmp, "token"), "w") as f:
            f.write("bench-token\n")
        srv = Ours(app, demo, tmp, ["--token-file", os.path.join(tmp, "token"), "--timeout", "2",
                                    "--max-body", "65536"])
        hostile = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests", "e2e", "serve_hostile.py"),
                                  str(srv.port), "bench-token", "1000"], capture_output=True, text=True)
        srv.stop()
        batch_note = ""
        if peer:
            mdir, db, single = prepare_minilm(app, build)
            texts = os.path.join(tmp, "texts.txt")
            with open(texts, "w") as f:
                f.write(single + "\n")
            inproc = json.loads(sh([os.path.join(build, "bench", "bench_bert"), mdir, texts, "threads=2",
                                    "blas=2", "reps=1", "single=" + single, "lat_reps=200"]).strip().splitlines()[-1])
            body = {"input": single, "model": "text"}
            srv = Ours(app, db, tmp)
            def batches():
                m = srv.metrics()
                return [float(re.search(r"^embedlab_encoder_%s (\S+)" % k, m, re.M).group(1))
                        for k in ("batch_size_count", "batch_size_sum", "busy_seconds_total")]
            one = wrk(srv.base + "/v1/embeddings", body, 1, seconds, tmp)
            n0, t0, b0 = batches()
            w0, c0 = time.time(), srv.cpu_seconds()
            many = wrk(srv.base + "/v1/embeddings", body, 32, seconds, tmp)
            n1, t1, b1 = batches()
            wall, cpu = time.time() - w0, srv.cpu_seconds() - c0
            mean_batch = 16.0
            if n1 > n0:   # this row's batches only
                mean_batch = (t1 - t0) / (n1 - n0)
                batch_note = ("mean encoder batch %.1f texts, encoder busy %.0f%% of the row, "
                              "%.2f ms CPU per sentence" % (mean_batch, 100 * (b1 - b0) / wall,
                                                             1e3 * cpu / max(t1 - t0, 1)))
            srv.stop()
            # the encoder alone, in calls of the server's batch size
            call = max(1, int(round(mean_batch)))
            with open(texts, "w") as f:
                f.write((single + "\n") * (call * max(1, 512 // call)))
            alone = json.loads(sh([os.path.join(build, "bench", "bench_bert"), mdir, texts, "threads=2",
                                   "blas=2", "reps=3", "call=%d" % call]).strip().splitlines()[-1])
            peak = json.loads(sh([os.path.join(build, "bench", "bench_peak"), "threads=%d" % os.cpu_count()]
                                 ).strip().splitlines()[-1])
            cfg = json.load(open(os.path.join(mdir, "config.json")))
            rows.append(("/v1/embeddings 16 tokens, 1 client", "embedlab", one,
                         "p50 within 1 ms of in-process %.3f ms" % inproc["p50_single_ms"]))
            rows.append(("  in-process encoder (bench_bert), same sentence", "embedlab",
                         {"rps": float("nan"), "p50": inproc["p50_single_ms"], "p99": float("nan"),
                          "errors": 0}, ""))
            rows.append(("/v1/embeddings 16 tokens, 32 clients", "embedlab", many, batch_note))
            rows.append(("  in-process encoder (bench_bert), calls of %d texts" % call, "embedlab",
                         {"rps": alone["sent_per_s"], "p50": float("nan"), "p99": float("nan"),
                          "errors": 0}, "%.2f ms CPU per sentence" % (1e3 * alone["cpu_s"] / alone["n"])))
            for batch in (0, 1):
                p = Peer(mdir, batch, tmp)
                name = "PyTorch+FastAPI " + ("batched" if batch else "1 at a time")
                pone = wrk(p.base + "/v1/embeddings", body, 1, seconds, tmp)
                pmany = wrk(p.base + "/v1/embeddings", body, 32, seconds, tmp)
                p.stop()
                rows.append(("/v1/embeddings 16 tokens, 1 client", name, pone, ""))
                rows.append(("/v1/embeddings 16 tokens, 32 clients", name, pmany, ""))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print("# embedlab serve under load (wrk, loopback, %d s per row)" % seconds)
    print("# CPU: %s; %d cores; load average %s at start, %s at end; %s" % (
        cpu_name(), os.cpu_count(), " ".join(started_load), " ".join(load()), env_note))
    print()
    print("| workload | server | req/s | p50 ms | p99 ms | errors | note |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for what, who, r, note in rows:
        def f(x, d):
            return "-" if x != x else ("%.*f" % (d, x))
        print("| %s | %s | %s | %s | %s | %d | %s |" % (what, who, f(r["rps"], 0), f(r["p50"], 3),
                                                      f(r["p99"], 3), r["errors"], note))
    if peer:
        ours = next(r for w, who, r, _ in rows if who == "embedlab" and "32 clients" in w)
        best = max((r for w, who, r, _ in rows if who.startswith("PyTorch") and "32 clients" in w),
                   key=lambda r: r["rps"])
        print()
        print("32 clients: embedlab %.2fx the best PyTorch server's sentences/s (target >= 3x), "
              "p99 %.2fx of its p99 (target <= 0.5); the server runs at %.2f of its encoder alone "
              "(in calls of its own batch size)" % (ours["rps"] / best["rps"], ours["p99"] / best["p99"],
                                                    ours["rps"] / alone["sent_per_s"]))
        # FLOPs of one 16-token sentence: the linear layers (2 per multiply-add)
        # and attention's two T x T products; embeddings, norms and GELU are
        # not multiply-adds of this size
        H, F, L, T = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], 16
        flops = L * (2 * T * (4 * H * H + 2 * H * F) + 2 * 2 * T * T * H)
        need = 3 * best["rps"]
        if peak["gflops_all"] > 0:
            print("arithmetic: %.1f MFLOP per 16-token sentence; fp32 FMA peak measured %.1f GFLOP/s "
                  "(%.1f a core), a ceiling of %.0f sentences/s with nothing but multiply-adds; "
                  "3x PyTorch = %.0f sentences/s = %.0f%% of that peak; the encoder alone runs at "
                  "%.0f%% of it, the server at %.0f%%" % (
                      flops / 1e6, peak["gflops_all"], peak["gflops_one_core"],
                      peak["gflops_all"] * 1e9 / flops, need, 100 * need * flops / (peak["gflops_all"] * 1e9),
                      100 * alone["sent_per_s"] * flops / (peak["gflops_all"] * 1e9),
                      100 * ours["rps"] * flops / (peak["gflops_all"] * 1e9)))
    print()
    print("hostile requests: %s" % (hostile.stdout.strip().splitlines()[-1] if hostile.returncode == 0
                                    else "FAILED: " + (hostile.stdout + hostile.stderr)[-500:]))
    return 0 if hostile.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
