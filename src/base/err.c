/* err.c - error message formatting (see err.h). No heap use. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(err *e, int code, const char *fmt, ...)
{
    if (code < 0)
        code = -code;
    if (e) {
        va_list ap;
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -code;
}

void err_prefix(err *e, const char *fmt, ...)
{
    char pre[ERR_MSG_LEN], old[ERR_MSG_LEN];
    va_list ap;

    if (!e)
        return;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    /* Truncation is fine: a long message keeps its head. */
    size_t n = strlen(pre);
    if (n > sizeof e->msg - 3)
        n = sizeof e->msg - 3;
    memcpy(e->msg, pre, n);
    memcpy(e->msg + n, ": ", 2);
    size_t room = sizeof e->msg - n - 2 - 1, m = strlen(old);
    if (m > room)
        m = room;
    memcpy(e->msg + n + 2, old, m);
    e->msg[n + 2 + m] = '\0';
}

void err_clear(err *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = '\0';
    }
}

const char *err_name(int code)
{
    static const char *const names[ERR_MAX_] = {
        "ok", "nomem", "io", "parse", "range", "notfound", "exists",
        "db", "cancel", "usage", "busy", "state", "unsupported",
    };
    if (code < 0)
        code = -code;
    return code < ERR_MAX_ ? names[code] : "unknown";
}
