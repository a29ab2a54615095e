/* progress.h - progress reporting and cancellation for long jobs.
 *
 * A job (import, train, encode, index build, eval) receives a `progress *`
 * (may be NULL) and calls progress_update() every few thousand units of work.
 * The call is cheap; it returns nonzero once cancellation was requested, and
 * the job then unwinds, keeping the previous state, and returns -ERR_CANCEL.
 * progress_cancel() is async-signal-safe (a lock-free atomic store), so a
 * SIGINT handler may call it.  Counters are atomics: a UI thread may read
 * them with progress_snapshot() while a worker runs.
 */
#ifndef EMBEDLAB_PROGRESS_H
#define EMBEDLAB_PROGRESS_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct progress progress;

/* Called from the job's thread at most every `min_interval_ms` (see below). */
typedef void (*progress_fn)(const progress *p, void *ud);

struct progress {
    atomic_int cancel;        /* set by progress_cancel */
    atomic_int active;        /* 1 while a job runs */
    atomic_uint_fast64_t done;
    atomic_uint_fast64_t total;
    _Atomic double metric;    /* job-specific: loss, recall, ... */
    atomic_flag text_lock;    /* guards stage/unit/metric_name/t_start: a UI
                                 thread snapshots them while the job writes */
    char stage[64];           /* "train item2vec", written by progress_begin */
    char unit[16];            /* "tokens", "items", "rows" */
    char metric_name[16];     /* "loss" or "" */
    double t_start;           /* monotonic seconds */
    double t_last_cb;
    progress_fn fn;           /* optional callback */
    void *ud;
    int min_interval_ms;      /* default 100 */
};

void progress_init(progress *p, progress_fn fn, void *ud);
void progress_begin(progress *p, const char *stage, const char *unit, uint64_t total);
/* Returns 1 if the job must stop (cancel requested), else 0.  p may be NULL. */
int progress_update(progress *p, uint64_t done);
/* A new estimate of the total, for a job that learns its size as it goes
 * (an import reading a file of unknown row count).  p may be NULL. */
void progress_set_total(progress *p, uint64_t total);
void progress_set_metric(progress *p, const char *name, double v);
void progress_end(progress *p);
void progress_cancel(progress *p);
int progress_cancelled(const progress *p);   /* p may be NULL */
void progress_reset_cancel(progress *p);

typedef struct progress_view {
    char stage[64], unit[16], metric_name[16];
    uint64_t done, total;
    double metric, elapsed_s, rate, eta_s;  /* eta < 0 when unknown */
    int active;
} progress_view;
void progress_snapshot(const progress *p, progress_view *out);

double progress_now(void);   /* monotonic clock, seconds */

#endif
