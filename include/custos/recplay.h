/* SPDX-License-Identifier: Apache-2.0 */
/* Playing a recording with its timing (custos rec replay; the broker's replay over SSH). */
#ifndef CUSTOS_RECPLAY_H
#define CUSTOS_RECPLAY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "custos/recf.h"

struct play_opts {
    double speed;         /* 1.0: the original timing */
    uint64_t idle_max_us; /* longer pauses are cut to this (0: none) */
    uint64_t at_us;       /* start here (from the last keyframe before it) */
    bool wait;            /* false: write everything at once */
};

/*
 * Play f to out_fd, blocking (a thread of its own, never an event loop).
 * With keys, what arrives on in_fd works as keys while playing: space pause,
 * + and - speed, left/right 5 s, up/down 1 min, n next input, q quit; when
 * in_fd is a terminal it is put in raw mode and restored on every way out.
 * The play ends early once *stop is non-zero (a signal handler's or another
 * thread's flag).  0, -ERR_CLOSED (stopped), -ERR_IO, -ERR_CORRUPT.
 */
MUST_CHECK int rec_play(struct recf *f, const struct play_opts *o, int in_fd, int out_fd, bool keys,
                        volatile sig_atomic_t *stop);

/*
 * rec_play() while a second thread verifies the whole file (under vault_key,
 * or none): playback starts at once whatever the size, and stops with
 * -ERR_TAMPERED (the verdict in *v) as soon as the file is found MODIFIED or
 * of the WRONG KEY.  On return *v holds the verdict of what was verified
 * (the verifier runs to its end unless the play was stopped).
 */
MUST_CHECK int rec_play_checked(struct recf *f, const struct play_opts *o, int in_fd, int out_fd,
                                bool keys, volatile sig_atomic_t *stop,
                                const unsigned char *vault_key, struct rec_verdict *v);

#endif
