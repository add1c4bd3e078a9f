/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the recording reader and verifier (common/rec).
 *
 * Input: a 4-byte header, then a recording file.
 *   hdr[0..3]  chunk sizes for feeding the verifier, used in turn: 1 + b * 37 bytes
 * The file is verified twice — fed whole, and fed in those pieces — and the
 * verdicts must agree (kind, offsets, sealed counters): where the file is
 * split must never change the judgement.  Then the frames are walked with the
 * reader; a file the verifier calls OK or INCOMPLETE must read back without
 * error up to where it is sealed, and its chunk events must count up to the
 * last checkpoint's figures.
 *
 * The vault key is fixed (FUZZ_VAULT_SEED) so corpus files made with it pass
 * the key check and the fuzzer can reach the chunks; corpus/recording/ holds
 * such files (tests/fuzz/make_rec_corpus.c writes them).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "custos/rec.h"
#include "fuzz.h"

#define HDR_LEN 4u
#define FUZZ_VAULT_SEED "custos-fuzz-vault-key-0123456789"

static void vault_key(unsigned char pk[32])
{
    unsigned char sk[64];

    crypto_sign_seed_keypair(pk, sk, (const unsigned char *)FUZZ_VAULT_SEED);
    sodium_memzero(sk, sizeof(sk));
}

static void verify(const uint8_t *p, size_t n, const uint8_t *hdr, const unsigned char *vk,
                   struct rec_verdict *v)
{
    struct rec_verifier *ver;
    size_t off = 0, k = 0;

    FUZZ_CHECK(rec_verifier_new(vk, &ver) == 0);
    while (off < n) {
        size_t len = hdr ? 1 + (size_t)hdr[k++ % HDR_LEN] * 37 : n - off;
        if (len > n - off)
            len = n - off;
        /* Each piece in its own exact-size allocation, so ASan sees reads past it. */
        uint8_t *piece = malloc(len);
        FUZZ_CHECK(piece != NULL);
        memcpy(piece, p + off, len);
        FUZZ_CHECK(rec_verifier_feed(ver, piece, len) == 0);
        free(piece);
        off += len;
    }
    rec_verifier_finish(ver, v);
    rec_verifier_free(ver);
}

struct count {
    uint64_t events;
};

static int count_event(void *ctx, const struct rec_event *ev)
{
    struct count *c = ctx;
    unsigned cols, rows;
    const unsigned char *paint;
    size_t n;
    uint64_t u;

    c->events++;
    /* the typed decoders never read past the event */
    if (ev->type == REC_RESIZE && rec_event_resize(ev, &cols, &rows) == 0)
        FUZZ_CHECK(cols <= 65535 && rows <= 65535);
    else if (ev->type == REC_KEYFRAME && rec_event_keyframe(ev, &cols, &rows, &paint, &n) == 0)
        FUZZ_CHECK(paint + n <= ev->data + ev->len && cols && rows);
    else if ((ev->type == REC_EXIT || ev->type == REC_IN_MASKED) && rec_event_uint(ev, &u) == 0)
        FUZZ_CHECK(ev->len >= 1 && ev->len <= 10);
    return 0;
}

/* Walk the frames with the reader; returns the events seen up to offset `upto`. */
static uint64_t walk(const uint8_t *p, size_t n, size_t upto, bool must_read)
{
    struct buf scratch;
    struct count c = {0};
    size_t off = REC_MAGIC_LEN;

    buf_init(&scratch, REC_FRAME_MAX);
    while (off < n) {
        struct rec_frame f;
        size_t size;
        if (rec_frame_size(p + off, n - off, &size) != 0 || size > n - off) {
            FUZZ_CHECK(!must_read || off >= upto);
            break;
        }
        FUZZ_CHECK(rec_frame_parse(p + off, n - off, &f) == 0);
        FUZZ_CHECK(f.raw_len == size);
        if (f.type == REC_F_HEADER) {
            struct rec_info *info = NULL;
            int r = rec_header_parse(&f, &info);
            FUZZ_CHECK(!must_read || r == 0);
            rec_info_free(info);
        } else if (f.type == REC_F_CHUNK) {
            struct rec_chunk ch;
            int r = rec_chunk_parse(&f, &ch);
            FUZZ_CHECK(!must_read || r == 0);
            if (r == 0) {
                r = rec_chunk_events(&ch, &scratch, off < upto ? count_event : NULL, &c);
                FUZZ_CHECK(!must_read || off >= upto || r == 0);
            }
        } else if (f.type == REC_F_CHECKPOINT) {
            struct rec_checkpoint ck;
            int r = rec_checkpoint_parse(f.body, f.len, &ck);
            FUZZ_CHECK(!must_read || off >= upto || r == 0);
        } else if (f.type == REC_F_INDEX) {
            struct rec_index *ix = NULL;
            int r = rec_index_parse(f.body, f.len, &ix);
            FUZZ_CHECK(!must_read || r == 0);
            if (ix)
                for (size_t i = 0; i < ix->n_commands; i++)
                    FUZZ_CHECK(ix->commands[i].line != NULL);
            rec_index_free(ix);
        } else if (f.type == REC_F_TRAILER) {
            uint64_t a, b;
            if (rec_trailer_parse(&f, &a, &b) == 0)
                FUZZ_CHECK(f.len == 24);
        }
        off += size;
    }
    buf_fini(&scratch);
    return c.events;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char vk[32];
    struct rec_verdict whole, pieces;
    const uint8_t *file = data + HDR_LEN;
    size_t n;

    fuzz_init();
    if (size < HDR_LEN)
        return 0;
    n = size - HDR_LEN;
    vault_key(vk);
    verify(file, n, NULL, vk, &whole);
    verify(file, n, data, vk, &pieces);
    FUZZ_CHECK(whole.kind == pieces.kind);
    FUZZ_CHECK(whole.bad_offset == pieces.bad_offset);
    FUZZ_CHECK(whole.have_last == pieces.have_last);
    FUZZ_CHECK(whole.last.events == pieces.last.events);
    FUZZ_CHECK(whole.tail_bytes == pieces.tail_bytes);
    FUZZ_CHECK(whole.file_bytes == n);
    if (whole.kind == REC_V_OK || whole.kind == REC_V_INCOMPLETE) {
        size_t sealed = whole.have_last ? (size_t)whole.last.offset : 0;
        uint64_t events = walk(file, n, sealed, true);
        if (whole.have_last)
            FUZZ_CHECK(events == whole.last.events);
        if (whole.kind == REC_V_OK)
            FUZZ_CHECK(whole.have_last && whole.last.final && whole.key_checked);
    } else {
        (void)walk(file, n, 0, false);
    }
    return 0;
}
