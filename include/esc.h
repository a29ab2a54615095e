/* esc.h - writing strings into JSON and CSV output.
 *
 * cJSON's printer does not fit the JSON case: it passes DEL and the C1
 * controls through raw, and a terminal acts on U+009B (CSI) the way it does
 * on ESC, so output meant for a screen or a pipe escapes them too.
 */
#ifndef EMBEDLAB_ESC_H
#define EMBEDLAB_ESC_H

#include <stdio.h>

/* Writes s as the body of a JSON string (no quotes): " and \ escaped, \n \r
 * \t as such, other C0 controls, DEL and C1 controls (UTF-8 C2 80..C2 9F)
 * as \u00XX; everything else as it is. */
void esc_json(FILE *out, const char *s);

/* Writes s as one CSV field (RFC 4180): quoted, with quotes doubled, when it
 * holds a comma, a quote, CR or LF; as it is otherwise. */
void esc_csv(FILE *out, const char *s);

#endif
