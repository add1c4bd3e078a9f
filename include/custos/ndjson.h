/* SPDX-License-Identifier: Apache-2.0 */
/* NDJSON framing: bounded line reader, compact encoder, wiping JSON allocator. */
#ifndef CUSTOS_NDJSON_H
#define CUSTOS_NDJSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "custos/buf.h"

/* Default and hard maximum line lengths (bytes, without the '\n'). */
#define NDJSON_LINE_DEFAULT 65536u
#define NDJSON_LINE_HARD_MAX (16u << 20)

/*
 * Called once per complete line.  `line` is NUL-terminated (the '\n' and an
 * optional '\r' before it removed) and borrowed until the callback returns.
 * For a line longer than the reader's limit the callback gets line == NULL,
 * len == 0 and err == -ERR_TOO_LONG exactly once, and the rest of that line
 * is skipped without being buffered.  A non-zero return stops feeding and is
 * returned by ndjson_reader_feed.
 */
typedef int (*ndjson_line_cb)(void *ctx, const char *line, size_t len, int err);

struct ndjson_reader {
    struct buf line; /* partial line, never more than max_line bytes */
    size_t max_line;
    bool discarding; /* inside an over-long line */
};

void ndjson_reader_init(struct ndjson_reader *r, size_t max_line);
/* Wipes the partial line (it may hold a secret being sent) and frees it. */
void ndjson_reader_fini(struct ndjson_reader *r);
/* Feed bytes as they arrive; complete lines go to cb.  Returns 0 or cb's non-zero value. */
MUST_CHECK int ndjson_reader_feed(struct ndjson_reader *r, const char *data, size_t len,
                                  ndjson_line_cb cb, void *ctx);
/* True while a partial line is buffered (a half-written request). */
bool ndjson_reader_has_partial(const struct ndjson_reader *r);

/*
 * Parse one line into a JSON object: -ERR_PARSE (not JSON, or not an object).
 * *out is a new reference.
 */
MUST_CHECK int ndjson_parse(const char *line, size_t len, json_t **out);

/* Append the compact encoding of `obj` and a '\n' to `out`. */
MUST_CHECK int ndjson_encode(const json_t *obj, struct buf *out);

/*
 * Make jansson wipe every block it frees (answers and requests can carry a
 * secret).  Call once at start-up, before any json_* call.
 */
void ndjson_use_wiping_allocator(void);
/*
 * Wipe and free a block jansson handed over, such as json_dumps() output
 * (which may hold a secret).  Blocks are ordinary malloc blocks, so free()
 * is also safe; it just does not wipe.  NULL is fine.
 */
void ndjson_free(void *p);

#endif
