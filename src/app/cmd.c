/* cmd.c - command-line parsing, dispatch, argument helpers, and the core
 * commands (help, info, models, set, quit).  Area commands live in their own
 * files (cmd_data.c, ...) and are listed in `groups` below.
 *
 * Grammar: words separated by blanks; "double" or 'single' quotes group
 * words, backslash escapes inside double quotes; a word `key=value` or
 * `--key=value` is a parameter, `--key value` too when the command declares
 * `key=`; `--flag` is a boolean flag; everything else is positional.
 */
#include "bert.h"
#include "cmd_int.h"
#include "cpu.h"
#include "index.h"
#include "mem.h"
#include "sgns.h"

#include <cJSON.h>
#include <ctype.h>
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
    cmd_defs_baseline,
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

static int is_key_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.'; }

/* The descriptor of key in d's option tables, or NULL. */
static const opt_def *find_opt(const cmd_def *d, const char *key)
{
    const opt_def *o = opt_find(d->opts, key);
    return o ? o : opt_find(d->opts2, key);
}

/* An undeclared key: an attribute filter when d takes them and the catalog
 * has that attribute; otherwise "unknown parameter" with a suggestion. */
static int undeclared(lab *L, const cmd_def *d, const char *key, err *e)
{
    const char *const *attrs = NULL;
    size_t n_attrs = 0;
    int rc;

    if (d->flags & CMD_ATTRS) {
        if ((rc = lab_attr_names(L, &attrs, &n_attrs, e)))
            return rc;
        for (size_t i = 0; i < n_attrs; i++)
            if (strcmp(attrs[i], key) == 0)
                return 1;
    }
    rc = opt_unknown(d->opts, d->opts2, key, attrs, n_attrs,
                     d->flags & CMD_ATTRS ? "the catalog's attributes" : NULL, e);
    err_prefix(e, "%s", d->name);
    return rc;
}

static int parse_args(lab *L, const cmd_def *d, char **w, int n, cmd_args *a, err *e)
{
    char usage[1024];

    memset(a, 0, sizeof *a);
    a->cmd = d->name;
    a->def = d;
    for (int i = 0; i < n; i++) {
        char *word = w[i];
        char *eq;
        int dashed = word[0] == '-' && word[1] == '-' && word[2];
        char *key = dashed ? word + 2 : word;
        size_t klen = 0;
        const opt_def *o = NULL;
        int kind, attr = 0, rc;

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
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)klen, key);
        if ((o = find_opt(d, name)))
            kind = o->type == OPT_FLAG ? 1 : 2;
        else {   /* ATTR=VALUE or --ATTR VALUE */
            int r = undeclared(L, d, name, e);
            if (r < 0)
                return r;
            kind = 2;
            attr = 1;
        }
        if (a->n_kv == CMD_MAX_ARGS)
            return err_set(e, ERR_USAGE, "%s: too many parameters", d->name);
        if (eq) {
            *eq = '\0';
            a->key[a->n_kv] = key;
            a->val[a->n_kv] = eq + 1;
        } else if (kind == 2) {                       /* --key value */
            if (i + 1 >= n)
                return err_set(e, ERR_USAGE, "%s: --%s needs a value", d->name, key);
            a->key[a->n_kv] = key;
            a->val[a->n_kv] = w[++i];
        } else {                                      /* --flag */
            a->key[a->n_kv] = key;
            a->val[a->n_kv] = NULL;
        }
        if (o && (rc = opt_check(o, a->val[a->n_kv], e))) {
            err_prefix(e, "%s", d->name);
            return rc;
        }
        a->filt[a->n_kv] = (unsigned char)(attr || (o && (o->flags & OPT_FILTER)));
        a->n_kv++;
    }
    if (a->argc < d->min_pos || (d->max_pos >= 0 && a->argc > d->max_pos))
        return err_set(e, ERR_USAGE, "usage: %s", cmd_usage(d, usage, sizeof usage));
    return 0;
}

/* The commands whose first word is w ("recommend" -> "recommend user"). */
static size_t first_word_matches(const char *w, const cmd_def **out, size_t max)
{
    size_t n = 0, len = strlen(w);
    for (size_t g = 0; g < N_GROUPS; g++)
        for (const cmd_def *d = groups[g]; d->name; d++)
            if (strncmp(d->name, w, len) == 0 && d->name[len] == ' ' && n < max)
                out[n++] = d;
    return n;
}

/* Not a command: the usage of the commands starting with that word, or a
 * suggestion for a typo ("simlar": did you mean similar?). */
static int unknown_command(char **w, int n, err *e)
{
    const cmd_def *m[16];
    size_t nm = first_word_matches(w[0], m, 16);
    char buf[ERR_MSG_LEN], u[1024];
    size_t o = 0;

    if (nm > 0) {
        buf[0] = '\0';
        for (size_t i = 0; i < nm; i++) {
            int k = snprintf(buf + o, sizeof buf - o, "%s%s", i ? " | " : "",
                             cmd_usage(m[i], u, sizeof u));
            if (k < 0 || (size_t)k >= sizeof buf - o)
                break;
            o += (size_t)k;
        }
        return err_set(e, ERR_USAGE, "usage: %s", buf);
    }
    const char *cands[128];
    char firsts[128][32];
    size_t nc = 0;
    for (size_t g = 0; g < N_GROUPS; g++)
        for (const cmd_def *d = groups[g]; d->name && nc < 128; d++) {
            snprintf(firsts[nc], sizeof firsts[nc], "%.*s", (int)strcspn(d->name, " "), d->name);
            cands[nc] = firsts[nc];
            nc++;
        }
    const char *pick = opt_closest(w[0], cands, nc);
    (void)n;
    if (pick)
        return err_set(e, ERR_NOTFOUND, "unknown command '%s' (did you mean %s?)", w[0], pick);
    return err_set(e, ERR_NOTFOUND, "unknown command '%s' (try `help`)", w[0]);
}

int cmd_exec(lab *L, const char *line, table_list *out, err *e)
{
    char *buf = NULL, *words[CMD_MAX_ARGS + 8];
    size_t len;
    int n, n_name, rc;
    const cmd_def *d;
    cmd_args a;
    err e_local;
    table_list out_local;

    /* commands may rely on a message buffer and a list: callers may pass NULL */
    if (!e)
        e = &e_local;
    if (!out) {
        table_list_init(&out_local);
        rc = cmd_exec(L, line, &out_local, e);
        table_list_done(&out_local);
        return rc;
    }
    err_clear(e);
    if (!line || line[strspn(line, " \t")] == '#')
        return 0;   /* a comment, whatever it holds (an apostrophe is no quote) */
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
        rc = unknown_command(words, n, e);
        goto done;
    }
    if ((rc = parse_args(L, d, words + n_name, n - n_name, &a, e)))
        goto done;
    progress_reset_cancel(&L->prog);
    rc = d->fn(L, &a, out, e);
    if (rc > 0)
        rc = 0;
    if (rc < 0 && e->msg[0] == '\0')
        err_set(e, -rc, "%s failed (%s)", d->name, err_name(rc));
done:
    mem_free(buf);
    return rc;
}

static const cmd_def *def_named(const char *name)
{
    for (size_t g = 0; g < N_GROUPS; g++)
        for (const cmd_def *d = groups[g]; d->name; d++)
            if (strcmp(d->name, name) == 0)
                return d;
    return NULL;
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
    const cmd_def *d = def_named(command);

    size_t n1 = 0;
    const opt_def *o;

    if (!d)
        return NULL;
    while (opt_at(d->opts, n1))
        n1++;
    o = i < n1 ? opt_at(d->opts, i) : opt_at(d->opts2, i - n1);
    if (!o)
        return NULL;
    if (d->flags & CMD_KEYS)
        snprintf(buf, sizeof buf, "%s", o->name);   /* set KEY VALUE */
    else if (o->type == OPT_FLAG)
        opt_usage_one(o, buf, sizeof buf);          /* --skip-bad */
    else
        snprintf(buf, sizeof buf, "%s=", o->name);
    return buf;
}

const char *cmd_usage(const cmd_def *d, char *buf, size_t cap)
{
    size_t o;

    snprintf(buf, cap, "%s", d->usage);
    if (d->flags & CMD_KEYS) {   /* set k|alpha|... VALUE */
        snprintf(buf, cap, "%s ", d->name);
        for (size_t i = 0; opt_at(d->opts, i); i++) {
            o = strlen(buf);
            snprintf(buf + o, cap - o, "%s%s", i ? "|" : "", opt_at(d->opts, i)->name);
        }
        o = strlen(buf);
        snprintf(buf + o, cap - o, " VALUE");
        return buf;
    }
    opt_usage(d->opts, buf, cap);
    opt_usage(d->opts2, buf, cap);
    if (d->flags & CMD_ATTRS) {
        o = strlen(buf);
        snprintf(buf + o, cap - o, " [ATTR=VALUE]");
    }
    return buf;
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

/* The descriptor of a declared key, and its text (given, or the default). */
static const opt_def *typed(const cmd_args *a, const char *key, const char **v, int *found)
{
    const opt_def *o = a->def ? find_opt(a->def, key) : NULL;
    *v = lookup(a, key, found);
    if (!*found && o)
        *v = o->def;
    return o;
}

/* Runs a parse of a declared key's text, prefixing errors with the command. */
#define TYPED(parse)                                                            \
    do {                                                                        \
        int found_, rc_;                                                        \
        const char *v_;                                                         \
        const opt_def *o_ = typed(a, key, &v_, &found_);                        \
        if (!o_)                                                                \
            return err_set(e, ERR_STATE, "%s: '%s' is not declared", a->cmd, key); \
        if (!found_ && !v_)                                                     \
            return 0;                                                           \
        if ((rc_ = parse(o_, v_, out, e)))                                      \
            err_prefix(e, "%s", a->cmd);                                        \
        return rc_;                                                             \
    } while (0)

int cmd_opt_long(const cmd_args *a, const char *key, long *out, err *e) { TYPED(opt_long); }
int cmd_opt_u64(const cmd_args *a, const char *key, uint64_t *out, err *e) { TYPED(opt_u64); }
int cmd_opt_double(const cmd_args *a, const char *key, double *out, err *e) { TYPED(opt_double); }
int cmd_opt_choice(const cmd_args *a, const char *key, int *out, err *e) { TYPED(opt_choice); }
#undef TYPED

char *cmd_join_args(const cmd_args *a)
{
    size_t n = 1;
    for (int i = 0; i < a->argc; i++)
        n += strlen(a->argv[i]) + 1;
    char *s = mem_alloc(n), *o = s;
    if (!s)
        return NULL;
    *o = '\0';
    for (int i = 0; i < a->argc; i++)
        o += sprintf(o, "%s%s", i ? " " : "", a->argv[i]);
    return s;
}

int cmd_few_events_note(table *t, size_t n_events, size_t n_items, double sample)
{
    if (n_items == 0 || (n_events >= CMD_FEW_EVENTS && n_events >= CMD_FEW_PER_ITEM * n_items))
        return 0;
    return table_note(t, "note: Item2Vec learnt from %zu events for %zu items (%.1f per item), "
                      "fewer than it can learn from: its vectors stay near their random start "
                      "and its lists mean little (it needs thousands of events, tens per item%s)",
                      n_events, n_items, (double)n_events / (double)n_items,
                      sample > 0 ? "; on so few, subsampling also skips most of them: sample=0 "
                                   "keeps them" : "");
}

/* ---- item filters ---------------------------------------------------------- */

/* Does item row r match every key=value filter in a?  category, title
 * substring (title~) and any attribute of the attrs JSON object. */
int cmd_item_matches(const store_catalog *c, size_t r, const cmd_args *a)
{
    cJSON *attrs = NULL;
    int ok = 1;

    for (int i = 0; i < a->n_kv && ok; i++) {
        const char *k = a->key[i], *v = a->val[i];
        if (!v || !a->filt[i])
            continue;
        if (strcmp(k, "category") == 0) {
            ok = strcmp(c->category[r], v) == 0;
        } else if (strcmp(k, "title") == 0) {
            ok = strstr(c->title[r], v) != NULL;
        } else {
            if (!attrs && c->attrs[r])
                attrs = cJSON_Parse(c->attrs[r]);
            cJSON *f = attrs ? cJSON_GetObjectItemCaseSensitive(attrs, k) : NULL;
            if (!f)
                ok = 0;
            else if (cJSON_IsString(f))
                ok = strcmp(f->valuestring, v) == 0;
            else if (cJSON_IsNumber(f))
                ok = f->valuedouble == strtod(v, NULL);
            else if (cJSON_IsBool(f))
                ok = (cJSON_IsTrue(f) != 0) == (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
            else
                ok = 0;
        }
    }
    cJSON_Delete(attrs);
    return ok;
}

/* The key=value filters cmd_item_matches applies, as terms a remote index
 * sends to its server (the same keys). */
size_t cmd_item_terms(const cmd_args *a, index_term *terms, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < a->n_kv && n < cap; i++) {
        if (!a->val[i] || !a->filt[i])
            continue;
        terms[n].key = a->key[i];
        terms[n].type = INDEX_TERM_TEXT;   /* the command line's rule, cmd_item_matches */
        terms[n++].value = a->val[i];
    }
    return n;
}

int cmd_item_filter(lab *L, const cmd_args *a, uint8_t **rows, err *e)
{
    const store_catalog *c;
    int any = 0;

    *rows = NULL;
    for (int i = 0; i < a->n_kv; i++)
        any |= a->val[i] && a->filt[i];
    if (!any)
        return 0;
    if (!(c = lab_catalog(L, e)))
        return -e->code;
    if (!(*rows = mem_calloc(c->n + 1, 1)))
        return cmd_nomem(e);
    for (size_t r = 0; r < c->n; r++)
        (*rows)[r] = (uint8_t)cmd_item_matches(c, r, a);
    return 0;
}

table *cmd_table(table_list *out, const char *title)
{
    return table_list_add(out, table_new(title));
}

int cmd_nomem(err *e) { return err_set(e, ERR_NOMEM, "out of memory"); }

/* ---- core commands ------------------------------------------------------ */

/* The length of the first sentence of help text h: up to a period that
 * ends the text or is followed by a blank ("0..1" and "README.md" do not
 * end one). */
static size_t first_sentence(const char *h)
{
    for (const char *p = h; (p = strchr(p, '.')) != NULL; p++)
        if (p[1] == '\0' || p[1] == ' ')
            return (size_t)(p - h);
    return strlen(h);
}

/* A help table (TABLE_HELP, laid out like a man page in text). */
static table *help_table(table_list *out, const char *title, const char *head)
{
    table *t = cmd_table(out, title);
    if (!t || table_set_kind(t, TABLE_HELP) || table_col(t, head, 0) ||
        table_col(t, "description", 0))
        return NULL;
    return t;
}

/* One row per command: its usage and the first sentence of its help. */
static int help_row(table *t, const cmd_def *d)
{
    char u[1024];
    return table_row(t) || table_str(t, cmd_usage(d, u, sizeof u)) ||
           table_fmt(t, "%.*s", (int)first_sentence(d->help), d->help);
}

/* help COMMAND: its usage, the whole description, then each option. */
static int help_command(const cmd_def *d, table_list *out)
{
    char u[1024], name[96];
    table *t = help_table(out, "", "usage");
    if (!t || table_row(t) || table_fmt(t, "usage: %s", cmd_usage(d, u, sizeof u)) ||
        table_str(t, d->help))
        return -ERR_NOMEM;
    if (d->flags & CMD_KEYS)   /* set: the keys are the options */
        t = help_table(out, "keys", "key");
    else if (opt_at(d->opts, 0) || (d->opts2 && opt_at(d->opts2, 0)))
        t = help_table(out, "options", "option");
    else
        return 0;
    if (!t || table_fields(t, "indent", 4.0, "body", 24.0, NULL))
        return -ERR_NOMEM;
    const opt_def *tabs[2] = {d->opts, d->opts2};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; tabs[k] && opt_at(tabs[k], i); i++) {
            const opt_def *o = opt_at(tabs[k], i);
            if (o->flags & OPT_HIDDEN)
                continue;
            if (d->flags & CMD_KEYS)
                snprintf(name, sizeof name, "%s", o->name);
            else
                opt_usage_one(o, name, sizeof name);
            if (table_row(t) || table_str(t, name) || table_str(t, o->help ? o->help : ""))
                return -ERR_NOMEM;
        }
    if ((d->flags & CMD_ATTRS) && (table_row(t) || table_str(t, "ATTR=VALUE") ||
                                   table_str(t, "items whose attribute ATTR (a column of the "
                                             "catalog beyond id, title, description and "
                                             "category) has this value")))
        return -ERR_NOMEM;
    return 0;
}

static int c_help(lab *L, const cmd_args *a, table_list *out, err *e)
{
    char name[128] = "";
    table *t;
    (void)L;

    for (int i = 0; i < a->argc; i++)
        snprintf(name + strlen(name), sizeof name - strlen(name), "%s%s", i ? " " : "",
                 a->argv[i]);
    if (a->argc > 0) {
        const cmd_def *d = def_named(strcmp(name, "exit") == 0 ? "quit" : name);
        const cmd_def *m[16];
        size_t nm;
        if (d)
            return help_command(d, out) ? cmd_nomem(e) : 0;
        /* "help train": the commands starting with that word */
        if (a->argc == 1 && (nm = first_word_matches(name, m, 16)) > 0) {
            if (!(t = help_table(out, "commands", "command")))
                return cmd_nomem(e);
            for (size_t i = 0; i < nm; i++)
                if (help_row(t, m[i]))
                    return cmd_nomem(e);
            return 0;
        }
        char *w = name;
        int rc = unknown_command(&w, 1, e);
        err_prefix(e, "help");
        return rc;
    }
    if (!(t = help_table(out, "commands", "command")))
        return cmd_nomem(e);
    for (size_t g = 0; g < N_GROUPS; g++)
        for (const cmd_def *d = groups[g]; d->name; d++)
            if (help_row(t, d))
                return cmd_nomem(e);
    if (table_note(t, "help COMMAND explains one command with its options."))
        return cmd_nomem(e);
    return 0;
}

static int c_quit(lab *L, const cmd_args *a, table_list *out, err *e)
{
    (void)L, (void)a, (void)out, (void)e;
    return CMD_QUIT;
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
        ROWN("models", (int64_t)s->n_models) || ROWN("indexes", c->indexes) ||
        ROW("hybrid", "%s, alpha %.2f, k %d", lab_hybrid_name(s->set.hybrid), s->set.alpha,
            s->set.k))
        goto done;
    for (size_t i = 0; i < s->n_models; i++) {
        const lab_summary_model *m = &s->models[i];
        /* a model without vectors (a baseline, dim 0): "N items"; %.0lld prints 0 as "" */
        if (ROW(m->name, m->dim ? "%s, %lld x %lld%s%s" : "%s, %lld items%.0lld%s%s", m->label,
                (long long)m->n_vectors, (long long)m->dim, s->set.no_timing ? "" : ", ",
                s->set.no_timing ? "" : m->created))
            goto done;
        if (!strcmp(m->name, "item2vec") &&
            ROW("i2v", "%s (%s; set i2v inout|inin|dot)",
                s->set.i2v_scoring == LAB_I2V_INOUT ? "inout"
                : s->set.i2v_scoring == LAB_I2V_DOT ? "dot" : "inin", lab_i2v_scoring(s)))
            goto done;
    }
    /* the BLAS, the CPU and the kernels chosen for it: machine-dependent */
    if (!s->set.no_timing &&
        (ROW("blas", "OpenBLAS %s", vec_blas_core()) || ROW("cpu", "%s", cpu_model()) ||
         ROW("cpu features", "%s", cpu_features()) ||
         ROW("kernels", "%s (best this CPU has: %s)", cpu_level_name(cpu_level_cur()),
             cpu_level_name(cpu_detect())) ||
         ROW("kernel index", "%s (flat/IVF/HNSW distances, sq8)", index_kernel_name()) ||
         ROW("kernel sgns", "%s (item2vec and builtin text training)", sgns_kernel_name()) ||
         ROW("kernel bert", "%s (fp32 packed products, LayerNorm, GELU, attention)",
             bert_kernel_name()) ||
         ROW("kernel bf16", "%s", bert_bf16_kernel())))
        goto done;
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
    lab_settings s = L->set;
    int rc;

    if ((rc = opt_set(lab_setting_defs, &s, key, val, e))) {
        err_prefix(e, "set");
        return rc;
    }
    L->set = s;
    if (strcmp(key, "nprobe") == 0 || strcmp(key, "ef") == 0)
        lab_apply_search_params(L);
    return table_list_msg(out, "%s = %s", key, val) ? 0 : cmd_nomem(e);
}

const opt_def cmd_no_opts[] = {{0}};

const opt_def cmd_filter_opts[] = {
    {.name = "category", .type = OPT_STR, .arg = "C", .flags = OPT_FILTER,
     .help = "items of this category"},
    {.name = "title", .type = OPT_STR, .arg = "WORD", .flags = OPT_FILTER,
     .help = "items whose title contains WORD"},
    {0},
};

const cmd_def cmd_defs_core[] = {
    {.name = "help", .fn = c_help, .usage = "help [COMMAND]",
     .help = "List commands, or explain one. `help train` lists the commands starting with "
     "that word.", .min_pos = 0, .max_pos = 2, .opts = cmd_no_opts},
    {.name = "info", .fn = c_info, .usage = "info",
     .help = "Counts, database size, models and settings.", .opts = cmd_no_opts},
    {.name = "models", .fn = c_models, .usage = "models",
     .help = "List stored models with their parameters.", .opts = cmd_no_opts},
    {.name = "set", .fn = c_set, .usage = "set KEY VALUE",
     .help = "Change a setting for the following commands (hybrid: rerank|blend|rrf|fill; alpha "
     "in 0..1; history: how many of a user's last items form the query, default 5; i2v: inout "
     "scores items bought together by the IN.OUT cosine (default), inin items used alike, "
     "dot the raw IN.OUT dot product, which keeps the output vectors' norms as gensim's "
     "predict_output_word does).",
     .min_pos = 2, .max_pos = 2, .opts = lab_setting_defs, .flags = CMD_KEYS},
    {.name = "quit", .fn = c_quit, .usage = "quit | exit",
     .help = "Leave embedlab (a script stops reading commands).", .opts = cmd_no_opts},
    {0},
};
