/* w2v_io.c - the word2vec text and binary vector formats (see item2vec.h):
 * i2v_w2v_save, i2v_w2v_load.
 *
 * They follow word2vec.c (save) and gensim 4.2
 * KeyedVectors.load_word2vec_format (load): a "count dim" header line, then
 * per vector its key and either dim text floats or dim little-endian float32.
 * The reader treats the file as hostile: sizes are checked against the file
 * length before anything is allocated, and every error names file and line.
 */
#include "item2vec.h"

#include "ids.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define W2V_MAX_KEY 4096
#define W2V_MAX_VECTORS 100000000ULL   /* 1e8: far above any catalog */

/* ---- word2vec save ------------------------------------------------------ */

static int key_ok(const char *k)
{
    if (!k || !*k || strlen(k) > W2V_MAX_KEY)
        return 0;
    for (const unsigned char *p = (const unsigned char *)k; *p; p++)
        if (isspace(*p))
            return 0;
    return 1;
}

static void put_le32(unsigned char *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    b[0] = (unsigned char)u;
    b[1] = (unsigned char)(u >> 8);
    b[2] = (unsigned char)(u >> 16);
    b[3] = (unsigned char)(u >> 24);
}

static float get_le32(const unsigned char *b)
{
    uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                 (uint32_t)b[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

int i2v_w2v_save(const char *path, int format, const vecset *vs, i2v_key_fn key_fn, void *ud,
                 err *e)
{
    char *tmp = NULL, idbuf[32];
    unsigned char *bin = NULL;
    FILE *f = NULL;
    size_t pl = strlen(path);
    int rc;

    if (format != I2V_W2V_TEXT && format != I2V_W2V_BINARY)
        return err_set(e, ERR_USAGE, "unknown word2vec format %d", format);
    tmp = mem_alloc(pl + 5);
    bin = mem_array(vs->dim ? vs->dim : 1, 4);
    if (!tmp || !bin) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    f = fopen(tmp, "wb");
    if (!f) {
        /* the user's file, not our temporary one beside it */
        rc = err_set(e, ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        goto fail;
    }
    fprintf(f, "%zu %zu\n", vs->n, vs->dim);
    for (size_t r = 0; r < vs->n; r++) {
        const char *key;
        const float *v = vs->data + r * vs->dim;
        if (key_fn) {
            key = key_fn(ud, vs->ids[r]);
        } else {
            snprintf(idbuf, sizeof idbuf, "%lld", (long long)vs->ids[r]);
            key = idbuf;
        }
        if (!key_ok(key)) {
            rc = err_set(e, ERR_USAGE, "item %lld: key '%s' is empty, too long or has spaces",
                         (long long)vs->ids[r], key ? key : "(none)");
            goto fail;
        }
        fputs(key, f);
        if (format == I2V_W2V_BINARY) {
            fputc(' ', f);
            for (size_t d = 0; d < vs->dim; d++)
                put_le32(bin + 4 * d, v[d]);
            fwrite(bin, 4, vs->dim, f);
        } else {
            for (size_t d = 0; d < vs->dim; d++)
                fprintf(f, " %.9g", (double)v[d]);
        }
        fputc('\n', f);
    }
    if (ferror(f) || fclose(f) != 0) {
        f = NULL;
        rc = err_set(e, ERR_IO, "%s: write failed: %s", path, strerror(errno));
        goto fail;
    }
    f = NULL;
    if (rename(tmp, path) != 0) {
        rc = err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    mem_free(tmp);
    mem_free(bin);
    return 0;
fail:
    if (f)
        fclose(f);
    if (tmp)
        remove(tmp);
    mem_free(tmp);
    mem_free(bin);
    return rc;
}

const char *i2v_catalog_key(void *ud, int64_t id)
{
    const store_catalog *c = ud;
    long r = ids_find(c->ids, c->n, id);
    return r >= 0 ? c->ext_id[r] : NULL;
}

/* ---- word2vec load ------------------------------------------------------ */

typedef struct reader {
    FILE *f;
    const char *path;
    size_t line;            /* 1-based line of the text just read */
    char *buf;              /* current line (text format) */
    size_t cap;
} reader;

#define LINE_EOF (-1)
#define LINE_NOMEM (-2)

/* Reads one line without its '\n' (and a trailing '\r').  Returns its
 * length, LINE_EOF or LINE_NOMEM. */
static long read_line(reader *rd)
{
    size_t n = 0;
    int ch;

    while ((ch = getc(rd->f)) != EOF && ch != '\n') {
        if (n + 2 > rd->cap && mem_grow(&rd->buf, &rd->cap, n + 2, 1) < 0)
            return LINE_NOMEM;
        rd->buf[n++] = (char)ch;
    }
    if (ch == EOF && n == 0)
        return LINE_EOF;
    if (n + 1 > rd->cap && mem_grow(&rd->buf, &rd->cap, n + 1, 1) < 0)
        return LINE_NOMEM;
    if (n && rd->buf[n - 1] == '\r')
        n--;
    rd->buf[n] = '\0';
    rd->line++;
    return (long)n;
}

/* Header "count dim": two decimal numbers, nothing else. */
static int parse_header(reader *rd, size_t *n, size_t *dim, err *e)
{
    char *p, *end;
    unsigned long long a, b;
    long len = read_line(rd);

    if (len == LINE_NOMEM)
        return err_set(e, ERR_NOMEM, "out of memory");
    if (len < 0)
        return err_set(e, ERR_PARSE, "%s:1: empty file (expected a \"count dim\" header)",
                       rd->path);
    p = rd->buf;
    while (*p == ' ')
        p++;
    errno = 0;
    if (!isdigit((unsigned char)*p))
        goto bad;
    a = strtoull(p, &end, 10);
    if (errno || *end != ' ')
        goto bad;
    p = end;
    while (*p == ' ')
        p++;
    if (!isdigit((unsigned char)*p))
        goto bad;
    b = strtoull(p, &end, 10);
    if (errno)
        goto bad;
    while (*end == ' ')
        end++;
    if (*end)
        goto bad;
    if (a > W2V_MAX_VECTORS)
        return err_set(e, ERR_PARSE, "%s:1: vector count %llu too large (max %llu)", rd->path,
                       a, (unsigned long long)W2V_MAX_VECTORS);
    if (b < 1 || b > SGNS_MAX_DIM)
        return err_set(e, ERR_PARSE, "%s:1: dimension %llu out of range (1..%d)", rd->path, b,
                       SGNS_MAX_DIM);
    *n = (size_t)a;
    *dim = (size_t)b;
    return 0;
bad:
    return err_set(e, ERR_PARSE, "%s:1: bad header '%.60s' (expected \"count dim\")", rd->path,
                   rd->buf);
}

static int load_text(reader *rd, i2v_w2v *w, err *e)
{
    for (size_t r = 0; r < w->n; r++) {
        long len = read_line(rd);
        char *p, *end;
        if (len == LINE_NOMEM)
            return err_set(e, ERR_NOMEM, "out of memory");
        if (len < 0)
            return err_set(e, ERR_PARSE, "%s:%zu: truncated: header says %zu vectors, found %zu",
                           rd->path, rd->line + 1, w->n, r);
        p = rd->buf;
        end = strchr(p, ' ');
        if (!end || end == p)
            return err_set(e, ERR_PARSE, "%s:%zu: expected a key followed by %zu values",
                           rd->path, rd->line, w->dim);
        if ((size_t)(end - p) > W2V_MAX_KEY)
            return err_set(e, ERR_PARSE, "%s:%zu: key longer than %d bytes", rd->path, rd->line,
                           W2V_MAX_KEY);
        w->keys[r] = mem_strndup(p, (size_t)(end - p));
        if (!w->keys[r])
            return err_set(e, ERR_NOMEM, "out of memory");
        p = end;
        float *v = w->data + r * w->dim;
        size_t d = 0;
        for (;;) {
            while (*p == ' ' || *p == '\t')
                p++;
            if (!*p)
                break;
            if (d == w->dim)
                return err_set(e, ERR_PARSE, "%s:%zu: more than %zu values", rd->path,
                               rd->line, w->dim);
            errno = 0;
            float x = strtof(p, &end);
            if (end == p || (*end && *end != ' ' && *end != '\t'))
                return err_set(e, ERR_PARSE, "%s:%zu: value %zu is not a number", rd->path,
                               rd->line, d + 1);
            if (errno == ERANGE && fabsf(x) > 1.0f)
                return err_set(e, ERR_PARSE, "%s:%zu: value %zu out of float range", rd->path,
                               rd->line, d + 1);
            if (!isfinite(x))
                return err_set(e, ERR_PARSE, "%s:%zu: value %zu is not finite", rd->path,
                               rd->line, d + 1);
            v[d++] = x;
            p = end;
        }
        if (d != w->dim)
            return err_set(e, ERR_PARSE, "%s:%zu: expected %zu values, found %zu", rd->path,
                           rd->line, w->dim, d);
    }
    for (;;) {
        long len = read_line(rd);
        if (len == LINE_NOMEM)
            return err_set(e, ERR_NOMEM, "out of memory");
        if (len < 0)
            return 0;
        for (const char *p = rd->buf; *p; p++)
            if (!isspace((unsigned char)*p))
                return err_set(e, ERR_PARSE, "%s:%zu: more vectors than the header's %zu",
                               rd->path, rd->line, w->n);
    }
}

static int load_binary(reader *rd, i2v_w2v *w, long offset, err *e)
{
    unsigned char *raw = mem_array(w->dim, 4);
    char key[W2V_MAX_KEY + 1];
    int ch, rc = 0;

    if (!raw)
        return err_set(e, ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < w->n; r++) {
        size_t kl = 0;
        long at = offset;
        /* word2vec.c ends records with '\n', gensim 4 does not: skip it. */
        while ((ch = getc(rd->f)) == '\n')
            offset++;
        at = offset;
        while (ch != EOF && ch != ' ') {
            if (kl == W2V_MAX_KEY) {
                rc = err_set(e, ERR_PARSE, "%s: vector %zu at byte %ld: key longer than %d bytes",
                             rd->path, r + 1, at, W2V_MAX_KEY);
                goto out;
            }
            if (ch == '\0' || ch == '\n') {
                rc = err_set(e, ERR_PARSE, "%s: vector %zu at byte %ld: bad byte in key",
                             rd->path, r + 1, at);
                goto out;
            }
            key[kl++] = (char)ch;
            ch = getc(rd->f);
            offset++;
        }
        if (ch == EOF) {
            rc = err_set(e, ERR_PARSE, "%s: vector %zu at byte %ld: truncated: header says %zu "
                         "vectors", rd->path, r + 1, at, w->n);
            goto out;
        }
        offset++;   /* the space */
        if (kl == 0) {
            rc = err_set(e, ERR_PARSE, "%s: vector %zu at byte %ld: empty key", rd->path, r + 1,
                         at);
            goto out;
        }
        key[kl] = '\0';
        if (fread(raw, 4, w->dim, rd->f) != w->dim) {
            rc = err_set(e, ERR_PARSE, "%s: vector %zu at byte %ld: truncated (%zu floats "
                         "expected)", rd->path, r + 1, at, w->dim);
            goto out;
        }
        offset += (long)(4 * w->dim);
        float *v = w->data + r * w->dim;
        for (size_t d = 0; d < w->dim; d++) {
            v[d] = get_le32(raw + 4 * d);
            if (!isfinite(v[d])) {
                rc = err_set(e, ERR_PARSE, "%s: vector %zu ('%s') at byte %ld: value %zu is "
                             "not finite", rd->path, r + 1, key, at, d + 1);
                goto out;
            }
        }
        w->keys[r] = mem_strndup(key, kl);
        if (!w->keys[r]) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    while ((ch = getc(rd->f)) != EOF)
        if (!isspace(ch)) {
            rc = err_set(e, ERR_PARSE, "%s: byte %ld: data after the header's %zu vectors",
                         rd->path, offset, w->n);
            goto out;
        }
out:
    mem_free(raw);
    return rc;
}

int i2v_w2v_load(const char *path, int format, i2v_w2v *out, err *e)
{
    reader rd = {0};
    i2v_w2v w = {0};
    struct stat sb;
    int rc;

    memset(out, 0, sizeof *out);
    if (format != I2V_W2V_TEXT && format != I2V_W2V_BINARY)
        return err_set(e, ERR_USAGE, "unknown word2vec format %d", format);
    rd.path = path;
    rd.f = fopen(path, "rb");
    if (!rd.f)
        return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
    if (fstat(fileno(rd.f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = err_set(e, ERR_IO, "%s: not a regular file", path);
        goto fail;
    }
    if ((rc = parse_header(&rd, &w.n, &w.dim, e)) < 0)
        goto fail;
    /* The smallest record: a 1-byte key, a separator and per value 4 bytes
     * (binary) or 2 ("0 "), and a newline. */
    long hdr = ftell(rd.f);
    unsigned long long rest = (unsigned long long)sb.st_size - (unsigned long long)hdr;
    unsigned long long rec = format == I2V_W2V_BINARY ? 2 + 4ULL * w.dim : 1 + 2ULL * w.dim;
    if (w.n && (unsigned long long)w.n * rec > rest + 1) {
        rc = err_set(e, ERR_PARSE, "%s:1: header says %zu vectors of %zu values but the file "
                     "holds at most %llu", path, w.n, w.dim, (rest + 1) / rec);
        goto fail;
    }
    w.keys = mem_calloc(w.n ? w.n : 1, sizeof *w.keys);
    w.data = mem_aligned(64, (w.n ? w.n : 1) * w.dim * sizeof(float));
    if (!w.keys || !w.data) {
        rc = err_set(e, ERR_NOMEM, "out of memory for %zu vectors", w.n);
        goto fail;
    }
    rc = format == I2V_W2V_BINARY ? load_binary(&rd, &w, hdr, e) : load_text(&rd, &w, e);
    if (rc < 0)
        goto fail;
    if (ferror(rd.f)) {
        rc = err_set(e, ERR_IO, "%s: read error", path);
        goto fail;
    }
    fclose(rd.f);
    mem_free(rd.buf);
    *out = w;
    return 0;
fail:
    fclose(rd.f);
    mem_free(rd.buf);
    i2v_w2v_done(&w);
    return rc;
}

void i2v_w2v_done(i2v_w2v *w)
{
    if (!w)
        return;
    if (w->keys)
        for (size_t i = 0; i < w->n; i++)
            mem_free(w->keys[i]);
    mem_free(w->keys);
    mem_free(w->data);
    memset(w, 0, sizeof *w);
}

int i2v_w2v_to_vecset(const i2v_w2v *w, i2v_lookup_fn lookup, void *ud, vecset *out,
                      size_t *n_unknown, err *e)
{
    vecset vs;
    size_t n = 0, unknown = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = vecset_init(&vs, w->n, w->dim, e)) < 0)
        return rc;
    for (size_t i = 0; i < w->n; i++) {
        int64_t id;
        if (lookup(ud, w->keys[i], &id) < 0) {
            unknown++;
            continue;
        }
        vs.ids[n] = id;
        memcpy(vs.data + n * w->dim, w->data + i * w->dim, w->dim * sizeof(float));
        n++;
    }
    vs.n = n;
    if ((rc = vecset_sort(&vs, e)) < 0)
        goto fail;
    for (size_t i = 1; i < n; i++)
        if (vs.ids[i] == vs.ids[i - 1]) {
            rc = err_set(e, ERR_EXISTS, "two vectors for item %lld", (long long)vs.ids[i]);
            goto fail;
        }
    if (n_unknown)
        *n_unknown = unknown;
    *out = vs;
    return 0;
fail:
    vecset_done(&vs);
    return rc;
}
