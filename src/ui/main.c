/* main.c - argument parsing; picks a front end (TUI, readline REPL, batch).
 *
 * Before anything touches BLAS it checks whether OpenBLAS recognised this CPU
 * (0.3.21 falls back to slow generic kernels on recent Xeons) and, if not,
 * re-executes itself with OPENBLAS_CORETYPE set: OpenBLAS reads the variable
 * only when the library is loaded.  EMBEDLAB_ISA (baseline, avx2, avx512,
 * avx512vnni, avx512bf16, amx) caps the instruction-set level of the hot
 * kernels, which is otherwise the best the CPU has (see cpu.h).
 *
 * The full-screen TUI is the default when stdin and stdout are terminals and
 * no script, -c, --batch, --json or --csv asks for line output; --tui and
 * --no-tui force the choice. */
#include "cpu.h"
#include "front.h"
#include "serve.h"
#include "tui.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
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
          "       embedlab serve [--db FILE] [--listen HOST:PORT] [--threads N] "
          "[--token-file F]\n"
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
          "command language.  `embedlab serve --help` describes the HTTP server.\n"
          "See embedlab(1).\n",
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

/* EMBEDLAB_ISA caps the kernels' ISA level; 0, or -1 after a message. */
static int apply_isa_cap(void)
{
    const char *s = getenv("EMBEDLAB_ISA");
    cpu_level l;
    err e;

    if (!s || !*s)
        return 0;
    if (cpu_level_parse(s, &l, &e) < 0) {
        fprintf(stderr, "embedlab: EMBEDLAB_ISA: %s\n", e.msg);
        return -1;
    }
    cpu_set_cap(l);
    return 0;
}

/* A whole number for --max-frames: digits only, within int. */
static int parse_count(const char *opt, const char *v, int *out)
{
    char *end;
    long x;
    errno = 0;
    x = strtol(v, &end, 10);
    if (!*v || *end || errno == ERANGE || x < 0 || x > INT_MAX) {
        fprintf(stderr, "embedlab: %s: '%s' is not a whole number\n", opt, v);
        return -1;
    }
    *out = (int)x;
    return 0;
}

enum { OPT_DB = 256, OPT_BATCH, OPT_TUI, OPT_NO_TUI, OPT_MAX_FRAMES, OPT_JSON, OPT_CSV,
       OPT_STRICT, OPT_NO_TIMING };

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"batch", no_argument, NULL, OPT_BATCH},
        {"tui", no_argument, NULL, OPT_TUI},
        {"no-tui", no_argument, NULL, OPT_NO_TUI},
        {"max-frames", required_argument, NULL, OPT_MAX_FRAMES},
        {"json", no_argument, NULL, OPT_JSON},
        {"csv", no_argument, NULL, OPT_CSV},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"no-timing", no_argument, NULL, OPT_NO_TIMING},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *db = "embedlab.db", *script = NULL;
    const char **cmds = NULL;
    int n_cmds = 0, batch = 0, rc = 0, tui = -1, max_frames = 0, no_timing = 0, c;
    front f = {0};
    err e;

    fix_blas_core(argv);
    if (apply_isa_cap() < 0)
        return 2;
    setlocale(LC_ALL, "");
    /* process-wide library hooks, once, before any thread or engine call */
    lab_global_init();
    if (argc > 1 && strcmp(argv[1], "serve") == 0) {
        serve_opts so;
        int r = serve_parse_args(argc - 1, argv + 1, &so);
        return r == 2 ? 0 : r ? 2 : serve_main(&so);
    }
    cmds = calloc((size_t)argc + 1, sizeof *cmds);
    if (!cmds)
        return 1;
    opterr = 0;   /* messages below, in our words */
    while ((c = getopt_long(argc, argv, ":c:hV", longs, NULL)) != -1) {
        switch (c) {
        case OPT_DB: db = optarg; break;
        case 'c': cmds[n_cmds++] = optarg; break;
        case OPT_BATCH: batch = 1; break;
        case OPT_TUI: tui = 1; break;
        case OPT_NO_TUI: tui = 0; break;
        case OPT_MAX_FRAMES:
            if (parse_count("--max-frames", optarg, &max_frames)) {
                free(cmds);
                return 2;
            }
            break;
        case OPT_JSON: f.out_fmt = OUT_JSON; break;
        case OPT_CSV: f.out_fmt = OUT_CSV; break;
        case OPT_STRICT: f.strict = 1; break;
        case OPT_NO_TIMING: no_timing = 1; break;
        case 'h':
            usage(stdout);
            free(cmds);
            return 0;
        case 'V':
            printf("embedlab %s (OpenBLAS core %s, kernels %s)\n", EMBEDLAB_VERSION,
                   vec_blas_core(), cpu_level_name(cpu_level_cur()));
            free(cmds);
            return 0;
        case ':':
            fprintf(stderr, "embedlab: option '%s' requires an argument\n", argv[optind - 1]);
            usage(stderr);
            free(cmds);
            return 2;
        default:
            fprintf(stderr, "embedlab: unknown option '%s'\n", argv[optind - 1]);
            usage(stderr);
            free(cmds);
            return 2;
        }
    }
    for (; optind < argc; optind++) {
        if (script) {
            fprintf(stderr, "embedlab: only one SCRIPT may be given\n");
            free(cmds);
            return 2;
        }
        script = argv[optind];
    }

    f.L = lab_open(db, &e);
    if (!f.L) {
        fprintf(stderr, "embedlab: %s\n", e.msg);
        free(cmds);
        return 1;
    }
    lab_set_no_timing(f.L, no_timing);
    lab_set_token_reader(f.L, front_read_token, NULL);
    /* the engine reads no environment: the front end passes the model folder */
    if (lab_set_model_dir(f.L, getenv("EMBEDLAB_MODEL"), &e) ||
        lab_set_words_file(f.L, getenv("EMBEDLAB_WORDS"), &e)) {
        fprintf(stderr, "embedlab: %s\n", e.msg);
        lab_close(f.L);
        free(cmds);
        return 1;
    }
    int tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if (tui < 0)
        tui = tty && !batch && !script && n_cmds == 0 && f.out_fmt == OUT_TEXT;
    if (tui && n_cmds == 0 && !script) {
        rc = tui_main(f.L, max_frames);
        lab_close(f.L);
        free(cmds);
        if (rc >= 128) {
            /* Ended by SIGHUP or SIGTERM (the terminal went away): the screen
             * is restored and the database closed; leave without the atexit
             * handlers.  LeakSanitizer's exit check stops every thread with
             * ptrace (a SIGSTOP); when the session that owned the terminal
             * ends, the kernel sends SIGHUP and SIGCONT to the orphaned
             * process group, the SIGCONT discards that SIGSTOP, and the
             * check then waits for a stop that never comes while this
             * process spins (ASan TUIs were left so for 40+ minutes after
             * `tmux kill-session`). */
            fflush(NULL);
            _exit(rc);
        }
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
