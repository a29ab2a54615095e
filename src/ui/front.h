/* front.h - what the front ends (src/ui) share: output options, running
 * one command and rendering its tables, the progress line, SIGINT. */
#ifndef EMBEDLAB_FRONT_H
#define EMBEDLAB_FRONT_H

#include <stdio.h>

#include "cmd.h"

enum { OUT_TEXT, OUT_JSON, OUT_CSV };

typedef struct front {
    lab *L;
    int out_fmt;      /* OUT_* */
    int strict;       /* stop at the first error */
    int n_errors;
    int interactive;  /* a person at a terminal */
} front;

/* Runs one line and renders its result to stdout (errors to stderr, or as
 * JSON to stdout in JSON mode).  Returns cmd_exec's code. */
int front_run(front *f, const char *line);

/* Installs the SIGINT handler: cancels the running job; when idle in batch
 * mode ends the program (exit 130). */
void front_signals(front *f);
int front_take_idle_sigint(void);   /* 1 once per Ctrl-C pressed while idle */

/* Columns of the terminal on stdout, 80 when it is not one (help wraps to it). */
int front_width(void);

/* Progress callback printing a one-line bar to stderr when it is a tty. */
void front_progress(const progress *p, void *ud);

/* The lab's token reader (lab_set_token_reader): the first line of
 * token_file, or $MILVUS_TOKEN when no file is named ("" if unset).  The
 * token never appears in a message. */
int front_read_token(void *ud, const char *token_file, char *out, size_t cap, err *e);

/* REPL: readline when interactive, getline otherwise.  Returns exit status. */
int repl_run(front *f, FILE *in);

#endif
