/* SPDX-License-Identifier: Apache-2.0 */
/* The recording writer: events in, chained and signed frames out (docs/recording-format.md). */
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "codec.h"
#include "custos/rec.h"
#include "custos/secbuf.h"
#include "frame.h"
#include "vt.h"
#include "wire.h"

#define OUT_MAX (64u << 20)       /* frames made and not yet taken by the caller */
#define VT_IDLE_US 5000000u       /* free the screen model after this long without output */
#define SNAPSHOT_MAX (512u << 10) /* a keyframe larger than this is left out */

struct rec_writer {
    struct rec_limits lim;
    struct secbuf *sk;
    char sid[REC_CKPT_SID_MAX + 1];
    uint64_t started_us, wall_base;
    struct buf out;  /* frames for the caller */
    struct buf raw;  /* events of the open chunk */
    struct buf pend; /* OUT/ERR bytes waiting to be coalesced */
    uint8_t pend_type;
    uint64_t pend_t;
    unsigned char h[REC_HASH_LEN];
    uint64_t last_t;
    /* the open chunk */
    bool open;
    uint64_t c_first, c_last;
    uint32_t c_events;
    uint8_t c_flags;
    /* checkpoints */
    unsigned chunks_since;
    uint64_t last_ckpt_t;
    bool dirty;
    struct buf last_ckpt;
    /* keyframes and seek points */
    bool pty;
    struct vt *vt;
    struct buf vt_saved; /* snapshot of an idle screen whose model was freed */
    unsigned cols, rows;
    uint64_t out_since_kf, last_kf_t, last_out_t;
    /* index */
    struct buf ix_chunks, ix_cmds;
    uint32_t n_ix_chunks, n_ix_cmds;
    struct rec_stats st;
    bool failed, closed;
};

void rec_limits_default(struct rec_limits *l)
{
    l->chunk_bytes = 64u << 10;
    l->chunk_ms = 1000;
    l->checkpoint_chunks = 16;
    l->checkpoint_ms = 1000;
    l->keyframe_bytes = 256u << 10;
    l->keyframe_ms = 10000;
    l->coalesce_ms = 10;
    l->zstd_level = 3;
}

int rec_key_message(const char *session, const unsigned char key[REC_KEY_LEN], struct buf *out)
{
    int r;

    if (!session || !*session)
        return -ERR_INVAL;
    if ((r = buf_append(out, REC_KEY_SIG_CONTEXT, sizeof(REC_KEY_SIG_CONTEXT))) != 0 ||
        (r = buf_append(out, session, strlen(session) + 1)) != 0 ||
        (r = buf_append(out, key, REC_KEY_LEN)) != 0)
        return r;
    return 0;
}

/* ---- small helpers ---------------------------------------------------------------- */

static int fail(struct rec_writer *w, int r)
{
    if (r != 0)
        w->failed = true;
    return r;
}

/*
 * Append one whole frame of `type` whose body is body[0..n) to out and chain
 * it.  Used for the small frames; chunks are built in place (chunk_close).
 */
static int emit(struct rec_writer *w, enum rec_frame_type type, const void *body, size_t n,
                bool chained)
{
    unsigned char hdr[REC_FRAME_HDR];
    size_t start = w->out.len;
    int r;

    rec_frame_header(hdr, type, (uint32_t)n);
    if ((r = buf_append(&w->out, hdr, sizeof(hdr))) != 0 ||
        (r = buf_append(&w->out, body, n)) != 0) {
        w->out.len = start;
        return r;
    }
    if (chained)
        rec_chain_next(w->h, w->out.data + start, w->out.len - start);
    w->st.file_bytes += w->out.len - start;
    return 0;
}

/* ---- the header ------------------------------------------------------------------- */

static json_t *b64(const unsigned char *p, size_t n)
{
    char s[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];

    sodium_bin2base64(s, sizeof(s), p, n, sodium_base64_VARIANT_ORIGINAL);
    return json_string(s);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int header(struct rec_writer *w, const struct rec_meta *m)
{
    json_t *o;
    char *text = NULL;
    struct buf body;
    unsigned char fixed[REC_HEADER_FIXED];
    size_t start;
    int r = -ERR_NOMEM;

    buf_init(&body, REC_FRAME_MAX);
    o = json_pack("{s:s,s:i,s:s,s:o,s:s,s:s,s:o,s:s,s:I,s:o,s:i,s:i,s:s,s:I,s:I,s:I,s:I,s:I,"
                  "s:I,s:b,s:o,s:o,s:o,s:o}",
                  "format", "custos-rec", "version", REC_VERSION, "session", m->session, "identity",
                  str_or_null(m->identity), "account", m->account, "target", m->target, "grant",
                  str_or_null(m->grant), "kind", m->kind, "started_us", (json_int_t)m->started_us,
                  "term", str_or_null(m->term), "cols", (int)m->cols, "rows", (int)m->rows, "codec",
                  w->lim.zstd_level > 0 ? "zstd" : "none", "chunk_bytes",
                  (json_int_t)w->lim.chunk_bytes, "chunk_ms", (json_int_t)w->lim.chunk_ms,
                  "checkpoint_chunks", (json_int_t)w->lim.checkpoint_chunks, "checkpoint_ms",
                  (json_int_t)w->lim.checkpoint_ms, "keyframe_bytes",
                  (json_int_t)w->lim.keyframe_bytes, "keyframe_ms", (json_int_t)w->lim.keyframe_ms,
                  "mask_unechoed", m->mask_unechoed, "rec_key", b64(m->rec_key, REC_KEY_LEN),
                  "vault_key", b64(m->vault_key, REC_KEY_LEN), "vault_sig",
                  b64(m->vault_sig, REC_SIG_LEN), "broker", str_or_null(m->broker));
    if (!o || !(text = json_dumps(o, JSON_COMPACT)))
        goto out;
    wire_put16(fixed, REC_VERSION);
    wire_put16(fixed + 2, 0);
    wire_put32(fixed + 4, (uint32_t)strlen(text));
    if ((r = buf_append(&body, fixed, sizeof(fixed))) != 0 ||
        (r = buf_append(&body, text, strlen(text))) != 0)
        goto out;
    if ((r = buf_append(&w->out, REC_MAGIC, REC_MAGIC_LEN)) != 0)
        goto out;
    w->st.file_bytes += REC_MAGIC_LEN;
    start = w->out.len;
    if ((r = emit(w, REC_F_HEADER, body.data, body.len, false)) != 0)
        goto out;
    rec_chain_start(w->h, w->out.data + start, w->out.len - start);
out:
    json_decref(o);
    free(text);
    buf_fini(&body);
    return r;
}

static bool limits_ok(const struct rec_limits *l)
{
    return l->chunk_bytes >= 256 && l->chunk_bytes <= (4u << 20) && l->chunk_ms >= 1 &&
           l->checkpoint_chunks >= 1 && l->checkpoint_ms >= 1 && l->zstd_level >= 0 &&
           l->zstd_level <= 19;
}

int rec_writer_new(const struct rec_meta *m, const struct rec_limits *lim,
                   const unsigned char sk[REC_SECKEY_LEN], struct rec_writer **out)
{
    struct rec_writer *w;
    int r;

    *out = NULL;
    if (!m->session || !*m->session || strlen(m->session) > REC_CKPT_SID_MAX || !m->account ||
        !m->target || !m->kind)
        return -ERR_INVAL;
    if (!(w = calloc(1, sizeof(*w))))
        return -ERR_NOMEM;
    if (lim)
        w->lim = *lim;
    else
        rec_limits_default(&w->lim);
    if (!limits_ok(&w->lim)) {
        free(w);
        return -ERR_INVAL;
    }
    buf_init(&w->out, OUT_MAX);
    buf_init(&w->raw, w->lim.chunk_bytes + REC_EVENT_MAX + 64);
    buf_init(&w->pend, w->lim.chunk_bytes);
    buf_init(&w->last_ckpt, 1024);
    buf_init(&w->vt_saved, SNAPSHOT_MAX);
    buf_init(&w->ix_chunks, REC_INDEX_TABLE_MAX);
    buf_init(&w->ix_cmds, REC_INDEX_TABLE_MAX);
    snprintf(w->sid, sizeof(w->sid), "%s", m->session);
    w->started_us = w->wall_base = m->started_us;
    w->pty = m->cols > 0 && m->rows > 0;
    w->cols = m->cols;
    w->rows = m->rows;
    if ((r = secbuf_from(sk, REC_SECKEY_LEN, &w->sk)) != 0 || (r = header(w, m)) != 0) {
        rec_writer_free(w);
        return r;
    }
    *out = w;
    return 0;
}

void rec_writer_free(struct rec_writer *w)
{
    if (!w)
        return;
    secbuf_free(w->sk);
    vt_free(w->vt);
    buf_fini(&w->out);
    buf_fini(&w->raw);
    buf_fini(&w->pend);
    buf_fini(&w->last_ckpt);
    buf_fini(&w->vt_saved);
    buf_fini(&w->ix_chunks);
    buf_fini(&w->ix_cmds);
    sodium_memzero(w, sizeof(*w));
    free(w);
}

/* ---- the screen model --------------------------------------------------------------- */

/* The model, made (or brought back from its idle snapshot) on first use. */
static int screen(struct rec_writer *w, struct vt **out)
{
    int r;

    *out = NULL;
    if (!w->pty)
        return 0;
    if (!w->vt) {
        if ((r = vt_new(w->cols, w->rows, &w->vt)) != 0)
            return r;
        if (w->vt_saved.len && (r = vt_feed(w->vt, w->vt_saved.data, w->vt_saved.len)) != 0)
            return r;
        buf_fini(&w->vt_saved);
    }
    *out = w->vt;
    return 0;
}

/* ---- chunks ------------------------------------------------------------------------ */

static int chunk_close(struct rec_writer *w, bool idle);
static int checkpoint_now(struct rec_writer *w, uint64_t t, bool final);

/*
 * Put one encoded event into raw (the chunk is open).  Everything the
 * checkpoints count, and the screen model, follow what is in the chunks, in
 * their order: so a keyframe shows exactly the output before it.
 */
static int raw_event(struct rec_writer *w, uint8_t type, uint64_t t, const void *data, size_t len)
{
    unsigned char hd[1 + 2 * WIRE_VARINT_MAX];
    size_t n = 0;
    int r;

    hd[n++] = type;
    n += wire_varint_put(hd + n, t - w->c_last);
    n += wire_varint_put(hd + n, len);
    if ((r = buf_append(&w->raw, hd, n)) != 0 || (r = buf_append(&w->raw, data, len)) != 0)
        return r;
    w->c_last = t;
    w->c_events++;
    w->st.events++;
    w->dirty = true;
    if (type == REC_OUT || type == REC_ERR) {
        struct vt *vt;
        w->st.out_bytes += len;
        w->out_since_kf += len;
        if (type == REC_OUT && ((r = screen(w, &vt)) != 0 || (vt && (r = vt_feed(vt, data, len)))))
            return r;
    } else if (type == REC_IN) {
        w->st.in_bytes += len;
    } else if (type == REC_IN_MASKED) {
        uint64_t v;
        size_t u;
        if (wire_varint_get(data, len, &v, &u) == 0)
            w->st.in_bytes += v;
    }
    return 0;
}

static bool sync_due(const struct rec_writer *w, uint64_t t)
{
    if (w->st.chunks == 0)
        return true;
    if (w->lim.keyframe_bytes == 0)
        return false;
    return w->out_since_kf >= w->lim.keyframe_bytes ||
           (w->out_since_kf > 0 && t - w->last_kf_t >= (uint64_t)w->lim.keyframe_ms * 1000);
}

static int chunk_open(struct rec_writer *w, uint64_t t)
{
    struct buf snap;
    struct vt *vt;
    int r = 0;

    w->open = true;
    w->c_first = w->c_last = t;
    w->c_events = 0;
    w->c_flags = 0;
    buf_reset(&w->raw);
    if (!sync_due(w, t) || w->ix_chunks.len + REC_INDEX_ENTRY > REC_INDEX_TABLE_MAX)
        return 0;
    w->c_flags |= REC_CHUNK_SYNC;
    w->out_since_kf = 0;
    w->last_kf_t = t;
    if (w->st.chunks == 0 || (r = screen(w, &vt)) != 0 || !vt)
        return r; /* the first chunk starts from a reset screen */
    buf_init(&snap, SNAPSHOT_MAX);
    {
        unsigned char hd[2 * WIRE_VARINT_MAX];
        unsigned c, rw;
        size_t n;
        vt_size(vt, &c, &rw);
        n = wire_varint_put(hd, c);
        n += wire_varint_put(hd + n, rw);
        if (buf_append(&snap, hd, n) == 0 && vt_snapshot(vt, &snap) == 0) {
            if ((r = raw_event(w, REC_KEYFRAME, t, snap.data, snap.len)) == 0) {
                w->c_flags |= REC_CHUNK_KEYFRAME;
                w->st.keyframes++;
            }
        }
        /* A screen too large to snapshot makes a seek point without a keyframe. */
    }
    buf_fini(&snap);
    return r;
}

/* Make room for an event of len bytes at t: open a chunk, or close a full or old one first. */
static int chunk_for(struct rec_writer *w, uint64_t t, size_t len)
{
    int r;

    if (w->open && w->c_events > 0 &&
        (w->raw.len + len > w->lim.chunk_bytes ||
         t - w->c_first >= (uint64_t)w->lim.chunk_ms * 1000)) {
        if ((r = chunk_close(w, false)) != 0)
            return r;
    }
    if (!w->open)
        return chunk_open(w, t);
    return 0;
}

/* Write the coalesced output into the chunks, split where a chunk fills. */
static int pend_flush(struct rec_writer *w)
{
    size_t off = 0;
    int r;

    if (!w->pend_type)
        return 0;
    while (off < w->pend.len) {
        size_t n = w->pend.len - off, room;
        if ((r = chunk_for(w, w->pend_t, 0)) != 0)
            return r;
        room = w->raw.len < w->lim.chunk_bytes ? w->lim.chunk_bytes - w->raw.len : 0;
        if (room < 64 && w->c_events > 0) {
            if ((r = chunk_close(w, false)) != 0)
                return r;
            continue;
        }
        room = room > 16 ? room - 16 : 1; /* the event's own header */
        if (n > room)
            n = room;
        if ((r = raw_event(w, w->pend_type, w->pend_t, w->pend.data + off, n)) != 0)
            return r;
        off += n;
    }
    buf_reset(&w->pend);
    w->pend_type = 0;
    return 0;
}

static int chunk_close(struct rec_writer *w, bool idle)
{
    unsigned char *b;
    char *tail;
    size_t start = w->out.len, body_start;
    uint8_t codec = CODEC_NONE;
    int r;

    if (!w->open)
        return 0;
    w->open = false;
    if (w->c_events == 0)
        return 0;
    /* frame header and the fixed fields, then the payload compressed in place after them */
    if ((r = buf_reserve(&w->out, REC_FRAME_HDR + REC_CHUNK_FIXED, &tail)) != 0)
        return r;
    buf_commit(&w->out, REC_FRAME_HDR + REC_CHUNK_FIXED);
    body_start = start + REC_FRAME_HDR;
    if ((r = codec_compress(w->lim.zstd_level, w->raw.data, w->raw.len, &w->out, &codec)) != 0) {
        w->out.len = start;
        return r;
    }
    if (w->out.len - body_start > REC_FRAME_MAX) {
        w->out.len = start;
        return -ERR_TOO_LONG;
    }
    b = (unsigned char *)w->out.data + start;
    rec_frame_header(b, REC_F_CHUNK, (uint32_t)(w->out.len - body_start));
    b += REC_FRAME_HDR;
    wire_put64(b, w->st.chunks + 1);
    wire_put64(b + 8, w->c_first);
    wire_put64(b + 16, w->c_last);
    wire_put32(b + 24, w->c_events);
    wire_put32(b + 28, (uint32_t)w->raw.len);
    b[32] = codec;
    b[33] = w->c_flags;
    wire_put16(b + 34, 0);
    memcpy(b + 36, w->h, REC_HASH_LEN);
    if (w->c_flags & REC_CHUNK_SYNC) {
        unsigned char e[REC_INDEX_ENTRY] = {0};
        wire_put64(e, w->st.file_bytes);
        wire_put64(e + 8, w->c_first);
        e[16] = w->c_flags;
        if ((r = buf_append(&w->ix_chunks, e, sizeof(e))) != 0) {
            w->out.len = start;
            return r;
        }
        w->n_ix_chunks++;
    }
    rec_chain_next(w->h, w->out.data + start, w->out.len - start);
    w->st.file_bytes += w->out.len - start;
    w->st.raw_bytes += w->raw.len;
    w->st.chunks++;
    w->chunks_since++;
    if (idle)
        buf_fini(&w->raw); /* an idle session keeps no chunk buffer */
    else
        buf_reset(&w->raw);
    /* Output still waiting to be coalesced goes after this checkpoint, in the next chunk. */
    if (w->chunks_since >= w->lim.checkpoint_chunks)
        return checkpoint_now(w, w->c_last, false);
    return 0;
}

/* ---- checkpoints --------------------------------------------------------------------- */

/* Sign what the chunks hold so far; the caller closed the open chunk. */
static int checkpoint_now(struct rec_writer *w, uint64_t t, bool final)
{
    unsigned char body[REC_CKPT_FIXED + 2 + REC_CKPT_SID_MAX + REC_SIG_LEN], *p = body;
    size_t sid_len = strlen(w->sid), n;
    struct buf msg;
    int r;

    if (t < w->c_last)
        t = w->c_last;
    memset(body, 0, sizeof(body));
    wire_put64(p, w->st.chunks);
    wire_put64(p + 8, t);
    wire_put64(p + 16, w->wall_base + t);
    wire_put64(p + 24, w->st.in_bytes);
    wire_put64(p + 32, w->st.out_bytes);
    wire_put64(p + 40, w->st.events);
    wire_put64(p + 48, w->st.file_bytes);
    memcpy(p + 56, w->h, REC_HASH_LEN);
    p[88] = final ? 1 : 0;
    /* 89..91 reserved, 92..95 mac_epoch 0, 96..127 mac zeros */
    p += REC_CKPT_FIXED;
    wire_put16(p, (uint16_t)sid_len);
    memcpy(p + 2, w->sid, sid_len);
    n = REC_CKPT_FIXED + 2 + sid_len;
    buf_init(&msg, sizeof(body) + 64);
    r = rec_ckpt_message(body, n, &msg);
    if (r == 0 && crypto_sign_detached(body + n, NULL, (const unsigned char *)msg.data, msg.len,
                                       secbuf_cdata(w->sk)) != 0)
        r = -ERR_CRYPTO;
    buf_fini(&msg);
    if (r != 0)
        return r;
    n += REC_SIG_LEN;
    if ((r = emit(w, REC_F_CHECKPOINT, body, n, true)) != 0)
        return r;
    buf_reset(&w->last_ckpt);
    if ((r = buf_append(&w->last_ckpt, body, n)) != 0)
        return r;
    w->st.checkpoints++;
    w->chunks_since = 0;
    w->last_ckpt_t = t;
    w->dirty = false;
    return 0;
}

/* Flush coalesced output, close the chunk, then sign — unless nothing is new since the last one. */
static int checkpoint(struct rec_writer *w, uint64_t t, bool final)
{
    int r;

    if ((r = pend_flush(w)) != 0 || (r = chunk_close(w, false)) != 0)
        return r;
    if (!final && !w->dirty && w->st.checkpoints)
        return 0; /* closing the chunk made one already */
    return checkpoint_now(w, t, final);
}

/* ---- events -------------------------------------------------------------------------- */

static int usable(struct rec_writer *w)
{
    return w->failed || w->closed ? -ERR_STATE : 0;
}

static uint64_t clock_at(struct rec_writer *w, uint64_t t)
{
    if (t < w->last_t)
        t = w->last_t;
    w->last_t = t;
    return t;
}

static int output(struct rec_writer *w, uint8_t type, uint64_t t, const void *data, size_t len)
{
    const unsigned char *p = data;
    int r;

    w->last_out_t = t;
    if (w->pend_type &&
        (w->pend_type != type || t - w->pend_t > (uint64_t)w->lim.coalesce_ms * 1000) &&
        (r = pend_flush(w)) != 0)
        return r;
    while (len) {
        size_t room = w->pend.max - w->pend.len, n = len < room ? len : room;
        if (!w->pend_type) {
            w->pend_type = type;
            w->pend_t = t;
        }
        if ((r = buf_append(&w->pend, p, n)) != 0)
            return r;
        p += n;
        len -= n;
        if (w->pend.len == w->pend.max && (r = pend_flush(w)) != 0)
            return r;
    }
    return 0;
}

static bool type_ok(uint8_t type)
{
    return (type >= REC_OUT && type <= REC_EV_LAST_KNOWN) || type >= REC_EV_EXT_FIRST;
}

static int event(struct rec_writer *w, uint8_t type, uint64_t t, const void *data, size_t len)
{
    int r;

    if ((r = pend_flush(w)) != 0 || (r = chunk_for(w, t, len + 16)) != 0)
        return r;
    return raw_event(w, type, t, data, len);
}

int rec_writer_event(struct rec_writer *w, enum rec_ev type, uint64_t t_us, const void *data,
                     size_t len)
{
    int r;

    if ((r = usable(w)) != 0)
        return r;
    if (!type_ok((uint8_t)type) || type == REC_KEYFRAME || (len && !data))
        return -ERR_INVAL;
    t_us = clock_at(w, t_us);
    if (type == REC_OUT || type == REC_ERR)
        return fail(w, output(w, (uint8_t)type, t_us, data, len));
    if (len > REC_EVENT_MAX)
        return -ERR_TOO_LONG;
    if ((r = event(w, (uint8_t)type, t_us, data, len)) != 0)
        return fail(w, r);
    if (type == REC_RESIZE) {
        uint64_t c, rw;
        size_t u1, u2;
        if (wire_varint_get(data, len, &c, &u1) == 0 &&
            wire_varint_get((const unsigned char *)data + u1, len - u1, &rw, &u2) == 0 && c && rw &&
            c < 65536 && rw < 65536) {
            w->cols = (unsigned)c;
            w->rows = (unsigned)rw;
            if (w->pty) {
                struct vt *vt;
                if ((r = screen(w, &vt)) != 0 || (vt && (r = vt_resize(vt, w->cols, w->rows))))
                    return fail(w, r);
            }
        }
    }
    return 0;
}

static int event_varints(struct rec_writer *w, enum rec_ev type, uint64_t t, uint64_t a, uint64_t b,
                         bool two)
{
    unsigned char d[2 * WIRE_VARINT_MAX];
    size_t n = wire_varint_put(d, a);

    if (two)
        n += wire_varint_put(d + n, b);
    return rec_writer_event(w, type, t, d, n);
}

int rec_writer_masked(struct rec_writer *w, uint64_t t_us, uint64_t nbytes)
{
    return event_varints(w, REC_IN_MASKED, t_us, nbytes, 0, false);
}

int rec_writer_resize(struct rec_writer *w, uint64_t t_us, unsigned cols, unsigned rows)
{
    return event_varints(w, REC_RESIZE, t_us, cols, rows, true);
}

int rec_writer_exit(struct rec_writer *w, uint64_t t_us, uint64_t status)
{
    return event_varints(w, REC_EXIT, t_us, status, 0, false);
}

int rec_writer_signal(struct rec_writer *w, uint64_t t_us, const char *name, bool core)
{
    unsigned char d[64];
    size_t n = strlen(name);

    if (n == 0 || n > sizeof(d) - 1)
        return -ERR_INVAL;
    d[0] = core ? 1 : 0;
    memcpy(d + 1, name, n);
    return rec_writer_event(w, REC_SIGNAL, t_us, d, n + 1);
}

static int event_json(struct rec_writer *w, enum rec_ev type, uint64_t t, json_t *o)
{
    char *s;
    int r;

    if (!o)
        return -ERR_NOMEM;
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        return -ERR_NOMEM;
    r = rec_writer_event(w, type, t, s, strlen(s));
    free(s);
    return r;
}

int rec_writer_marker(struct rec_writer *w, uint64_t t_us, const char *kind, const char *text)
{
    json_t *k, *t = NULL;

    if (!kind || !*kind)
        return -ERR_INVAL;
    /* jansson takes UTF-8 only: text that is not would be lost, so it is refused here. */
    if (!(k = json_string(kind)) || (text && !(t = json_string(text)))) {
        json_decref(k);
        return -ERR_INVAL;
    }
    return event_json(w, REC_MARKER, t_us, json_pack("{s:o,s:o?}", "kind", k, "text", t));
}

static const char *how_name(enum rec_how how)
{
    switch (how) {
    case REC_HOW_TYPED:
        return "typed";
    case REC_HOW_EXEC:
        return "exec";
    case REC_HOW_SUBSYSTEM:
        return "subsystem";
    case REC_HOW_SCRIPT:
        return "script";
    }
    return NULL;
}

int rec_writer_command(struct rec_writer *w, uint64_t t_us, enum rec_how how, const char *line,
                       const char *decision)
{
    const char *hn = how_name(how);
    size_t len;
    int r;

    if ((r = usable(w)) != 0)
        return r;
    if (!hn || !line)
        return -ERR_INVAL;
    len = strlen(line);
    t_us = clock_at(w, t_us);
    {
        json_t *l = json_stringn(line, len), *d = NULL;
        if (!l || (decision && !(d = json_string(decision)))) {
            json_decref(l);
            return -ERR_INVAL; /* not UTF-8 */
        }
        if ((r = event_json(w, REC_COMMAND, t_us,
                            json_pack("{s:o,s:s,s:o?}", "line", l, "how", hn, "decision", d))) != 0)
            return r;
    }
    {
        unsigned char hd[2 * WIRE_VARINT_MAX + 1];
        size_t n = wire_varint_put(hd, t_us);
        hd[n++] = (unsigned char)how;
        n += wire_varint_put(hd + n, len);
        if (w->ix_cmds.len + n + len <= REC_INDEX_TABLE_MAX) {
            if ((r = buf_append(&w->ix_cmds, hd, n)) != 0 ||
                (r = buf_append(&w->ix_cmds, line, len)) != 0)
                return fail(w, r);
            w->n_ix_cmds++;
        }
    }
    return 0;
}

/* ---- time, close ---------------------------------------------------------------------- */

int rec_writer_tick(struct rec_writer *w, uint64_t t_us, uint64_t wall_us)
{
    int r;

    if ((r = usable(w)) != 0)
        return r;
    t_us = clock_at(w, t_us);
    if (wall_us >= t_us)
        w->wall_base = wall_us - t_us;
    if (w->pend_type && t_us - w->pend_t > (uint64_t)w->lim.coalesce_ms * 1000 &&
        (r = pend_flush(w)) != 0)
        return fail(w, r);
    if (w->open && t_us - w->c_first >= (uint64_t)w->lim.chunk_ms * 1000) {
        if ((r = pend_flush(w)) != 0 || (r = chunk_close(w, true)) != 0)
            return fail(w, r);
    }
    if ((w->dirty || w->open) && t_us - w->last_ckpt_t >= (uint64_t)w->lim.checkpoint_ms * 1000 &&
        (r = checkpoint(w, t_us, false)) != 0)
        return fail(w, r);
    /* An idle screen: keep its snapshot, free the model (and the empty output buffer). */
    if (w->vt && t_us - w->last_out_t >= VT_IDLE_US) {
        buf_reset(&w->vt_saved);
        if (vt_snapshot(w->vt, &w->vt_saved) == 0) {
            vt_free(w->vt);
            w->vt = NULL;
        }
    }
    if (w->out.len == 0)
        buf_fini(&w->out);
    return 0;
}

int rec_writer_checkpoint(struct rec_writer *w, uint64_t t_us, uint64_t wall_us)
{
    int r;

    if ((r = usable(w)) != 0)
        return r;
    t_us = clock_at(w, t_us);
    if (wall_us >= t_us)
        w->wall_base = wall_us - t_us;
    return fail(w, checkpoint(w, t_us, false));
}

static int write_index(struct rec_writer *w, uint64_t *offset)
{
    struct buf body;
    unsigned char n4[4];
    int r;

    buf_init(&body, REC_FRAME_MAX);
    *offset = w->st.file_bytes;
    wire_put32(n4, w->n_ix_chunks);
    if ((r = buf_append(&body, n4, 4)) != 0 ||
        (r = buf_append(&body, w->ix_chunks.data, w->ix_chunks.len)) != 0)
        goto out;
    wire_put32(n4, w->n_ix_cmds);
    if ((r = buf_append(&body, n4, 4)) != 0 ||
        (r = buf_append(&body, w->ix_cmds.data, w->ix_cmds.len)) != 0)
        goto out;
    r = emit(w, REC_F_INDEX, body.data, body.len, true);
out:
    buf_fini(&body);
    return r;
}

int rec_writer_close(struct rec_writer *w, uint64_t t_us, uint64_t wall_us)
{
    unsigned char tr[REC_TRAILER_BODY];
    uint64_t ix_off, final_off;
    int r;

    if ((r = usable(w)) != 0)
        return r;
    t_us = clock_at(w, t_us);
    if (wall_us >= t_us)
        w->wall_base = wall_us - t_us;
    if ((r = pend_flush(w)) != 0 || (r = chunk_close(w, false)) != 0 ||
        (r = write_index(w, &ix_off)) != 0)
        return fail(w, r);
    final_off = w->st.file_bytes;
    if ((r = checkpoint(w, t_us, true)) != 0)
        return fail(w, r);
    wire_put64(tr, ix_off);
    wire_put64(tr + 8, final_off);
    memcpy(tr + 16, REC_TRAILER_MAGIC, sizeof(REC_TRAILER_MAGIC));
    if ((r = emit(w, REC_F_TRAILER, tr, sizeof(tr), false)) != 0)
        return fail(w, r);
    secbuf_free(w->sk);
    w->sk = NULL;
    vt_free(w->vt);
    w->vt = NULL;
    buf_fini(&w->raw);
    buf_fini(&w->pend);
    buf_fini(&w->vt_saved);
    buf_fini(&w->ix_chunks);
    buf_fini(&w->ix_cmds);
    w->closed = true;
    return 0;
}

int rec_writer_screen(struct rec_writer *w, unsigned *cols, unsigned *rows, struct buf *out)
{
    struct vt *vt;
    int r;

    if ((r = usable(w)) != 0)
        return r;
    if ((r = fail(w, pend_flush(w))) != 0 || (r = screen(w, &vt)) != 0)
        return r;
    if (!vt)
        return -ERR_NOT_FOUND;
    vt_size(vt, cols, rows);
    return vt_snapshot(vt, out);
}

struct buf *rec_writer_output(struct rec_writer *w)
{
    return &w->out;
}

void rec_writer_stats(const struct rec_writer *w, struct rec_stats *st)
{
    *st = w->st;
}

const unsigned char *rec_writer_last_checkpoint(const struct rec_writer *w, size_t *len)
{
    *len = w->last_ckpt.len;
    return w->last_ckpt.len ? (const unsigned char *)w->last_ckpt.data : NULL;
}
