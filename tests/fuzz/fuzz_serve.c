/* fuzz_serve.c - the request handling of `embedlab serve` without sockets:
 * route, body checks, JSON parsing and validation, the searches and the
 * answers (src/ui/serve_api.c), on a snapshot of a small database.
 *
 * An input is "METHOD PATH\nBODY" (no newline: the whole input is the body
 * of POST /v1/embeddings).  A request that needs text encoded is encoded at
 * once with the snapshot's encoder (the server batches; the answer is the
 * same).  Every answer must carry a status and, for 4xx/5xx, a JSON error.
 * The database (60 demo items, item2vec, text vectors of the tiny BERT
 * fixture, whose 16-token limit the truncation paths reach, an HNSW index
 * over text) is made once per process in the temp dir; the harness runs from
 * the repository's root, as `make fuzz` and the replay test run it. */
#include "cmd.h"
#include "fuzz_util.h"
#include "lab.h"
#include "serve_api.h"
#include "snap.h"

static snap *setup(void)
{
    static const char *const cmds[] = {
        "gen demo --items 60 --sessions 80", "train item2vec dim=8 epochs=2 threads=1 seed=3",
        "encode text model=tests/fixtures/tiny-bert", "index build text hnsw"};
    char path[512];
    lab *L;
    snap *s;
    err e;

    snprintf(path, sizeof path, "%s/serve.db", fuzz_dir());
    if (!(L = lab_open(path, &e)))
        abort();
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        table_list out;
        table_list_init(&out);
        if (cmd_exec(L, cmds[i], &out, &e) < 0) {
            fprintf(stderr, "fuzz_serve: setup `%s`: %s\n", cmds[i], e.msg);
            abort();
        }
        table_list_done(&out);
    }
    lab_close(L);
    snap_opts o = snap_opts_default();
    o.threads = 1;
    if (!(s = snap_open(path, NULL, &o, &e))) {
        fprintf(stderr, "fuzz_serve: snapshot: %s\n", e.msg);
        abort();
    }
    return s;
}

static void check(const sv_resp *r)
{
    if (r->status < 200 || r->status > 599 || !r->body || r->len != strlen(r->body))
        abort();
    if (r->status >= 400 && !strstr(r->body, "{\"error\":{\"message\":"))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static snap *s;
    sv_limits lim = sv_limits_default();
    char method[16] = "POST", url[512] = "/v1/embeddings";
    const uint8_t *body = data, *nl = memchr(data, '\n', size < 600 ? size : 600);
    size_t len = size;
    sv_resp r = {0};
    sv_req *q = NULL;
    int ep;

    if (!s)
        s = setup();
    if (size > 65536)
        return 0;
    lim.max_body = 65536;
    lim.max_inputs = 64;
    if (nl) {
        const uint8_t *sp = memchr(data, ' ', (size_t)(nl - data));
        if (!sp || (size_t)(sp - data) >= sizeof method || (size_t)(nl - sp - 1) >= sizeof url)
            return 0;
        memcpy(method, data, (size_t)(sp - data));
        method[sp - data] = '\0';
        memcpy(url, sp + 1, (size_t)(nl - sp - 1));
        url[nl - sp - 1] = '\0';
        if (strlen(method) != (size_t)(sp - data) || strlen(url) != (size_t)(nl - sp - 1))
            return 0;   /* a NUL inside: libmicrohttpd would not pass it either */
        body = nl + 1;
        len = size - (size_t)(body - data);
    }
    if (sv_route(method, url, &ep, &r)) {
        check(&r);
        sv_resp_done(&r);
        return 0;
    }
    if (ep == SV_EP_METRICS)   /* answered by serve.c from its counters */
        return 0;
    if (sv_begin(s, &lim, ep, url, (const char *)body, len, &q, &r) == SV_ENCODE) {
        const char *const *texts;
        const size_t *lens;
        size_t n = sv_req_texts(q, &texts, &lens, NULL);
        err e;
        int rc = snap_encode(s, texts, lens, n, sv_req_vecs(q), &e);
        fuzz_note("encode", rc, &e);
        sv_finish(q, rc, rc ? e.msg : NULL, &r);
        sv_req_free(q);
    }
    fuzz_note(url, r.status, NULL);
    check(&r);
    sv_resp_done(&r);
    return 0;
}
