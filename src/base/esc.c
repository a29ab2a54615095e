/* esc.c - JSON and CSV string output (see esc.h). */
#include "esc.h"

#include <string.h>

void esc_json(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                fprintf(out, "\\u%04x", *p);
            } else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
                fprintf(out, "\\u%04x", p[1]);
                p++;
            } else {
                fputc(*p, out);
            }
        }
    }
}

void esc_csv(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}
