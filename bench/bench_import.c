/* bench_import.c - import throughput into a file database.
 *
 * Generates (seed 42) a 20,000-item catalog CSV and a 2,000,000-event
 * sessions CSV (session_id,item_id,timestamp,user_id; popularity-skewed
 * items) in a temp dir, imports both into a fresh file database and prints
 * items/s and events/s.  Then imports ../shared/data/ml-latest-small (or
 * $EMBEDLAB_ML_SMALL) when present.  Target (issue 2): >= 300,000 events/s.
 *
 * usage: bench_import [N_EVENTS] [DIR]   (DIR defaults to a new /tmp dir;
 *        BENCH_REUSE=1 with DIR reuses files generated there before)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "import.h"
#include "progress.h"
#include "rng.h"

#define N_ITEMS 20000

static int gen(const char *dir, long n_events)
{
    char path[512];
    FILE *f;
    rng r;

    rng_seed(&r, 42, 0);
    snprintf(path, sizeof path, "%s/catalog.csv", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fprintf(f, "id,title,description,category,price\n");
    for (int i = 0; i < N_ITEMS; i++)
        fprintf(f, "i%05d,\"Item %d, model %llu\",A generated item number %d in category %d,"
                   "cat%02d,%.2f\n", i, i, (unsigned long long)rng_below(&r, 1000), i, i % 20,
                i % 20, 1 + rng_uniform(&r) * 100);
    fclose(f);

    snprintf(path, sizeof path, "%s/sessions.csv", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fprintf(f, "session_id,item_id,timestamp,user_id\n");
    long s = 0, t = 1500000000;
    for (long e = 0; e < n_events; s++) {
        long len = 2 + (long)rng_below(&r, 17);   /* 2..18, mean 10 */
        long user = (long)rng_below(&r, 50000);
        for (long k = 0; k < len && e < n_events; k++, e++) {
            /* skew: u^2 concentrates mass on low ids */
            double u = rng_uniform(&r);
            int item = (int)(u * u * N_ITEMS);
            fprintf(f, "s%ld,i%05d,%ld,u%ld\n", s, item, t, user);
            t += 1 + (long)rng_below(&r, 60);
        }
    }
    fclose(f);
    return 0;
}

/* A fresh database every run. */
static void remove_db(const char *db)
{
    char p[600];
    unlink(db);
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_secs;   /* CPU time of the last run(): the machine is shared, wall time is noisy */

static int run(store *s, const char *what, const char *path, double *secs, import_report *r)
{
    err e = { 0 };
    double t0 = progress_now(), c0 = cpu_now();
    int rc;

    if (!strcmp(what, "catalog"))
        rc = import_catalog(s, path, NULL, NULL, r, &e);
    else if (!strcmp(what, "sessions"))
        rc = import_sessions(s, path, NULL, NULL, r, &e);
    else
        rc = import_movielens(s, path, NULL, NULL, r, &e);
    *secs = progress_now() - t0;
    cpu_secs = cpu_now() - c0;
    if (rc)
        fprintf(stderr, "import %s: %s\n", what, e.msg);
    return rc;
}

int main(int argc, char **argv)
{
    long n_events = argc > 1 ? atol(argv[1]) : 2000000;
    char dir[256], db[512], cmd[600], path[512];
    const char *ml = getenv("EMBEDLAB_ML_SMALL");
    import_report r = { 0 };
    struct stat st;
    store *s;
    err e;
    double t;
    int own_dir = argc <= 2;

    if (own_dir) {
        strcpy(dir, "/tmp/bench-import-XXXXXX");
        if (!mkdtemp(dir))
            return 1;
    } else {
        snprintf(dir, sizeof dir, "%s", argv[2]);
    }
    double t0 = progress_now();
    snprintf(path, sizeof path, "%s/sessions.csv", dir);
    if (!own_dir && getenv("BENCH_REUSE") && stat(path, &st) == 0) {
        printf("reusing the files in %s\n", dir);   /* to profile the import alone */
    } else if (gen(dir, n_events)) {
        fprintf(stderr, "cannot write to %s\n", dir);
        return 1;
    } else {
        printf("generated %d items, %ld events in %.1f s (%s)\n", N_ITEMS, n_events,
               progress_now() - t0, dir);
    }

    snprintf(db, sizeof db, "%s/bench.db", dir);
    remove_db(db);
    if (!(s = store_open(db, &e))) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    snprintf(path, sizeof path, "%s/catalog.csv", dir);
    if (run(s, "catalog", path, &t, &r))
        return 1;
    printf("catalog   %8lld items    %6.2f s  %10.0f items/s   (CPU %.2f s, %.0f items/s)\n",
           (long long)r.items, t, r.items / t, cpu_secs, r.items / cpu_secs);
    import_report_done(&r);
    snprintf(path, sizeof path, "%s/sessions.csv", dir);
    if (run(s, "sessions", path, &t, &r))
        return 1;
    printf("sessions  %8lld events   %6.2f s  %10.0f events/s  (CPU %.2f s, %.0f events/s)\n",
           (long long)r.events, t, r.events / t, cpu_secs, r.events / cpu_secs);
    import_report_done(&r);
    store_close(s);

    if (!ml)
        ml = "/work/shared/data/ml-latest-small";
    snprintf(path, sizeof path, "%s/movies.csv", ml);
    if (stat(path, &st) == 0) {
        snprintf(db, sizeof db, "%s/ml.db", dir);
        remove_db(db);
        if (!(s = store_open(db, &e))) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        if (run(s, "movielens", ml, &t, &r))
            return 1;
        printf("movielens %8lld items, %lld events  %6.2f s  %10.0f events/s  (CPU %.2f s)\n",
               (long long)r.items, (long long)r.events, t, r.events / t, cpu_secs);
        import_report_done(&r);
        store_close(s);
    } else {
        printf("movielens skipped: %s not found\n", ml);
    }
    if (own_dir) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}
