/* cmd.h - the command language: parse, validate, dispatch.
 *
 * cmd_exec() is the only place commands are implemented: the REPL, the TUI
 * command line and the tests all call it.  A command returns result tables
 * (table.h) and never prints; errors come back as a negative ERR_* with a
 * message in `e`, and the lab keeps its previous state.
 */
#ifndef EMBEDLAB_CMD_H
#define EMBEDLAB_CMD_H

#include "err.h"
#include "lab.h"
#include "table.h"

#define CMD_QUIT 1   /* cmd_exec's return for `quit` / `exit` */

/* Runs one command line.  Returns 0, CMD_QUIT, or a negative ERR_* with e
 * set.  Tables are appended to out (caller owns them; NULL discards them,
 * and e may be NULL).  Blank lines and lines starting with '#' are no-ops.
 * Command functions (cmd_int.h) always get a non-NULL e and out. */
int cmd_exec(lab *L, const char *line, table_list *out, err *e);

/* For completion: the i-th command name ("load catalog", ...) or NULL. */
const char *cmd_name_at(size_t i);
/* For completion: the parameter names a command accepts ("dim=", "--skip-bad"),
 * the i-th or NULL. */
const char *cmd_param_at(const char *command, size_t i);

#endif
