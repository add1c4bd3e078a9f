/* SPDX-License-Identifier: Apache-2.0 */
/* The recording verifier: fed a file in pieces, it recomputes the chain and judges it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "custos/rec.h"
#include "frame.h"
#include "wire.h"

enum stage {
    V_MAGIC,   /* expecting the 8-byte magic */
    V_HEADER,  /* expecting the HEADER frame */
    V_BODY,    /* chunks and checkpoints */
    V_FINAL,   /* after the INDEX: the final checkpoint must come */
    V_TRAILER, /* after the final checkpoint: only the TRAILER may come */
    V_DONE,    /* after the TRAILER: nothing may come */
    V_STOPPED, /* a verdict was reached; the rest is not looked at */
};

struct rec_verifier {
    unsigned char vault_key[REC_KEY_LEN];
    bool have_vault_key;
    enum stage stage;
    struct buf pending; /* the start of a frame (or the magic) not yet complete */
    struct buf scratch; /* a decompressed chunk */
    uint64_t off;       /* file offset of the next byte not yet consumed */
    struct rec_info *info;
    unsigned char h[REC_HASH_LEN];
    uint64_t seq, t_last, events, in_bytes, out_bytes;
    uint64_t sealed_off; /* offset after the last checkpoint */
    uint64_t tail_t_first;
    bool tail_has_chunks;
    struct buf ix_chunks, ix_cmds;
    uint32_t n_ix_chunks, n_ix_cmds;
    uint64_t index_off, final_off;
    struct rec_verdict v;
};

const char *rec_verdict_name(enum rec_verdict_kind k)
{
    switch (k) {
    case REC_V_OK:
        return "OK";
    case REC_V_INCOMPLETE:
        return "INCOMPLETE";
    case REC_V_MODIFIED:
        return "MODIFIED";
    case REC_V_WRONG_KEY:
        return "WRONG KEY";
    }
    return "UNKNOWN";
}

int rec_verifier_new(const unsigned char *vault_key, struct rec_verifier **out)
{
    struct rec_verifier *v;

    *out = NULL;
    if (!(v = calloc(1, sizeof(*v))))
        return -ERR_NOMEM;
    if (vault_key) {
        memcpy(v->vault_key, vault_key, REC_KEY_LEN);
        v->have_vault_key = true;
    }
    buf_init(&v->pending, REC_FRAME_HDR + REC_FRAME_MAX);
    buf_init(&v->scratch, REC_FRAME_MAX);
    buf_init(&v->ix_chunks, REC_INDEX_TABLE_MAX);
    buf_init(&v->ix_cmds, REC_INDEX_TABLE_MAX);
    *out = v;
    return 0;
}

void rec_verifier_free(struct rec_verifier *v)
{
    if (!v)
        return;
    buf_fini(&v->pending);
    buf_fini(&v->scratch);
    buf_fini(&v->ix_chunks);
    buf_fini(&v->ix_cmds);
    rec_info_free(v->info);
    free(v);
}

/* Stop with a verdict about the frame at `at`. */
static void judge(struct rec_verifier *v, enum rec_verdict_kind k, uint64_t at, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));
static void judge(struct rec_verifier *v, enum rec_verdict_kind k, uint64_t at, const char *fmt,
                  ...)
{
    va_list ap;

    v->v.kind = k;
    v->v.bad_offset = at;
    v->v.bad_t_us = v->t_last;
    va_start(ap, fmt);
    vsnprintf(v->v.why, sizeof(v->v.why), fmt, ap);
    va_end(ap);
    v->stage = V_STOPPED;
}

/* ---- header --------------------------------------------------------------------------- */

static void on_header(struct rec_verifier *v, const struct rec_frame *f, uint64_t at)
{
    struct buf msg;
    int r;

    if (f->type != REC_F_HEADER) {
        judge(v, REC_V_MODIFIED, at, "the first frame is not a header");
        return;
    }
    if ((r = rec_header_parse(f, &v->info)) != 0) {
        judge(v, REC_V_MODIFIED, at, "the header cannot be read (%s)", err_str(r));
        return;
    }
    snprintf(v->v.session, sizeof(v->v.session), "%s", v->info->meta.session);
    if (v->have_vault_key) {
        buf_init(&msg, 256);
        r = rec_key_message(v->info->meta.session, v->info->meta.rec_key, &msg);
        if (r == 0 &&
            crypto_sign_verify_detached(v->info->meta.vault_sig, (const unsigned char *)msg.data,
                                        msg.len, v->vault_key) != 0)
            r = -ERR_TAMPERED;
        buf_fini(&msg);
        if (r != 0) {
            judge(v, REC_V_WRONG_KEY, at,
                  "the vault did not sign this recording key for session %s",
                  v->info->meta.session);
            return;
        }
        v->v.key_checked = true;
    }
    rec_chain_start(v->h, f->raw, f->raw_len);
    v->stage = V_BODY;
    v->sealed_off = at + f->raw_len;
}

/* ---- chunks ------------------------------------------------------------------------------ */

struct chunk_ctx {
    struct rec_verifier *v;
    int bad; /* a COMMAND event that cannot be read */
};

static int how_of(const char *s)
{
    static const char *const names[] = {NULL, "typed", "exec", "subsystem", "script"};

    for (int i = REC_HOW_TYPED; i <= REC_HOW_SCRIPT; i++)
        if (s && strcmp(s, names[i]) == 0)
            return i;
    return 0;
}

/* Rebuild the index's command table from a COMMAND event, as the writer did. */
static int index_command(struct rec_verifier *v, const struct rec_event *ev)
{
    json_t *o = json_loadb((const char *)ev->data, ev->len, JSON_REJECT_DUPLICATES, NULL);
    json_t *line = json_object_get(o, "line");
    unsigned char hd[2 * WIRE_VARINT_MAX + 1];
    int how = how_of(json_string_value(json_object_get(o, "how")));
    size_t n, len;
    int r = 0;

    if (!json_is_string(line) || !how) {
        json_decref(o);
        return -ERR_CORRUPT;
    }
    len = json_string_length(line);
    n = wire_varint_put(hd, ev->t_us);
    hd[n++] = (unsigned char)how;
    n += wire_varint_put(hd + n, len);
    if (v->ix_cmds.len + n + len <= REC_INDEX_TABLE_MAX) {
        if ((r = buf_append(&v->ix_cmds, hd, n)) == 0 &&
            (r = buf_append(&v->ix_cmds, json_string_value(line), len)) == 0)
            v->n_ix_cmds++;
    }
    json_decref(o);
    return r;
}

static int chunk_event(void *ctx, const struct rec_event *ev)
{
    struct chunk_ctx *c = ctx;
    struct rec_verifier *v = c->v;

    v->events++;
    switch (ev->type) {
    case REC_OUT:
    case REC_ERR:
        v->out_bytes += ev->len;
        break;
    case REC_IN:
        v->in_bytes += ev->len;
        break;
    case REC_IN_MASKED: {
        uint64_t n;
        if (rec_event_uint(ev, &n) != 0)
            return c->bad = 1;
        v->in_bytes += n;
        break;
    }
    case REC_COMMAND:
        if (index_command(v, ev) != 0)
            return c->bad = 1;
        break;
    default:
        break;
    }
    return 0;
}

static void on_chunk(struct rec_verifier *v, const struct rec_frame *f, uint64_t at)
{
    struct rec_chunk ch;
    struct chunk_ctx ctx = {v, 0};
    int r;

    if (rec_chunk_parse(f, &ch) != 0) {
        judge(v, REC_V_MODIFIED, at, "chunk at offset %llu has a bad layout",
              (unsigned long long)at);
        return;
    }
    if (ch.seq != v->seq + 1) {
        judge(v, REC_V_MODIFIED, at, "chunk %llu comes where chunk %llu should",
              (unsigned long long)ch.seq, (unsigned long long)(v->seq + 1));
        return;
    }
    if (sodium_memcmp(ch.prev, v->h, REC_HASH_LEN) != 0) {
        judge(v, REC_V_MODIFIED, at,
              "chunk %llu does not follow the frame before it (chain broken: a frame was "
              "changed, removed or moved)",
              (unsigned long long)ch.seq);
        return;
    }
    if (ch.t_first_us < v->t_last) {
        judge(v, REC_V_MODIFIED, at, "chunk %llu goes back in time", (unsigned long long)ch.seq);
        return;
    }
    r = rec_chunk_events(&ch, &v->scratch, chunk_event, &ctx);
    if (r != 0 || ctx.bad) {
        judge(v, REC_V_MODIFIED, at, "chunk %llu does not decode (%s)", (unsigned long long)ch.seq,
              ctx.bad ? "bad event" : err_str(r));
        return;
    }
    if (ch.flags & REC_CHUNK_SYNC) {
        unsigned char e[REC_INDEX_ENTRY] = {0};
        wire_put64(e, at);
        wire_put64(e + 8, ch.t_first_us);
        e[16] = ch.flags;
        if (buf_append(&v->ix_chunks, e, sizeof(e)) != 0) {
            judge(v, REC_V_MODIFIED, at, "more seek points than an index can hold");
            return;
        }
        v->n_ix_chunks++;
    }
    if (!v->tail_has_chunks) {
        v->tail_has_chunks = true;
        v->tail_t_first = ch.t_first_us;
    }
    rec_chain_next(v->h, f->raw, f->raw_len);
    v->seq = ch.seq;
    v->t_last = ch.t_last_us;
}

/* ---- checkpoints, index, trailer ------------------------------------------------------------ */

static void on_checkpoint(struct rec_verifier *v, const struct rec_frame *f, uint64_t at)
{
    struct rec_checkpoint ck;
    int r;

    if ((r = rec_checkpoint_parse(f->body, f->len, &ck)) != 0) {
        judge(v, REC_V_MODIFIED, at, "checkpoint at offset %llu has a bad layout",
              (unsigned long long)at);
        return;
    }
    if (rec_checkpoint_verify(f->body, f->len, v->info->meta.rec_key) != 0) {
        judge(v, REC_V_MODIFIED, at, "checkpoint at offset %llu: the signature does not verify",
              (unsigned long long)at);
        return;
    }
    if (sodium_memcmp(ck.head, v->h, REC_HASH_LEN) != 0 || ck.chunks != v->seq) {
        judge(v, REC_V_MODIFIED, at,
              "checkpoint at offset %llu does not seal the frames before it (chain broken)",
              (unsigned long long)at);
        return;
    }
    if (ck.offset != at || ck.events != v->events || ck.in_bytes != v->in_bytes ||
        ck.out_bytes != v->out_bytes || strcmp(ck.session, v->info->meta.session) != 0 ||
        ck.t_us < v->t_last || (v->v.have_last && ck.t_us < v->v.last.t_us)) {
        judge(v, REC_V_MODIFIED, at, "checkpoint at offset %llu does not match the recording",
              (unsigned long long)at);
        return;
    }
    if (ck.final != (v->stage == V_FINAL)) {
        judge(v, REC_V_MODIFIED, at,
              ck.final ? "a final checkpoint without an index before it"
                       : "the index is not followed by the final checkpoint");
        return;
    }
    rec_chain_next(v->h, f->raw, f->raw_len);
    v->v.last = ck;
    v->v.have_last = true;
    v->sealed_off = at + f->raw_len;
    v->tail_has_chunks = false;
    if (ck.t_us > v->t_last)
        v->t_last = ck.t_us;
    if (ck.final) {
        v->final_off = at;
        v->stage = V_TRAILER;
    }
}

static void on_index(struct rec_verifier *v, const struct rec_frame *f, uint64_t at)
{
    unsigned char n4[4];
    size_t want = 8 + v->ix_chunks.len + v->ix_cmds.len;
    const unsigned char *b = f->body;

    wire_put32(n4, v->n_ix_chunks);
    if (f->len != want || memcmp(b, n4, 4) != 0 ||
        (v->ix_chunks.len && memcmp(b + 4, v->ix_chunks.data, v->ix_chunks.len) != 0)) {
        judge(v, REC_V_MODIFIED, at, "the index does not list the recording's seek points");
        return;
    }
    b += 4 + v->ix_chunks.len;
    wire_put32(n4, v->n_ix_cmds);
    if (memcmp(b, n4, 4) != 0 ||
        (v->ix_cmds.len && memcmp(b + 4, v->ix_cmds.data, v->ix_cmds.len) != 0)) {
        judge(v, REC_V_MODIFIED, at, "the index does not list the recording's commands");
        return;
    }
    rec_chain_next(v->h, f->raw, f->raw_len);
    v->index_off = at;
    v->stage = V_FINAL;
}

static void on_trailer(struct rec_verifier *v, const struct rec_frame *f, uint64_t at)
{
    uint64_t ix, fin;

    if (rec_trailer_parse(f, &ix, &fin) != 0 || ix != v->index_off || fin != v->final_off) {
        judge(v, REC_V_MODIFIED, at,
              "the trailer does not point at the index and final checkpoint");
        return;
    }
    v->stage = V_DONE;
}

static void on_frame(struct rec_verifier *v, const struct rec_frame *f, uint64_t at)
{
    if (v->stage == V_HEADER) {
        on_header(v, f, at);
        return;
    }
    if (v->stage == V_DONE) {
        judge(v, REC_V_MODIFIED, at, "bytes after the end of the recording");
        return;
    }
    if (v->stage == V_TRAILER && f->type != REC_F_TRAILER) {
        judge(v, REC_V_MODIFIED, at, "frames after the final checkpoint");
        return;
    }
    switch (f->type) {
    case REC_F_CHUNK:
        if (v->stage != V_BODY)
            judge(v, REC_V_MODIFIED, at, "a chunk after the index");
        else
            on_chunk(v, f, at);
        break;
    case REC_F_CHECKPOINT:
        on_checkpoint(v, f, at);
        break;
    case REC_F_INDEX:
        if (v->stage != V_BODY)
            judge(v, REC_V_MODIFIED, at, "a second index");
        else
            on_index(v, f, at);
        break;
    case REC_F_TRAILER:
        if (v->stage != V_TRAILER)
            judge(v, REC_V_MODIFIED, at, "a trailer before the final checkpoint");
        else
            on_trailer(v, f, at);
        break;
    default:
        judge(v, REC_V_MODIFIED, at, "a second header");
        break;
    }
}

/* ---- feeding ------------------------------------------------------------------------------ */

/* Handle complete frames at the start of p[0..n); returns bytes used (a partial frame stays). */
static size_t frames(struct rec_verifier *v, const unsigned char *p, size_t n)
{
    size_t used = 0;

    while (v->stage != V_STOPPED && n - used >= REC_FRAME_HDR) {
        struct rec_frame f;
        size_t size;
        int r = rec_frame_size(p + used, n - used, &size);
        if (r != 0) {
            judge(v, REC_V_MODIFIED, v->off, "a frame header at offset %llu is not valid (%s)",
                  (unsigned long long)v->off, err_str(r));
            break;
        }
        if (n - used < size)
            break;
        if (rec_frame_parse(p + used, size, &f) != 0) {
            judge(v, REC_V_MODIFIED, v->off, "a frame at offset %llu cannot be read",
                  (unsigned long long)v->off);
            break;
        }
        on_frame(v, &f, v->off);
        used += size;
        v->off += size;
    }
    return used;
}

int rec_verifier_feed(struct rec_verifier *v, const void *data, size_t n)
{
    const unsigned char *p = data;
    int r;

    v->v.file_bytes += n;
    if (v->stage == V_STOPPED)
        return 0;
    if (v->stage == V_MAGIC) {
        size_t need = REC_MAGIC_LEN - v->pending.len, k = n < need ? n : need;
        if ((r = buf_append(&v->pending, p, k)) != 0)
            return r;
        p += k;
        n -= k;
        if (v->pending.len < REC_MAGIC_LEN)
            return 0;
        if (memcmp(v->pending.data, REC_MAGIC, REC_MAGIC_LEN) != 0) {
            judge(v, REC_V_MODIFIED, 0, "not a custos recording (bad magic)");
            return 0;
        }
        buf_reset(&v->pending);
        v->off = REC_MAGIC_LEN;
        v->stage = V_HEADER;
    }
    while (n && v->stage != V_STOPPED) {
        size_t size, k;
        if (v->pending.len == 0) {
            /* Frames straight from the caller's bytes; a partial one is kept. */
            size_t used = frames(v, p, n);
            p += used;
            n -= used;
            if (n && v->stage != V_STOPPED && (r = buf_append(&v->pending, p, n)) != 0)
                return r;
            break;
        }
        /* Complete the frame under way with just the bytes it needs. */
        if ((r = rec_frame_size(v->pending.data, v->pending.len, &size)) != 0) {
            frames(v, (const unsigned char *)v->pending.data, v->pending.len);
            break;
        }
        k = size - v->pending.len < n ? size - v->pending.len : n;
        if ((r = buf_append(&v->pending, p, k)) != 0)
            return r;
        p += k;
        n -= k;
        if (rec_frame_size(v->pending.data, v->pending.len, &size) == 0 && v->pending.len < size)
            continue; /* the header just became complete, or more is needed */
        frames(v, (const unsigned char *)v->pending.data, v->pending.len);
        buf_fini(&v->pending);
    }
    return 0;
}

void rec_verifier_finish(struct rec_verifier *v, struct rec_verdict *out)
{
    if (v->stage == V_STOPPED) {
        *out = v->v;
        return;
    }
    if (v->stage == V_MAGIC || v->stage == V_HEADER) {
        v->v.kind = REC_V_INCOMPLETE;
        snprintf(v->v.why, sizeof(v->v.why), "the file ends before its header: nothing is sealed");
        v->v.tail_bytes = v->v.file_bytes;
        *out = v->v;
        return;
    }
    if (v->stage == V_TRAILER || v->stage == V_DONE) {
        if (v->pending.len) {
            judge(v, REC_V_MODIFIED, v->off, "bytes after the final checkpoint");
            *out = v->v;
            return;
        }
        v->v.kind = REC_V_OK;
        v->v.why[0] = '\0';
        *out = v->v;
        return;
    }
    /* No final checkpoint: what a crash leaves, intact up to the last checkpoint. */
    v->v.kind = REC_V_INCOMPLETE;
    v->v.tail_bytes = v->v.file_bytes - v->sealed_off;
    v->v.tail_us = v->tail_has_chunks && v->t_last >= v->tail_t_first
                       ? v->t_last - (v->v.have_last ? v->v.last.t_us : v->tail_t_first)
                       : 0;
    snprintf(v->v.why, sizeof(v->v.why),
             "no final checkpoint: sealed up to %s; %llu bytes after it are not sealed",
             v->v.have_last ? "the last checkpoint" : "the header",
             (unsigned long long)v->v.tail_bytes);
    *out = v->v;
}
