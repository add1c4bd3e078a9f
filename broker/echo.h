/* SPDX-License-Identifier: Apache-2.0 */
/* Which keystrokes the target echoed: what a recording keeps, and what it masks (pure). */
#ifndef CUSTOS_BROKER_ECHO_H
#define CUSTOS_BROKER_ECHO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/err.h"

/*
 * A terminal echoes what is typed, unless the program reading it turned
 * echo off — a password prompt (sudo, passwd, ssh).  The recorder holds
 * each keystroke until the target's next output tells which it was:
 * printable keys must come back, in order, as the next printable text of the
 * output (escape sequences skipped); Enter comes back as a new line; other
 * control keys (Backspace, ^C, arrows, Tab) are editing, kept as typed.  A
 * key with no output after it for ECHO_WAIT_US is taken as not echoed:
 * when in doubt, mask (a lost keystroke is a gap in the evidence; a leaked
 * password is a second incident).
 *
 * Keys held are bounded (ECHO_HOLD_MAX bytes); past that the oldest are
 * decided as not echoed.  Nothing here allocates.
 */
#define ECHO_WAIT_US 1000000u
#define ECHO_HOLD_MAX 4096u
#define ECHO_KEYS_MAX 512u

/* What became of held keys: emitted in order by echo_output(), echo_expire(), echo_flush(). */
struct echo_ops {
    void *ctx;
    /* bytes typed at t_us, kept (echoed, or editing keys) */
    void (*kept)(void *ctx, uint64_t t_us, const unsigned char *p, size_t n);
    /* n bytes typed at t_us, not echoed: masked */
    void (*masked)(void *ctx, uint64_t t_us, size_t n);
};

struct echo_key {
    uint64_t t_us;
    uint32_t off, len; /* in hold */
};

struct echo {
    unsigned char hold[ECHO_HOLD_MAX];
    size_t hold_len;
    struct echo_key keys[ECHO_KEYS_MAX];
    size_t nkeys;
    int esc;  /* skipping an escape sequence in the output: 0 no, 1 after ESC, 2 CSI, 3 string */
    int iesc; /* an escape sequence in the input (arrows, function keys): 0 no, 1 ESC, 2 CSI/SS3 */
};

void echo_init(struct echo *e);

/* One read of the admin's input at t_us (usually one keystroke; a paste is several). */
void echo_input(struct echo *e, uint64_t t_us, const void *p, size_t n, const struct echo_ops *ops);

/*
 * The target's output: decides the keys held before it.  Call it before
 * the output itself is recorded, so keys come before their echo.
 */
void echo_output(struct echo *e, const void *p, size_t n, const struct echo_ops *ops);

/* Time passes: keys held longer than ECHO_WAIT_US are decided as not echoed. */
void echo_expire(struct echo *e, uint64_t now_us, const struct echo_ops *ops);

/* The session ends: every key still held is decided as not echoed. */
void echo_flush(struct echo *e, const struct echo_ops *ops);

#endif
