/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded growable buffers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/buf.h"

void buf_init(struct buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

void buf_fini(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int reserve(struct buf *b, size_t extra)
{
    size_t need, ncap;
    char *p;

    if (extra > b->max || b->len > b->max - extra)
        return -ERR_TOO_LONG;
    need = b->len + extra + 1; /* keep room for a terminating NUL */
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap *= 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    p = realloc(b->data, ncap);
    if (!p)
        return -ERR_NOMEM;
    b->data = p;
    b->cap = ncap;
    return 0;
}

int buf_append(struct buf *b, const void *src, size_t len)
{
    int r = reserve(b, len);

    if (r != 0)
        return r;
    if (len)
        memcpy(b->data + b->len, src, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int buf_reserve(struct buf *b, size_t extra, char **tail)
{
    int r = reserve(b, extra);

    if (r != 0)
        return r;
    *tail = b->data + b->len;
    return 0;
}

void buf_commit(struct buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, r;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ERR_INVAL;
    if ((r = reserve(b, (size_t)n)) != 0)
        return r;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
    if (b->data)
        b->data[b->len] = '\0';
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}
