/* SPDX-License-Identifier: Apache-2.0 */
/* struct secbuf on sodium_malloc: guarded, locked, wiped on free. */
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <sodium.h>

#include "custos/log.h"
#include "custos/secbuf.h"

struct secbuf {
    size_t len;
    size_t cap;
    unsigned char data[];
};

int secbuf_init(void)
{
    return sodium_init() < 0 ? -ERR_CRYPTO : 0;
}

int secbuf_new(size_t cap, struct secbuf **out)
{
    struct secbuf *b;
    size_t size;

    *out = NULL;
    if (cap == 0 || cap > (1u << 30))
        return -ERR_INVAL;
    /*
     * sodium_malloc puts the block against the trailing guard page, so the
     * start is aligned only when the size is a multiple of the alignment.
     */
    size = (sizeof(*b) + cap + 15u) & ~(size_t)15u;
    b = sodium_malloc(size);
    if (!b)
        return -ERR_NOMEM;
    memset(b, 0, size);
    b->cap = cap;
    *out = b;
    return 0;
}

int secbuf_from(const void *src, size_t len, struct secbuf **out)
{
    int r = secbuf_new(len ? len : 1, out);

    if (r == 0 && len) {
        memcpy((*out)->data, src, len);
        (*out)->len = len;
    }
    return r;
}

int secbuf_dup(const struct secbuf *src, struct secbuf **out)
{
    return secbuf_from(src->data, src->len, out);
}

void secbuf_free(struct secbuf *b)
{
    if (b)
        sodium_free(b); /* wipes, unlocks, checks the canary */
}

void *secbuf_data(struct secbuf *b)
{
    return b->data;
}

const void *secbuf_cdata(const struct secbuf *b)
{
    return b->data;
}

size_t secbuf_len(const struct secbuf *b)
{
    return b->len;
}

size_t secbuf_cap(const struct secbuf *b)
{
    return b->cap;
}

int secbuf_set_len(struct secbuf *b, size_t len)
{
    if (len > b->cap)
        return -ERR_INVAL;
    if (len < b->len)
        sodium_memzero(b->data + len, b->len - len);
    b->len = len;
    return 0;
}

int secbuf_append(struct secbuf *b, const void *src, size_t len)
{
    if (len > b->cap - b->len)
        return -ERR_TOO_LONG;
    memcpy(b->data + b->len, src, len);
    b->len += len;
    return 0;
}

int secbuf_equal(const struct secbuf *a, const struct secbuf *b)
{
    return a->len == b->len && sodium_memcmp(a->data, b->data, a->len) == 0;
}

int secbuf_harden_process(void)
{
    struct rlimit rl = {0, 0};

    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        log_err("prctl(PR_SET_DUMPABLE) failed");
        return -ERR_INTERNAL;
    }
    if (setrlimit(RLIMIT_CORE, &rl) != 0) {
        log_err("setrlimit(RLIMIT_CORE) failed");
        return -ERR_INTERNAL;
    }
    return 0;
}
