/* SPDX-License-Identifier: Apache-2.0 */
/* A small VT100/xterm screen model, for recording keyframes (internal to common/rec). */
#ifndef CUSTOS_REC_VT_H
#define CUSTOS_REC_VT_H

#include <stdbool.h>
#include <stddef.h>

#include "custos/buf.h"
#include "custos/err.h"

/*
 * The model keeps what a terminal shows — cells (character and attributes),
 * cursor, scroll region, the alternate screen, modes that change how output
 * is drawn or how keys are sent — and nothing else (no scrollback, no
 * answers to queries).  It is fed the target's output bytes and can write a
 * snapshot: bytes that, sent to a freshly reset terminal of the same size,
 * paint the same screen and leave it in the same state.  Feeding a snapshot
 * to a new model gives a model equal to the old one (vt_equal), which is how
 * a recording writer frees the model of an idle session and gets it back.
 *
 * Sizes are clamped to VT_MAX_COLS x VT_MAX_ROWS (a pty request may claim
 * any size; the model's memory must stay bounded).
 */
#define VT_MAX_COLS 512
#define VT_MAX_ROWS 256

struct vt;

/* New model of cols x rows (clamped to 1..max). *out owned by the caller. -ERR_NOMEM. */
MUST_CHECK int vt_new(unsigned cols, unsigned rows, struct vt **out);
void vt_free(struct vt *vt);

/* Feed output bytes (any split: escape sequences and UTF-8 may span calls). -ERR_NOMEM. */
MUST_CHECK int vt_feed(struct vt *vt, const void *p, size_t n);
/* The terminal was resized (clamped); content is kept where it fits, not reflowed. */
MUST_CHECK int vt_resize(struct vt *vt, unsigned cols, unsigned rows);
void vt_size(const struct vt *vt, unsigned *cols, unsigned *rows);

/* Append the snapshot to out. -ERR_TOO_LONG when out's bound is passed (out keeps what it had). */
MUST_CHECK int vt_snapshot(const struct vt *vt, struct buf *out);

/* Same size, cells (by value), cursor, modes, region, saved cursors. */
bool vt_equal(const struct vt *a, const struct vt *b);

/* For tests: the character at (col,row) (0-based; 0 for a wide char's right half) and the cursor.
 */
unsigned vt_cell_char(const struct vt *vt, unsigned col, unsigned row);
void vt_cursor(const struct vt *vt, unsigned *col, unsigned *row);

#endif
