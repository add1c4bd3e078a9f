/* SPDX-License-Identifier: Apache-2.0 */
/* struct secbuf on sodium_malloc: guarded, locked, wiped on free. */
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <sodium.h>

#include "custos/log.h"
#include "custos/secbuf.h"

struct secbuf {
    size_t len;
    size_t cap;   /* what the caller asked for */
    size_t alloc; /* bytes after the header: a pool class size, or cap rounded */
    unsigned char data[];
};

/*
 * Small secbufs are recycled: sodium_malloc and sodium_free cost an mmap,
 * mprotects, mlock and munmap each, and in a threaded process every munmap
 * and mprotect is a TLB shoot-down across cores (about 90 us here).  A
 * recycled buffer stays guarded and locked and is wiped whole before it goes
 * back to the pool, so reuse changes nothing a secret could leak through.
 */
#define POOL_CLASSES 4u
#define POOL_DEPTH 64u
static const size_t pool_class[POOL_CLASSES] = {64, 256, 4096, 65536};
static struct {
    pthread_mutex_t lock;
    struct secbuf *free[POOL_CLASSES][POOL_DEPTH];
    unsigned n[POOL_CLASSES];
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int pool_class_of(size_t alloc)
{
    for (unsigned i = 0; i < POOL_CLASSES; i++)
        if (alloc == pool_class[i])
            return (int)i;
    return -1;
}

int secbuf_init(void)
{
    return sodium_init() < 0 ? -ERR_CRYPTO : 0;
}

int secbuf_new(size_t cap, struct secbuf **out)
{
    struct secbuf *b = NULL;
    size_t alloc = (cap + 15u) & ~(size_t)15u;
    int cls = -1;

    *out = NULL;
    if (cap == 0 || cap > (1u << 30))
        return -ERR_INVAL;
    for (unsigned i = 0; i < POOL_CLASSES && cls < 0; i++)
        if (cap <= pool_class[i])
            cls = (int)i;
    if (cls >= 0) {
        alloc = pool_class[cls];
        pthread_mutex_lock(&pool.lock);
        if (pool.n[cls])
            b = pool.free[cls][--pool.n[cls]];
        pthread_mutex_unlock(&pool.lock);
    }
    if (!b) {
        /*
         * sodium_malloc puts the block against the trailing guard page, so
         * the start is aligned only when the size is a multiple of 16 (the
         * header is 24 bytes and alloc a multiple of 16: round the sum).
         */
        size_t size = (sizeof(*b) + alloc + 15u) & ~(size_t)15u;
        b = sodium_malloc(size);
        if (!b)
            return -ERR_NOMEM;
        memset(b, 0, size);
    }
    b->len = 0;
    b->cap = cap;
    b->alloc = alloc;
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
    int cls;

    if (!b)
        return;
    cls = pool_class_of(b->alloc);
    if (cls >= 0) {
        sodium_memzero(b->data, b->alloc);
        b->len = 0;
        pthread_mutex_lock(&pool.lock);
        if (pool.n[cls] < POOL_DEPTH) {
            pool.free[cls][pool.n[cls]++] = b;
            b = NULL;
        }
        pthread_mutex_unlock(&pool.lock);
    }
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
