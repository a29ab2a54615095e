/* bench_index.c - build time, memory, single-thread queries/s and recall@10
 * of the index kinds on a generated set, and the .fvecs/.ivecs files that
 * bench/compare_index.py feeds to FAISS and hnswlib.
 *
 * Data (issue 4): n vectors of dim d from a mixture of 1,000 Gaussian
 * clusters (centres ~ N(0,1) per dimension, points = centre + N(0,1) noise),
 * L2-normalised; nq queries from the same mixture; seed 42.  Ground truth is
 * the exact top-10 by inner product (flat, sgemm batch).  --noise S scales
 * the noise (S times the centres' spread) and --zipf A draws cluster sizes
 * from a power law (the i-th cluster's share proportional to i^-A): the
 * harder set of bench/compare_hnsw.py is --noise 1.5 --zipf 1 (tuned so that
 * hnswlib's recall@10 at ef=32 is below 0.95; see RESULTS-speed.md).
 *
 * Output: a header of "# key value" lines, then one tab-separated row per
 * measurement: row, build_s, mem_mb, qps, recall, p50_us, p99_us, rss_mb,
 * build_cpu_s.  sq8 rows re-rank with the base vectors as the caller's
 * source (mem_mb is the index: codes, ids, id map, lists; not that
 * source), except "flat sq8 norerank", which returns the sq8 scores.
 * rss_mb is the process's peak resident set since just before that index
 * was built (Linux VmHWM, reset through /proc/self/clear_refs), so it
 * includes the benchmark's own copy of the base vectors.  The same rows go to
 * DIR/ours.tsv.  Everything runs on one thread (OpenBLAS too), except the
 * HNSW build with --threads T.
 *
 *   bench_index [--dir DIR] [--n N] [--nq Q] [--dim D] [--only flat,sq8,ivf,hnsw]
 *               [--hnsw-m M] [--efc E] [--threads T] [--nlist L]
 *               [--nprobe 16,32,64] [--ef 16,32,64,128,256] [--flat-nq Q] [--no-files]
 *   bench_index --dir DIR --query-only hnsw    (re-query DIR/hnsw.idx, saved by a run)
 *
 * --flat-nq times single-query flat search on the first Q queries only (a
 * 1M-row scan takes ~0.1 s); --no-files skips the .fvecs/.ivecs/.idx files
 * (1.5 GB at 1M rows), which only compare_index.py needs.  HNSW builds of
 * more than 100,000 rows print "# hnsw_build done/total wall_s cpu_s" lines
 * every minute, so a build stopped early still tells its rate.  build_cpu_s
 * (user + system time of all threads) says how much of a build's wall time
 * was work rather than waiting for a core on a shared machine.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "err.h"
#include "index.h"
#include "mem.h"
#include "progress.h"
#include "rng.h"
#include "vec.h"

#define K 10
#define NCLUSTERS 1000
#define MAX_SWEEP 16

static FILE *g_tsv;
static volatile float g_sink;

/* User + system CPU seconds of the whole process (all threads). */
static double cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static double g_build_cpu;   /* CPU seconds of the last build_timed */

/* Peak resident set (VmHWM) in MB, 0 when /proc is not there. */
static double peak_rss_mb(void)
{
    char line[256];
    double kb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtod(line + 6, NULL);
    fclose(f);
    return kb / 1024;
}

/* Starts a new VmHWM window (Linux >= 4.0: writing 5 to clear_refs). */
static void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static void row(const char *name, double build_s, size_t mem, double qps, double recall,
                double p50, double p99)
{
    char line[256];
    snprintf(line, sizeof line, "%s\t%.2f\t%.1f\t%.1f\t%.4f\t%.1f\t%.1f\t%.0f\t%.2f\n", name,
             build_s, (double)mem / (1 << 20), qps, recall, p50, p99, peak_rss_mb(),
             build_s > 0 ? g_build_cpu : 0.0);
    fputs(line, stdout);
    fflush(stdout);
    if (g_tsv) {
        fputs(line, g_tsv);
        fflush(g_tsv);
    }
}

static void die(const char *what, const err *e)
{
    fprintf(stderr, "bench_index: %s: %s\n", what, e->msg);
    exit(1);
}

/* The data set's shape (--noise, --zipf): noise standard deviation
 * relative to the centres' (1: the issue-4 set), and the exponent of the
 * cluster sizes (0: equal; 1: the i-th largest cluster holds a share
 * proportional to 1/i, a long tail with a few clusters of thousands). */
static double g_noise = 1.0, g_zipf = 0.0;
static double g_cdf[NCLUSTERS];

static void gen_init(void)
{
    double sum = 0;
    for (int c = 0; c < NCLUSTERS; c++)
        sum += g_cdf[c] = 1.0 / pow(c + 1.0, g_zipf);
    for (int c = 0; c < NCLUSTERS; c++)
        g_cdf[c] = (c ? g_cdf[c - 1] : 0) + g_cdf[c] / sum;
    g_cdf[NCLUSTERS - 1] = 1.0;
}

static size_t pick_cluster(rng *r)
{
    double u = rng_uniform(r);
    size_t lo = 0, hi = NCLUSTERS - 1;
    if (g_zipf == 0)
        return (size_t)rng_below(r, NCLUSTERS);
    while (lo < hi) {   /* the first cluster whose cumulative share exceeds u */
        size_t mid = (lo + hi) / 2;
        if (g_cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void gen(float *x, size_t n, size_t d, const float *cent, rng *r)
{
    for (size_t i = 0; i < n; i++) {
        size_t c = pick_cluster(r);
        float *v = x + i * d;
        for (size_t j = 0; j < d; j++)
            v[j] = cent[c * d + j] + (float)(g_noise * rng_normal(r));
        vec_normalize(v, d);
    }
}

/* Best of 5 streaming reads over the base vectors: the memory bandwidth one
 * core gets right now, and so the single-query flat limit (n*d*4 bytes per
 * query).  Sixteen independent lanes let the compiler vectorise the sum. */
static double stream_gbs(const float *x, size_t nf)
{
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        float acc[16] = {0};
        double t0 = progress_now(), t;
        for (size_t i = 0; i + 16 <= nf; i += 16)
            for (int j = 0; j < 16; j++)
                acc[j] += x[i + j];
        t = progress_now() - t0;
        for (int j = 1; j < 16; j++)
            acc[0] += acc[j];
        g_sink = acc[0];   /* a volatile store keeps the loop alive */
        if ((double)nf * 4 / t / 1e9 > best)
            best = (double)nf * 4 / t / 1e9;
    }
    return best;
}

static int want(const char *only, const char *what)
{
    return !only || strstr(only, what) != NULL;
}

/* Parses "16,32,64" into v (at most MAX_SWEEP values >= 1); returns the count. */
static size_t parse_list(const char *s, int *v)
{
    size_t n = 0;
    while (*s && n < MAX_SWEEP) {
        char *end;
        long x = strtol(s, &end, 10);
        if (end == s || x < 1 || x > 1 << 20 || (*end && *end != ',')) {
            fprintf(stderr, "bench_index: bad list '%s'\n", s);
            exit(2);
        }
        v[n++] = (int)x;
        s = *end ? end + 1 : end;
    }
    return n;
}

static void build_progress(const progress *p, void *ud)
{
    progress_view v;
    const double *cpu0 = ud;
    progress_snapshot(p, &v);
    if (v.total && v.done < v.total)
        printf("# hnsw_build %llu/%llu %.0f %.0f\n", (unsigned long long)v.done,
               (unsigned long long)v.total, v.elapsed_s, cpu_s() - *cpu0);
    fflush(stdout);
}

static vindex *build_timed(const float *x, const int64_t *ids, size_t n, size_t d,
                           const index_opts *o, double *secs)
{
    vindex *ix = NULL;
    err e = {0};
    progress pr, *pp = NULL;
    double t0, c0 = cpu_s();
    if (o->kind == INDEX_HNSW && n > 100000) {
        progress_init(&pr, build_progress, &c0);
        pr.min_interval_ms = 60000;
        pp = &pr;
    }
    reset_peak_rss();
    t0 = progress_now();
    if (index_build(x, ids, n, d, o, pp, &ix, &e) < 0)
        die("build", &e);
    *secs = progress_now() - t0;
    g_build_cpu = cpu_s() - c0;
    return ix;
}

static void eval_row(const char *name, vindex *ix, const float *q, size_t nq, size_t d,
                     const int64_t *truth, double build_s)
{
    index_eval_result r;
    index_stats s;
    err e = {0};
    if (index_eval(ix, q, nq, d, K, truth, K, &r, &e) < 0)
        die("eval", &e);
    index_info(ix, &s);
    row(name, build_s, s.memory_bytes, r.qps, r.recall, r.p50_us, r.p99_us);
}

/* --query-only hnsw: loads DIR/hnsw.idx, DIR/query.fvecs and DIR/gt.ivecs
 * and prints the rows of the --ef sweep (build_s 0), nothing else. */
static int query_saved(const char *dir, const char *what, const int *efs, size_t n_efs)
{
    char path[1024];
    float *q;
    int64_t *truth;
    size_t nq, d, nt, kt;
    unsigned char *blob;
    long len;
    FILE *f;
    vindex *ix = NULL;
    err e = {0};
    if (strcmp(what, "hnsw") != 0) {
        fprintf(stderr, "bench_index: --query-only supports hnsw\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/query.fvecs", dir);
    if (index_fvecs_read(path, &q, &nq, &d, &e) < 0)
        die("read", &e);
    snprintf(path, sizeof path, "%s/gt.ivecs", dir);
    if (index_ivecs_read(path, &truth, &nt, &kt, &e) < 0)
        die("read", &e);
    if (nt != nq || kt < K) {
        fprintf(stderr, "bench_index: %s does not match the queries\n", path);
        return 1;
    }
    snprintf(path, sizeof path, "%s/hnsw.idx", dir);
    f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "bench_index: cannot read %s\n", path);
        return 1;
    }
    blob = mem_alloc((size_t)len);
    if (!blob || fread(blob, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "bench_index: cannot read %s\n", path);
        return 1;
    }
    fclose(f);
    if (index_load(blob, (size_t)len, &ix, &e) < 0)
        die("load", &e);
    mem_free(blob);
    for (size_t i = 0; i < n_efs; i++) {
        char name[64];
        if (index_set_param(ix, "ef", efs[i], &e) < 0)
            die("set", &e);
        snprintf(name, sizeof name, "hnsw ef=%d", efs[i]);
        eval_row(name, ix, q, nq, d, truth, 0);
    }
    index_free(ix);
    mem_free(q);
    mem_free(truth);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = "build/bench-data", *only = NULL, *query_only = NULL;
    size_t n = 100000, nq = 1000, d = 384, flat_nq = 0;
    int hm = 32, efc = 200, threads = 1, nlist = 1024, files = 1;
    int probes[MAX_SWEEP] = {16, 32, 64}, efs[MAX_SWEEP] = {16, 32, 64, 128, 256};
    size_t n_probes = 3, n_efs = 5;
    float *cent, *x, *q;
    int64_t *ids, *truth;
    int *cnt;
    float *tsc;
    rng r;
    err e = {0};
    char path[1024];
    vindex *flat;
    double t0, bs;

    for (int i = 1; i < argc; i += 2) {
        if (strcmp(argv[i], "--no-files") == 0) {
            files = 0;
            i--;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bench_index: %s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
        else if (strcmp(argv[i], "--query-only") == 0) query_only = argv[i + 1];
        else if (strcmp(argv[i], "--n") == 0) n = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--nq") == 0) nq = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--dim") == 0) d = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--only") == 0) only = argv[i + 1];
        else if (strcmp(argv[i], "--hnsw-m") == 0) hm = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--efc") == 0) efc = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--nlist") == 0) nlist = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--nprobe") == 0) n_probes = parse_list(argv[i + 1], probes);
        else if (strcmp(argv[i], "--ef") == 0) n_efs = parse_list(argv[i + 1], efs);
        else if (strcmp(argv[i], "--flat-nq") == 0) flat_nq = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--noise") == 0) g_noise = strtod(argv[i + 1], NULL);
        else if (strcmp(argv[i], "--zipf") == 0) g_zipf = strtod(argv[i + 1], NULL);
        else {
            fprintf(stderr, "usage: bench_index [--dir DIR] [--n N] [--nq Q] [--dim D] "
                            "[--only flat,sq8,ivf,hnsw] [--hnsw-m M] [--efc E] [--threads T] "
                            "[--nlist L] [--nprobe 16,32,64] [--ef 16,32,64,128,256] "
                            "[--flat-nq Q] [--noise S] [--zipf A] [--no-files]\n");
            return 2;
        }
    }
    if (n < NCLUSTERS || nq == 0 || d == 0 || threads < 1 || nlist < 1 || !(g_noise > 0) ||
        !(g_zipf >= 0)) {
        fprintf(stderr, "bench_index: need n >= %d, nq > 0, dim > 0, threads >= 1, nlist >= 1, "
                        "noise > 0, zipf >= 0\n", NCLUSTERS);
        return 2;
    }
    if (flat_nq == 0 || flat_nq > nq)
        flat_nq = nq;
    vec_blas_threads(1);
    if (query_only)
        return query_saved(dir, query_only, efs, n_efs);
    if (files) {
        mkdir(dir, 0755);
        snprintf(path, sizeof path, "%s/ours.tsv", dir);
        g_tsv = fopen(path, "w");
    }

    cent = mem_array((size_t)NCLUSTERS * d, sizeof(float));
    x = mem_aligned(64, n * d * sizeof(float));
    q = mem_aligned(64, nq * d * sizeof(float));
    ids = mem_array(n, sizeof *ids);
    truth = mem_array(nq * K, sizeof *truth);
    tsc = mem_array(nq * K, sizeof *tsc);
    cnt = mem_array(nq, sizeof *cnt);
    if (!cent || !x || !q || !ids || !truth || !tsc || !cnt) {
        fprintf(stderr, "bench_index: out of memory\n");
        return 1;
    }
    gen_init();
    rng_seed(&r, 42, 0);
    for (size_t i = 0; i < (size_t)NCLUSTERS * d; i++)
        cent[i] = (float)rng_normal(&r);
    gen(x, n, d, cent, &r);
    gen(q, nq, d, cent, &r);
    for (size_t i = 0; i < n; i++)
        ids[i] = (int64_t)i;   /* .ivecs truth holds row numbers, as in SIFT1M */

    printf("# n %zu\n# nq %zu\n# dim %zu\n# clusters %d\n# noise %g\n# zipf %g\n# seed 42\n"
           "# blas_core %s\n# hnsw_build_threads %d\n# nlist %d\n# flat_single_nq %zu\n"
           "# data_rss_mb %.0f\n", n, nq, d, NCLUSTERS, g_noise, g_zipf, vec_blas_core(), threads,
           nlist, flat_nq, peak_rss_mb());
    {
        double gbs = stream_gbs(x, n * d);
        printf("# stream_read_gbs %.2f\n# flat_limit_qps %.1f\n", gbs,
               gbs * 1e9 / ((double)n * d * sizeof(float)));
    }
    printf("# row\tbuild_s\tmem_mb\tqps\trecall\tp50_us\tp99_us\trss_mb\tbuild_cpu_s\n");

    /* flat: ground truth from the sgemm batch, then single-query speed */
    {
        index_opts o = index_opts_default();
        o.kind = INDEX_FLAT;
        o.metric = INDEX_IP;
        flat = build_timed(x, ids, n, d, &o, &bs);
        t0 = progress_now();
        if (index_search_batch(flat, q, nq, d, K, NULL, truth, tsc, cnt, &e) < 0)
            die("batch", &e);
        {
            double secs = progress_now() - t0;
            index_stats s;
            index_info(flat, &s);
            row("flat batch", bs, s.memory_bytes, (double)nq / secs, 1.0, 0, 0);
        }
        if (files) {
            snprintf(path, sizeof path, "%s/base.fvecs", dir);
            if (index_fvecs_write(path, x, n, d, &e) < 0)
                die("write", &e);
            snprintf(path, sizeof path, "%s/query.fvecs", dir);
            if (index_fvecs_write(path, q, nq, d, &e) < 0)
                die("write", &e);
            snprintf(path, sizeof path, "%s/gt.ivecs", dir);
            if (index_ivecs_write(path, truth, nq, K, &e) < 0)
                die("write", &e);
        }
        if (want(only, "flat"))
            eval_row("flat single", flat, q, flat_nq, d, truth, bs);
        index_free(flat);
    }
    if (want(only, "sq8")) {
        index_opts o = index_opts_default();
        vindex *ix;
        o.kind = INDEX_FLAT;
        o.metric = INDEX_IP;
        o.quant = INDEX_QUANT_SQ8;
        ix = build_timed(x, ids, n, d, &o, &bs);
        /* sq8 scores alone (what FAISS SQ8 returns), then with the exact
         * re-rank reading x, which the index borrows and does not count */
        eval_row("flat sq8 norerank", ix, q, nq, d, truth, bs);
        if (index_set_rerank_source(ix, x, ids, n, d, 0, &e) < 0)
            die("rerank source", &e);
        eval_row("flat sq8 single", ix, q, nq, d, truth, bs);
        index_free(ix);
    }
    if (want(only, "ivf")) {
        for (int quant = 0; quant <= 1; quant++) {
            index_opts o = index_opts_default();
            vindex *ix;
            o.kind = INDEX_IVF;
            o.metric = INDEX_IP;
            o.nlist = nlist;
            o.quant = quant ? INDEX_QUANT_SQ8 : INDEX_QUANT_NONE;
            if (quant && !want(only, "sq8"))
                continue;
            ix = build_timed(x, ids, n, d, &o, &bs);
            if (quant && index_set_rerank_source(ix, x, ids, n, d, 0, &e) < 0)
                die("rerank source", &e);
            for (size_t i = 0; i < n_probes; i++) {
                char name[64];
                if (index_set_param(ix, "nprobe", probes[i], &e) < 0)
                    die("set", &e);
                snprintf(name, sizeof name, "ivf%s nprobe=%d", quant ? " sq8" : "", probes[i]);
                eval_row(name, ix, q, nq, d, truth, bs);
            }
            index_free(ix);
        }
    }
    if (want(only, "hnsw")) {
        index_opts o = index_opts_default();
        vindex *ix;
        o.kind = INDEX_HNSW;
        o.metric = INDEX_IP;
        o.M = hm;
        o.ef_construction = efc;
        o.threads = threads;
        ix = build_timed(x, ids, n, d, &o, &bs);
        for (size_t i = 0; i < n_efs; i++) {
            char name[64];
            if (index_set_param(ix, "ef", efs[i], &e) < 0)
                die("set", &e);
            snprintf(name, sizeof name, "hnsw ef=%d", efs[i]);
            eval_row(name, ix, q, nq, d, truth, bs);
        }
        /* kept for --query-only, so the compare script can alternate our
         * queries with the peer's on the same graph */
        if (files) {
            void *blob;
            size_t len;
            FILE *f;
            snprintf(path, sizeof path, "%s/hnsw.idx", dir);
            if (index_save(ix, &blob, &len, &e) < 0)
                die("save", &e);
            f = fopen(path, "wb");
            if (!f || fwrite(blob, 1, len, f) != len) {
                fprintf(stderr, "bench_index: cannot write %s\n", path);
                return 1;
            }
            fclose(f);
            mem_free(blob);
        }
        index_free(ix);
    }
    if (g_tsv)
        fclose(g_tsv);
    mem_free(cent);
    mem_free(x);
    mem_free(q);
    mem_free(ids);
    mem_free(truth);
    mem_free(tsc);
    mem_free(cnt);
    return 0;
}
