/* SPDX-License-Identifier: Apache-2.0 */
/* Chunk compression for recordings: zstd with one context per thread (internal). */
#ifndef CUSTOS_REC_CODEC_H
#define CUSTOS_REC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "custos/buf.h"
#include "custos/err.h"

#define CODEC_NONE 0
#define CODEC_ZSTD 1

/*
 * Append the compressed form of src[0..n) to out (level > 0: zstd at that
 * level, one zstd frame; level 0: CODEC_NONE, a copy) and set *codec.  zstd
 * contexts are kept per thread and freed when the thread exits, so a writer
 * costs no compression memory while its session is idle.
 * -ERR_NOMEM, -ERR_TOO_LONG (out's bound), -ERR_INTERNAL (zstd failed).
 */
MUST_CHECK int codec_compress(int level, const void *src, size_t n, struct buf *out,
                              uint8_t *codec);

/*
 * Decompress src[0..n) with `codec` into out (reset first), which must come
 * out exactly `raw_len` bytes long.  -ERR_CORRUPT when it does not (or the
 * codec is unknown), -ERR_TOO_LONG when raw_len is over out's bound.
 */
MUST_CHECK int codec_decompress(uint8_t codec, const void *src, size_t n, size_t raw_len,
                                struct buf *out);

/* Free this thread's contexts now (tests and short-lived threads; they are also freed at exit). */
void codec_thread_done(void);

#endif
