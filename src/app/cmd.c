/* cmd.c - command-line parsing, dispatch, argument helpers, and the core
 * commands (help, info, models, set, quit).  Area commands live in their own
 * files (cmd_data.c, ...) and are listed in `groups` below.
 *
 * Grammar: words separated by blanks; "double" or 'single' quotes group
 * words, backslash escapes inside double quotes; a word `key=value` or
 * `--key=value` is a parameter, `--key value` too when the command declares
 * `key=`; `--flag` is a boolean flag; everything else is positional.
 */
#include "cmd_int.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cmd_def *const groups[] = {
    cmd_defs_core,
    cmd_defs_data,
    cmd_defs_model,
    cmd_defs_text,
    cmd_defs_index,
    cmd_defs_rec,
    cmd_defs_eval,
};
#define N_GROUPS (sizeof groups / sizeof groups[0])

#define LINE_MAX_BYTES 65536

/* ---- tokenizer ---------------------------------------------------------- */

/* Splits `line` into words in the caller's buffer `buf` (same size as line).
 * Returns the word count or -ERR_USAGE (unterminated quote, too many words). */
static int tokenize(const char *line, char *buf, char **words, int max_words, err *e)
{
    const char *p = line;
    char *o = buf;
    int n = 0;

    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p)
            break;
        if (n == max_words)
            return err_set(e, ERR_USAGE, "too many words (at most %d)", max_words);
        words[n++] = o;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            if (*p == '"' || *p == '\'') {
                char q = *p++;
                while (*p && *p != q) {
                    if (q == '"' && *p == '\\' && p[1]) {
                        p++;
                        switch (*p) {
                        case 'n': *o++ = '\n'; p++; continue;
                        case 't': *o++ = '\t'; p++; continue;
                        default: break;
                        }
                    }
                    *o++ = *p++;
                }
                if (*p != q)
                    return err_set(e, ERR_USAGE, "unterminated %c quote", q);
                p++;
            } else
                *o++ = *p++;
        }
        *o++ = '\0';
    }
    return n;
}

/* ---- definitions -------------------------------------------------------- */

static const cmd_def *find_def(char **w, int n, int *n_name)
{
    const cmd_def *best = NULL;
    int best_len = 0;

    for (size_t g = 0; g < N_GROUPS; g++)
        for (const cmd_def *d = groups[g]; d->name; d++) {
            /* match the def's words against the first words of the line */
            const char *s = d->name;
            int k = 0, ok = 1;
            while (*s && ok) {
                size_t len = strcspn(s, " ");
                if (k >= n || strlen(w[k]) != len || strncmp(w[k], s, len) != 0)
                    ok = 0;
                s += len;
                while (*s == ' ')
                    s++;
                k++;
            }
            if (ok && k > best_len) {
                best = d;
                best_len = k;
            }
        }
    *n_name = best_len;
    return best;
}

/* Is `key` declared in params?  Returns 2 for "key=", 1 for a flag, 0 no. */
static int declared(const char *params, const char *key, size_t klen)
{
    const char *s = params ? params : "";
    while (*s) {
        size_t len = strcspn(s, " ");
        int takes = len > 0 && s[len - 1] == '=';
        size_t nlen = takes ? len - 1 : len;
        if (nlen == 1 && s[0] == '*' && takes)
            ;  /* wildcard handled by caller */
        else if (nlen == klen && strncmp(s, key, klen) == 0)
            return takes ? 2 : 1;
        s += len;
        while (*s == ' ')
            s++;
    }
    return 0;
}

static int wildcard(const char *params) { return params && strstr(params, "*=") != NULL; }

static int is_key_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.'; }

static int parse_args(const cmd_def *d, char **w, int n, cmd_args *a, err *e)
{
    memset(a, 0, sizeof *a);
    a->cmd = d->name;
    for (int i = 0; i < n; i++) {
        char *word = w[i];
        char *eq;
        int dashed = word[0] == '-' && word[1] == '-' && word[2];
        char *key = dashed ? word + 2 : word;
        size_t klen = 0;

        while (key[klen] && is_key_char(key[klen]))
            klen++;
        eq = key[klen] == '=' ? key + klen : NULL;
        if (!dashed && (!eq || klen == 0)) {          /* positional */
            if (a->argc == CMD_MAX_ARGS)
                return err_set(e, ERR_USAGE, "%s: too many arguments", d->name);
            a->argv[a->argc++] = word;
            continue;
        }
        if (dashed && !eq && key[klen] != '\0')
            return err_set(e, ERR_USAGE, "%s: bad option '%s'", d->name, word);
        /* normalise '-' to '_' in keys: --skip-bad == skip_bad */
        for (size_t j = 0; j < klen; j++)
            if (key[j] == '-')
                key[j] = '_';
        int kind = declared(d->params, key, klen);
        if (!kind && !(eq && wildcard(d->params))) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)klen, key);
            return err_set(e, ERR_USAGE, "%s: unknown parameter '%s' (accepted: %s)", d->name,
                           name, d->params && *d->params ? d->params : "none");
        }
        if (a->n_kv == CMD_MAX_ARGS)
            return err_set(e, ERR_USAGE, "%s: too many parameters", d->name);
        if (eq) {
            *eq = '\0';
            a->key[a->n_kv] = key;
            a->val[a->n_kv++] = eq + 1;
        } else if (kind == 2) {                       /* --key value */
            if (i + 1 >= n)
                return err_set(e, ERR_USAGE, "%s: --%s needs a value", d->name, key);
            a->key[a->n_kv] = key;
            a->val[a->n_kv++] = w[++i];
        } else {                                      /* --flag */
            a->key[a->n_kv] = key;
            a->val[a->n_kv++] = NULL;
        }
    }
    if (a->argc < d->min_pos || (d->max_pos >= 0 && a->argc > d->max_pos))
        return err_set(e, ERR_USAGE, "usage: %s", d->usage);
    return 0;
}

int cmd_exec(lab *L, const char *line, table_list *out, err *e)
{
    char *buf = NULL, *words[CMD_MAX_ARGS + 8];
    size_t len;
    int n, n_name, rc;
    const cmd_def *d;
    cmd_args a;

    err_clear(e);
    if (!line)
        return 0;
    len = strlen(line);
    if (len > LINE_MAX_BYTES)
        return err_set(e, ERR_USAGE, "command line too long (%zu bytes, at most %d)", len,
                       LINE_MAX_BYTES);
    buf = mem_alloc(len + 1);
    if (!buf)
        return err_set(e, ERR_NOMEM, "out of memory");
    n = tokenize(line, buf, words, CMD_MAX_ARGS + 8, e);
    if (n <= 0 || words[0][0] == '#') {
        mem_free(buf);
        return n < 0 ? n : 0;
    }
    if (strcmp(words[0], "quit") == 0 || strcmp(words[0], "exit") == 0) {
        mem_free(buf);
        return CMD_QUIT;
    }
    d = find_def(words, n, &n_name);
    if (!d) {
        rc = err_set(e, ERR_NOTFOUND, "unknown command '%s' (try `help`)", words[0]);
        goto done;
    }
    if ((rc = parse_args(d, words + n_name, n - n_name, &a, e)))
        goto done;
    progress_reset_cancel(&L->prog);
    rc = d->fn(L, &a, out, e);
    if (rc > 0)
        rc = 0;
    if (rc < 0 && e && e->msg[0] == '\0')
        err_set(e, -rc, "%s failed (%s)", d->name, err_name(rc));
done:
    mem_free(buf);
    return rc;
}

const char *cmd_name_at(size_t i)
{
    for (size_t g = 0; g < N_GROUPS; g++)
        for (const cmd_def *d = groups[g]; d->name; d++)
            if (i-- == 0)
                return d->name;
    return NULL;
}

const char *cmd_param_at(const char *command, size_t i)
{
    static char buf[64];
    for (size_t g = 0; g < N_GROUPS; g++)
        for (const cmd_def *d = groups[g]; d->name; d++) {
            if (strcmp(d->name, command) != 0 || !d->params)
                continue;
            const char *s = d->params;
            while (*s) {
                size_t len = strcspn(s, " ");
                if (i-- == 0) {
                    if (len && s[len - 1] == '=')
                        snprintf(buf, sizeof buf, "%.*s", (int)len, s);
                    else
                        snprintf(buf, sizeof buf, "--%.*s", (int)len, s);
                    for (char *c = buf; *c; c++)
                        if (*c == '_' && buf[0] == '-')
                            *c = '-';
                    return strcmp(buf, "*=") == 0 ? NULL : buf;
                }
                s += len;
                while (*s == ' ')
                    s++;
            }
        }
    return NULL;
}

/* ---- argument helpers --------------------------------------------------- */

static const char *lookup(const cmd_args *a, const char *key, int *found)
{
    for (int i = a->n_kv - 1; i >= 0; i--)
        if (strcmp(a->key[i], key) == 0) {
            *found = 1;
            return a->val[i];
        }
    *found = 0;
    return NULL;
}

const char *cmd_str(const cmd_args *a, const char *key, const char *def)
{
    int found;
    const char *v = lookup(a, key, &found);
    return found && v ? v : def;
}

int cmd_flag(const cmd_args *a, const char *key)
{
    int found;
    const char *v = lookup(a, key, &found);
    if (!found)
        return 0;
    return !v || !(strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0);
}

int cmd_long(const cmd_args *a, const char *key, long def, long min, long max, long *out, err *e)
{
    int found;
    const char *v = lookup(a, key, &found);
    char *end;
    long x;

    if (!found) {
        *out = def;
        return 0;
    }
    if (!v || !*v)
        return err_set(e, ERR_USAGE, "%s: %s needs a whole number", a->cmd, key);
    errno = 0;
    x = strtol(v, &end, 10);
    if (*end || errno == ERANGE)
        return err_set(e, ERR_USAGE, "%s: %s=%s is not a whole number", a->cmd, key, v);
    if (x < min || x > max)
        return err_set(e, ERR_USAGE, "%s: %s=%ld is out of range (%ld..%ld)", a->cmd, key, x,
                       min, max);
    *out = x;
    return 0;
}

int cmd_double(const cmd_args *a, const char *key, double def, double min, double max,
               double *out, err *e)
{
    int found;
    const char *v = lookup(a, key, &found);
    char *end;
    double x;

    if (!found) {
        *out = def;
        return 0;
    }
    if (!v || !*v)
        return err_set(e, ERR_USAGE, "%s: %s needs a number", a->cmd, key);
    errno = 0;
    x = strtod(v, &end);
    if (*end || errno == ERANGE || !isfinite(x))
        return err_set(e, ERR_USAGE, "%s: %s=%s is not a number", a->cmd, key, v);
    if (x < min || x > max)
        return err_set(e, ERR_USAGE, "%s: %s=%g is out of range (%g..%g)", a->cmd, key, x, min,
                       max);
    *out = x;
    return 0;
}

int cmd_choice(const cmd_args *a, const char *key, const char *choices, int def, int *out,
               err *e)
{
    int found, idx = 0;
    const char *v = lookup(a, key, &found);
    const char *s = choices;

    if (!found) {
        *out = def;
        return 0;
    }
    if (!v)
        return err_set(e, ERR_USAGE, "%s: %s needs one of %s", a->cmd, key, choices);
    while (*s) {
        size_t len = strcspn(s, "|");
        if (strlen(v) == len && strncmp(s, v, len) == 0) {
            *out = idx;
            return 0;
        }
        s += len;
        if (*s == '|')
            s++;
        idx++;
    }
    return err_set(e, ERR_USAGE, "%s: %s=%s is not one of %s", a->cmd, key, v, choices);
}

table *cmd_table(table_list *out, const char *title)
{
    return table_list_add(out, table_new(title));
}

int cmd_nomem(err *e) { return err_set(e, ERR_NOMEM, "out of memory"); }

/* ---- core commands ------------------------------------------------------ */

static const cmd_def *def_named(const char *name)
{
    for (size_t g = 0; g < N_GROUPS; g++)
        for (const cmd_def *d = groups[g]; d->name; d++)
            if (strcmp(d->name, name) == 0)
                return d;
    return NULL;
}

static int c_help(lab *L, const cmd_args *a, table_list *out, err *e)
{
    table *t;
    (void)L;
    if (a->argc > 0) {
        char name[128] = "";
        for (int i = 0; i < a->argc; i++)
            snprintf(name + strlen(name), sizeof name - strlen(name), "%s%s", i ? " " : "",
                     a->argv[i]);
        const cmd_def *d = def_named(name);
        if (!d && a->argc == 1) {   /* "help load": list the commands starting so */
            t = cmd_table(out, "");
            if (!t)
                return cmd_nomem(e);
            for (size_t g = 0; g < N_GROUPS; g++)
                for (const cmd_def *x = groups[g]; x->name; x++)
                    if (strncmp(x->name, name, strlen(name)) == 0 && x->name[strlen(name)] == ' ')
                        table_note(t, "%s", x->usage);
            if (table_n_notes(t) > 0)
                return 0;
        }
        if (!d)
            return err_set(e, ERR_NOTFOUND, "help: no command '%s'", name);
        t = cmd_table(out, "");
        if (!t || table_note(t, "usage: %s", d->usage) || table_note(t, "%s", d->help))
            return cmd_nomem(e);
        return 0;
    }
    t = cmd_table(out, "commands");
    if (!t || table_col(t, "command", 0) || table_col(t, "what it does", 0))
        return cmd_nomem(e);
    for (size_t g = 0; g < N_GROUPS; g++)
        for (const cmd_def *d = groups[g]; d->name; d++) {
            const char *h = d->help;
            const char *dot = strstr(h, ". ");
            size_t len = dot ? (size_t)(dot - h) : strcspn(h, ".");
            if (table_row(t) || table_str(t, d->usage) || table_fmt(t, "%.*s", (int)len, h))
                return cmd_nomem(e);
        }
    table_note(t, "quit | exit: leave.  help COMMAND: details.");
    return 0;
}

static void fmt_bytes(char *buf, size_t cap, double b)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB"};
    int i = 0;
    while (b >= 1024 && i < 3) {
        b /= 1024;
        i++;
    }
    snprintf(buf, cap, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static int c_info(lab *L, const cmd_args *a, table_list *out, err *e)
{
    lab_summary *s = mem_alloc(sizeof *s);
    const store_counts *c;
    char sz[32];
    table *t;
    int rc;
    (void)a;

    if (!s)
        return cmd_nomem(e);
    if ((rc = lab_summary_get(L, 0, s, e)))
        goto done;
    c = &s->counts;
    rc = -ERR_NOMEM;
    t = cmd_table(out, "embedlab");
    if (!t || table_col(t, "what", 0) || table_col(t, "value", 0))
        goto done;
    fmt_bytes(sz, sizeof sz, (double)c->db_bytes);
#define ROW(k, ...) (table_row(t) || table_str(t, k) || table_fmt(t, __VA_ARGS__))
#define ROWN(k, v) (table_row(t) || table_str(t, k) || table_int(t, v))
    /* --no-timing output must not depend on the machine: no size, no BLAS core */
    if ((s->set.no_timing ? ROW("database", "%s", s->db_path)
                          : ROW("database", "%s (%s)", s->db_path, sz)) ||
        ROWN("items", c->items) || ROWN("events", c->events) ||
        ROWN("sessions", c->sessions) || ROWN("users", c->users) ||
        ROWN("models", c->models) || ROWN("indexes", c->indexes) ||
        ROW("hybrid", "%s, alpha %.2f, k %d", lab_hybrid_name(s->set.hybrid), s->set.alpha,
            s->set.k) ||
        (!s->set.no_timing && ROW("blas", "OpenBLAS %s", vec_blas_core())))
        goto done;
    for (size_t i = 0; i < s->n_models; i++) {
        const lab_summary_model *m = &s->models[i];
        if (ROW(m->name, "%s, %lld x %lld%s%s", m->label, (long long)m->n_vectors,
                (long long)m->dim, s->set.no_timing ? "" : ", ",
                s->set.no_timing ? "" : m->created))
            goto done;
    }
#undef ROW
#undef ROWN
    rc = 0;
done:
    mem_free(s);
    return rc == -ERR_NOMEM ? cmd_nomem(e) : rc;
}

static int c_models(lab *L, const cmd_args *a, table_list *out, err *e)
{
    store_model *ms = NULL;
    size_t n = 0;
    table *t;
    int rc;
    (void)a;

    if ((rc = store_models_list(L->db, &ms, &n, e)))
        return rc;
    t = cmd_table(out, "models");
    if (!t || table_col(t, "name", 0) || table_col(t, "kind", 0) || table_col(t, "label", 0) ||
        table_col(t, "vectors", 1) || table_col(t, "dim", 1) || table_col(t, "version", 1) ||
        table_col(t, "train s", 1) || table_col(t, "created", 0) || table_col(t, "params", 0))
        goto nomem;
    for (size_t i = 0; i < n; i++)
        if (strchr(ms[i].name, '#'))
            continue;   /* internal companions such as item2vec#ctx */
        else if (table_row(t) || table_str(t, ms[i].name) || table_str(t, ms[i].kind) ||
            table_str(t, ms[i].label) || table_int(t, ms[i].n_vectors) ||
            table_int(t, ms[i].dim) || table_int(t, ms[i].version) ||
            table_num(t, L->set.no_timing ? NAN : ms[i].train_seconds, 2) ||
            table_str(t, L->set.no_timing ? "-" : ms[i].created) ||
            table_str(t, ms[i].params ? ms[i].params : ""))
            goto nomem;
    if (n == 0)
        table_note(t, "no models yet: `train item2vec` or `encode text`");
    store_models_free(ms, n);
    return 0;
nomem:
    store_models_free(ms, n);
    return cmd_nomem(e);
}

static int c_set(lab *L, const cmd_args *a, table_list *out, err *e)
{
    const char *key = a->argv[0], *val = a->argv[1];
    cmd_args one = {.cmd = "set", .n_kv = 1};
    long v;
    double d;
    int rc, choice;

    one.key[0] = (char *)key;
    one.val[0] = (char *)val;
    if (strcmp(key, "k") == 0) {
        if ((rc = cmd_long(&one, "k", 10, 1, 1000, &v, e)))
            return rc;
        L->set.k = (int)v;
    } else if (strcmp(key, "alpha") == 0) {
        if ((rc = cmd_double(&one, "alpha", 0.5, 0, 1, &d, e)))
            return rc;
        L->set.alpha = d;
    } else if (strcmp(key, "hybrid") == 0) {
        if ((rc = cmd_choice(&one, "hybrid", HYBRID_MODES, 0, &choice, e)))
            return rc;
        L->set.hybrid = choice;
    } else if (strcmp(key, "nprobe") == 0) {
        if ((rc = cmd_long(&one, "nprobe", 0, 1, 65536, &v, e)))
            return rc;
        L->set.nprobe = (int)v;
        lab_apply_search_params(L);
    } else if (strcmp(key, "ef") == 0) {
        if ((rc = cmd_long(&one, "ef", 0, 1, 65536, &v, e)))
            return rc;
        L->set.ef = (int)v;
        lab_apply_search_params(L);
    } else if (strcmp(key, "history") == 0) {
        if ((rc = cmd_long(&one, "history", 5, 1, 1000, &v, e)))
            return rc;
        L->set.history = (int)v;
    } else if (strcmp(key, "i2v") == 0) {
        if ((rc = cmd_choice(&one, "i2v", "inin|inout", 1, &choice, e)))
            return rc;
        L->set.i2v_inout = choice;
    } else if (strcmp(key, "threads") == 0) {
        if ((rc = cmd_long(&one, "threads", 2, 1, 256, &v, e)))
            return rc;
        L->set.threads = (int)v;
    } else if (strcmp(key, "timing") == 0) {
        if ((rc = cmd_choice(&one, "timing", "off|on", 1, &choice, e)))
            return rc;
        L->set.no_timing = !choice;
    } else
        return err_set(e, ERR_USAGE, "set: unknown setting '%s' (k, alpha, hybrid, history, i2v, "
                       "nprobe, ef, threads, timing)", key);
    return table_list_msg(out, "%s = %s", key, val) ? 0 : cmd_nomem(e);
}

const cmd_def cmd_defs_core[] = {
    {"help", c_help, "help [COMMAND]", "List commands, or explain one.", "", 0, 2},
    {"info", c_info, "info", "Counts, database size, models and settings.", "", 0, 0},
    {"models", c_models, "models", "List stored models with their parameters.", "", 0, 0},
    {"set", c_set, "set k|alpha|hybrid|history|i2v|nprobe|ef|threads|timing VALUE",
     "Change a setting for the following commands (hybrid: rerank|blend|rrf|fill; alpha in 0..1; "
     "history: how many of a user's last items form the query, default 5; i2v: inout scores "
     "items bought together (default), inin items used alike).",
     "", 2, 2},
    {NULL, NULL, NULL, NULL, NULL, 0, 0},
};
