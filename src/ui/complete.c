/* complete.c - tab completion and the history file, shared by the line
 * REPL (repl.c) and the TUI command line (tui.c).  Completion offers the
 * first word of commands, then second words ("load catalog"), parameter
 * names of the full command ("dim=") and item ids from the catalog. */
#include "complete.h"
#include "cmd.h"

#include <errno.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static lab *g_lab;   /* NULL while a job owns the lab */

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
    if (phase == 2 && g_lab && len > 0) {   /* item ids */
        const store_catalog *c = lab_catalog(g_lab, NULL);
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

void complete_install(lab *L)
{
    g_lab = L;
    rl_attempted_completion_function = complete;
}

void complete_set_lab(lab *L) { g_lab = L; }

void complete_history_path(char *buf, size_t cap)
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
    /* mkdir -p: $HOME/.local itself may not exist yet (XDG base
     * directories: create missing ones with mode 0700) */
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0700);   /* EEXIST and the like show at the last level */
            *p = '/';
        }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return;
    snprintf(buf, cap, "%s/history", dir);
    /* append_history() opens without O_CREAT: make sure the file exists */
    FILE *f = fopen(buf, "a");
    if (f)
        fclose(f);
    else
        buf[0] = '\0';
}
