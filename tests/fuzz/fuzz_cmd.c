/* fuzz_cmd.c - cmd_exec, the command language, on a lab over :memory:.
 *
 * Each input is up to 4 command lines (split at '\n'), run in order on a
 * fresh lab holding a small catalog (8 items, categories, an attribute),
 * sessions for 3 users and an 8-dimensional item2vec model, so `similar`,
 * `index build`, `export vectors` and friends reach their real work.
 *
 * Guards keep one input cheap and inside the temp dir (the harness may not
 * write anywhere else or run for minutes):
 *  - a line containing '/' or ".." is skipped (file arguments then name files
 *    in the temp dir, which is the working directory during cmd_exec: the
 *    prepared cat.csv, sess.csv, sess.txt, vec.txt, plus whatever the
 *    commands write there);
 *  - a line with a number above 200 is skipped, except after `seed=` (large
 *    epochs/dim/items/queries would only make the input slow);
 *  - `gen demo` must say how many items and sessions it wants.
 * The working directory is restored after each command, so libFuzzer's own
 * files (use an absolute -artifact_prefix) are unaffected. */
#include <ctype.h>
#include <fcntl.h>

#include "cmd.h"
#include "fuzz_util.h"
#include "lab.h"
#include "mem.h"

static const char catalog[] =
    "id,title,description,category,color\n"
    "P1,Red running shoe,light shoe for running,shoes,red\n"
    "P2,Blue running shoe,a blue shoe,shoes,blue\n"
    "P3,Trail sock,wool sock,socks,grey\n"
    "P4,Rain jacket,waterproof jacket,jackets,red\n"
    "P5,\"Tea, green\",loose leaf tea,tea,\n"
    "P6,Water bottle,steel bottle 1l,gear,silver\n"
    "P7,Cap,\"a cap \"\"classic\"\"\",hats,black\n"
    "P8,\xe4\xb8\xad\xe6\x96\x87\xe5\x95\x86\xe5\x93\x81,\xe6\x8f\x8f\xe8\xbf\xb0,zh,red\n";
static const char sessions[] =
    "session_id,item_id,timestamp,user_id\n"
    "s1,P1,1,u1\ns1,P3,2,u1\ns1,P2,3,u1\n"
    "s2,P4,4,u2\ns2,P6,5,u2\ns2,P1,6,u2\ns2,P3,7,u2\n"
    "s3,P5,8,u3\ns3,P7,9,u3\ns3,P1,10,u3\n"
    "s4,P2,11,u1\ns4,P3,12,u1\ns4,P6,13,u1\n";
static const char lines[] = "P1 P2 P3\nP4 P5\nP6 P7 P8 P1\n";
static const char vecs[] = "3 2\nP1 0.5 1\nP2 1 0\nP3 -1 0.25\n";

/* 1 if the line may run (see the guards above). */
static int allowed(const char *line)
{
    if (strchr(line, '/') || strstr(line, ".."))
        return 0;
    for (const char *p = line; *p; p++) {
        if (isdigit((unsigned char)*p) && (p == line || !isdigit((unsigned char)p[-1]))) {
            int seed = p - line >= 5 && strncmp(p - 5, "seed=", 5) == 0;
            size_t nd = strspn(p, "0123456789");
            if (!seed && (nd > 3 || atoi(p) > 200))
                return 0;
        }
    }
    if (strstr(line, "gen") && strstr(line, "demo") &&
        !(strstr(line, "items") && strstr(line, "sessions")))
        return 0;
    return 1;
}

static void run(lab *L, const char *line, int must_work)
{
    table_list out;
    err e;
    int rc;

    table_list_init(&out);
    rc = cmd_exec(L, line, &out, &e);
    if (must_work && rc < 0) {
        fprintf(stderr, "fuzz_cmd: setup `%s` failed: %s\n", line, e.msg);
        abort();
    }
    fuzz_note(line, rc, &e);
    if (rc < 0 && e.msg[0] == '\0')
        abort();   /* every error carries a message */
    /* render, as a front end would, into nowhere */
    {
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            for (size_t i = 0; i < out.n; i++) {
                table_render_text(out.t[i], null);
                table_render_json(out.t[i], null);
                table_render_csv(out.t[i], null);
            }
            fclose(null);
        }
    }
    table_list_done(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    char *text;
    lab *L;
    err e;
    int cwd;

    if (!ready) {
        fuzz_write("cat.csv", catalog, sizeof catalog - 1);
        fuzz_write("sess.csv", sessions, sizeof sessions - 1);
        fuzz_write("sess.txt", lines, sizeof lines - 1);
        fuzz_write("vec.txt", vecs, sizeof vecs - 1);
        ready = 1;
    }
    if (size > 4096)
        return 0;
    text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    cwd = open(".", O_RDONLY | O_DIRECTORY);
    if (cwd < 0 || chdir(fuzz_dir()) != 0)
        abort();
    L = lab_open(":memory:", &e);
    if (!L)
        abort();
    lab_set_no_timing(L, 1);
    run(L, "load catalog cat.csv", 1);
    run(L, "load sessions sess.csv", 1);
    run(L, "train item2vec dim=8 epochs=2 threads=1 seed=3", 1);
    {
        char *line = text, *nl;
        for (int i = 0; i < 4 && line; i++, line = nl) {
            nl = strchr(line, '\n');
            if (nl)
                *nl++ = '\0';
            if (allowed(line))
                run(L, line, 0);
        }
    }
    lab_close(L);
    if (fchdir(cwd) != 0)
        abort();
    close(cwd);
    free(text);
    return 0;
}
