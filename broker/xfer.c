/* SPDX-License-Identifier: Apache-2.0 */
/* File transfers seen in a relayed stream: SFTP v3 packets and scp's records, followed, not held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xfer.h"

/* SFTP v3 (draft-ietf-secsh-filexfer-02), as OpenSSH speaks it. */
enum {
    FXP_INIT = 1,
    FXP_VERSION = 2,
    FXP_OPEN = 3,
    FXP_CLOSE = 4,
    FXP_READ = 5,
    FXP_WRITE = 6,
    FXP_SETSTAT = 9,
    FXP_REMOVE = 13,
    FXP_MKDIR = 14,
    FXP_RMDIR = 15,
    FXP_RENAME = 18,
    FXP_SYMLINK = 20,
    FXP_STATUS = 101,
    FXP_HANDLE = 102,
    FXP_DATA = 103,
    FXP_EXTENDED = 200,
};
#define FXF_READ 0x01
#define FXF_WRITE 0x02

#define HEAD_MAX (XFER_NAME_MAX * 2 + 64) /* a whole packet we parse: two names and change */
#define HANDLE_MAX 256
#define PENDING_MAX 256

struct file {
    bool used;
    unsigned char handle[HANDLE_MAX];
    uint32_t hlen;
    unsigned id;
    enum xfer_dir dir;
    bool started, in_order;
    uint64_t next, bytes;
};

struct pending {
    bool used;
    uint32_t req;
    bool is_open;
    uint32_t pflags;
    char *name;   /* is_open */
    int file;     /* a read: the file slot */
    uint64_t off; /* a read: the offset asked */
};

enum pstate { P_LEN, P_HEAD, P_SKIP, P_DATA };

struct side {
    enum pstate st;
    unsigned char len4[4];
    size_t have;
    unsigned char head[HEAD_MAX];
    uint32_t len, left;
    int file;     /* P_DATA: the slot, or -1 when the data is of nothing we follow */
    uint64_t off; /* P_DATA: the offset of the next byte */
};

/* scp records: "C0644 SIZE NAME\n" DATA "\0", "D0755 0 NAME\n", "E\n", "T...\n". */
struct scp {
    enum { S_LINE, S_DATA, S_END } st;
    char line[XFER_NAME_MAX + 64];
    size_t have;
    uint64_t left, size;
    unsigned id;
    char dirs[XFER_NAME_MAX];
};

struct xfer {
    enum xfer_proto proto;
    struct xfer_ops ops;
    bool lost, greeted;
    unsigned next_id;
    struct side side[2];
    struct file files[XFER_HANDLES_MAX];
    struct pending pend[PENDING_MAX];
    struct scp scp;
};

static void lose(struct xfer *x, const char *why)
{
    if (x->lost)
        return;
    x->lost = true;
    if (x->ops.on_lost)
        x->ops.on_lost(x->ops.ctx, why);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* A string at *off in b[0..n): its bytes and length; false when it runs past n. */
static bool get_str(const unsigned char *b, size_t n, size_t *off, const unsigned char **s,
                    uint32_t *len)
{
    uint32_t l;

    if (n - *off < 4)
        return false;
    l = be32(b + *off);
    if (l > n - *off - 4)
        return false;
    *s = b + *off + 4;
    *len = l;
    *off += 4 + l;
    return true;
}

/* A name as a C string for people (control characters as '?'), NULL if too long or no memory. */
static char *name_dup(const unsigned char *s, uint32_t len)
{
    char *n;

    if (len > XFER_NAME_MAX || !(n = malloc(len + 1)))
        return NULL;
    for (uint32_t i = 0; i < len; i++)
        n[i] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char)s[i];
    n[len] = '\0';
    return n;
}

/* ---- SFTP: requests and their answers ---------------------------------------------------- */

static struct pending *pend_add(struct xfer *x, uint32_t req)
{
    for (int i = 0; i < PENDING_MAX; i++)
        if (!x->pend[i].used) {
            memset(&x->pend[i], 0, sizeof(x->pend[i]));
            x->pend[i].used = true;
            x->pend[i].req = req;
            x->pend[i].file = -1;
            return &x->pend[i];
        }
    return NULL;
}

static struct pending *pend_take(struct xfer *x, uint32_t req)
{
    for (int i = 0; i < PENDING_MAX; i++)
        if (x->pend[i].used && x->pend[i].req == req)
            return &x->pend[i];
    return NULL;
}

static void pend_drop(struct pending *p)
{
    free(p->name);
    p->name = NULL;
    p->used = false;
}

static int file_find(struct xfer *x, const unsigned char *h, uint32_t hlen)
{
    for (int i = 0; i < XFER_HANDLES_MAX; i++)
        if (x->files[i].used && x->files[i].hlen == hlen &&
            memcmp(x->files[i].handle, h, hlen) == 0)
            return i;
    return -1;
}

static void file_end(struct xfer *x, int i)
{
    struct file *f = &x->files[i];

    if (f->started && x->ops.on_end)
        x->ops.on_end(x->ops.ctx, f->id, f->bytes, f->in_order);
    f->used = false;
}

/* Bytes of file slot i at offset off going `dir`. */
static void file_data(struct xfer *x, int i, enum xfer_dir dir, uint64_t off,
                      const unsigned char *p, size_t n)
{
    struct file *f = &x->files[i];

    if (n == 0)
        return;
    if (f->bytes == 0 && !f->started) /* a file opened for both ways: the first data decides */
        f->dir = dir;
    if (dir != f->dir || off != f->next)
        f->in_order = false;
    f->next = off + n;
    f->bytes += n;
    if (f->started && x->ops.on_data)
        x->ops.on_data(x->ops.ctx, f->id, off, p, n);
}

static void op_line(struct xfer *x, const char *verb, const unsigned char *a, uint32_t alen,
                    const unsigned char *b, uint32_t blen)
{
    char *na = name_dup(a, alen), *nb = b ? name_dup(b, blen) : NULL, text[2 * XFER_NAME_MAX + 32];

    if (na && (!b || nb) && x->ops.on_op) {
        snprintf(text, sizeof(text), "sftp %s %s%s%s", verb, na, nb ? " " : "", nb ? nb : "");
        x->ops.on_op(x->ops.ctx, text);
    }
    free(na);
    free(nb);
}

/* A whole request (client to server) in b[0..n): type, then the request id. */
static void request(struct xfer *x, uint8_t type, const unsigned char *b, size_t n)
{
    size_t off = 4;
    const unsigned char *s1, *s2;
    uint32_t l1, l2, req;
    struct pending *p;

    if (n < 4)
        return lose(x, "a short SFTP request");
    req = be32(b);
    switch (type) {
    case FXP_OPEN:
        if (!get_str(b, n, &off, &s1, &l1) || n - off < 4)
            return lose(x, "a bad SFTP open");
        if (!(p = pend_add(x, req)))
            return lose(x, "too many SFTP requests in flight");
        p->is_open = true;
        p->pflags = be32(b + off);
        if (!(p->name = name_dup(s1, l1))) {
            pend_drop(p);
            return lose(x, "an SFTP file name too long to follow");
        }
        break;
    case FXP_READ: {
        int f;
        if (!get_str(b, n, &off, &s1, &l1) || n - off < 12)
            return lose(x, "a bad SFTP read");
        if ((f = file_find(x, s1, l1)) < 0)
            return; /* a directory or a file opened before we looked */
        if (!(p = pend_add(x, req)))
            return lose(x, "too many SFTP requests in flight");
        p->file = f;
        p->off = be64(b + off);
        break;
    }
    case FXP_CLOSE: {
        int f;
        if (!get_str(b, n, &off, &s1, &l1))
            return lose(x, "a bad SFTP close");
        if ((f = file_find(x, s1, l1)) >= 0)
            file_end(x, f);
        break;
    }
    case FXP_REMOVE:
    case FXP_MKDIR:
    case FXP_RMDIR:
    case FXP_SETSTAT:
        if (!get_str(b, n, &off, &s1, &l1))
            return lose(x, "a bad SFTP request");
        op_line(x,
                type == FXP_REMOVE  ? "remove"
                : type == FXP_MKDIR ? "mkdir"
                : type == FXP_RMDIR ? "rmdir"
                                    : "setstat",
                s1, l1, NULL, 0);
        break;
    case FXP_RENAME:
    case FXP_SYMLINK:
        if (!get_str(b, n, &off, &s1, &l1) || !get_str(b, n, &off, &s2, &l2))
            return lose(x, "a bad SFTP request");
        op_line(x, type == FXP_RENAME ? "rename" : "symlink", s1, l1, s2, l2);
        break;
    case FXP_EXTENDED:
        if (!get_str(b, n, &off, &s1, &l1))
            return lose(x, "a bad SFTP request");
        if (l1 == 24 && memcmp(s1, "posix-rename@openssh.com", 24) == 0 &&
            get_str(b, n, &off, &s1, &l1) && get_str(b, n, &off, &s2, &l2))
            op_line(x, "rename", s1, l1, s2, l2);
        break;
    default:
        break;
    }
}

/* A whole answer (server to client) but DATA, which is streamed. */
static void answer(struct xfer *x, uint8_t type, const unsigned char *b, size_t n)
{
    size_t off = 4;
    const unsigned char *h;
    uint32_t hl;
    struct pending *p;

    if (type != FXP_HANDLE && type != FXP_STATUS)
        return; /* VERSION, NAME, ATTRS: answers to nothing we follow */
    if (n < 4)
        return lose(x, "a short SFTP answer");
    if (!(p = pend_take(x, be32(b))))
        return;
    if (type == FXP_HANDLE && p->is_open) {
        int i;
        if (!get_str(b, n, &off, &h, &hl) || hl > HANDLE_MAX) {
            pend_drop(p);
            return lose(x, "a bad SFTP handle");
        }
        for (i = 0; i < XFER_HANDLES_MAX && x->files[i].used; i++)
            ;
        if (i == XFER_HANDLES_MAX) {
            pend_drop(p);
            return lose(x, "more open files than followed");
        }
        memset(&x->files[i], 0, sizeof(x->files[i]));
        x->files[i].used = true;
        memcpy(x->files[i].handle, h, hl);
        x->files[i].hlen = hl;
        x->files[i].id = ++x->next_id;
        x->files[i].in_order = true;
        x->files[i].dir = (p->pflags & FXF_WRITE) ? XFER_UP : XFER_DOWN;
        x->files[i].started = true;
        if (x->ops.on_start)
            x->ops.on_start(x->ops.ctx, x->files[i].id, x->files[i].dir, p->name);
    }
    pend_drop(p); /* STATUS: the request is done, whatever it said */
}

/* ---- SFTP: the packet stream --------------------------------------------------------------- */

/* How many bytes of a packet's body to hold before acting on it: all of a small one. */
static uint32_t head_need(uint32_t len)
{
    return len < HEAD_MAX ? len : HEAD_MAX;
}

/* The head of a packet is in (have bytes of s->head): act on it and set up the rest. */
static void packet_head(struct xfer *x, enum xfer_dir dir, struct side *s)
{
    uint8_t type = s->head[0];
    const unsigned char *b = s->head + 1;
    size_t n = s->have - 1;

    s->file = -1;
    if (!x->greeted) {
        if (dir != XFER_UP || type != FXP_INIT)
            return lose(x, "not an SFTP session");
        x->greeted = true;
    }
    if (dir == XFER_UP && type == FXP_WRITE) {
        size_t off = 4;
        const unsigned char *h;
        uint32_t hl, dlen;
        if (!get_str(b, n, &off, &h, &hl) || n - off < 12)
            return lose(x, "a bad SFTP write");
        dlen = be32(b + off + 8);
        if (dlen != s->len - 1 - (off + 12))
            return lose(x, "an SFTP write whose data length does not add up");
        s->file = file_find(x, h, hl);
        s->off = be64(b + off);
        /* the data already held, then the rest streams */
        if (s->file >= 0)
            file_data(x, s->file, XFER_UP, s->off, b + off + 12, n - off - 12);
        s->off += n - off - 12;
        return;
    }
    if (dir == XFER_DOWN && type == FXP_DATA) {
        size_t off = 4;
        struct pending *p;
        uint32_t dlen;
        if (n < 8)
            return lose(x, "a bad SFTP data answer");
        dlen = be32(b + 4);
        if (dlen != s->len - 9)
            return lose(x, "an SFTP data answer whose length does not add up");
        if ((p = pend_take(x, be32(b)))) {
            s->file = p->file;
            s->off = p->off;
            pend_drop(p);
        }
        off = 8;
        if (s->file >= 0)
            file_data(x, s->file, XFER_DOWN, s->off, b + off, n - off);
        s->off += n - off;
        return;
    }
    if (s->have < s->len) {
        /* a request or answer larger than we hold: only the ones we follow matter */
        if ((dir == XFER_UP && (type == FXP_OPEN || type == FXP_CLOSE || type == FXP_RENAME)) ||
            (dir == XFER_DOWN && type == FXP_HANDLE))
            return lose(x, "an SFTP packet too long to follow");
        return;
    }
    if (dir == XFER_UP)
        request(x, type, b, n);
    else
        answer(x, type, b, n);
}

static void sftp_feed(struct xfer *x, enum xfer_dir dir, const unsigned char *p, size_t n)
{
    struct side *s = &x->side[dir];

    while (n && !x->lost) {
        size_t k;
        switch (s->st) {
        case P_LEN:
            k = 4 - s->have < n ? 4 - s->have : n;
            memcpy(s->len4 + s->have, p, k);
            s->have += k;
            p += k;
            n -= k;
            if (s->have < 4)
                break;
            s->len = be32(s->len4);
            if (s->len == 0 || s->len > XFER_PACKET_MAX + 64) {
                lose(x, "an SFTP packet length out of range");
                break;
            }
            s->have = 0;
            s->st = P_HEAD;
            break;
        case P_HEAD: {
            uint32_t need = head_need(s->len);
            k = need - s->have < n ? need - s->have : n;
            memcpy(s->head + s->have, p, k);
            s->have += k;
            p += k;
            n -= k;
            if (s->have < need)
                break;
            packet_head(x, dir, s);
            s->left = s->len - (uint32_t)s->have;
            s->st = s->left == 0                                          ? P_LEN
                    : (s->head[0] == FXP_WRITE || s->head[0] == FXP_DATA) ? P_DATA
                                                                          : P_SKIP;
            s->have = 0;
            break;
        }
        case P_SKIP:
        case P_DATA:
            k = s->left < n ? s->left : n;
            if (s->st == P_DATA && s->file >= 0)
                file_data(x, s->file, dir, s->off, p, k);
            s->off += k;
            s->left -= (uint32_t)k;
            p += k;
            n -= k;
            if (s->left == 0) {
                s->st = P_LEN;
                s->have = 0;
            }
            break;
        }
    }
}

/* ---- scp ---------------------------------------------------------------------------------- */

static void scp_line(struct xfer *x, enum xfer_dir dir)
{
    struct scp *c = &x->scp;
    char *line = c->line, *sp, *name;
    unsigned long long size;
    char full[2 * XFER_NAME_MAX];

    line[c->have - 1] = '\0'; /* the '\n' */
    if (line[0] == 'T')
        return;
    if (line[0] == 'E') {
        char *slash = strrchr(c->dirs, '/');
        if (slash)
            *slash = '\0';
        else
            c->dirs[0] = '\0';
        return;
    }
    if (line[0] != 'C' && line[0] != 'D')
        return lose(x, "not an scp record");
    /* "C0644 SIZE NAME" */
    if (!(sp = strchr(line, ' ')) || sscanf(sp + 1, "%llu", &size) != 1 ||
        !(name = strchr(sp + 1, ' ')) || !name[1] || strchr(name + 1, '/'))
        return lose(x, "a bad scp record");
    name++;
    for (char *q = name; *q; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            *q = '?';
    if (line[0] == 'D') {
        size_t l = strlen(c->dirs);
        if (l + strlen(name) + 2 > sizeof(c->dirs))
            return lose(x, "scp directories too deep to follow");
        snprintf(c->dirs + l, sizeof(c->dirs) - l, "%s%s", l ? "/" : "", name);
        return;
    }
    snprintf(full, sizeof(full), "%s%s%s", c->dirs, c->dirs[0] ? "/" : "", name);
    c->id = ++x->next_id;
    c->size = c->left = size;
    if (x->ops.on_start)
        x->ops.on_start(x->ops.ctx, c->id, dir, full);
    c->st = size ? S_DATA : S_END;
}

static void scp_feed(struct xfer *x, enum xfer_dir dir, const unsigned char *p, size_t n)
{
    struct scp *c = &x->scp;
    enum xfer_dir records = x->proto == XFER_SCP_SINK ? XFER_UP : XFER_DOWN;

    if (dir != records)
        return; /* the other way carries the acknowledgements */
    while (n && !x->lost) {
        size_t k;
        switch (c->st) {
        case S_LINE:
            if (c->have == sizeof(c->line)) {
                lose(x, "an scp record too long to follow");
                break;
            }
            c->line[c->have++] = (char)*p++;
            n--;
            if (c->line[c->have - 1] == '\n') {
                scp_line(x, dir);
                c->have = 0;
            }
            break;
        case S_DATA:
            k = c->left < n ? (size_t)c->left : n;
            if (x->ops.on_data)
                x->ops.on_data(x->ops.ctx, c->id, c->size - c->left, p, k);
            c->left -= k;
            p += k;
            n -= k;
            if (c->left == 0)
                c->st = S_END;
            break;
        case S_END: /* the '\0' after the data */
            if (*p != '\0') {
                lose(x, "an scp file not ended as the protocol says");
                break;
            }
            if (x->ops.on_end)
                x->ops.on_end(x->ops.ctx, c->id, c->size, true);
            c->id = 0;
            c->st = S_LINE;
            p++;
            n--;
            break;
        }
    }
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

int xfer_new(enum xfer_proto proto, const struct xfer_ops *ops, struct xfer **out)
{
    struct xfer *x = calloc(1, sizeof(*x));

    *out = NULL;
    if (!x)
        return -ERR_NOMEM;
    x->proto = proto;
    x->ops = *ops;
    *out = x;
    return 0;
}

void xfer_free(struct xfer *x)
{
    if (!x)
        return;
    for (int i = 0; i < XFER_HANDLES_MAX; i++)
        if (x->files[i].used)
            file_end(x, i);
    for (int i = 0; i < PENDING_MAX; i++)
        if (x->pend[i].used)
            pend_drop(&x->pend[i]);
    if (x->scp.id && x->ops.on_end) /* cut off in the middle of a file */
        x->ops.on_end(x->ops.ctx, x->scp.id, x->scp.size - x->scp.left, false);
    free(x);
}

void xfer_feed(struct xfer *x, enum xfer_dir dir, const void *p, size_t n)
{
    if (x->lost || n == 0)
        return;
    if (x->proto == XFER_SFTP)
        sftp_feed(x, dir, p, n);
    else
        scp_feed(x, dir, p, n);
}
