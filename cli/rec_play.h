/* SPDX-License-Identifier: Apache-2.0 */
/* Playing a recording in the terminal (custos rec replay). */
#ifndef CUSTOS_CLI_REC_PLAY_H
#define CUSTOS_CLI_REC_PLAY_H

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
 * Play f to stdout.  With a terminal on stdin and stdout, keys work while
 * playing: space pause, + and - speed, left/right 5 s, up/down 1 min, n next
 * input, q quit (the terminal is restored on every way out, signals
 * included).  0, -ERR_CLOSED (a signal), -ERR_IO, -ERR_CORRUPT.
 */
MUST_CHECK int rec_play(struct recf *f, const struct play_opts *o);

#endif
