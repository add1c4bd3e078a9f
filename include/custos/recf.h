/* SPDX-License-Identifier: Apache-2.0 */
/* Recording files on disk: open by id or path, header, seek points, frames by offset (blocking
 * I/O). */
#ifndef CUSTOS_RECF_H
#define CUSTOS_RECF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/buf.h"
#include "custos/paths.h"
#include "custos/rec.h"

/*
 * The file layer over the buffer code of custos/rec.h, for tools that read
 * recordings (the CLI; the broker's replay, from its thread pool): positioned
 * reads with pread(2), so it blocks — never call it on an event loop.
 */

/* Where custos rec looks unless told (--dir, CUSTOS_REC_DIR): where the broker writes. */
#define CUSTOS_REC_DIR_DEFAULT CUSTOS_REC_DIR

/* A seek point: a chunk listed in the index (or found by walking the frames). */
struct recf_sync {
    uint64_t offset, t_us;
    bool keyframe;
};

struct recf {
    int fd;
    char path[4096];
    uint64_t size;
    struct rec_info *info;
    uint64_t data_off;       /* offset of the first frame after the header */
    bool closed;             /* a trailer points at an index and a final checkpoint */
    struct rec_index *index; /* when closed */
    struct recf_sync *syncs; /* seek points, in time order */
    size_t n_syncs;
    uint64_t end_us;    /* time of the last event (or checkpoint) seen */
    struct buf frame;   /* the frame read last (recf_frame_at) */
    struct buf scratch; /* a decompressed chunk */
};

/*
 * The file of a recording: `id_or_path` is a path when it holds a '/' or ends
 * in ".crec", else a session id looked up as DIR/ID.crec.  Writes the path
 * to out (size outlen).  0 or -ERR_INVAL (an id that is not a valid name).
 */
MUST_CHECK int recf_path(const char *dir, const char *id_or_path, char *out, size_t outlen);

/*
 * Open a recording and read its header; with `seek` also its seek points:
 * from the index when the file is closed (a few reads, whatever its size),
 * else by walking the frame headers.  On failure *why says why in one
 * sentence.  -ERR_NOT_FOUND, -ERR_IO, -ERR_PARSE (not a recording, bad header).
 */
MUST_CHECK int recf_open(struct recf *f, const char *path, bool seek, char *why, size_t whylen);
void recf_close(struct recf *f);

/*
 * Read the frame at `offset` into f->frame and parse it (*fr borrows f->frame).
 * -ERR_IO, -ERR_PARSE (no valid frame there, or it runs past the end).
 */
MUST_CHECK int recf_frame_at(struct recf *f, uint64_t offset, struct rec_frame *fr);

/*
 * Call cb for every event of the chunks from `offset` on (a frame offset;
 * f->data_off for the start), in order, until cb returns non-zero or the file
 * ends.  A frame that cannot be read ends the walk with its error; a partial
 * frame at the end of an unfinished file ends it quietly.
 */
MUST_CHECK int recf_events(struct recf *f, uint64_t offset, rec_event_cb cb, void *ctx);

/* The last seek point at or before t_us (the first one when none is). NULL if there are none. */
const struct recf_sync *recf_sync_before(const struct recf *f, uint64_t t_us);

/*
 * Verify the whole file (read in pieces, never held in memory) under
 * `vault_key` (NULL: not checked).  0 with *v filled, or -ERR_IO.
 */
MUST_CHECK int recf_verify(const char *path, const unsigned char *vault_key, struct rec_verdict *v);

#endif
