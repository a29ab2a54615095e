/* term.h - the terminal for the TUI: curses init/done, colours, and the
 * safety net that restores the terminal on exit, SIGTERM/SIGHUP and crashes.
 * Main thread only.  term.c alone calls initscr/endwin. */
#ifndef EMBEDLAB_TERM_H
#define EMBEDLAB_TERM_H

#include "progress.h"

/* Colour roles; term_attr() maps them to a colour pair or, with NO_COLOR or
 * a monochrome terminal, to bold/reverse/dim. */
enum {
    TERM_HEADER = 1, TERM_TITLE, TERM_SELECT, TERM_MARK, TERM_STATUS, TERM_ERROR, TERM_BAR,
    TERM_HILITE, TERM_DIM, TERM_N_ROLES
};

/* Enters curses mode (raw keys, no echo, keypad, 100 ms input timeout),
 * holds stderr in a temporary file for the session, and installs atexit and
 * signal handlers.  A SIGINT sent from outside cancels *job (Ctrl-C typed at
 * the keyboard arrives as a key in raw mode).  Returns 0, or -1 with a
 * message on stderr when the terminal cannot be used. */
int term_init(progress *job);
/* Leaves curses mode and replays the held stderr.  Idempotent; also run
 * from atexit and the signal handlers. */
void term_done(void);

/* The signal number once SIGTERM or SIGHUP arrived (the loop should end
 * and exit with 128 + it), else 0. */
int term_exit_requested(void);

/* Attribute for a role, and for category i on the map (cycling palette). */
int term_attr(int role);
int term_cat_attr(int i);
int term_has_color(void);

#endif
