/* front.c - running commands for the line front ends: render tables, print
 * errors, show progress on stderr, route Ctrl-C to the running job. */
#include "front.h"

#include "esc.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static front *g_front;            /* for the signal handler only */
static volatile sig_atomic_t idle_sigint;

int front_run(front *f, const char *line)
{
    table_list out;
    err e;
    int rc;

    table_list_init(&out);
    rc = cmd_exec(f->L, line, &out, &e);
    if (f->out_fmt == OUT_JSON && rc != CMD_QUIT) {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != '#') {
            fputs("{\"command\":\"", stdout);
            esc_json(stdout, p);
            fprintf(stdout, "\",\"ok\":%s", rc < 0 ? "false" : "true");
            if (rc < 0) {
                fprintf(stdout, ",\"code\":\"%s\",\"error\":\"", err_name(rc));
                esc_json(stdout, e.msg);
                fputc('"', stdout);
            }
            fputs(",\"tables\":[", stdout);
            for (size_t i = 0; i < out.n; i++) {
                if (i)
                    fputc(',', stdout);
                table_render_json(out.t[i], stdout);
            }
            fputs("]}\n", stdout);
        }
    } else {
        for (size_t i = 0; i < out.n; i++) {
            if (f->out_fmt == OUT_CSV)
                table_render_csv(out.t[i], stdout);
            else
                table_render_text(out.t[i], stdout);
        }
        if (rc < 0) {
            char clean[ERR_MSG_LEN];
            table_sanitize(clean, sizeof clean, e.msg);
            fflush(stdout);
            fprintf(stderr, "error: %s\n", clean);
        }
    }
    fflush(stdout);
    if (rc < 0)
        f->n_errors++;
    table_list_done(&out);
    return rc;
}

static void on_sigint(int sig)
{
    (void)sig;
    if (g_front && atomic_load(&lab_progress(g_front->L)->active)) {
        progress_cancel(lab_progress(g_front->L));
        return;
    }
    if (g_front && g_front->interactive) {
        idle_sigint = 1;
        return;
    }
    _exit(130);
}

void front_signals(front *f)
{
    struct sigaction sa;

    g_front = f;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

int front_take_idle_sigint(void)
{
    if (!idle_sigint)
        return 0;
    idle_sigint = 0;
    return 1;
}

void front_progress(const progress *p, void *ud)
{
    progress_view v;
    char bar[21];
    (void)ud;

    if (!isatty(STDERR_FILENO))
        return;
    progress_snapshot(p, &v);
    if (!v.active) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        return;
    }
    double frac = v.total ? (double)v.done / (double)v.total : 0;
    if (frac > 1)
        frac = 1;
    int filled = (int)(frac * 20);
    for (int i = 0; i < 20; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[20] = '\0';
    fprintf(stderr, "\r\033[K%s [%s] %3.0f%%  %.0f %s/s", v.stage, bar, frac * 100, v.rate,
            v.unit);
    if (v.metric_name[0])
        fprintf(stderr, "  %s %.4f", v.metric_name, v.metric);
    if (v.eta_s >= 0)
        fprintf(stderr, "  ETA %.0fs", v.eta_s);
    fputs("  (Ctrl-C cancels)", stderr);
    fflush(stderr);
}
