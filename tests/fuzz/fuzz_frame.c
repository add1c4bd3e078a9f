/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: NDJSON framing (ndjson_reader_feed).
 *
 * Input: an 8-byte header, then the byte stream.
 *   hdr[0..1]  max_line = 64 + (u16 % 4033), so 64..4096
 *   hdr[2]     bits 0-2: stop after 1..8 lines (if bit 3 is set); bits 4-7: chunk multiplier 1..16
 *   hdr[3..7]  chunk sizes, used in turn: b * multiplier bytes, 0 = all the rest
 * The stream is fed in those chunks, each in its own exact-size allocation.
 * The lines seen must not depend on where the stream was split: they are
 * compared, in order, with a model computed from the whole stream.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "custos/err.h"
#include "custos/ndjson.h"
#include "fuzz.h"

#define HDR_LEN 8u
#define N_SIZES 5u
#define STOP_RET 77

struct event {
    size_t off, len; /* of the line in the stream */
    bool too_long;
};

struct ctx {
    const uint8_t *body;
    const struct event *ev;
    size_t n_ev, seen, max_line;
    unsigned stop_after; /* 0: never */
};

static int on_line(void *p, const char *line, size_t len, int err)
{
    struct ctx *c = p;
    const struct event *e;

    FUZZ_CHECK(c->seen < c->n_ev);
    e = &c->ev[c->seen++];
    if (err) {
        FUZZ_CHECK(err == -ERR_TOO_LONG);
        FUZZ_CHECK(line == NULL && len == 0);
        FUZZ_CHECK(e->too_long);
    } else {
        FUZZ_CHECK(line != NULL);
        FUZZ_CHECK(len > 0 && len <= c->max_line);
        FUZZ_CHECK(line[len] == '\0');
        FUZZ_CHECK(memchr(line, '\n', len) == NULL);
        FUZZ_CHECK(!e->too_long && e->len == len);
        FUZZ_CHECK(memcmp(line, c->body + e->off, len) == 0);
    }
    return c->stop_after && c->seen == c->stop_after ? STOP_RET : 0;
}

/*
 * The reference: each '\n'-terminated segment longer than max_line (the '\r'
 * counts) is one TOO_LONG, else its text without one trailing '\r' is a line
 * unless empty.  The unterminated tail is TOO_LONG once it passes max_line,
 * else it stays buffered.  Returns the number of events; *partial tells
 * whether a tail remains.
 */
static size_t model(const uint8_t *s, size_t n, size_t max_line, struct event *ev, bool *partial)
{
    size_t start = 0, k = 0;

    for (size_t i = 0; i <= n; i++) {
        size_t seg;

        if (i < n && s[i] != '\n')
            continue;
        seg = i - start;
        if (seg > max_line) {
            ev[k++] = (struct event){.too_long = true};
        } else if (i < n) {
            if (seg > 0 && s[start + seg - 1] == '\r')
                seg--;
            if (seg > 0)
                ev[k++] = (struct event){.off = start, .len = seg};
        }
        if (i == n)
            *partial = i > start;
        start = i + 1;
    }
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t hdr[HDR_LEN] = {0};
    struct ndjson_reader r;
    struct ctx c = {0};
    struct event *ev;
    const uint8_t *body;
    size_t n, off = 0, mult;
    bool partial = false;
    unsigned k = 0;
    int ret = 0;

    fuzz_init();
    memcpy(hdr, data, size < HDR_LEN ? size : HDR_LEN);
    body = size > HDR_LEN ? data + HDR_LEN : data + size;
    n = size > HDR_LEN ? size - HDR_LEN : 0;
    c.max_line = 64 + ((size_t)hdr[0] << 8 | hdr[1]) % (4096 - 64 + 1);
    c.stop_after = (hdr[2] & 0x08) ? (hdr[2] & 0x07) + 1u : 0;
    mult = 1 + (hdr[2] >> 4);
    /* At most one event per segment, and there are at most n + 1 segments. */
    ev = malloc((n + 1) * sizeof(*ev));
    FUZZ_CHECK(ev != NULL);
    c.body = body;
    c.ev = ev;
    c.n_ev = model(body, n, c.max_line, ev, &partial);

    ndjson_reader_init(&r, c.max_line);
    FUZZ_CHECK(r.max_line == c.max_line);
    FUZZ_CHECK(ndjson_reader_feed(&r, (const char *)body, 0, on_line, &c) == 0);
    while (off < n) {
        uint8_t b = hdr[3 + k++ % N_SIZES];
        size_t chunk = b ? (size_t)b * mult : n - off;
        char *copy;

        if (chunk > n - off)
            chunk = n - off;
        copy = malloc(chunk);
        FUZZ_CHECK(copy != NULL);
        memcpy(copy, body + off, chunk);
        ret = ndjson_reader_feed(&r, copy, chunk, on_line, &c);
        free(copy);
        FUZZ_CHECK(r.line.len <= r.max_line);
        if (ret != 0)
            break;
        off += chunk;
    }
    if (ret != 0) {
        FUZZ_CHECK(ret == STOP_RET && c.seen == c.stop_after);
    } else {
        FUZZ_CHECK(c.seen == c.n_ev);
        FUZZ_CHECK(ndjson_reader_has_partial(&r) == partial);
    }
    ndjson_reader_fini(&r);
    FUZZ_CHECK(!ndjson_reader_has_partial(&r));
    free(ev);
    return 0;
}
