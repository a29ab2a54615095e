/* complete.h - readline helpers shared by the line REPL (repl.c) and the
 * TUI command line (tui.c): tab completion of commands, parameters and item
 * ids, and the persistent history file in the XDG state directory. */
#ifndef EMBEDLAB_COMPLETE_H
#define EMBEDLAB_COMPLETE_H

#include <stddef.h>

#include "lab.h"

/* Installs the completion function.  Item ids come from L's catalog; pass
 * NULL (complete_set_lab) while a worker job owns the lab, so completion
 * never touches it concurrently.  Main thread only. */
void complete_install(lab *L);
void complete_set_lab(lab *L);

/* Fills buf with $XDG_STATE_HOME/embedlab/history (or ~/.local/state/...),
 * creating the directory; buf[0] == '\0' when there is no usable place. */
void complete_history_path(char *buf, size_t cap);

#endif
