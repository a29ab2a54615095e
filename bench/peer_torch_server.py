#!/usr/bin/python3
"""peer_torch_server.py MODEL_DIR PORT [--batch] [--threads N]

The peer of `embedlab serve` in bench/serve_compare.py: the same BERT model
folder run by PyTorch (the forward pass of tests/fixtures/make_tiny_bert.py,
which the encoder's parity tests check ours against) behind a Python HTTP
server from Debian's packages: FastAPI on uvicorn (python3-fastapi,
python3-uvicorn).  It answers POST /v1/embeddings like OpenAI ({"input": str
or [str]} -> {"data": [{"embedding": [...]}], ...}) on 127.0.0.1:PORT.

  default   one request at a time: each request's texts in one forward pass,
            requests serialised by a lock (torch runs its own threads)
  --batch   dynamic batching: requests that arrive together are encoded in
            one forward pass (an asyncio queue; up to 64 texts, waiting at
            most 2 ms for more), as embedlab serve does
torch.set_num_threads(N) (default 2).
"""
import asyncio
import json
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))


def main():
    args = sys.argv[1:]
    batch = "--batch" in args
    threads = 2
    if "--threads" in args:
        threads = int(args[args.index("--threads") + 1])
    model_dir, port = args[0], int(args[1])

    import torch
    import make_tiny_bert as M
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response

    torch.set_num_threads(threads)
    cfg, vocab, W = M.load_folder(model_dir)
    with open(os.path.join(model_dir, "sentence_bert_config.json")) as f:
        max_seq = json.load(f).get("max_seq_length", 256)
    label = os.path.basename(os.path.normpath(model_dir))

    def encode(texts):
        ids = [M.tokenize(t, vocab, True, max_seq) for t in texts]
        with torch.inference_mode():
            return M.forward(W, cfg, ids).tolist(), sum(len(x) for x in ids)

    def answer(vecs, tokens):
        body = {"object": "list", "model": label,
                "data": [{"object": "embedding", "index": i, "embedding": v}
                         for i, v in enumerate(vecs)],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        return Response(json.dumps(body), media_type="application/json")

    app = FastAPI()
    lock = threading.Lock()
    queue = None

    def texts_of(j):
        x = j.get("input")
        return [x] if isinstance(x, str) else x

    if not batch:
        def locked(texts):
            with lock:
                return encode(texts)

        @app.post("/v1/embeddings")
        async def embeddings(request: Request):
            texts = texts_of(await request.json())
            if not texts:
                return JSONResponse({"error": {"message": "no input"}}, status_code=400)
            vecs, tok = await asyncio.get_running_loop().run_in_executor(None, locked, texts)
            return answer(vecs, tok)
    else:
        async def batcher():
            loop = asyncio.get_running_loop()
            while True:
                items = [await queue.get()]
                deadline = loop.time() + 0.002
                while sum(len(t) for t, _ in items) < 64:
                    left = deadline - loop.time()
                    if left <= 0:
                        break
                    try:
                        items.append(await asyncio.wait_for(queue.get(), left))
                    except asyncio.TimeoutError:
                        break
                flat = [t for texts, _ in items for t in texts]
                try:
                    vecs, _ = await loop.run_in_executor(None, encode, flat)
                except Exception as e:   # pragma: no cover - reported to the clients
                    for _, fut in items:
                        fut.set_exception(e)
                    continue
                k = 0
                for texts, fut in items:
                    fut.set_result(vecs[k:k + len(texts)])
                    k += len(texts)

        @app.on_event("startup")
        async def start():
            nonlocal queue
            queue = asyncio.Queue()
            asyncio.get_running_loop().create_task(batcher())

        @app.post("/v1/embeddings")
        async def embeddings(request: Request):
            texts = texts_of(await request.json())
            if not texts:
                return JSONResponse({"error": {"message": "no input"}}, status_code=400)
            fut = asyncio.get_running_loop().create_future()
            await queue.put((texts, fut))
            vecs = await fut
            return answer(vecs, sum(len(M.tokenize(t, vocab, True, max_seq)) for t in texts))

    @app.get("/healthz")
    async def health():
        return {"status": "ok"}

    encode(["warm up"])
    print("peer listening on http://127.0.0.1:%d (%s, %s)" % (
        port, label, "batched" if batch else "one request at a time"), file=sys.stderr, flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
