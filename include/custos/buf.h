/* SPDX-License-Identifier: Apache-2.0 */
/* Growable byte buffers with a hard upper bound (for non-secret data). */
#ifndef CUSTOS_BUF_H
#define CUSTOS_BUF_H

#include <stddef.h>

#include "custos/err.h"

/*
 * A buf owns heap memory that grows on demand up to `max` bytes; an append
 * that would pass `max` fails with -ERR_TOO_LONG and leaves the buffer as it
 * was.  Never put secrets in a buf: use struct secbuf.
 */
struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

/* Embed-style lifecycle: init takes the bound; fini frees (and accepts a zeroed buf). */
void buf_init(struct buf *b, size_t max);
void buf_fini(struct buf *b);

MUST_CHECK int buf_append(struct buf *b, const void *src, size_t len);
/*
 * Make room for `extra` more bytes and point *tail at them: the caller writes
 * there, then counts what it wrote with buf_commit().  Same bound and errors
 * as buf_append; *tail is valid until the next call that changes the buf.
 */
MUST_CHECK int buf_reserve(struct buf *b, size_t extra, char **tail);
/* Count n bytes written at the tail given by buf_reserve (n <= its extra). */
void buf_commit(struct buf *b, size_t n);
MUST_CHECK int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (n <= len), keeping the rest. */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);

#endif
