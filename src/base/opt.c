/* opt.c - option descriptors (see opt.h): parsing with one style of error,
 * usage text and "did you mean" (Damerau-Levenshtein distance, as git's
 * help.c suggests commands). */
#include "opt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int name_is(const char *s, const char *name)
{
    return s && name && strcmp(s, name) == 0;
}

const opt_def *opt_find(const opt_def *t, const char *name)
{
    for (; t && t->name; t++)
        if (name_is(t->name, name) || name_is(t->alias, name))
            return t;
    return NULL;
}

const opt_def *opt_at(const opt_def *t, size_t i)
{
    for (; t && t->name; t++)
        if (i-- == 0)
            return t;
    return NULL;
}

/* Is v one of the '|'-separated words of list?  Its index, or -1. */
static int word_index(const char *list, const char *v)
{
    int idx = 0;
    const char *s = list;
    while (s && *s) {
        size_t len = strcspn(s, "|");
        if (strlen(v) == len && strncmp(s, v, len) == 0)
            return idx;
        s += len;
        if (*s == '|')
            s++;
        idx++;
    }
    return -1;
}

static int needs_value(const opt_def *d, const char *v, err *e)
{
    if (v && *v)
        return 0;
    return err_set(e, ERR_USAGE, "%s needs a value", d->name);
}

int opt_long(const opt_def *d, const char *v, long *out, err *e)
{
    char *end;
    long x;
    int rc;

    if ((rc = needs_value(d, v, e)))
        return rc;
    if (d->words && word_index(d->words, v) >= 0) {
        *out = (long)d->word_value;
        return 0;
    }
    errno = 0;
    x = strtol(v, &end, 10);
    if (*end || errno == ERANGE)
        return err_set(e, ERR_USAGE, "%s=%s is not a whole number%s%s", d->name, v,
                       d->words ? " or " : "", d->words ? d->words : "");
    if ((double)x < d->min || (double)x > d->max)
        return err_set(e, ERR_USAGE, "%s=%ld is out of range (%.0f..%.0f%s%s)", d->name, x,
                       d->min, d->max, d->words ? ", or " : "", d->words ? d->words : "");
    *out = x;
    return 0;
}

int opt_u64(const opt_def *d, const char *v, uint64_t *out, err *e)
{
    char *end;
    unsigned long long x;
    int rc;

    if ((rc = needs_value(d, v, e)))
        return rc;
    errno = 0;
    x = strtoull(v, &end, 10);
    if (*end || errno == ERANGE || v[strspn(v, " \t")] == '-')
        return err_set(e, ERR_USAGE, "%s=%s is not a whole number in 0..%llu", d->name, v,
                       (unsigned long long)UINT64_MAX);
    *out = (uint64_t)x;
    return 0;
}

int opt_double(const opt_def *d, const char *v, double *out, err *e)
{
    char *end;
    double x;
    int rc;

    if ((rc = needs_value(d, v, e)))
        return rc;
    if (d->words && word_index(d->words, v) >= 0) {
        *out = d->word_value;
        return 0;
    }
    errno = 0;
    x = strtod(v, &end);
    if (*end || errno == ERANGE || !isfinite(x))
        return err_set(e, ERR_USAGE, "%s=%s is not a number%s%s", d->name, v,
                       d->words ? " or " : "", d->words ? d->words : "");
    if ((d->flags & OPT_MIN_OPEN ? x <= d->min : x < d->min) || x > d->max)
        return err_set(e, ERR_USAGE, "%s=%g is out of range (%s%g..%g%s%s)", d->name, x,
                       d->flags & OPT_MIN_OPEN ? "above " : "", d->min, d->max,
                       d->words ? ", or " : "", d->words ? d->words : "");
    *out = x;
    return 0;
}

int opt_choice(const opt_def *d, const char *v, int *out, err *e)
{
    int idx;
    if (!v || !*v)
        return err_set(e, ERR_USAGE, "%s needs one of %s", d->name, d->arg);
    if ((idx = word_index(d->arg, v)) < 0)
        return err_set(e, ERR_USAGE, "%s=%s is not one of %s", d->name, v, d->arg);
    *out = idx;
    return 0;
}

int opt_flag(const opt_def *d, const char *v, int *out, err *e)
{
    int idx;
    if (!v) {
        *out = 1;
        return 0;
    }
    if ((idx = word_index("0|false|no|off|1|true|yes|on", v)) < 0)
        return err_set(e, ERR_USAGE, "%s=%s is not one of 1|0|true|false|yes|no", d->name, v);
    *out = idx >= 4;
    return 0;
}

int opt_check(const opt_def *d, const char *v, err *e)
{
    long l;
    uint64_t u;
    double x;
    int i;

    switch (d->type) {
    case OPT_INT: return opt_long(d, v, &l, e);
    case OPT_U64: return opt_u64(d, v, &u, e);
    case OPT_REAL: return opt_double(d, v, &x, e);
    case OPT_CHOICE: return opt_choice(d, v, &i, e);
    case OPT_FLAG: return opt_flag(d, v, &i, e);
    default: return needs_value(d, v, e);
    }
}

int opt_set(const opt_def *t, void *obj, const char *key, const char *v, err *e)
{
    const opt_def *d = opt_find(t, key);
    char *field;
    long l;
    uint64_t u;
    double x;
    int i, rc;

    if (!key || !*key)
        return err_set(e, ERR_USAGE, "empty parameter name");
    if (!d || !d->has_off)
        return opt_unknown(t, NULL, key, NULL, 0, NULL, e);
    field = (char *)obj + d->off;
    switch (d->type) {
    case OPT_INT:
        if ((rc = opt_long(d, v, &l, e)))
            return rc;
        *(int *)(void *)field = (int)l;
        return 0;
    case OPT_U64:
        if ((rc = opt_u64(d, v, &u, e)))
            return rc;
        memcpy(field, &u, sizeof u);
        return 0;
    case OPT_REAL:
        if ((rc = opt_double(d, v, &x, e)))
            return rc;
        memcpy(field, &x, sizeof x);
        return 0;
    case OPT_CHOICE:
    case OPT_FLAG:
        if ((rc = d->type == OPT_CHOICE ? opt_choice(d, v, &i, e) : opt_flag(d, v, &i, e)))
            return rc;
        memcpy(field, &i, sizeof i);
        return 0;
    default:
        if ((rc = needs_value(d, v, e)))
            return rc;
        if (strlen(v) >= (size_t)d->max)
            return err_set(e, ERR_USAGE, "%s is too long (at most %.0f bytes)", d->name,
                           d->max - 1);
        memcpy(field, v, strlen(v) + 1);
        return 0;
    }
}

void opt_defaults(const opt_def *t, void *obj)
{
    for (; t && t->name; t++)
        if (t->has_off && t->def)
            opt_set(t, obj, t->name, t->def, NULL);
}

/* ---- did you mean ---------------------------------------------------------- */

/* Optimal string alignment distance (adjacent swaps count one). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t d[3][65], *p2 = d[0], *p1 = d[1], *cur = d[2];

    if (la > 64 || lb > 64)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        p1[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = p1[j - 1] + cost;
            if (p1[j] + 1 < v)
                v = p1[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                p2[j - 2] + 1 < v)
                v = p2[j - 2] + 1;
            cur[j] = v;
        }
        size_t *t = p2;
        p2 = p1;
        p1 = cur;
        cur = t;
    }
    return p1[lb];
}

const char *opt_closest(const char *word, const char *const *cands, size_t n)
{
    size_t best = (size_t)-1, limit = strlen(word) <= 4 ? 1 : 2;
    const char *pick = NULL;

    for (size_t i = 0; i < n; i++) {
        if (!cands[i])
            continue;
        size_t d = distance(word, cands[i]);
        /* a prefix ("simil" for "similar") is a likely slip too */
        if (d > limit && strlen(word) >= 3 && strncmp(cands[i], word, strlen(word)) == 0)
            d = limit;
        if (d <= limit && d < best) {
            best = d;
            pick = cands[i];
        }
    }
    return pick;
}

/* ---- usage ----------------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) static void append(char *buf, size_t cap, size_t *o,
                                                          const char *fmt, ...)
{
    va_list ap;
    if (*o + 1 >= cap)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *o, cap - *o, fmt, ap);
    va_end(ap);
    if (n > 0)
        *o = *o + (size_t)n < cap ? *o + (size_t)n : cap - 1;
}

/* The name as typed on a command line: "--skip-bad" for skip_bad. */
static void dashed_name(char *dst, size_t cap, const char *name)
{
    snprintf(dst, cap, "--%s", name);
    for (char *c = dst + 2; *c; c++)
        if (*c == '_')
            *c = '-';
}

size_t opt_usage_one(const opt_def *d, char *buf, size_t cap)
{
    char dn[64], val[128];
    size_t o = 0;

    if (cap == 0)
        return 0;
    buf[0] = '\0';
    if (d->type == OPT_FLAG) {
        dashed_name(dn, sizeof dn, d->name);
        append(buf, cap, &o, "%s", dn);
        return o;
    }
    if (d->type == OPT_CHOICE || d->type == OPT_STR || !d->def)
        snprintf(val, sizeof val, "%s", d->arg ? d->arg : d->type == OPT_STR ? "TEXT" : "N");
    else
        snprintf(val, sizeof val, "%s", d->def);
    if (d->words && strncmp(val, d->words, strcspn(d->words, "|")) != 0) {
        size_t l = strlen(val);
        snprintf(val + l, sizeof val - l, "|%.*s", (int)strcspn(d->words, "|"), d->words);
    }
    if (d->flags & OPT_DASHED) {
        dashed_name(dn, sizeof dn, d->name);
        append(buf, cap, &o, "%s %s", dn, val);
    } else
        append(buf, cap, &o, "%s=%s", d->name, val);
    return o;
}

size_t opt_usage(const opt_def *t, char *buf, size_t cap)
{
    size_t o = strlen(buf);
    char one[256];

    for (; t && t->name; t++) {
        if (t->flags & OPT_HIDDEN)
            continue;
        opt_usage_one(t, one, sizeof one);
        append(buf, cap, &o, "%s[%s]", o ? " " : "", one);
    }
    return o;
}

/* "k=" or "--update": how a name is typed, for messages. */
static void typed_name(const opt_def *d, char *dst, size_t cap)
{
    if (d->type == OPT_FLAG)
        dashed_name(dst, cap, d->name);
    else
        snprintf(dst, cap, "%s=", d->name);
}

int opt_unknown(const opt_def *t, const opt_def *t2, const char *key, const char *const *extra,
                size_t n_extra, const char *extra_what, err *e)
{
    const opt_def *tabs[2] = {t, t2};
    const char *cands[128];
    size_t n = 0, o = 0;
    char msg[ERR_MSG_LEN] = "", nm[80];
    const char *pick;
    int any = 0;

    for (int k = 0; k < 2; k++)
        for (const opt_def *d = tabs[k]; d && d->name && n < 62; d++) {
            cands[n++] = d->name;
            if (d->alias)
                cands[n++] = d->alias;   /* suggested under its own name */
        }
    for (size_t i = 0; i < n_extra && n < 128; i++)
        cands[n++] = extra[i];
    pick = opt_closest(key, cands, n);
    append(msg, sizeof msg, &o, "unknown parameter '%s'", key);
    if (pick) {
        const opt_def *d = opt_find(t, pick);
        if (!d)
            d = opt_find(t2, pick);
        if (d)
            typed_name(d, nm, sizeof nm);
        else
            snprintf(nm, sizeof nm, "%s=", pick);
        append(msg, sizeof msg, &o, " (did you mean %s?)", nm);
    }
    append(msg, sizeof msg, &o, "; accepted:");
    for (int k = 0; k < 2; k++)
        for (const opt_def *d = tabs[k]; d && d->name; d++)
            if (!(d->flags & OPT_HIDDEN)) {
                typed_name(d, nm, sizeof nm);
                append(msg, sizeof msg, &o, " %s", nm);
                any = 1;
            }
    if (!any)
        append(msg, sizeof msg, &o, " none");
    if (extra_what) {
        append(msg, sizeof msg, &o, "; %s:%s", extra_what, n_extra ? "" : " none");
        for (size_t i = 0; i < n_extra; i++)
            append(msg, sizeof msg, &o, " %s", extra[i]);
    }
    return err_set(e, ERR_USAGE, "%s", msg);
}
