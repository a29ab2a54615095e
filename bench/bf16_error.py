#!/usr/bin/python3
"""bf16_error.py - where does the bf16 fast path lose accuracy?

Emulates the C encoder's bf16 path (AMX TDPBF16PS: both GEMM operands
rounded to bf16 with round-to-nearest-even, products and sums in fp32) in
the PyTorch reference forward of tests/fixtures/make_tiny_bert.py, one
rounding choice at a time, and prints the cosine of each variant against
the fp32 forward over the same texts (min, 0.1% quantile, mean).

  bf16_error.py MODEL_DIR TEXTS [--n N] [--stats] [--only NAME,NAME]
                [--scale-qk S] [--ours-fp32 F.f32 --ours-bf16 F.f32 [--pick K]]

MODEL_DIR is an F32 folder written by make_tiny_bert.py (for example
build/release/bench-minilm, which bench/compare_bert.py creates), TEXTS one
text per line (its texts.txt).  --ours-fp32/--ours-bf16 compare the C
encoder's own outputs (bench_bert out=...) too, to check the emulation;
with --pick K only the K texts on which the C bf16 output is furthest from
its fp32 output are used (the minimum is what the target is about; the
mean over such a pick is not the mean over all texts).
--stats prints, per layer, the spread of each GEMM input and of the
attention logits.  --scale-qk S multiplies the query and key weights and
biases by S first (what a model with smaller attention logits would do).
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
import make_tiny_bert as M  # noqa: E402

GEMMS = {"qkv": ("attention.self.query", "attention.self.key", "attention.self.value"),
         "out": ("attention.output.dense",),
         "up": ("intermediate.dense",),
         "down": ("output.dense",)}


def bf16(t):
    return t.to(torch.bfloat16).to(torch.float32)


def q8(t):
    """Symmetric int8 along the last axis (a weight row, a token), as a
    VNNI (vpdpbusd) product would see it: scale = max|t| / 127."""
    s = t.abs().amax(-1, keepdim=True).clamp(min=1e-30) / 127
    return (t / s).round().clamp(-127, 127) * s


def gemm_of(name):
    for g, names in GEMMS.items():
        if name in names:
            return g
    raise KeyError(name)


def make_mm(rule):
    """rule(layer, gemm) -> (wmode, xmode): each 'f32', 'bf16' or 'split'
    (x = hi + lo, both bf16: two passes), or 'int8' (symmetric, per weight
    row / per token; the product exact, as integer VNNI accumulation is)."""
    def mm(x, w, layer, name):
        wm, xm = rule(layer, gemm_of(name))
        if wm == "int8" or xm == "int8":
            return (q8(x) if xm == "int8" else x) @ (q8(w) if wm == "int8" else w).T
        ws = [w] if wm == "f32" else [bf16(w)] if wm == "bf16" else [bf16(w), bf16(w - bf16(w))]
        if xm == "f32":
            xs = [x]
        else:
            hi = bf16(x)
            xs = [hi] if xm == "bf16" else [hi, bf16(x - hi)]
        y = None
        for a in xs:
            for b in ws:
                # the lo x lo term is below fp32 rounding of the sum: skip it
                if len(xs) > 1 and len(ws) > 1 and a is xs[1] and b is ws[1]:
                    continue
                p = a @ b.T
                y = p if y is None else y + p
        return y
    return mm


def variants(n_layers):
    v = [("all bf16 (current C path)", lambda l, g: ("bf16", "bf16")),
         ("weights bf16, activations fp32", lambda l, g: ("bf16", "f32")),
         ("activations bf16, weights fp32", lambda l, g: ("f32", "bf16"))]
    for g in GEMMS:
        v.append(("only %s bf16" % g, lambda l, gg, g=g: ("bf16", "bf16") if gg == g else ("f32", "f32")))
    for g in GEMMS:
        v.append(("all bf16 but %s fp32" % g,
                  lambda l, gg, g=g: ("f32", "f32") if gg == g else ("bf16", "bf16")))
    for layer in range(n_layers):
        v.append(("only layer %d bf16" % layer,
                  lambda l, g, layer=layer: ("bf16", "bf16") if l == layer else ("f32", "f32")))
    v.append(("x split hi+lo everywhere", lambda l, g: ("bf16", "split")))
    for g in GEMMS:
        v.append(("x split hi+lo in %s only" % g,
                  lambda l, gg, g=g: ("bf16", "split") if gg == g else ("bf16", "bf16")))
    v.append(("x split hi+lo in qkv+out", lambda l, g: ("bf16", "split" if g in ("qkv", "out") else "bf16")))
    v.append(("x split hi+lo in qkv+up", lambda l, g: ("bf16", "split" if g in ("qkv", "up") else "bf16")))
    v.append(("w and x split in qkv, x split elsewhere",
              lambda l, g: ("split", "split") if g == "qkv" else ("bf16", "split")))
    v.append(("w and x split everywhere", lambda l, g: ("split", "split")))
    # the first layer at higher precision, the rest plain bf16
    v.append(("layer 0 fp32, rest bf16", lambda l, g: ("f32", "f32") if l == 0 else ("bf16", "bf16")))
    v.append(("layer 0 x split, rest bf16", lambda l, g: ("bf16", "split") if l == 0 else ("bf16", "bf16")))
    v.append(("layer 0 w+x split, rest bf16",
              lambda l, g: ("split", "split") if l == 0 else ("bf16", "bf16")))
    v.append(("layer 0 qkv w+x split, rest bf16",
              lambda l, g: ("split", "split") if l == 0 and g == "qkv" else ("bf16", "bf16")))
    v.append(("layer 0 qkv+out w+x split, rest bf16",
              lambda l, g: ("split", "split") if l == 0 and g in ("qkv", "out") else ("bf16", "bf16")))
    v.append(("layer 0 w+x split, layer 1 x split, rest bf16",
              lambda l, g: ("split", "split") if l == 0 else ("bf16", "split") if l == 1 else ("bf16", "bf16")))
    v.append(("layers 0-1 w+x split, rest bf16",
              lambda l, g: ("split", "split") if l <= 1 else ("bf16", "bf16")))
    # the bf16 path without AMX (bert_gemm_bf16): weights bf16, X fp32,
    # layer 0's weights split
    v.append(("w bf16 (layer 0 w split), x fp32",
              lambda l, g: ("split" if l == 0 else "bf16", "f32")))
    # the bf16 path on avx512bf16 without AMX (vdpbf16ps): both operands
    # bf16, except layer 0, whose weights are split and X fp32 (few tokens)
    # or which runs in fp32 on OpenBLAS (many tokens)
    v.append(("vdpbf16ps: layer 0 w split x fp32, rest bf16",
              lambda l, g: ("split", "f32") if l == 0 else ("bf16", "bf16")))
    v.append(("vdpbf16ps, layer 0 in fp32 (many tokens)",
              lambda l, g: ("f32", "f32") if l == 0 else ("bf16", "bf16")))
    # int8 on VNNI (vpdpbusd), per-row weight and per-token activation scales
    v.append(("int8 w + x everywhere", lambda l, g: ("int8", "int8")))
    v.append(("int8 w only, x fp32", lambda l, g: ("int8", "f32")))
    v.append(("layer 0 fp32, rest int8 w + x",
              lambda l, g: ("f32", "f32") if l == 0 else ("int8", "int8")))
    return v


def encode(W, cfg, ids, mm=None, batch=64):
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    out = torch.zeros(len(ids), cfg["hidden_size"])
    with torch.inference_mode():
        for b in range(0, len(order), batch):
            chunk = order[b:b + batch]
            out[chunk] = M.forward(W, cfg, [ids[i] for i in chunk], mm=mm)
    return out


def report(name, ref, e):
    c = (ref * e).sum(1) / ref.norm(dim=1) / e.norm(dim=1)
    c = c.double().numpy()
    print("%-44s min %.5f  q0.001 %.5f  mean %.6f  worst text %d" %
          (name, c.min(), np.quantile(c, 0.001), c.mean(), int(c.argmin())), flush=True)


def stats(W, cfg, ids):
    """Per layer: rms of each GEMM input, mean cosine between the token
    vectors of a sentence at the layer's input (1.0 = all tokens alike),
    attention logit std and mean of the largest probability of a row
    (1.0 = one-hot, saturated).  One sentence at a time: no padding."""
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    dh = H // nh
    acc = {}

    def mm(x, w, layer, name):
        y = x @ w.T
        g = gemm_of(name)
        acc.setdefault((layer, g, "x_rms"), []).append(float(x.pow(2).mean().sqrt()))
        acc.setdefault((layer, g, "w_std"), []).append(float(w.std()))
        if g == "qkv" and name.endswith("query"):
            u = torch.nn.functional.normalize(x[0], dim=1)
            L = u.shape[0]
            acc.setdefault((layer, "tokcos"), []).append(float(((u @ u.T).sum() - L) / (L * L - L)))
        if name == "attention.self.query":
            acc[(layer, "q")] = y + W["encoder.layer.%d.attention.self.query.bias" % layer]
        if name == "attention.self.key":
            k = y + W["encoder.layer.%d.attention.self.key.bias" % layer]
            q = acc.pop((layer, "q"))
            B, L = q.shape[0], q.shape[1]
            s = (q.view(B, L, nh, dh).transpose(1, 2) @ k.view(B, L, nh, dh).permute(0, 2, 3, 1))
            s = s / dh ** 0.5
            acc.setdefault((layer, "logit_std"), []).append(float(s.std()))
            acc.setdefault((layer, "pmax"), []).append(float(torch.softmax(s, -1).max(-1).values.mean()))
        return y
    with torch.inference_mode():
        for x in ids[:200]:
            M.forward(W, cfg, [x], mm=mm)
    print("layer  " + "  ".join("%-6s x_rms w_std" % g for g in GEMMS) +
          "  tok_cos  logit_std  mean_pmax")
    for layer in range(cfg["num_hidden_layers"]):
        cells = ["%-6s %5.2f %5.3f" % ("", np.mean(acc[(layer, g, "x_rms")]), np.mean(acc[(layer, g, "w_std")]))
                 for g in GEMMS]
        print("%5d  %s  %7.3f  %9.2f  %9.3f" % (layer, "  ".join(cells), np.mean(acc[(layer, "tokcos")]),
                                                np.mean(acc[(layer, "logit_std")]),
                                                np.mean(acc[(layer, "pmax")])))


def main():
    argv = sys.argv[1:]

    def opt(name, default=None):
        if name in argv:
            i = argv.index(name)
            v = argv[i + 1]
            del argv[i:i + 2]
            return v
        return default
    n = int(opt("--n", "2000"))
    only = opt("--only")
    scale_qk = float(opt("--scale-qk", "1"))
    ours32, ours16 = opt("--ours-fp32"), opt("--ours-bf16")
    pick = int(opt("--pick", "0"))
    show_stats = "--stats" in argv
    argv = [a for a in argv if a != "--stats"]
    if len(argv) != 2:
        sys.exit(__doc__)
    torch.set_num_threads(1)
    cfg, vocab, W = M.load_folder(argv[0])
    if scale_qk != 1:
        for k in W:
            if ".attention.self.query." in k or ".attention.self.key." in k:
                W[k] = W[k] * scale_qk
    with open(argv[1], encoding="utf-8") as f:
        texts = [l.rstrip("\n") for l in f][:n]
    ids = [M.tokenize(t, vocab, True, 256) for t in texts]
    if ours32 and ours16:
        a = torch.from_numpy(np.fromfile(ours32, dtype="<f4").reshape(-1, cfg["hidden_size"])[:n])
        b = torch.from_numpy(np.fromfile(ours16, dtype="<f4").reshape(-1, cfg["hidden_size"])[:n])
        if pick:
            c = (a * b).sum(1) / a.norm(dim=1) / b.norm(dim=1)
            keep = sorted(int(i) for i in torch.argsort(c)[:pick])
            ids, a, b = [ids[i] for i in keep], a[keep], b[keep]
            print("picked the %d texts worst under the C bf16 path: %s ..." % (pick, keep[:8]))
    print("%d texts, %s, q/k scaled by %g" % (len(ids), argv[0], scale_qk), flush=True)
    if show_stats:
        stats(W, cfg, ids)
    ref = encode(W, cfg, ids)
    if ours32 and ours16:
        report("C encoder: fp32 vs reference", ref, a)
        report("C encoder: bf16 vs its fp32", a, b)
    for name, rule in variants(cfg["num_hidden_layers"]):
        if only and not any(o in name for o in only.split(",")):
            continue
        report(name, ref, encode(W, cfg, ids, make_mm(rule)))


if __name__ == "__main__":
    main()
