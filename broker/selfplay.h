/* SPDX-License-Identifier: Apache-2.0 */
/* Replay over SSH: `ssh custos@broker replay ID` plays a recording on the auditor's terminal. */
#ifndef CUSTOS_BROKER_SELFPLAY_H
#define CUSTOS_BROKER_SELFPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "custos/recplay.h"

/*
 * The player (common/rec/recplay.c) blocks on its timing and reads the file
 * with pread(2): it runs in a thread of its own, writing to a pipe that the
 * loop reads and hands to out(), and reading keys from a pipe the loop writes
 * selfplay_input() into.  The whole file is verified beside it; a MODIFIED
 * file or a WRONG KEY stops the play with the verdict.  At most
 * SELFPLAY_MAX plays run at once in a broker.
 *
 * out() gets the terminal bytes; done() ends the job: status 0 when it
 * played to the end or the auditor quit, 1 with errmsg otherwise.  Both on
 * the loop, never after selfplay_abandon().
 */
#define SELFPLAY_MAX 8

struct selfplay_io {
    void *ctx;
    void (*out)(void *ctx, const char *data, size_t len);
    void (*done)(void *ctx, int status, const char *errmsg);
};

struct selfplay;

/*
 * Play the recording at `path` (borrowed for the call) with `o`; keys when the
 * auditor has a pty.  vault_key (32 bytes, copied; NULL: key not checked).
 * Returns the job, or NULL after done() (too many plays, no memory, the file
 * cannot be opened).  The job frees itself after done() or selfplay_abandon().
 */
struct selfplay *selfplay_start(uv_loop_t *loop, const char *path, const struct play_opts *o,
                                bool keys, const unsigned char *vault_key,
                                const struct selfplay_io *io);
/* Keys the auditor typed. */
void selfplay_input(struct selfplay *p, const char *data, size_t len);
/* The channel cannot take more now (true) / can again: the output is not read meanwhile. */
void selfplay_hold(struct selfplay *p, bool hold);
/* The session is going away: stop, never call io again. */
void selfplay_abandon(struct selfplay *p);

#endif
