/* err.h - error codes and a caller-owned message buffer.
 *
 * Library code returns 0 or a negative ERR_* code and, when the caller passes
 * an `err *`, a human-readable message naming what went wrong (file, line,
 * field).  The buffer lives in the struct, so reporting works even when memory
 * is exhausted.  `e` may be NULL everywhere: the code is still returned.
 */
#ifndef EMBEDLAB_ERR_H
#define EMBEDLAB_ERR_H

#include <stddef.h>

enum {
    ERR_OK = 0,
    ERR_NOMEM,       /* allocation failed */
    ERR_IO,          /* open/read/write failed */
    ERR_PARSE,       /* malformed input */
    ERR_RANGE,       /* value out of range */
    ERR_NOTFOUND,    /* unknown item, model, file, command */
    ERR_EXISTS,      /* duplicate */
    ERR_DB,          /* SQLite error */
    ERR_CANCEL,      /* job cancelled by the user */
    ERR_USAGE,       /* bad command syntax or parameter */
    ERR_BUSY,        /* database locked by another process */
    ERR_STATE,       /* operation needs something not there yet (a model, an index) */
    ERR_UNSUPPORTED, /* format or feature not supported */
    ERR_MAX_
};

#define ERR_MSG_LEN 512

typedef struct err {
    int code;               /* 0 or a positive ERR_* */
    char msg[ERR_MSG_LEN];  /* NUL-terminated; empty when code == 0 */
} err;

/* Sets e (if non-NULL) and returns -code, so `return err_set(e, ...)` works. */
int err_set(err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (e.g. a file name). */
void err_prefix(err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void err_clear(err *e);

/* Short stable name of a code: "nomem", "parse", ... (code may be negative). */
const char *err_name(int code);

#endif
