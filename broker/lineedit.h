/* SPDX-License-Identifier: Apache-2.0 */
/* The typed-line editor: what an admin's keys make of a shell line, and whether it was echoed. */
#ifndef BROKER_LINEEDIT_H
#define BROKER_LINEEDIT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Pure state, no I/O: no libssh, no libuv, no vault.  The broker feeds it the
 * admin's keystrokes (and, for the echo check, the target's output); it
 * follows the line as a line editor would and stops at each key on which
 * the shell may run the line, so its owner can decide before the key is
 * sent.  It is best effort by nature: cursor movement, history and
 * completion happen in the shell, so a line edited with them is marked
 * unknown rather than guessed at (docs/command-policy.md).
 *
 * Two modes over the same state:
 * - lineedit_feed(): a terminal (the admin has a pty): keys are edited
 *   (Backspace, ^U, ^W, ^C), escape sequences are followed, CR or LF ends a
 *   line, other control keys are decision points;
 * - lineedit_feed_raw(): a script on stdin (no pty): nothing is edited, a
 *   line ends at a newline not escaped by a backslash.
 * An editor is used in one mode for its whole life.
 */

/* Longest line followed (bytes); a longer one is unknown (equal to GOV_COMMAND_MAX). */
#define LINEEDIT_MAX 1024u
/* How much of the target's latest output is kept for the echo check. */
#define LINEEDIT_ECHO 64u

/* Where lineedit_feed() stopped. */
enum lineedit_stop {
    LINEEDIT_MORE,  /* all input taken; no decision point in it */
    LINEEDIT_ENTER, /* CR or LF: the line is complete (and the editor starts a new one) */
    LINEEDIT_KEY,   /* another control key: the shell may run the line typed so far on it */
};

/*
 * A line at a decision point.  text is NUL-terminated, len bytes (at most
 * LINEEDIT_MAX), borrowed from the editor until its next lineedit_* call.
 * unknown: the text is not what the shell has: edited with keys the editor
 * cannot follow (cursor keys, history, completion, any other control key),
 * longer than LINEEDIT_MAX, holding a control byte (raw mode), or not valid
 * UTF-8.  echoed: the target printed the line's last characters back (a
 * shell prompt does; a password prompt does not).
 */
struct lineedit_line {
    const char *text;
    size_t len;
    bool unknown;
    bool echoed;
};

/* Embedded in its owner; all-zero (or lineedit_reset) is an empty line. */
struct lineedit {
    char line[LINEEDIT_MAX + 1];
    size_t len;
    bool unknown; /* sticky until the line ends or is reset */
    unsigned esc; /* 1 after ESC, 2 inside a CSI or SS3 sequence */
    char echo[LINEEDIT_ECHO];
    size_t echo_len;
};

/* Forget the line, its unknown mark and the echo (the shell discarded the line). */
void lineedit_reset(struct lineedit *le);

/*
 * Terminal mode: take keys from d[0..n) up to and including the first
 * decision point; returns how many bytes were taken (n when *stop is
 * LINEEDIT_MORE, otherwise the decision key is d[return - 1]).
 * - LINEEDIT_ENTER: *out is the finished line; the editor has started a new
 *   one (empty, known, echo forgotten).
 * - LINEEDIT_KEY: *out is the line so far; the editor keeps it, marked
 *   unknown (the key may have changed it in the shell).  An owner that
 *   refuses the line calls lineedit_reset().
 * Keys: printable bytes (and UTF-8) append; Backspace (0x08) and DEL (0x7f)
 * erase one character; ^U erases the line (an unknown mark stays: after
 * cursor keys, what is left is not known); ^W erases a word; ^C resets; ESC
 * starts a sequence that marks the line unknown (a control byte ends it and
 * counts on its own).  out is written only at a stop.
 */
size_t lineedit_feed(struct lineedit *le, const char *d, size_t n, enum lineedit_stop *stop,
                     struct lineedit_line *out);

/*
 * Raw mode: take bytes up to and including the first newline that ends a
 * line (one not continued by an odd number of backslashes before it);
 * returns how many were taken.  *done is true when a line ended, and then
 * *out is that line without its final newline (continued newlines stay in
 * it, see lineedit_join); out->echoed is true (what is sent is what is
 * checked).  Nothing is edited: every byte is part of the line; a control
 * byte other than TAB, CR and LF makes it unknown.
 */
size_t lineedit_feed_raw(struct lineedit *le, const char *d, size_t n, bool *done,
                         struct lineedit_line *out);

/* The target printed d[0..n): keep its tail for the echo check of the line being typed. */
void lineedit_echo(struct lineedit *le, const char *d, size_t n);

/* Bytes of the line being typed (0: none). */
size_t lineedit_pending(const struct lineedit *le);

/*
 * The line as a shell joins it: every backslash-newline pair removed, into
 * out (outlen > 0, always NUL-terminated, truncated to outlen - 1 bytes).
 * line and out must not overlap.
 */
void lineedit_join(const char *line, char *out, size_t outlen);

/* Is p[0..n) valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF)? */
bool lineedit_utf8_valid(const char *p, size_t n);

#endif
