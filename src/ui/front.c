/* front.c - running commands for the line front ends: render tables, print
 * errors, show progress on stderr, route Ctrl-C to the running job. */
#include "front.h"

#include "esc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static front *g_front;            /* for the signal handler only */
static volatile sig_atomic_t idle_sigint;

int front_width(void)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* The rendering of one command's result, table by table: front_run gives
 * the tables at the end, a streaming command (table_list_flush) earlier. */
typedef struct render {
    front *f;
    const char *line;      /* JSON: the command, for the envelope */
    int opened;            /* JSON: the envelope and "tables":[ written */
    size_t n;              /* tables written */
} render;

/* The command as typed (no blanks around it: a line read from a file ends
 * in "\n"), *len bytes; NULL for a blank or comment line. */
static const char *json_command(const char *line, size_t *len)
{
    const char *p = line;
    size_t n;

    while (*p == ' ' || *p == '\t')
        p++;
    for (n = strlen(p); n && strchr(" \t\r\n", p[n - 1]); n--)
        ;
    *len = n;
    return n && *p != '#' ? p : NULL;
}

static void json_open(render *r)
{
    size_t n;
    const char *p = json_command(r->line, &n);
    char *cmd = p ? strndup(p, n) : NULL;

    fputs("{\"command\":\"", stdout);
    esc_json(stdout, cmd ? cmd : "");
    fputc('"', stdout);
    free(cmd);
    r->opened = 1;
}

static void json_status(int rc, const err *e)
{
    fprintf(stdout, ",\"ok\":%s", rc < 0 ? "false" : "true");
    if (rc < 0) {
        fprintf(stdout, ",\"code\":\"%s\",\"error\":\"", err_name(rc));
        esc_json(stdout, e->msg);
        fputc('"', stdout);
    }
}

static int render_table(void *ctx, const table *t)
{
    render *r = ctx;

    if (r->f->out_fmt == OUT_JSON) {
        if (!r->opened) {
            json_open(r);
            fputs(",\"tables\":[", stdout);
        }
        if (r->n)
            fputc(',', stdout);
        table_render_json(t, stdout);
    } else if (r->f->out_fmt == OUT_CSV) {
        table_render_csv(t, stdout);
    } else {
        table_render_text_width(t, stdout, front_width());
    }
    r->n++;
    return ferror(stdout) ? -ERR_IO : 0;
}

int front_run(front *f, const char *line)
{
    table_list out;
    render r = {.f = f, .line = line};
    size_t n;
    err e;
    int rc;

    table_list_init(&out);
    out.emit = render_table;
    out.emit_ctx = &r;
    rc = cmd_exec(f->L, line, &out, &e);
    if (f->out_fmt == OUT_JSON && rc != CMD_QUIT) {
        if (r.opened || json_command(line, &n)) {
            /* the usual envelope puts "ok" first; a command that streamed
             * its tables gets it after them (it was not known before) */
            int streamed = r.opened;
            if (!streamed) {
                json_open(&r);
                json_status(rc, &e);
                fputs(",\"tables\":[", stdout);
            }
            for (size_t i = 0; i < out.n; i++)
                render_table(&r, out.t[i]);
            fputc(']', stdout);
            if (streamed)
                json_status(rc, &e);
            fputs("}\n", stdout);
        }
    } else {
        for (size_t i = 0; i < out.n; i++)
            render_table(&r, out.t[i]);
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

int front_read_token(void *ud, const char *token_file, char *out, size_t cap, err *e)
{
    (void)ud;
    out[0] = '\0';
    if (!token_file || !*token_file) {
        const char *env = getenv("MILVUS_TOKEN");
        if (!env)
            return 0;
        if (strlen(env) >= cap)
            return err_set(e, ERR_RANGE, "$MILVUS_TOKEN is longer than %zu bytes", cap - 1);
        memcpy(out, env, strlen(env) + 1);
        return 0;
    }
    int fd = open(token_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, ERR_IO, "token_file %s: %s", token_file, strerror(errno));
    size_t n = 0;
    ssize_t got;
    while (n < cap && (got = read(fd, out + n, cap - n)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int err_no = errno;
            close(fd);
            memset(out, 0, cap);
            return err_set(e, ERR_IO, "token_file %s: %s", token_file, strerror(err_no));
        }
        n += (size_t)got;
    }
    close(fd);
    /* the first line is the token; trailing blanks and the newline are not */
    size_t len = 0;
    while (len < n && out[len] != '\n' && out[len] != '\r')
        len++;
    if (len == n && n == cap) {
        memset(out, 0, cap);
        return err_set(e, ERR_RANGE, "token_file %s: the token is longer than %zu bytes",
                       token_file, cap - 1);
    }
    while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '\t'))
        len--;
    memset(out + len, 0, cap - len);
    if (len == 0)
        return err_set(e, ERR_USAGE, "token_file %s: no token on its first line", token_file);
    return 0;
}
