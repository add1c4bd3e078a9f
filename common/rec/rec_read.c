/* SPDX-License-Identifier: Apache-2.0 */
/* The recording reader: frames, header, chunks and their events, checkpoints, index, trailer. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "codec.h"
#include "custos/rec.h"
#include "frame.h"
#include "wire.h"

void rec_frame_header(unsigned char hdr[REC_FRAME_HDR], enum rec_frame_type type, uint32_t len)
{
    hdr[0] = (unsigned char)type;
    hdr[1] = 0;
    wire_put16(hdr + 2, 0);
    wire_put32(hdr + 4, len);
}

void rec_chain_start(unsigned char h[REC_HASH_LEN], const void *frame, size_t n)
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, REC_HASH_LEN);
    crypto_generichash_update(&st, (const unsigned char *)REC_CHAIN_CONTEXT,
                              sizeof(REC_CHAIN_CONTEXT));
    crypto_generichash_update(&st, frame, n);
    crypto_generichash_final(&st, h, REC_HASH_LEN);
}

void rec_chain_next(unsigned char h[REC_HASH_LEN], const void *frame, size_t n)
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, REC_HASH_LEN);
    crypto_generichash_update(&st, h, REC_HASH_LEN);
    crypto_generichash_update(&st, frame, n);
    crypto_generichash_final(&st, h, REC_HASH_LEN);
}

int rec_ckpt_message(const void *body, size_t n, struct buf *out)
{
    int r;

    buf_reset(out);
    if ((r = buf_append(out, REC_CKPT_CONTEXT, sizeof(REC_CKPT_CONTEXT))) != 0)
        return r;
    return buf_append(out, body, n);
}

/* ---- frames ----------------------------------------------------------------------------- */

int rec_frame_size(const void *p, size_t n, size_t *size)
{
    const unsigned char *b = p;
    uint32_t len;

    if (n < REC_FRAME_HDR) {
        *size = REC_FRAME_HDR;
        return 0;
    }
    if (b[0] < REC_F_HEADER || b[0] > REC_F_TRAILER || b[1] != 0 || wire_get16(b + 2) != 0)
        return -ERR_CORRUPT;
    len = wire_get32(b + 4);
    if (len > REC_FRAME_MAX)
        return -ERR_TOO_LONG;
    *size = REC_FRAME_HDR + (size_t)len;
    return 0;
}

int rec_frame_parse(const void *p, size_t n, struct rec_frame *f)
{
    size_t size;
    int r;

    if ((r = rec_frame_size(p, n, &size)) != 0)
        return r;
    if (n < size || size < REC_FRAME_HDR)
        return -ERR_INVAL;
    f->type = ((const unsigned char *)p)[0];
    f->raw = p;
    f->raw_len = size;
    f->body = (const unsigned char *)p + REC_FRAME_HDR;
    f->len = (uint32_t)(size - REC_FRAME_HDR);
    return 0;
}

/* ---- header ------------------------------------------------------------------------------ */

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int jkey(json_t *o, const char *k, unsigned char *out, size_t n)
{
    const char *s = jstr(o, k);
    size_t got = 0;

    if (!s ||
        sodium_base642bin(out, n, s, strlen(s), NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) !=
            0 ||
        got != n)
        return -ERR_PARSE;
    return 0;
}

static int juint(json_t *o, const char *k, uint64_t max, uint64_t *v)
{
    json_t *x = json_object_get(o, k);

    if (!json_is_integer(x) || json_integer_value(x) < 0 || (uint64_t)json_integer_value(x) > max)
        return -ERR_PARSE;
    *v = (uint64_t)json_integer_value(x);
    return 0;
}

/* A string field: present as a string (required) or string/null (optional). */
static int jtext(json_t *o, const char *k, bool required, const char **out)
{
    json_t *x = json_object_get(o, k);

    *out = NULL;
    if (json_is_string(x)) {
        *out = json_string_value(x);
        return 0;
    }
    return !required && json_is_null(x) ? 0 : -ERR_PARSE;
}

int rec_header_parse(const struct rec_frame *f, struct rec_info **out)
{
    struct rec_info *info = NULL;
    json_t *o = NULL;
    uint32_t jlen;
    uint64_t v;
    const char *fmt;
    int r = -ERR_PARSE;

    *out = NULL;
    if (f->type != REC_F_HEADER || f->len < REC_HEADER_FIXED)
        return -ERR_PARSE;
    if (wire_get16(f->body) != REC_VERSION)
        return -ERR_SCHEMA;
    jlen = wire_get32(f->body + 4);
    if (wire_get16(f->body + 2) != 0 || jlen != f->len - REC_HEADER_FIXED)
        return -ERR_PARSE;
    if (!(info = calloc(1, sizeof(*info))))
        return -ERR_NOMEM;
    o = json_loadb((const char *)f->body + REC_HEADER_FIXED, jlen, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o))
        goto out;
    fmt = jstr(o, "format");
    if (!fmt || strcmp(fmt, "custos-rec") != 0 || juint(o, "version", 65535, &v) != 0 ||
        v != REC_VERSION)
        goto out;
    info->version = (unsigned)v;
    if (jtext(o, "session", true, &info->meta.session) != 0 ||
        jtext(o, "identity", false, &info->meta.identity) != 0 ||
        jtext(o, "account", true, &info->meta.account) != 0 ||
        jtext(o, "target", true, &info->meta.target) != 0 ||
        jtext(o, "grant", false, &info->meta.grant) != 0 ||
        jtext(o, "kind", true, &info->meta.kind) != 0 ||
        jtext(o, "term", false, &info->meta.term) != 0 ||
        jtext(o, "broker", false, &info->meta.broker) != 0 ||
        jtext(o, "codec", true, (const char **)&info->codec) != 0)
        goto out;
    if (!*info->meta.session || strlen(info->meta.session) > REC_CKPT_SID_MAX)
        goto out;
    if (juint(o, "started_us", INT64_MAX, &info->meta.started_us) != 0 ||
        juint(o, "cols", 65535, &v) != 0)
        goto out;
    info->meta.cols = (unsigned)v;
    if (juint(o, "rows", 65535, &v) != 0)
        goto out;
    info->meta.rows = (unsigned)v;
    if (!json_is_boolean(json_object_get(o, "mask_unechoed")))
        goto out;
    info->meta.mask_unechoed = json_is_true(json_object_get(o, "mask_unechoed"));
    if (jkey(o, "rec_key", info->meta.rec_key, REC_KEY_LEN) != 0 ||
        jkey(o, "vault_key", info->meta.vault_key, REC_KEY_LEN) != 0 ||
        jkey(o, "vault_sig", info->meta.vault_sig, REC_SIG_LEN) != 0)
        goto out;
    rec_limits_default(&info->limits);
    if (juint(o, "chunk_bytes", UINT32_MAX, &v) == 0)
        info->limits.chunk_bytes = v;
    if (juint(o, "chunk_ms", UINT32_MAX, &v) == 0)
        info->limits.chunk_ms = (unsigned)v;
    if (juint(o, "checkpoint_chunks", UINT32_MAX, &v) == 0)
        info->limits.checkpoint_chunks = (unsigned)v;
    if (juint(o, "checkpoint_ms", UINT32_MAX, &v) == 0)
        info->limits.checkpoint_ms = (unsigned)v;
    if (juint(o, "keyframe_bytes", UINT32_MAX, &v) == 0)
        info->limits.keyframe_bytes = v;
    if (juint(o, "keyframe_ms", UINT32_MAX, &v) == 0)
        info->limits.keyframe_ms = (unsigned)v;
    info->json_ = o;
    o = NULL;
    *out = info;
    info = NULL;
    r = 0;
out:
    json_decref(o);
    free(info);
    return r;
}

void rec_info_free(struct rec_info *info)
{
    if (!info)
        return;
    json_decref(info->json_);
    free(info);
}

/* ---- chunks and events ------------------------------------------------------------------ */

/* The fixed fields at b, of a chunk whose body is len bytes. */
static int chunk_fixed(const unsigned char *b, size_t len, struct rec_chunk *c)
{
    if (len < REC_CHUNK_FIXED)
        return -ERR_PARSE;
    c->seq = wire_get64(b);
    c->t_first_us = wire_get64(b + 8);
    c->t_last_us = wire_get64(b + 16);
    c->n_events = wire_get32(b + 24);
    c->raw_len = wire_get32(b + 28);
    c->codec = b[32];
    c->flags = b[33];
    if (wire_get16(b + 34) != 0 || c->n_events == 0 || c->raw_len > REC_FRAME_MAX ||
        c->t_last_us < c->t_first_us ||
        (c->flags & ~(unsigned)(REC_CHUNK_KEYFRAME | REC_CHUNK_SYNC)) != 0)
        return -ERR_PARSE;
    c->prev = b + 36;
    c->payload = NULL;
    c->payload_len = len - REC_CHUNK_FIXED;
    return 0;
}

int rec_chunk_parse(const struct rec_frame *f, struct rec_chunk *c)
{
    int r;

    if (f->type != REC_F_CHUNK || (r = chunk_fixed(f->body, f->len, c)) != 0)
        return -ERR_PARSE;
    c->payload = f->body + REC_CHUNK_FIXED;
    return 0;
}

int rec_chunk_head(const void *p, size_t n, struct rec_chunk *c)
{
    const unsigned char *b = p;
    size_t size;

    if (n < REC_CHUNK_HEAD || rec_frame_size(p, n, &size) != 0 || b[0] != REC_F_CHUNK)
        return -ERR_PARSE;
    return chunk_fixed(b + REC_FRAME_HDR, size - REC_FRAME_HDR, c);
}

static bool known(uint8_t t)
{
    return (t >= REC_OUT && t <= REC_EV_LAST_KNOWN) || t >= REC_EV_EXT_FIRST;
}

int rec_chunk_events(const struct rec_chunk *c, struct buf *scratch, rec_event_cb cb, void *ctx)
{
    const unsigned char *p;
    size_t n, off = 0;
    uint64_t t = c->t_first_us;
    uint32_t count = 0;
    int r;

    if ((r = codec_decompress(c->codec, c->payload, c->payload_len, c->raw_len, scratch)) != 0)
        return r == -ERR_TOO_LONG ? r : -ERR_CORRUPT;
    p = (const unsigned char *)scratch->data;
    n = scratch->len;
    while (off < n) {
        struct rec_event ev;
        uint64_t dt, len;
        size_t u;
        ev.type = p[off++];
        if (!known(ev.type) || count >= c->n_events)
            return -ERR_CORRUPT;
        if (wire_varint_get(p + off, n - off, &dt, &u) != 0)
            return -ERR_CORRUPT;
        off += u;
        if (wire_varint_get(p + off, n - off, &len, &u) != 0)
            return -ERR_CORRUPT;
        off += u;
        if (len > n - off || dt > c->t_last_us - t)
            return -ERR_CORRUPT;
        t += dt;
        ev.t_us = t;
        ev.data = p + off;
        ev.len = (size_t)len;
        off += (size_t)len;
        count++;
        /* A KEYFRAME only ever opens a chunk that says so. */
        if (ev.type == REC_KEYFRAME && !(count == 1 && (c->flags & REC_CHUNK_KEYFRAME)))
            return -ERR_CORRUPT;
        if (count == 1 && (c->flags & REC_CHUNK_KEYFRAME) && ev.type != REC_KEYFRAME)
            return -ERR_CORRUPT;
        if (cb && (r = cb(ctx, &ev)) != 0)
            return r;
    }
    if (count != c->n_events || t != c->t_last_us)
        return -ERR_CORRUPT;
    return 0;
}

static int varints(const struct rec_event *ev, uint64_t *a, uint64_t *b)
{
    size_t u1, u2 = 0;

    if (wire_varint_get(ev->data, ev->len, a, &u1) != 0)
        return -ERR_CORRUPT;
    if (b) {
        if (wire_varint_get(ev->data + u1, ev->len - u1, b, &u2) != 0)
            return -ERR_CORRUPT;
        return 0;
    }
    return u1 == ev->len ? 0 : -ERR_CORRUPT;
}

int rec_event_resize(const struct rec_event *ev, unsigned *cols, unsigned *rows)
{
    uint64_t c, r;
    size_t u1, u2;

    if (ev->type != REC_RESIZE || wire_varint_get(ev->data, ev->len, &c, &u1) != 0 ||
        wire_varint_get(ev->data + u1, ev->len - u1, &r, &u2) != 0 || u1 + u2 != ev->len ||
        c > 65535 || r > 65535)
        return -ERR_CORRUPT;
    *cols = (unsigned)c;
    *rows = (unsigned)r;
    return 0;
}

int rec_event_uint(const struct rec_event *ev, uint64_t *v)
{
    if (ev->type != REC_EXIT && ev->type != REC_IN_MASKED)
        return -ERR_CORRUPT;
    return varints(ev, v, NULL);
}

int rec_event_keyframe(const struct rec_event *ev, unsigned *cols, unsigned *rows,
                       const unsigned char **paint, size_t *paint_len)
{
    uint64_t c, r;
    size_t u1, u2;

    if (ev->type != REC_KEYFRAME || wire_varint_get(ev->data, ev->len, &c, &u1) != 0 ||
        wire_varint_get(ev->data + u1, ev->len - u1, &r, &u2) != 0 || c == 0 || r == 0 ||
        c > 65535 || r > 65535)
        return -ERR_CORRUPT;
    *cols = (unsigned)c;
    *rows = (unsigned)r;
    *paint = ev->data + u1 + u2;
    *paint_len = ev->len - u1 - u2;
    return 0;
}

/* ---- checkpoints --------------------------------------------------------------------------- */

int rec_checkpoint_parse(const void *body, size_t len, struct rec_checkpoint *ck)
{
    const unsigned char *b = body;
    uint16_t sid_len;

    if (len < REC_CKPT_FIXED + 2 + REC_SIG_LEN)
        return -ERR_PARSE;
    sid_len = wire_get16(b + REC_CKPT_FIXED);
    if (sid_len == 0 || sid_len > REC_CKPT_SID_MAX ||
        len != REC_CKPT_FIXED + 2 + (size_t)sid_len + REC_SIG_LEN)
        return -ERR_PARSE;
    if (b[88] > 1 || b[89] || b[90] || b[91])
        return -ERR_PARSE;
    ck->chunks = wire_get64(b);
    ck->t_us = wire_get64(b + 8);
    ck->wall_us = wire_get64(b + 16);
    ck->in_bytes = wire_get64(b + 24);
    ck->out_bytes = wire_get64(b + 32);
    ck->events = wire_get64(b + 40);
    ck->offset = wire_get64(b + 48);
    memcpy(ck->head, b + 56, REC_HASH_LEN);
    ck->final = b[88] == 1;
    ck->mac_epoch = wire_get32(b + 92);
    memcpy(ck->mac, b + 96, REC_HASH_LEN);
    memcpy(ck->session, b + REC_CKPT_FIXED + 2, sid_len);
    ck->session[sid_len] = '\0';
    if (memchr(ck->session, '\0', sid_len))
        return -ERR_PARSE;
    ck->signed_len = REC_CKPT_FIXED + 2 + sid_len;
    memcpy(ck->sig, b + ck->signed_len, REC_SIG_LEN);
    /* Until forward-secure MACs exist, epoch 0 with a zero MAC is the only valid form. */
    if (ck->mac_epoch != 0 || !sodium_is_zero(ck->mac, REC_HASH_LEN))
        return -ERR_PARSE;
    return 0;
}

int rec_checkpoint_verify(const void *body, size_t len, const unsigned char key[REC_KEY_LEN])
{
    struct rec_checkpoint ck;
    struct buf msg;
    int r;

    if ((r = rec_checkpoint_parse(body, len, &ck)) != 0)
        return r;
    buf_init(&msg, len + 64);
    if ((r = rec_ckpt_message(body, ck.signed_len, &msg)) == 0 &&
        crypto_sign_verify_detached(ck.sig, (const unsigned char *)msg.data, msg.len, key) != 0)
        r = -ERR_TAMPERED;
    buf_fini(&msg);
    return r;
}

/* ---- index and trailer ---------------------------------------------------------------------- */

int rec_index_parse(const void *body, size_t len, struct rec_index **out)
{
    const unsigned char *b = body;
    struct rec_index *ix;
    size_t off = 4, textlen = 0, k;
    uint32_t nc, nm;
    int r = -ERR_PARSE;

    *out = NULL;
    if (len < 8)
        return -ERR_PARSE;
    nc = wire_get32(b);
    if (nc > (len - 8) / REC_INDEX_ENTRY)
        return -ERR_PARSE;
    if (!(ix = calloc(1, sizeof(*ix))))
        return -ERR_NOMEM;
    if (nc && !(ix->chunks = calloc(nc, sizeof(*ix->chunks))))
        goto nomem;
    for (k = 0; k < nc; k++, off += REC_INDEX_ENTRY) {
        ix->chunks[k].offset = wire_get64(b + off);
        ix->chunks[k].t_first_us = wire_get64(b + off + 8);
        ix->chunks[k].flags = b[off + 16];
        if (!sodium_is_zero(b + off + 17, 7))
            goto out;
    }
    ix->n_chunks = nc;
    nm = wire_get32(b + off);
    off += 4;
    /* Each command takes at least 3 bytes; the text is at most what is left. */
    if (nm > (len - off) / 3)
        goto out;
    if ((nm && !(ix->commands = calloc(nm, sizeof(*ix->commands)))) ||
        !(ix->text_ = malloc(len - off + nm + 1)))
        goto nomem;
    for (k = 0; k < nm; k++) {
        uint64_t t, l;
        size_t u;
        uint8_t how;
        if (wire_varint_get(b + off, len - off, &t, &u) != 0)
            goto out;
        off += u;
        if (off >= len)
            goto out;
        how = b[off++];
        if (how < REC_HOW_TYPED || how > REC_HOW_SCRIPT ||
            wire_varint_get(b + off, len - off, &l, &u) != 0)
            goto out;
        off += u;
        if (l > len - off)
            goto out;
        ix->commands[k].t_us = t;
        ix->commands[k].how = how;
        ix->commands[k].line = ix->text_ + textlen;
        memcpy(ix->text_ + textlen, b + off, (size_t)l);
        textlen += (size_t)l;
        ix->text_[textlen++] = '\0';
        off += (size_t)l;
    }
    ix->n_commands = nm;
    if (off != len)
        goto out;
    *out = ix;
    return 0;
nomem:
    r = -ERR_NOMEM;
out:
    rec_index_free(ix);
    return r;
}

void rec_index_free(struct rec_index *ix)
{
    if (!ix)
        return;
    free(ix->chunks);
    free(ix->commands);
    free(ix->text_);
    free(ix);
}

int rec_trailer_parse(const struct rec_frame *f, uint64_t *index_offset, uint64_t *final_offset)
{
    if (f->type != REC_F_TRAILER || f->len != REC_TRAILER_BODY ||
        memcmp(f->body + 16, REC_TRAILER_MAGIC, sizeof(REC_TRAILER_MAGIC)) != 0)
        return -ERR_PARSE;
    *index_offset = wire_get64(f->body);
    *final_offset = wire_get64(f->body + 8);
    return 0;
}
