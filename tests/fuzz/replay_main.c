/* replay_main.c - runs a libFuzzer harness over files without libFuzzer, as
 * SQLite's test/fuzzcheck.c does: `replay_X DIR|FILE...` feeds every regular
 * file to LLVMFuzzerTestOneInput once, in name order.  It only looks for
 * crashes, sanitizer reports and leaks (the harness decides nothing), and
 * stops a runaway input with alarm(): FUZZ_TIMEOUT seconds per file
 * (default 60, generous for the sanitizer builds on a loaded machine).
 * Exit 0 when every file ran, 1 on an unreadable argument; a crash or a
 * timeout kills the process, which the caller sees as a failure. */
#include "fuzz_util.h"

#include <signal.h>

static const char *current;

static void on_alarm(int sig)
{
    static const char msg[] = "replay: timeout on ";
    (void)sig;
    (void)!write(2, msg, sizeof msg - 1);
    if (current)
        (void)!write(2, current, strlen(current));
    (void)!write(2, "\n", 1);
    _exit(2);
}

static int run_file(const char *path, unsigned timeout)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;

    if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        perror(path);
        if (f)
            fclose(f);
        return 1;
    }
    /* an exact-size heap copy, so ASan sees reads past the end of the input */
    buf = malloc(len ? (size_t)len : 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        perror(path);
        free(buf);
        fclose(f);
        return 1;
    }
    fclose(f);
    current = path;
    alarm(timeout);
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    alarm(0);
    free(buf);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, unsigned timeout, int *n_run)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int bad = 0;

    if (!d) {
        perror(dir);
        return 1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names)
                abort();
        }
        names[n] = malloc(strlen(dir) + strlen(de->d_name) + 2);
        if (!names[n])
            abort();
        sprintf(names[n], "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            bad |= run_file(names[i], timeout);
            (*n_run)++;
        }
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    const char *t = getenv("FUZZ_TIMEOUT");
    unsigned timeout = t && atoi(t) > 0 ? (unsigned)atoi(t) : 60;
    int bad = 0, n_run = 0;
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            bad = 1;
        } else if (S_ISDIR(st.st_mode))
            bad |= run_dir(argv[i], timeout, &n_run);
        else {
            bad |= run_file(argv[i], timeout);
            n_run++;
        }
    }
    printf("%s: %d inputs replayed%s\n", argv[0], n_run, bad ? ", some unreadable" : "");
    return bad;
}
