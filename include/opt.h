/* opt.h - option descriptors: one table describes a set of key=value
 * parameters (a command's, Item2Vec's, an index's, the `set` keys), and
 * everything about them comes from it: parsing with range checks, the one
 * style of error message, usage lines, completion and "did you mean".
 *
 *     static const opt_def my_opts[] = {
 *         {"dim", OPT_INT, 1, 4096, "64", NULL, "vector size"},
 *         {"format", OPT_CHOICE, 0, 0, NULL, "csv|tsv|jsonl", "file format"},
 *         {"skip_bad", OPT_FLAG, 0, 0, NULL, NULL, "skip bad rows", OPT_DASHED},
 *         {NULL},
 *     };
 *
 * Error messages (ERR_USAGE), without a prefix; callers add theirs
 * ("train item2vec: ") with err_prefix:
 *     dim=abc is not a whole number        dim=0 is out of range (1..4096)
 *     alpha=x is not a number              format=xml is not one of csv|tsv|jsonl
 *     dim needs a value                    unknown parameter 'kk' (did you mean k=?)
 */
#ifndef EMBEDLAB_OPT_H
#define EMBEDLAB_OPT_H

#include <stddef.h>   /* offsetof, for OPT_AT */
#include <stdint.h>

#include "err.h"

enum {
    OPT_INT,      /* whole number in [min, max]; `words` may name special values */
    OPT_U64,      /* non-negative whole number up to UINT64_MAX (seeds) */
    OPT_REAL,     /* finite number in [min, max] */
    OPT_CHOICE,   /* one of arg's words "a|b|c"; the value is its index */
    OPT_STR,      /* any text; arg names it in usage ("DIR") */
    OPT_FLAG,     /* --name, or name=1|0|true|false|yes|no */
};

/* opt_def.flags */
enum {
    OPT_HIDDEN = 1,      /* accepted, not shown in usage lines */
    OPT_DASHED = 2,      /* usage shows "--name ARG" rather than "name=ARG" */
    OPT_MIN_OPEN = 4,    /* OPT_REAL: min itself is excluded */
    OPT_FILTER = 8,      /* an item filter (category=, title=), see cmd_int.h */
};

typedef struct opt_def {
    const char *name;    /* "dim"; NULL ends a table */
    int type;            /* OPT_* */
    double min, max;     /* OPT_INT / OPT_REAL bounds, inclusive */
    const char *def;     /* the default as text ("64"), NULL when it has none or
                            the caller supplies it (a setting such as `set k`) */
    const char *arg;     /* OPT_CHOICE: "a|b|c"; OPT_STR/INT: the word in usage */
    const char *help;    /* one line */
    int flags;           /* OPT_HIDDEN | OPT_DASHED | ... */
    const char *alias;   /* another accepted name ("efc"), or NULL */
    const char *words;   /* OPT_INT, OPT_REAL: words meaning word_value ("session|whole") */
    double word_value;
    int has_off;         /* 1: off below places the value in a struct (opt_set) */
    size_t off;          /* offsetof the field: int for INT/CHOICE/FLAG, double for
                            REAL, uint64_t for U64, a char array of `max` bytes
                            for STR */
} opt_def;

/* A descriptor's field in an options struct: .has_off = 1, .off = offsetof(...) */
#define OPT_AT(type, field) .has_off = 1, .off = offsetof(type, field)

/* The descriptor named `name` (or with that alias) in table t, or NULL. */
const opt_def *opt_find(const opt_def *t, const char *name);
/* The i-th descriptor of t, or NULL past the end. */
const opt_def *opt_at(const opt_def *t, size_t i);

/* Parse `v` (NULL or "" : "needs a value") as d says.  0 and *out, or
 * -ERR_USAGE with the message above in e. */
int opt_long(const opt_def *d, const char *v, long *out, err *e);
int opt_u64(const opt_def *d, const char *v, uint64_t *out, err *e);
int opt_double(const opt_def *d, const char *v, double *out, err *e);
int opt_choice(const opt_def *d, const char *v, int *out, err *e);
/* A flag's value: NULL (bare --flag) and "1|true|yes|on" are 1, "0|false|no|off"
 * 0; anything else -ERR_USAGE. */
int opt_flag(const opt_def *d, const char *v, int *out, err *e);
/* Checks v against d without keeping the value (what a parser does for a
 * key it only validates). */
int opt_check(const opt_def *d, const char *v, err *e);

/* Sets the field of obj that key names (table t, descriptors with OPT_AT)
 * from text v.  -ERR_USAGE for an unknown key (opt_unknown) or a bad value;
 * obj changes only on success. */
int opt_set(const opt_def *t, void *obj, const char *key, const char *v, err *e);
/* Sets every OPT_AT field of obj that has a default to it. */
void opt_defaults(const opt_def *t, void *obj);

/* The candidate closest to `word` by edit distance (a typo: at most 1 edit
 * for words up to 4 letters, 2 beyond), or NULL.  cands[i] may be NULL. */
const char *opt_closest(const char *word, const char *const *cands, size_t n);
/* -ERR_USAGE "unknown parameter 'KEY' (did you mean NAME=?); accepted: a= b=
 * --c" over the descriptors of t and t2 (either may be NULL); extra[0..n_extra)
 * are more accepted words (a catalog's attribute names), listed after
 * "; EXTRA_WHAT:" when extra_what is given. */
int opt_unknown(const opt_def *t, const opt_def *t2, const char *key, const char *const *extra,
                size_t n_extra, const char *extra_what, err *e);

/* "[dim=64] [window=5|session] [--update]" for the shown descriptors of t,
 * appended to buf (cap bytes, always NUL-terminated).  Returns strlen(buf). */
size_t opt_usage(const opt_def *t, char *buf, size_t cap);
/* One descriptor as usage shows it, without brackets: "dim=64". */
size_t opt_usage_one(const opt_def *d, char *buf, size_t cap);

#endif
