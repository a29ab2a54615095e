/* fuzz_sessions.c - import_sessions (CSV, TSV, one session per line) on
 * untrusted bytes, over a small catalog (items 1..5, a, b, P1).  Byte 0 picks
 * the format (bits 0-1: csv, tsv, lines, from the content) and --skip-bad
 * (bit 2); the rest is the file.  On success the corpus is loaded back. */
#include "fuzz_util.h"
#include "import.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fmts[] = {"csv", "tsv", "lines", NULL};
    static const char *const names[] = {"s.csv", "s.tsv", "s.txt", "s.dat"};
    static const char catalog[] = "id,title\n1,one\n2,two\n3,three\n4,four\n5,five\n"
                                  "a,A\nb,B\nP1,p one\n";
    static char cat_path[512];
    import_opts o;
    import_report r = {0};
    store_corpus c;
    const char *path;
    store *s;
    err e;
    int rc;

    if (size < 1)
        return 0;
    if (!cat_path[0])
        snprintf(cat_path, sizeof cat_path, "%s", fuzz_write("cat.csv", catalog,
                                                             sizeof catalog - 1));
    s = store_open(":memory:", &e);
    if (!s || import_catalog(s, cat_path, NULL, NULL, NULL, &e) != 0)
        abort();
    import_opts_default(&o);
    o.format = fmts[data[0] & 3];
    o.skip_bad = (data[0] >> 2) & 1;
    path = fuzz_write(names[data[0] & 3], data + 1, size - 1);
    rc = import_sessions(s, path, &o, NULL, &r, &e);
    fuzz_note("import_sessions", rc, &e);
    if (rc == 0 && store_corpus_load(s, &c, &e) == 0)
        store_corpus_done(&c);
    import_report_done(&r);
    store_close(s);
    return 0;
}
