/* SPDX-License-Identifier: Apache-2.0 */
/* Reading passphrases, shares and secret values from the terminal (echo off), stdin or a file. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

static volatile sig_atomic_t caught;
static int interrupted_by;

/* Signals that end or stop the process while echo is off; the terminal is restored first. */
static const int watched[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGALRM, SIGTSTP, SIGTTIN, SIGTTOU};
#define NWATCHED (sizeof(watched) / sizeof(watched[0]))

static void on_signal(int sig)
{
    caught = sig;
}

bool prompt_is_tty(void)
{
    return isatty(0) == 1;
}

int prompt_signal_caught(void)
{
    return interrupted_by;
}

void prompt_newline_strip(struct secbuf *b)
{
    size_t len = secbuf_len(b);

    /* Shrinking cannot fail; the check only satisfies MUST_CHECK. */
    if (len > 0 && ((const char *)secbuf_cdata(b))[len - 1] == '\n' &&
        secbuf_set_len(b, len - 1) != 0)
        return;
}

/* Remove the line ending: "\n", or "\r\n" as written by some editors. */
static void line_end_strip(struct secbuf *b)
{
    size_t len = secbuf_len(b);

    if (len > 0 && ((const char *)secbuf_cdata(b))[len - 1] == '\r' &&
        secbuf_set_len(b, len - 1) != 0)
        return;
}

/*
 * Read up to '\n' or EOF from fd, one byte at a time so that nothing after
 * the line is consumed and no copy lands in a stdio buffer.  Returns 0,
 * -ERR_TOO_LONG (rest of the line discarded), -ERR_IO or -ERR_CLOSED (EINTR
 * by a watched signal; only possible while on_signal is installed).
 */
static int line_read_fd(int fd, struct secbuf *b, bool *got_eof)
{
    int r = 0;
    char c = 0;

    *got_eof = false;
    for (;;) {
        ssize_t n = read(fd, &c, 1);

        if (n < 0 && errno == EINTR) {
            if (caught) {
                r = -ERR_CLOSED;
                goto out;
            }
            continue;
        }
        if (n < 0) {
            r = -ERR_IO;
            goto out;
        }
        if (n == 0) {
            *got_eof = true;
            goto out;
        }
        if (c == '\n')
            goto out;
        if (r == 0 && secbuf_append(b, &c, 1) != 0)
            r = -ERR_TOO_LONG; /* keep reading to the end of the line */
    }
out:
    sodium_memzero(&c, sizeof(c));
    return r;
}

/* Warn once when a secret file can be read by others: the secret may already be exposed. */
static void mode_check(int fd, const char *path)
{
    struct stat st;

    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
        fprintf(stderr, "custos: warning: %s is accessible by group or others (mode %03o)\n", path,
                (unsigned)(st.st_mode & 0777));
}

static int file_open(const char *path, int *fd, const char **why)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (*fd < 0) {
        *why = errno == ENOENT   ? "file not found"
               : errno == EACCES ? "permission denied"
                                 : "cannot open file";
        return -ERR_IO;
    }
    mode_check(*fd, path);
    return 0;
}

static int tty_line(int fd, const char *prompt, struct secbuf *b)
{
    int r = 0;
    bool eof = false;
    struct termios saved, quiet;
    struct sigaction sa, old[NWATCHED];

restart:
    caught = 0;
    if (tcgetattr(fd, &saved) != 0) {
        r = -ERR_IO;
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a signal must end the read() */
    for (size_t i = 0; i < NWATCHED; i++)
        (void)sigaction(watched[i], &sa, &old[i]);
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
        r = -ERR_IO;
    } else {
        if (write(fd, prompt, strlen(prompt)) < 0)
            r = -ERR_IO;
        if (r == 0)
            r = line_read_fd(fd, b, &eof);
        while (tcsetattr(fd, TCSAFLUSH, &saved) != 0 && errno == EINTR)
            ;
        if (write(fd, "\n", 1) < 0) /* the user's Enter was not echoed */
            r = r ? r : -ERR_IO;
    }
    for (size_t i = 0; i < NWATCHED; i++)
        (void)sigaction(watched[i], &old[i], NULL);
    if (caught == SIGTSTP || caught == SIGTTIN || caught == SIGTTOU) {
        /* Stop now, with the terminal as we found it; ask again on resume. */
        int sig = caught;

        if ((r = secbuf_set_len(b, 0)) != 0)
            goto out;
        (void)kill(getpid(), sig);
        goto restart;
    }
    if (caught) {
        interrupted_by = caught;
        r = -ERR_CLOSED;
    }
out:
    return r;
}

static int tty_read(const char *prompt, const char *confirm, struct secbuf **out, const char **why)
{
    int r = 0;
    int fd = -1;
    struct secbuf *a = NULL, *b = NULL;

    *out = NULL;
    fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        *why = "cannot open the terminal";
        r = -ERR_IO;
        goto out;
    }
    if ((r = secbuf_new(PROMPT_LINE_MAX, &a)) != 0)
        goto out;
    if ((r = tty_line(fd, prompt, a)) != 0) {
        *why = r == -ERR_TOO_LONG ? "input too long" : "cannot read from the terminal";
        goto out;
    }
    line_end_strip(a);
    if (secbuf_len(a) == 0) {
        *why = "empty input refused";
        r = -ERR_INVAL;
        goto out;
    }
    if (confirm) {
        if ((r = secbuf_new(PROMPT_LINE_MAX, &b)) != 0)
            goto out;
        if ((r = tty_line(fd, confirm, b)) != 0) {
            *why = r == -ERR_TOO_LONG ? "input too long" : "cannot read from the terminal";
            goto out;
        }
        line_end_strip(b);
        if (!secbuf_equal(a, b)) {
            *why = "the two entries do not match";
            r = -ERR_INVAL;
            goto out;
        }
    }
    *out = a;
    a = NULL;
out:
    secbuf_free(a);
    secbuf_free(b);
    if (fd >= 0)
        close(fd);
    return r;
}

int prompt_line_read(const char *prompt, const char *confirm, const char *file, struct secbuf **out,
                     const char **why)
{
    int r = 0;
    int fd = -1;
    bool eof = false;
    struct secbuf *b = NULL;

    *out = NULL;
    *why = "cannot read input";
    if (!file && prompt_is_tty())
        return tty_read(prompt, confirm, out, why);
    if (file && (r = file_open(file, &fd, why)) != 0)
        goto out;
    if ((r = secbuf_new(PROMPT_LINE_MAX, &b)) != 0)
        goto out;
    r = line_read_fd(file ? fd : 0, b, &eof);
    if (r == -ERR_TOO_LONG)
        *why = "input too long";
    if (r != 0)
        goto out;
    line_end_strip(b);
    if (secbuf_len(b) == 0) {
        *why = eof ? "no input" : "empty input refused";
        r = -ERR_INVAL;
        goto out;
    }
    *out = b;
    b = NULL;
out:
    secbuf_free(b);
    if (fd >= 0)
        close(fd);
    return r;
}

int prompt_all_read(const char *file, struct secbuf **out, const char **why)
{
    int r = 0;
    int fd = 0, own = -1;
    char chunk[4096];
    struct secbuf *b = NULL;

    *out = NULL;
    *why = "cannot read input";
    if (file) {
        if ((r = file_open(file, &own, why)) != 0)
            goto out;
        fd = own;
    }
    if ((r = secbuf_new(PROMPT_VALUE_MAX, &b)) != 0)
        goto out;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -ERR_IO;
            goto out;
        }
        if (n == 0)
            break;
        if ((r = secbuf_append(b, chunk, (size_t)n)) != 0) {
            *why = "secret value too long";
            goto out;
        }
    }
    if (secbuf_len(b) == 0) {
        *why = "no input";
        r = -ERR_INVAL;
        goto out;
    }
    *out = b;
    b = NULL;
out:
    sodium_memzero(chunk, sizeof(chunk));
    secbuf_free(b);
    if (own >= 0)
        close(own);
    return r;
}
