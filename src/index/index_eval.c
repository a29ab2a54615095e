/* index_eval.c - recall and latency of an index against exact neighbours
 * (index_eval, see index.h): the `index eval` command and the benchmarks. */
#include "index_int.h"

#include <string.h>

#include "mem.h"
#include "progress.h"
#include "stats.h"

int index_eval(vindex *ix, const float *queries, size_t nq, size_t dim, int k,
               const int64_t *truth, size_t truth_k, index_eval_result *out, err *e)
{
    double *lat = NULL, t_all, sum = 0;
    int64_t *ids = NULL;
    float *sc = NULL;
    size_t hits = 0, denom = 0;
    int rc = 0;

    if (!ix || !out || !queries || !truth)
        return err_set(e, ERR_USAGE, "index_eval: bad arguments");
    memset(out, 0, sizeof *out);
    if (k <= 0)
        return err_set(e, ERR_USAGE, "k must be positive (got %d)", k);
    if (nq == 0)
        return err_set(e, ERR_USAGE, "index_eval: no queries");
    if (truth_k < (size_t)k)
        return err_set(e, ERR_USAGE, "ground truth has %zu neighbours per query, k is %d",
                       truth_k, k);
    if (dim != ix->dim)
        return err_set(e, ERR_RANGE, "queries have dimension %zu but the index has %zu", dim,
                       ix->dim);
    lat = mem_array(nq, sizeof *lat);
    ids = mem_array((size_t)k, sizeof *ids);
    sc = mem_array((size_t)k, sizeof *sc);
    if (!lat || !ids || !sc) {
        rc = err_set(e, ERR_NOMEM, "out of memory for evaluation");
        goto done;
    }
    /* one warm-up query outside the timing: first-touch page faults, and the
     * context sized for k */
    if ((rc = index_search(ix, queries, dim, k, NULL, ids, sc, e)) < 0)
        goto done;
    t_all = progress_now();
    for (size_t i = 0; i < nq; i++) {
        double t0 = progress_now();
        int got = index_search(ix, queries + i * dim, dim, k, NULL, ids, sc, e);
        lat[i] = (progress_now() - t0) * 1e6;
        if (got < 0) {
            rc = got;
            goto done;
        }
        for (int t = 0; t < k; t++) {
            int64_t want = truth[i * truth_k + (size_t)t];
            if (want < 0)
                continue;   /* fewer true neighbours than k */
            denom++;
            for (int j = 0; j < got; j++)
                if (ids[j] == want) {
                    hits++;
                    break;
                }
        }
    }
    out->seconds = progress_now() - t_all;
    for (size_t i = 0; i < nq; i++)
        sum += lat[i];
    stats_sort(lat, nq);
    out->nq = nq;
    out->k = (size_t)k;
    out->recall = denom ? (double)hits / (double)denom : 1.0;
    out->qps = out->seconds > 0 ? (double)nq / out->seconds : 0;
    out->mean_us = sum / (double)nq;
    out->p50_us = stats_percentile_sorted(lat, nq, 0.50);
    out->p95_us = stats_percentile_sorted(lat, nq, 0.95);
    out->p99_us = stats_percentile_sorted(lat, nq, 0.99);
    rc = 0;
done:
    mem_free(lat);
    mem_free(ids);
    mem_free(sc);
    return rc;
}
