/* repl.c - the line front end: readline (history, tab completion of
 * commands, parameters and item ids) when a person is at a terminal; plain
 * getline() without a prompt for scripts and pipes (batch mode).
 * Completion and the history file live in complete.c (shared with the TUI). */
#include "complete.h"
#include "front.h"

#include <readline/history.h>
#include <readline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int on_signal_event(void)
{
    if (front_take_idle_sigint()) {   /* Ctrl-C at the prompt: drop the line */
        rl_replace_line("", 0);
        rl_crlf();
        rl_on_new_line();
        rl_redisplay();
    }
    return 0;
}

static int run_interactive(front *f)
{
    char hist[1100];
    char *line;

    rl_readline_name = "embedlab";
    complete_install(f->L);
    rl_signal_event_hook = on_signal_event;
    complete_history_path(hist, sizeof hist);
    if (hist[0])
        read_history(hist);
    printf("embedlab - type `help` for commands, `quit` to leave.\n");
    while ((line = readline("embedlab> ")) != NULL) {
        if (*line) {
            add_history(line);
            if (hist[0])
                append_history(1, hist);
        }
        int rc = front_run(f, line);
        free(line);
        if (rc == CMD_QUIT)
            break;
    }
    if (hist[0])
        history_truncate_file(hist, 2000);
    return 0;
}

int repl_run(front *f, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;

    if (f->interactive && in == stdin)
        return run_interactive(f);
    while (getline(&line, &cap, in) >= 0) {
        int rc = front_run(f, line);
        if (rc == CMD_QUIT || (rc < 0 && f->strict))
            break;
    }
    free(line);
    return f->n_errors ? 1 : 0;
}
