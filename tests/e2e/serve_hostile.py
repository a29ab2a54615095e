#!/usr/bin/python3
"""serve_hostile.py PORT TOKEN [N] - the bad-input catalogue for HTTP against
`embedlab serve` on 127.0.0.1:PORT (started with --token-file holding TOKEN,
--timeout 2 and --max-body 65536): N (1000) hostile requests over raw sockets
-- oversized, truncated, malformed, wrong methods, bad auth, bad bytes -- then
slow clients (slowloris) that must be cut off while a normal request is still
answered.  Every answer must be an HTTP status the catalogue allows (a
response with a JSON error body for 4xx from the API, or the connection
closed for what cannot be answered); the server must answer /healthz at the
end.  Bounded: each socket has a 5 s timeout, the whole run well under a
minute.  Prints a summary; exits 1 on the first unexpected answer.
"""
import json
import random
import socket
import sys
import time

PORT = int(sys.argv[1])
TOKEN = sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
AUTH = "Authorization: Bearer %s\r\n" % TOKEN
rnd = random.Random(16)
seen = {}


def send(raw, read=True, timeout=5.0):
    """Sends raw bytes on a new connection; returns (status or None, body)."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    try:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the server may close early (413 on Content-Length)
        if not read:
            return None, b""
        data = b""
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    if not data.startswith(b"HTTP/1."):
        return None, data
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def post(path, body, auth=AUTH, extra=""):
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogateescape")
    return (("POST %s HTTP/1.1\r\nHost: x\r\n%s%sContent-Type: application/json\r\n"
             "Content-Length: %d\r\nConnection: close\r\n\r\n") % (path, auth, extra, len(body))
            ).encode() + body


def check(name, raw, allowed, json_body=True):
    st, body = send(raw)
    seen[st] = seen.get(st, 0) + 1
    if st not in allowed:
        print("FAIL %s: status %r (allowed %r) body %r" % (name, st, allowed, body[:300]))
        sys.exit(1)
    if json_body and st is not None and st >= 400 and st != 431:
        try:
            j = json.loads(body)
            assert j["error"]["message"] and j["error"]["type"]
        except Exception:
            print("FAIL %s: %d without a JSON error: %r" % (name, st, body[:300]))
            sys.exit(1)


def garbage(n):
    return bytes(rnd.randrange(256) for _ in range(n))


PATHS = ["/v1/embeddings", "/embed", "/v1/similar", "/v1/recommend", "/v1/query"]
CASES = [
    # (name, builder -> raw bytes, allowed statuses, expect a JSON error body)
    ("oversized Content-Length", lambda: post(rnd.choice(PATHS), "{}", extra="")[:0] +
     ("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n%sContent-Length: 99999999\r\n\r\n{" % AUTH).encode(),
     {413, None}, True),
    ("oversized body", lambda: post(rnd.choice(PATHS), '{"input":"' + "a" * 70000 + '"}'), {413, None}, True),
    ("chunked past the limit", lambda: ("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding: chunked\r\n\r\n" % AUTH).encode()
     + b"".join(b"4000\r\n" + b"a" * 0x4000 + b"\r\n" for _ in range(6)) + b"0\r\n\r\n", {413, None}, True),
    ("truncated body", lambda: post(rnd.choice(PATHS), '{"input":"hello"}')[:-5], {400, None}, True),
    ("truncated JSON", lambda: post(rnd.choice(PATHS), '{"input":["a","b"'), {400}, True),
    ("garbage JSON", lambda: post(rnd.choice(PATHS), garbage(rnd.randrange(1, 300))), {400}, True),
    ("deep nesting", lambda: post(rnd.choice(PATHS), "[" * 5000 + "]" * 5000), {400}, True),
    ("deep object", lambda: post(rnd.choice(PATHS), '{"a":' * 3000 + "1" + "}" * 3000), {400}, True),
    ("wrong types", lambda: post(rnd.choice(PATHS), json.dumps(rnd.choice(
        [{"input": 1}, {"input": {"a": 1}}, {"inputs": [None]}, {"item": True}, {"text": ["x"]},
         {"user": 3.5}, {"history": "I00001"}, {"item": "I00001", "k": "10"}, {"item": "I00001", "alpha": 2},
         {"input": "x", "dimensions": -1}, {"input": "x", "model": 7}, {"item": "I00001", "filters": [1]},
         {"input": ["x"] * 3000}]))), {400, 404, 413}, True),
    ("unknown ids", lambda: post("/v1/similar", json.dumps({"item": "nope%d" % rnd.randrange(1 << 30)})), {404}, True),
    ("NUL escape", lambda: post(rnd.choice(PATHS), '{"input":"a\\u0000b","text":"\\u0000","inputs":"x"}'), {400}, True),
    ("NUL byte", lambda: post(rnd.choice(PATHS), b'{"input":"a\x00b"}'), {400}, True),
    ("invalid UTF-8", lambda: post(rnd.choice(PATHS), b'{"input":"' + rnd.choice(
        [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82"]) + b'"}'), {400}, True),
    ("lone surrogate", lambda: post(rnd.choice(PATHS), '{"input":"\\ud800x","text":"\\udc00"}'), {400}, True),
    ("huge numbers", lambda: post("/v1/similar", '{"item":"I00001","k":1e308}'), {400}, True),
    ("wrong method", lambda: ("%s %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n" % (
        rnd.choice(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]), rnd.choice(PATHS), AUTH)).encode(),
     {405}, True),
    ("wrong method on GET", lambda: post(rnd.choice(["/v1/models", "/healthz", "/metrics", "/v1/items/I00001"]), "{}"),
     {405}, True),
    ("odd method", lambda: ("BREW /v1/models HTTP/1.1\r\nHost: x\r\n%s\r\n" % AUTH).encode(), {405, 501, 400}, True),
    ("no auth", lambda: post(rnd.choice(PATHS), '{"input":"x"}', auth=""), {401}, True),
    ("wrong token", lambda: post(rnd.choice(PATHS), '{"input":"x"}',
                                 auth="Authorization: Bearer %s\r\n" % (TOKEN[:-1] + "X")), {401}, True),
    ("basic auth", lambda: post(rnd.choice(PATHS), "{}", auth="Authorization: Basic dXNlcjpwYXNz\r\n"), {401}, True),
    ("empty bearer", lambda: post(rnd.choice(PATHS), "{}", auth="Authorization: Bearer \r\n"), {401}, True),
    ("long token", lambda: post(rnd.choice(PATHS), "{}", auth="Authorization: Bearer %s\r\n" % ("t" * 5000)),
     {401}, True),
    ("unknown path", lambda: ("GET /%s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (
        rnd.choice(["v1/items/", "v1/items", "../../etc/passwd", "v1/items/%00x", "x" * 3000, "v1//models"]),
        AUTH)).encode(), {404, 200, 414, 400}, True),
    ("garbage request line", lambda: garbage(rnd.randrange(1, 200)) + b"\r\n\r\n", {400, 405, 404, 505, None}, False),
    ("huge header", lambda: ("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n%s\r\n" % ("b" * 80000, AUTH)).encode(),
     {431, 413, 400, None}, False),
    ("bad Content-Length", lambda: ("POST /v1/similar HTTP/1.1\r\nHost: x\r\n%sContent-Length: -5\r\n\r\n{}" % AUTH).encode(),
     {400, None}, False),
    ("HTTP/1.0 ok", lambda: ("GET /healthz HTTP/1.0\r\n\r\n").encode(), {200}, False),
]


def slowloris(n_conns=8, timeout_s=2):
    """Connections that trickle their headers a byte at a time must be cut off
    after --timeout, while a normal request is still answered meanwhile."""
    socks = []
    for _ in range(n_conns):
        s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
        s.sendall(b"POST /v1/embeddings HTTP/1.1\r\n")
        socks.append(s)
    start = time.time()
    closed = set()
    answered_meanwhile = False
    while time.time() - start < timeout_s + 4 and len(closed) < n_conns:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                s.sendall(b"X")
            except OSError:
                closed.add(i)
        if not answered_meanwhile:
            st, _ = send(("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").encode())
            answered_meanwhile = st == 200
        time.sleep(0.25)
    took = time.time() - start
    for s in socks:
        s.close()
    if len(closed) < n_conns:
        print("FAIL slowloris: %d of %d slow connections still open after %.1f s" % (
            n_conns - len(closed), n_conns, took))
        sys.exit(1)
    if not answered_meanwhile:
        print("FAIL slowloris: a normal request was not answered while slow clients were connected")
        sys.exit(1)
    # a slow body: headers at once, then a byte at a time
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s.sendall(("POST /v1/similar HTTP/1.1\r\nHost: x\r\n%sContent-Length: 1000\r\n\r\n" % AUTH).encode())
    start = time.time()
    cut = False
    while time.time() - start < timeout_s + 4:
        try:
            s.sendall(b" ")
            time.sleep(0.25)
        except OSError:
            cut = True
            break
    s.close()
    if not cut:
        print("FAIL slowloris: a slow body was not cut off")
        sys.exit(1)
    print("slowloris: %d slow header connections and a slow body cut off in %.1f s" % (n_conns, took))


def main():
    start = time.time()
    n = 0
    while n < N:
        name, build, allowed, json_body = CASES[n % len(CASES)]
        check(name, build(), allowed, json_body)
        n += 1
    slowloris()
    st, body = send(("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").encode())
    if st != 200:
        print("FAIL: /healthz after the hostile requests: %r %r" % (st, body[:200]))
        sys.exit(1)
    print("%d hostile requests in %.1f s, answers: %s; the server still answers" % (
        n, time.time() - start, ", ".join("%s x%d" % (k, v) for k, v in sorted(seen.items(), key=str))))


main()
