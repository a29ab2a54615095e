/* fuzz_util.h - helpers shared by the libFuzzer harnesses (tests/fuzz/).
 *
 * Every harness defines LLVMFuzzerTestOneInput().  Built with clang
 * -fsanitize=fuzzer it is driven by libFuzzer; built with the normal compiler
 * it is linked with replay_main.c, which feeds it every file of a corpus
 * directory (SQLite's fuzzcheck idea), so `make test` replays the corpus under
 * the sanitizers of the current CONFIG.
 *
 * Inputs that must be files (importers, model loaders) are written into one
 * private temporary directory per process, removed at exit: under
 * $FUZZ_TMPDIR when set (`make fuzz` sets it and removes it afterwards, as
 * libFuzzer ends some runs without running atexit handlers), else in
 * /dev/shm when it exists, so the files stay in memory.
 */
#ifndef EMBEDLAB_FUZZ_UTIL_H
#define EMBEDLAB_FUZZ_UTIL_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir_[256];

/* Removes every file (one level of sub-directories) of the temp dir. */
static void fuzz_rm_tree_(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[512];

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && depth < 4)
            fuzz_rm_tree_(p, depth + 1);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void fuzz_cleanup_(void)
{
    if (fuzz_dir_[0])
        fuzz_rm_tree_(fuzz_dir_, 0);
}

/* The process's temp directory (created on first use; aborts if impossible:
 * a harness cannot run without it). */
static inline const char *fuzz_dir(void)
{
    if (!fuzz_dir_[0]) {
        const char *base = getenv("FUZZ_TMPDIR");
        if (!base || !*base)
            base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
        snprintf(fuzz_dir_, sizeof fuzz_dir_, "%s/embedlab-fuzz-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(fuzz_dir_)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_cleanup_);
    }
    return fuzz_dir_;
}

/* Writes len bytes to DIR/name (sub-directories in name are created) and
 * returns the full path in a static buffer. */
static inline const char *fuzz_write(const char *name, const void *data, size_t len)
{
    static char path[512];
    FILE *f;

    for (const char *slash = strchr(name, '/'); slash; slash = strchr(slash + 1, '/')) {
        snprintf(path, sizeof path, "%s/%.*s", fuzz_dir(), (int)(slash - name), name);
        mkdir(path, 0700);
    }
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

/* Splits [data, data+size) at the first occurrence of sep: *a gets the part
 * before (length *na), the rest after the separator goes to *rest / *nrest
 * (NULL / 0 when sep does not occur: then *a is everything). */
static inline void fuzz_split(const uint8_t *data, size_t size, const char *sep, const uint8_t **a,
                       size_t *na, const uint8_t **rest, size_t *nrest)
{
    size_t k = strlen(sep);

    *a = data;
    *na = size;
    *rest = NULL;
    *nrest = 0;
    for (size_t i = 0; k && i + k <= size; i++)
        if (memcmp(data + i, sep, k) == 0) {
            *na = i;
            *rest = data + i + k;
            *nrest = size - i - k;
            return;
        }
}

/* With FUZZ_VERBOSE set (replay mode), prints what each step returned: a
 * way to check that a seed reaches the code it was written for. */
static inline void fuzz_note(const char *what, int rc, const err *e)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "  %s: %d %s\n", what, rc, rc < 0 && e ? e->msg : "");
}

#endif
