/* progress.c - atomic counters + rate-limited callback (see progress.h).
 * The strings and the start time are not atomics; a tiny spin lock
 * (text_lock) keeps a reader on another thread (the TUI) from seeing them
 * half-written.  It is held only for a few short copies, never around the
 * callback, and progress_cancel() does not take it (signal-safe). */
#include "progress.h"

#include <string.h>
#include <time.h>

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void progress_init(progress *p, progress_fn fn, void *ud)
{
    memset(p, 0, sizeof *p);
    atomic_init(&p->cancel, 0);
    atomic_init(&p->active, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->total, 0);
    atomic_init(&p->metric, 0.0);
    atomic_flag_clear(&p->text_lock);
    p->fn = fn;
    p->ud = ud;
    p->min_interval_ms = 100;
}

static void text_lock(progress *p)
{
    while (atomic_flag_test_and_set_explicit(&p->text_lock, memory_order_acquire))
        ;   /* held for a few memcpy's at most */
}

static void text_unlock(progress *p)
{
    atomic_flag_clear_explicit(&p->text_lock, memory_order_release);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

void progress_begin(progress *p, const char *stage, const char *unit, uint64_t total)
{
    if (!p)
        return;
    text_lock(p);
    copy_str(p->stage, sizeof p->stage, stage);
    copy_str(p->unit, sizeof p->unit, unit);
    p->metric_name[0] = '\0';
    p->t_start = progress_now();
    text_unlock(p);
    atomic_store(&p->done, 0);
    atomic_store(&p->total, total);
    atomic_store(&p->metric, 0.0);
    p->t_last_cb = 0;
    atomic_store(&p->active, 1);
    if (p->fn)
        p->fn(p, p->ud);
}

int progress_update(progress *p, uint64_t done)
{
    if (!p)
        return 0;
    atomic_store_explicit(&p->done, done, memory_order_relaxed);
    if (p->fn) {
        double now = progress_now();
        if ((now - p->t_last_cb) * 1000.0 >= p->min_interval_ms) {
            p->t_last_cb = now;
            p->fn(p, p->ud);
        }
    }
    return atomic_load_explicit(&p->cancel, memory_order_relaxed) != 0;
}

void progress_set_total(progress *p, uint64_t total)
{
    if (p)
        atomic_store_explicit(&p->total, total, memory_order_relaxed);
}

void progress_set_metric(progress *p, const char *name, double v)
{
    if (!p)
        return;
    if (name && strcmp(name, p->metric_name) != 0) {   /* only this thread writes it */
        text_lock(p);
        copy_str(p->metric_name, sizeof p->metric_name, name);
        text_unlock(p);
    }
    atomic_store_explicit(&p->metric, v, memory_order_relaxed);
}

void progress_end(progress *p)
{
    if (!p)
        return;
    atomic_store(&p->active, 0);
    if (p->fn)
        p->fn(p, p->ud);
}

void progress_cancel(progress *p)
{
    if (p)
        atomic_store(&p->cancel, 1);
}

int progress_cancelled(const progress *p)
{
    return p && atomic_load(&((progress *)p)->cancel) != 0;
}

void progress_reset_cancel(progress *p)
{
    if (p)
        atomic_store(&p->cancel, 0);
}

void progress_snapshot(const progress *cp, progress_view *v)
{
    progress *p = (progress *)cp;  /* atomics need a non-const object */
    double el;

    memset(v, 0, sizeof *v);
    text_lock(p);
    copy_str(v->stage, sizeof v->stage, p->stage);
    copy_str(v->unit, sizeof v->unit, p->unit);
    copy_str(v->metric_name, sizeof v->metric_name, p->metric_name);
    double t_start = p->t_start;
    text_unlock(p);
    v->done = atomic_load(&p->done);
    v->total = atomic_load(&p->total);
    v->metric = atomic_load(&p->metric);
    v->active = atomic_load(&p->active);
    el = progress_now() - t_start;
    v->elapsed_s = el;
    v->rate = el > 0 ? v->done / el : 0;
    v->eta_s = (v->total && v->rate > 0 && v->done <= v->total)
                   ? (v->total - v->done) / v->rate : -1;
}
