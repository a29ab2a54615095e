/* vecio.c - the ANN-benchmark vector files (.fvecs / .ivecs, as published
 * with SIFT1M and GIST1M): each record is a little-endian int32 dimension d
 * followed by d float32 (fvecs) or int32 (ivecs) values.
 *
 * Files are untrusted: the whole file is read, its size must be a whole
 * number of records, every record must repeat the first record's d, and
 * fvecs values must be finite.  Errors name the file and the record.
 */
#include "index.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"

/* Reads a whole file into a new buffer. */
static int slurp(const char *path, unsigned char **buf, size_t *len, err *e)
{
    FILE *f = fopen(path, "rb");
    long sz;
    *buf = NULL;
    *len = 0;
    if (!f)
        return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return err_set(e, ERR_IO, "%s: cannot determine the size", path);
    }
    *buf = mem_alloc(sz ? (size_t)sz : 1);
    if (!*buf) {
        fclose(f);
        return err_set(e, ERR_NOMEM, "%s: out of memory for %ld bytes", path, sz);
    }
    if (sz && fread(*buf, 1, (size_t)sz, f) != (size_t)sz) {
        fclose(f);
        mem_free(*buf);
        *buf = NULL;
        return err_set(e, ERR_IO, "%s: read failed", path);
    }
    fclose(f);
    *len = (size_t)sz;
    return 0;
}

/* Checks the record structure; on success n and dim describe the file. */
static int check_records(const char *path, const unsigned char *b, size_t len, size_t *n,
                         size_t *dim, err *e)
{
    int32_t d0;
    size_t rec;
    if (len < 4)
        return err_set(e, ERR_PARSE, "%s: file too short for a record header (%zu bytes)", path,
                       len);
    memcpy(&d0, b, 4);
    if (d0 < 1 || d0 > 65536)
        return err_set(e, ERR_PARSE, "%s: record 0: dimension %d out of range 1..65536", path,
                       (int)d0);
    rec = 4 + 4 * (size_t)d0;
    if (len % rec)
        return err_set(e, ERR_PARSE, "%s: size %zu is not a whole number of %zu-byte records "
                       "(record %zu is truncated)", path, len, rec, len / rec);
    for (size_t i = 0; i < len / rec; i++) {
        int32_t d;
        memcpy(&d, b + i * rec, 4);
        if (d != d0)
            return err_set(e, ERR_PARSE, "%s: record %zu: dimension %d, expected %d", path, i,
                           (int)d, (int)d0);
    }
    *n = len / rec;
    *dim = (size_t)d0;
    return 0;
}

int index_fvecs_read(const char *path, float **data_out, size_t *n_out, size_t *dim_out,
                     err *e)
{
    unsigned char *b;
    size_t len, n, d;
    float *out;
    int rc;
    *data_out = NULL;
    *n_out = *dim_out = 0;
    if ((rc = slurp(path, &b, &len, e)) < 0)
        return rc;
    if ((rc = check_records(path, b, len, &n, &d, e)) < 0)
        goto done;
    out = mem_aligned(64, ((n && d) ? n * d : 1) * sizeof(float));
    if (!out) {
        rc = err_set(e, ERR_NOMEM, "%s: out of memory for %zu x %zu floats", path, n, d);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(out + i * d, b + i * (4 + 4 * d) + 4, 4 * d);
        for (size_t j = 0; j < d; j++)
            if (!isfinite(out[i * d + j])) {
                mem_free(out);
                rc = err_set(e, ERR_PARSE, "%s: record %zu: value %zu is not finite", path, i, j);
                goto done;
            }
    }
    *data_out = out;
    *n_out = n;
    *dim_out = d;
done:
    mem_free(b);
    return rc;
}

int index_ivecs_read(const char *path, int64_t **data_out, size_t *n_out, size_t *dim_out,
                     err *e)
{
    unsigned char *b;
    size_t len, n, d;
    int64_t *out;
    int rc;
    *data_out = NULL;
    *n_out = *dim_out = 0;
    if ((rc = slurp(path, &b, &len, e)) < 0)
        return rc;
    if ((rc = check_records(path, b, len, &n, &d, e)) < 0)
        goto done;
    out = mem_array((n && d) ? n * d : 1, sizeof *out);
    if (!out) {
        rc = err_set(e, ERR_NOMEM, "%s: out of memory for %zu x %zu ids", path, n, d);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            int32_t v;
            memcpy(&v, b + i * (4 + 4 * d) + 4 + 4 * j, 4);
            out[i * d + j] = v;
        }
    *data_out = out;
    *n_out = n;
    *dim_out = d;
done:
    mem_free(b);
    return rc;
}

static int write_records(const char *path, const void *data, size_t n, size_t dim, int ints,
                         err *e)
{
    FILE *f;
    int32_t d32 = (int32_t)dim;
    if (dim < 1 || dim > 65536)
        return err_set(e, ERR_RANGE, "%s: dimension %zu out of range 1..65536", path, dim);
    if (ints) {
        const int64_t *v = data;
        for (size_t i = 0; i < n * dim; i++)
            if (v[i] < INT32_MIN || v[i] > INT32_MAX)
                return err_set(e, ERR_RANGE, "%s: record %zu: id %lld does not fit int32", path,
                               i / dim, (long long)v[i]);
    }
    f = fopen(path, "wb");
    if (!f)
        return err_set(e, ERR_IO, "%s: %s", path, strerror(errno));
    for (size_t i = 0; i < n; i++) {
        int ok = fwrite(&d32, 4, 1, f) == 1;
        if (ok && ints) {
            const int64_t *v = (const int64_t *)data + i * dim;
            for (size_t j = 0; j < dim && ok; j++) {
                int32_t x = (int32_t)v[j];
                ok = fwrite(&x, 4, 1, f) == 1;
            }
        } else if (ok) {
            ok = fwrite((const float *)data + i * dim, 4, dim, f) == dim;
        }
        if (!ok) {
            fclose(f);
            return err_set(e, ERR_IO, "%s: write failed at record %zu", path, i);
        }
    }
    if (fclose(f) != 0)
        return err_set(e, ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return 0;
}

int index_fvecs_write(const char *path, const float *data, size_t n, size_t dim, err *e)
{
    return write_records(path, data, n, dim, 0, e);
}

int index_ivecs_write(const char *path, const int64_t *data, size_t n, size_t dim, err *e)
{
    return write_records(path, data, n, dim, 1, e);
}
