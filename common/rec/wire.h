/* SPDX-License-Identifier: Apache-2.0 */
/* Little-endian integers and canonical LEB128 varints for the recording format (internal). */
#ifndef CUSTOS_REC_WIRE_H
#define CUSTOS_REC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/buf.h"

#define WIRE_VARINT_MAX 10

static inline void wire_put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline void wire_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void wire_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint16_t wire_get16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t wire_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t wire_get64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Encode v into p (WIRE_VARINT_MAX bytes of room); returns the length. */
static inline size_t wire_varint_put(unsigned char *p, uint64_t v)
{
    size_t n = 0;

    do {
        unsigned char b = v & 0x7f;
        v >>= 7;
        p[n++] = b | (v ? 0x80 : 0);
    } while (v);
    return n;
}

static inline size_t wire_varint_len(uint64_t v)
{
    size_t n = 1;

    while (v >>= 7)
        n++;
    return n;
}

/*
 * Decode a canonical varint from p[0..n): 0 with *v and *used set, or -1 when
 * it runs past n, is longer than 10 bytes, overflows 64 bits or is overlong
 * (a final 0x00 group after the first byte).
 */
static inline int wire_varint_get(const unsigned char *p, size_t n, uint64_t *v, size_t *used)
{
    uint64_t x = 0;

    for (size_t i = 0; i < n && i < WIRE_VARINT_MAX; i++) {
        uint64_t g = p[i] & 0x7f;
        if (i == 9 && g > 1)
            return -1; /* more than 64 bits */
        x |= g << (7 * i);
        if (!(p[i] & 0x80)) {
            if (i > 0 && g == 0)
                return -1; /* overlong */
            *v = x;
            *used = i + 1;
            return 0;
        }
    }
    return -1;
}

/* Append a varint to a buf. */
static inline int wire_buf_varint(struct buf *b, uint64_t v)
{
    unsigned char tmp[WIRE_VARINT_MAX];

    return buf_append(b, tmp, wire_varint_put(tmp, v));
}

#endif
