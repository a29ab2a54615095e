/* fuzz_catalog.c - import_catalog (CSV, TSV, JSONL) on untrusted bytes.
 * Byte 0 picks the format (bits 0-1: csv, tsv, jsonl, from the content) and
 * --skip-bad (bit 2); the rest is the file, imported into a :memory: store.
 * On success the catalog is read back, so stored rows are exercised too. */
#include "fuzz_util.h"
#include "import.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fmts[] = {"csv", "tsv", "jsonl", NULL};
    static const char *const names[] = {"c.csv", "c.tsv", "c.jsonl", "c.txt"};
    import_opts o;
    import_report r = {0};
    store_catalog cat;
    const char *path;
    store *s;
    err e;
    int rc;

    if (size < 1)
        return 0;
    import_opts_default(&o);
    o.format = fmts[data[0] & 3];
    o.skip_bad = (data[0] >> 2) & 1;
    path = fuzz_write(names[data[0] & 3], data + 1, size - 1);
    s = store_open(":memory:", &e);
    if (!s)
        abort();
    rc = import_catalog(s, path, &o, NULL, &r, &e);
    fuzz_note("import_catalog", rc, &e);
    if (rc == 0 && store_catalog_load(s, &cat, &e) == 0)
        store_catalog_done(&cat);
    import_report_done(&r);
    store_close(s);
    return 0;
}
