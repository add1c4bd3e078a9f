/* SPDX-License-Identifier: Apache-2.0 */
/* zstd compression of recording chunks, with per-thread contexts. */
#include <pthread.h>
#include <stdlib.h>

#include <zstd.h>

#include "codec.h"

struct ctxs {
    ZSTD_CCtx *c;
    ZSTD_DCtx *d;
};

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int key_ok;

static void ctxs_free(void *p)
{
    struct ctxs *x = p;

    if (!x)
        return;
    ZSTD_freeCCtx(x->c);
    ZSTD_freeDCtx(x->d);
    free(x);
}

static void key_make(void)
{
    key_ok = pthread_key_create(&key, ctxs_free) == 0;
}

/* This thread's contexts, made on first use; freed by the key's destructor at thread exit. */
static struct ctxs *ctxs_get(void)
{
    struct ctxs *x;

    pthread_once(&once, key_make);
    if (!key_ok)
        return NULL;
    if ((x = pthread_getspecific(key)))
        return x;
    if (!(x = calloc(1, sizeof(*x))))
        return NULL;
    if (pthread_setspecific(key, x) != 0) {
        free(x);
        return NULL;
    }
    return x;
}

void codec_thread_done(void)
{
    struct ctxs *x;

    pthread_once(&once, key_make);
    if (!key_ok || !(x = pthread_getspecific(key)))
        return;
    (void)pthread_setspecific(key, NULL);
    ctxs_free(x);
}

int codec_compress(int level, const void *src, size_t n, struct buf *out, uint8_t *codec)
{
    struct ctxs *x;
    size_t bound, got;
    char *tail;
    int r;

    if (level <= 0) {
        if ((r = buf_append(out, src, n)) != 0)
            return r;
        *codec = CODEC_NONE;
        return 0;
    }
    if (!(x = ctxs_get()))
        return -ERR_NOMEM;
    if (!x->c && !(x->c = ZSTD_createCCtx()))
        return -ERR_NOMEM;
    bound = ZSTD_compressBound(n);
    if ((r = buf_reserve(out, bound, &tail)) != 0)
        return r;
    got = ZSTD_compressCCtx(x->c, tail, bound, src, n, level);
    if (ZSTD_isError(got))
        return -ERR_INTERNAL;
    buf_commit(out, got);
    *codec = CODEC_ZSTD;
    return 0;
}

int codec_decompress(uint8_t codec, const void *src, size_t n, size_t raw_len, struct buf *out)
{
    struct ctxs *x;
    unsigned long long content;
    size_t got;
    char *tail;
    int r;

    buf_reset(out);
    if (codec == CODEC_NONE) {
        if (n != raw_len)
            return -ERR_CORRUPT;
        return buf_append(out, src, n);
    }
    if (codec != CODEC_ZSTD)
        return -ERR_CORRUPT;
    /* Exactly one frame, whose declared size (when it has one) is raw_len. */
    content = ZSTD_getFrameContentSize(src, n);
    if (content == ZSTD_CONTENTSIZE_ERROR ||
        (content != ZSTD_CONTENTSIZE_UNKNOWN && content != raw_len))
        return -ERR_CORRUPT;
    if (ZSTD_findFrameCompressedSize(src, n) != n)
        return -ERR_CORRUPT;
    if (!(x = ctxs_get()))
        return -ERR_NOMEM;
    if (!x->d && !(x->d = ZSTD_createDCtx()))
        return -ERR_NOMEM;
    if ((r = buf_reserve(out, raw_len, &tail)) != 0)
        return r;
    /* Room for raw_len only: a frame that holds more fails with dstSize_tooSmall. */
    got = ZSTD_decompressDCtx(x->d, tail, raw_len, src, n);
    if (ZSTD_isError(got) || got != raw_len)
        return -ERR_CORRUPT;
    buf_commit(out, got);
    return 0;
}
