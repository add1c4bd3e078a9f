/* SPDX-License-Identifier: Apache-2.0 */
/* Exports of a recording's events: asciicast v2 lines and a plain text transcript (pure). */
#ifndef CUSTOS_CLI_REC_EXPORT_H
#define CUSTOS_CLI_REC_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/buf.h"
#include "custos/rec.h"

/*
 * asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a header
 * object, then one [time, code, data] array per line.  Output and input are
 * bytes in the recording and text in asciicast: a UTF-8 sequence cut between
 * two events is carried to the next one of the same stream, and bytes that
 * are not UTF-8 become U+FFFD.
 */
struct rec_cast {
    bool input;                /* also "i" events (unmasked input only) */
    unsigned char carry[2][4]; /* an unfinished UTF-8 sequence: output, input */
    size_t ncarry[2];
};

/* Header line (with '\n') for `info`; width/height 80x24 when the session had no pty. */
MUST_CHECK int rec_cast_header(const struct rec_info *info, struct buf *out);
/*
 * Lines for one event: "o" (OUT and ERR), "i" (IN, when st->input), "r"
 * (RESIZE, "COLSxROWS"), "m" (MARKER and COMMAND, their text); other events
 * give nothing.  Appended to out.
 */
MUST_CHECK int rec_cast_event(struct rec_cast *st, const struct rec_event *ev, struct buf *out);

/*
 * A plain transcript: the output as the lines a terminal would end up
 * showing them (escape sequences dropped; CR, backspace and erase-line
 * applied within the line), with "[custos +12.3s] ..." lines for markers,
 * exec and subsystem requests and the exit status.
 */
struct rec_text {
    struct buf line; /* the line under way */
    size_t cursor;
    int esc; /* 0 none, 1 after ESC, 2 in CSI, 3 in a string (OSC, DCS...), 4 string ESC */
    bool csi_has_param;
    unsigned csi_param;
};
void rec_text_init(struct rec_text *t);
void rec_text_fini(struct rec_text *t);
MUST_CHECK int rec_text_event(struct rec_text *t, const struct rec_event *ev, struct buf *out);
/* The line under way, if any. */
MUST_CHECK int rec_text_finish(struct rec_text *t, struct buf *out);

#endif
