/* term.c - owns the curses session: initscr/endwin, colours, and restoring
 * the terminal whatever happens (htop CRT.c, kilo editorAtExit): atexit,
 * SIGTERM/SIGHUP (the loop leaves and exits 128+sig), SIGSEGV/SIGBUS/SIGABRT/SIGFPE
 * (restore, then re-raise with the default action so the crash is still
 * reported).  While the screen is up stderr points at a temporary file, so a
 * stray message cannot scribble over the frame; term_done() replays it
 * (htop's dumpStderr).  NO_COLOR (https://no-color.org/), when set and not
 * empty, turns colour off; roles then fall back to bold/reverse/dim.
 */
#include "term.h"

#include <curses.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int g_active;            /* curses mode is on */
static int g_color;             /* colour pairs are in use */
static int g_stderr_fd = -1;    /* the real stderr while held */
static FILE *g_held;            /* where stderr goes meanwhile */
static progress *g_job;
static int g_n_cat_pairs;
static volatile sig_atomic_t g_exit_sig;   /* SIGTERM/SIGHUP received */

/* 256-colour palette for categories: distinct hues, none too dark on black. */
static const short cat256[] = {39, 208, 82, 201, 226, 51, 196, 141, 214, 47,
                               177, 220, 33, 160, 118, 99, 203, 45, 186, 171};
static const short cat8[] = {COLOR_CYAN, COLOR_YELLOW, COLOR_GREEN, COLOR_MAGENTA,
                             COLOR_RED, COLOR_BLUE, COLOR_WHITE};
#define N_CAT256 (int)(sizeof cat256 / sizeof cat256[0])
#define N_CAT8 (int)(sizeof cat8 / sizeof cat8[0])

static void release_stderr(void)
{
    if (g_stderr_fd < 0)
        return;
    fflush(stderr);
    dup2(g_stderr_fd, STDERR_FILENO);
    close(g_stderr_fd);
    g_stderr_fd = -1;
    if (g_held) {
        char buf[4096];
        size_t n;
        rewind(g_held);
        while ((n = fread(buf, 1, sizeof buf, g_held)) > 0)
            if (write(STDERR_FILENO, buf, n) < 0)
                break;
        fclose(g_held);
        g_held = NULL;
    }
}

void term_done(void)
{
    if (g_active) {
        g_active = 0;
        curs_set(1);
        endwin();
    }
    release_stderr();
}

static void on_fatal(int sig)
{
    term_done();   /* not async-signal-safe, as in htop: a restored tty matters more */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* SIGTERM/SIGHUP: the first asks the loop to leave (it polls every 100 ms
 * and then restores the terminal normally); a second one, if the loop is
 * stuck, restores and exits from the handler. */
static void on_term(int sig)
{
    if (!g_exit_sig) {
        g_exit_sig = sig;
        return;
    }
    term_done();
    _exit(128 + sig);
}

int term_exit_requested(void) { return g_exit_sig; }

static void on_sigint(int sig)
{
    (void)sig;
    if (g_job && atomic_load(&g_job->active))
        progress_cancel(g_job);   /* async-signal-safe: one atomic store */
}

static void handlers(void)
{
    struct sigaction sa;
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_RESETHAND;
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigaction(fatal[i], &sa, NULL);
}

static void colors(void)
{
    const char *nc = getenv("NO_COLOR");

    g_color = 0;
    if ((nc && *nc) || !has_colors() || start_color() != OK)
        return;
    use_default_colors();
    init_pair(TERM_HEADER, COLOR_BLACK, COLOR_CYAN);
    init_pair(TERM_TITLE, COLOR_CYAN, -1);
    init_pair(TERM_SELECT, COLOR_BLACK, COLOR_YELLOW);
    init_pair(TERM_MARK, COLOR_YELLOW, -1);
    init_pair(TERM_STATUS, COLOR_GREEN, -1);
    init_pair(TERM_ERROR, COLOR_RED, -1);
    init_pair(TERM_BAR, COLOR_BLACK, COLOR_GREEN);
    init_pair(TERM_HILITE, COLOR_BLACK, COLOR_WHITE);
    init_pair(TERM_DIM, COLORS >= 256 ? 244 : COLOR_WHITE, -1);
    int big = COLORS >= 256 && COLOR_PAIRS > TERM_N_ROLES + N_CAT256;
    g_n_cat_pairs = big ? N_CAT256 : N_CAT8;
    for (int i = 0; i < g_n_cat_pairs && TERM_N_ROLES + i < COLOR_PAIRS; i++)
        init_pair((short)(TERM_N_ROLES + i), big ? cat256[i] : cat8[i], -1);
    g_color = 1;
}

int term_init(progress *job)
{
    int fd;

    g_job = job;
    /* hold stderr: a message printed mid-session would tear the frame */
    fflush(stderr);
    if ((g_held = tmpfile()) != NULL && (fd = dup(STDERR_FILENO)) >= 0) {
        g_stderr_fd = fd;
        dup2(fileno(g_held), STDERR_FILENO);
    }
    atexit(term_done);
    if (!newterm(NULL, stdout, stdin)) {
        release_stderr();
        fprintf(stderr, "embedlab: cannot start the full-screen interface (TERM=%s)\n",
                getenv("TERM") ? getenv("TERM") : "unset");
        return -1;
    }
    g_active = 1;
    handlers();
    set_escdelay(25);   /* a lone Esc cancels; do not wait a second for a sequence */
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    /* Home/End as sent by tmux, screen, rxvt and the VT220 keypad, whatever
     * TERM's terminfo says: an unrecognised sequence would arrive as a lone
     * Esc (which cancels) followed by stray characters. */
    static const struct { const char *seq; int key; } extra[] = {
        {"\033[1~", KEY_HOME}, {"\033[4~", KEY_END}, {"\033[7~", KEY_HOME},
        {"\033[8~", KEY_END}, {"\033[H", KEY_HOME}, {"\033[F", KEY_END},
        {"\033OH", KEY_HOME}, {"\033OF", KEY_END},
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (key_defined(extra[i].seq) == 0)
            define_key(extra[i].seq, extra[i].key);
    timeout(100);       /* the redraw tick while a job runs */
    mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED, NULL);   /* rows are clickable */
    colors();
    return 0;
}

int term_has_color(void) { return g_color; }

int term_attr(int role)
{
    if (g_color)
        return (int)COLOR_PAIR(role) | (role == TERM_HEADER || role == TERM_TITLE ? A_BOLD : 0);
    switch (role) {
    case TERM_HEADER: case TERM_SELECT: case TERM_BAR: case TERM_HILITE:
        return A_REVERSE;
    case TERM_TITLE: case TERM_MARK: case TERM_ERROR:
        return A_BOLD;
    case TERM_DIM:
        return A_DIM;
    default:
        return A_NORMAL;
    }
}

int term_cat_attr(int i)
{
    if (!g_color || i < 0 || g_n_cat_pairs == 0)
        return A_NORMAL;
    return (int)COLOR_PAIR(TERM_N_ROLES + i % g_n_cat_pairs);
}
