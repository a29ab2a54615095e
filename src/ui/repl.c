/* repl.c - the line front end: readline (history, tab completion of
 * commands, parameters and item ids) when a person is at a terminal; plain
 * getline() without a prompt for scripts and pipes (batch mode).
 * The only file that includes readline. */
#include "front.h"
#include "mem.h"

#include <errno.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static front *g_f;

static char *command_gen(const char *text, int state)
{
    static size_t i;
    size_t len = strlen(text);
    const char *name;

    if (!state)
        i = 0;
    while ((name = cmd_name_at(i++)) != NULL) {
        /* complete only the first word of multi-word commands */
        size_t w = strcspn(name, " ");
        if (strncmp(name, text, len) == 0 && len <= w) {
            char buf[64];
            snprintf(buf, sizeof buf, "%.*s", (int)w, name);
            /* skip duplicates such as "load catalog" / "load sessions" */
            int dup = 0;
            for (size_t j = 0; j + 1 < i; j++) {
                const char *o = cmd_name_at(j);
                if (strncmp(o, buf, w) == 0 && (o[w] == ' ' || o[w] == '\0'))
                    dup = 1;
            }
            if (!dup)
                return strdup(buf);
        }
    }
    return NULL;
}

static char cur_cmd[64];

static char *word_gen(const char *text, int state)
{
    static size_t i, phase;
    size_t len = strlen(text);
    const char *s;

    if (!state) {
        i = 0;
        phase = 0;
    }
    if (phase == 0) {   /* second words of commands and parameters */
        while ((s = cmd_name_at(i++)) != NULL) {
            size_t w = strlen(cur_cmd);
            if (strncmp(s, cur_cmd, w) == 0 && s[w] == ' ' && strncmp(s + w + 1, text, len) == 0)
                return strdup(s + w + 1);
        }
        phase = 1;
        i = 0;
    }
    if (phase == 1) {
        while ((s = cmd_param_at(cur_cmd, i++)) != NULL)
            if (strncmp(s, text, len) == 0)
                return strdup(s);
        phase = 2;
        i = 0;
    }
    if (phase == 2 && g_f && len > 0) {   /* item ids */
        const store_catalog *c = lab_catalog(g_f->L, NULL);
        while (c && i < c->n) {
            const char *id = c->ext_id[i++];
            if (strncmp(id, text, len) == 0)
                return strdup(id);
        }
    }
    return NULL;
}

static char **complete(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1;
    if (start == 0)
        return rl_completion_matches(text, command_gen);
    size_t n = strcspn(rl_line_buffer, " ");
    snprintf(cur_cmd, sizeof cur_cmd, "%.*s", (int)n, rl_line_buffer);
    /* parameters belong to the full command name ("train item2vec") */
    const char *name;
    for (size_t i = 0; (name = cmd_name_at(i)) != NULL; i++) {
        size_t l = strlen(name);
        if (strncmp(rl_line_buffer, name, l) == 0 && (rl_line_buffer[l] == ' ') &&
            strlen(name) > strlen(cur_cmd) && (size_t)start > l)
            snprintf(cur_cmd, sizeof cur_cmd, "%s", name);
    }
    return rl_completion_matches(text, word_gen);
}

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

static void history_path(char *buf, size_t cap)
{
    const char *st = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[1024];

    buf[0] = '\0';
    if (st && *st)
        snprintf(dir, sizeof dir, "%s/embedlab", st);
    else if (home && *home)
        snprintf(dir, sizeof dir, "%s/.local/state/embedlab", home);
    else
        return;
    /* mkdir -p of the last two levels is enough for the usual layouts */
    char parent[1024];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = '\0';
        mkdir(parent, 0700);
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return;
    snprintf(buf, cap, "%s/history", dir);
}

static int run_interactive(front *f)
{
    char hist[1100];
    char *line;

    g_f = f;
    rl_readline_name = "embedlab";
    rl_attempted_completion_function = complete;
    rl_signal_event_hook = on_signal_event;
    history_path(hist, sizeof hist);
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
