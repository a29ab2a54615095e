/* main.c - argument parsing; picks a front end (TUI, readline REPL, batch).
 *
 * Before anything touches BLAS it checks whether OpenBLAS recognised this CPU
 * (0.3.21 falls back to slow generic kernels on recent Xeons) and, if not,
 * re-executes itself with OPENBLAS_CORETYPE set: OpenBLAS reads the variable
 * only when the library is loaded.
 *
 * The full-screen TUI is the default when stdin and stdout are terminals and
 * no script, -c, --batch, --json or --csv asks for line output; --tui and
 * --no-tui force the choice. */
#include "front.h"
#include "tui.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef EMBEDLAB_VERSION
#define EMBEDLAB_VERSION "0.1.0"
#endif

static void usage(FILE *o)
{
    fputs("usage: embedlab [OPTIONS] [SCRIPT]\n"
          "\n"
          "Compare Item2Vec, LLM text embeddings and hybrid retrieval on a catalog.\n"
          "\n"
          "  --db FILE        database file (default ./embedlab.db; ':memory:' for none)\n"
          "  -c COMMAND       run COMMAND (repeatable), then exit\n"
          "  --batch          read commands from standard input, no prompt\n"
          "  --json           print each result as one JSON object per line\n"
          "  --csv            print result tables as CSV\n"
          "  --strict         stop at the first error (exit status 1)\n"
          "  --no-timing      print latencies as '-' (for reproducible output)\n"
          "  --tui            full-screen interface (default on a terminal)\n"
          "  --no-tui         line REPL even on a terminal\n"
          "  --max-frames N   leave the TUI after N frames (for tests)\n"
          "  -h, --help       this help\n"
          "  -V, --version    version\n"
          "\n"
          "With SCRIPT, commands are read from that file.  Type `help` inside for the\n"
          "command language.  See embedlab(1).\n",
          o);
}

static void fix_blas_core(char **argv)
{
    const char *ct;

    if (getenv("EMBEDLAB_BLAS_REEXEC"))
        return;
    ct = vec_blas_suggest_coretype();
    if (!ct)
        return;
    setenv("OPENBLAS_CORETYPE", ct, 1);
    setenv("EMBEDLAB_BLAS_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the slow kernels */
}

int main(int argc, char **argv)
{
    const char *db = "embedlab.db", *script = NULL;
    const char **cmds = NULL;
    int n_cmds = 0, batch = 0, rc = 0, tui = -1, max_frames = 0, bench_similar = 0;
    front f = {0};
    err e;

    fix_blas_core(argv);
    setlocale(LC_ALL, "");
    cmds = calloc((size_t)argc + 1, sizeof *cmds);
    if (!cmds)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strncmp(a, "--db=", 5) == 0)
            db = a + 5;
        else if (strcmp(a, "-c") == 0 && i + 1 < argc)
            cmds[n_cmds++] = argv[++i];
        else if (strcmp(a, "--batch") == 0)
            batch = 1;
        else if (strcmp(a, "--tui") == 0)
            tui = 1;
        else if (strcmp(a, "--no-tui") == 0)
            tui = 0;
        else if (strcmp(a, "--max-frames") == 0 && i + 1 < argc)
            max_frames = atoi(argv[++i]);
        else if (strcmp(a, "--bench-similar") == 0 && i + 1 < argc)   /* hidden: bench */
            bench_similar = atoi(argv[++i]);
        else if (strcmp(a, "--json") == 0)
            f.out_fmt = OUT_JSON;
        else if (strcmp(a, "--csv") == 0)
            f.out_fmt = OUT_CSV;
        else if (strcmp(a, "--strict") == 0)
            f.strict = 1;
        else if (strcmp(a, "--no-timing") == 0)
            ;  /* applied after the lab opens */
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            free(cmds);
            return 0;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("embedlab %s (OpenBLAS core %s)\n", EMBEDLAB_VERSION, vec_blas_core());
            free(cmds);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "embedlab: unknown option '%s'\n", a);
            usage(stderr);
            free(cmds);
            return 2;
        } else if (!script)
            script = a;
        else {
            fprintf(stderr, "embedlab: only one SCRIPT may be given\n");
            free(cmds);
            return 2;
        }
    }

    f.L = lab_open(db, &e);
    if (!f.L) {
        fprintf(stderr, "embedlab: %s\n", e.msg);
        free(cmds);
        return 1;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--no-timing") == 0)
            lab_set_no_timing(f.L, 1);
    int tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if (tui < 0)
        tui = tty && !batch && !script && n_cmds == 0 && f.out_fmt == OUT_TEXT;
    if (tui && n_cmds == 0 && !script) {
        rc = tui_main_bench(f.L, max_frames, bench_similar);
        lab_close(f.L);
        free(cmds);
        return rc;
    }
    lab_progress(f.L)->fn = front_progress;
    front_signals(&f);

    if (n_cmds > 0) {
        for (int i = 0; i < n_cmds; i++) {
            int r = front_run(&f, cmds[i]);
            if (r == CMD_QUIT)
                break;
            if (r < 0) {
                rc = 1;
                break;
            }
        }
    } else if (script) {
        FILE *in = fopen(script, "r");
        if (!in) {
            fprintf(stderr, "embedlab: cannot open script %s\n", script);
            rc = 1;
        } else {
            rc = repl_run(&f, in);
            fclose(in);
        }
    } else {
        f.interactive = tty && !batch;
        rc = repl_run(&f, stdin);
    }
    lab_close(f.L);
    free(cmds);
    return rc;
}
