/* bench_index_io.c - the index's id bookkeeping: building a flat index,
 * saving it, loading it back (which rebuilds the id -> row map), removing and
 * re-adding ids.  Small vectors (dim 8 by default) so the id map, not the
 * vector copy, is what the figures measure.  Best CPU time of 5 runs per
 * step, one thread.
 *
 *   bench_index_io [N [DIM]]      (default 1,000,000 rows of dim 8; seed 42)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index.h"
#include "mem.h"
#include "rng.h"

#define REPS 5

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what, const err *e)
{
    fprintf(stderr, "bench_index_io: %s: %s\n", what, e->msg);
    exit(1);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000, n_rm = n / 10;
    size_t dim = argc > 2 ? strtoul(argv[2], NULL, 10) : 8;
    double best[5] = {1e30, 1e30, 1e30, 1e30, 1e30};
    static const char *const step[5] = {"build", "save", "load", "remove", "add back"};
    float *data;
    int64_t *ids;
    index_opts o = index_opts_default();
    err e;
    rng r;

    data = malloc(n * dim * sizeof *data);
    ids = malloc(n * sizeof *ids);

    if (!data || !ids || n == 0 || dim == 0) {
        fprintf(stderr, "usage: bench_index_io [N >= 1 [DIM >= 1]]\n");
        return 1;
    }
    rng_seed(&r, 42, 0);
    for (size_t i = 0; i < n * dim; i++)
        data[i] = (float)rng_uniform(&r) - 0.5f;
    for (size_t i = 0; i < n; i++)   /* sparse, shuffled ids as a catalog's rowids look */
        ids[i] = (int64_t)(i * 7919 % (n * 3)) + 1;
    o.kind = INDEX_FLAT;
    for (int rep = 0; rep < REPS; rep++) {
        vindex *ix = NULL, *back = NULL;
        void *blob = NULL;
        size_t len = 0;
        double t[6];

        t[0] = cpu_now();
        if (index_build(data, ids, n, dim, &o, NULL, &ix, &e) < 0)
            die("build", &e);
        t[1] = cpu_now();
        if (index_save(ix, &blob, &len, &e) < 0)
            die("save", &e);
        t[2] = cpu_now();
        if (index_load(blob, len, &back, &e) < 0)
            die("load", &e);
        t[3] = cpu_now();
        for (size_t i = 0; i < n_rm; i++)
            if (index_remove(back, ids[i * 10], &e) < 0)
                die("remove", &e);
        t[4] = cpu_now();
        for (size_t i = 0; i < n_rm; i++)
            if (index_add(back, data + i * 10 * dim, &ids[i * 10], 1, dim, &e) < 0)
                die("add", &e);
        t[5] = cpu_now();
        for (int s = 0; s < 5; s++)
            if (t[s + 1] - t[s] < best[s])
                best[s] = t[s + 1] - t[s];
        mem_free(blob);
        index_free(ix);
        index_free(back);
    }
    printf("# n %zu  dim %zu  best CPU of %d runs\n", n, dim, REPS);
    printf("%-10s %10s %12s\n", "step", "ms", "ns/id");
    for (int s = 0; s < 5; s++) {
        size_t k = s >= 3 ? n_rm : n;
        printf("%-10s %10.1f %12.1f\n", step[s], best[s] * 1e3, best[s] * 1e9 / (double)k);
    }
    free(data);
    free(ids);
    return 0;
}
