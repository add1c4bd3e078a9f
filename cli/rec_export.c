/* SPDX-License-Identifier: Apache-2.0 */
/* asciicast v2 and plain-text exports of a recording's events. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "rec_export.h"

/* ---- UTF-8 ----------------------------------------------------------------------------- */

/* Length of the sequence starting with byte c (0: not a valid start). */
static size_t seq_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return 2;
    if (c >= 0xe0 && c <= 0xef)
        return 3;
    if (c >= 0xf0 && c <= 0xf4)
        return 4;
    return 0;
}

/* Is p[0..n) (n = seq_len(p[0])) a valid sequence: continuations, no overlong, no surrogate? */
static bool seq_ok(const unsigned char *p, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return false;
    if (n == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0)))
        return false;
    if (n == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
        return false;
    return true;
}

/*
 * Append p[0..n) to out as valid UTF-8, continuing the sequence held in
 * carry and keeping an unfinished one at the end there.
 */
static int utf8_clean(unsigned char carry[4], size_t *ncarry, const unsigned char *p, size_t n,
                      struct buf *out)
{
    static const char repl[] = "\xef\xbf\xbd";
    size_t i = 0;
    int r;

    while (*ncarry && i < n) {
        size_t want = seq_len(carry[0]);
        if ((p[i] & 0xc0) != 0x80) { /* cut short: the carried bytes are not text */
            if ((r = buf_append(out, repl, 3)) != 0)
                return r;
            *ncarry = 0;
            break;
        }
        carry[(*ncarry)++] = p[i++];
        if (*ncarry == want) {
            r = seq_ok(carry, want) ? buf_append(out, carry, want) : buf_append(out, repl, 3);
            *ncarry = 0;
            if (r != 0)
                return r;
        }
    }
    while (i < n) {
        size_t want = seq_len(p[i]);
        if (want == 0) {
            if ((r = buf_append(out, repl, 3)) != 0)
                return r;
            i++;
        } else if (i + want > n) {
            memcpy(carry, p + i, n - i);
            *ncarry = n - i;
            break;
        } else {
            r = seq_ok(p + i, want) ? buf_append(out, p + i, want) : buf_append(out, repl, 3);
            if (r != 0)
                return r;
            i += seq_ok(p + i, want) ? want : 1;
        }
    }
    return 0;
}

/* ---- asciicast --------------------------------------------------------------------------- */

static int line(struct buf *out, uint64_t t_us, const char *code, const char *text, size_t n)
{
    json_t *s = json_stringn(text, n);
    char *enc;
    int r;

    if (!s)
        return -ERR_NOMEM;
    enc = json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(s);
    if (!enc)
        return -ERR_NOMEM;
    r = buf_printf(out, "[%llu.%06llu, \"%s\", %s]\n", (unsigned long long)(t_us / 1000000),
                   (unsigned long long)(t_us % 1000000), code, enc);
    free(enc);
    return r;
}

int rec_cast_header(const struct rec_info *info, struct buf *out)
{
    const struct rec_meta *m = &info->meta;
    char title[512];
    json_t *o;
    char *enc;
    int r;

    snprintf(title, sizeof(title), "custos %s: %s as %s", m->session,
             m->identity ? m->identity : "-", m->account);
    o = json_pack("{s:i,s:i,s:i,s:I,s:{s:s?},s:s}", "version", 2, "width",
                  (int)(m->cols ? m->cols : 80), "height", (int)(m->rows ? m->rows : 24),
                  "timestamp", (json_int_t)(m->started_us / 1000000), "env", "TERM", m->term,
                  "title", title);
    if (!o)
        return -ERR_NOMEM; /* a title that is not UTF-8 cannot come from a valid header */
    enc = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!enc)
        return -ERR_NOMEM;
    r = buf_printf(out, "%s\n", enc);
    free(enc);
    return r;
}

/* The text of a MARKER or COMMAND event's JSON, as one line. */
static int event_text(const struct rec_event *ev, char *dst, size_t n)
{
    json_t *o = json_loadb((const char *)ev->data, ev->len, 0, NULL);
    const char *a, *b;

    if (!o)
        return -ERR_PARSE;
    if (ev->type == REC_MARKER) {
        a = json_string_value(json_object_get(o, "kind"));
        b = json_string_value(json_object_get(o, "text"));
    } else {
        a = json_string_value(json_object_get(o, "how"));
        b = json_string_value(json_object_get(o, "line"));
    }
    snprintf(dst, n, "%s%s%s", a ? a : "?", b ? ": " : "", b ? b : "");
    json_decref(o);
    return 0;
}

int rec_cast_event(struct rec_cast *st, const struct rec_event *ev, struct buf *out)
{
    struct buf text;
    char msg[1024];
    int k, r = 0;

    switch (ev->type) {
    case REC_OUT:
    case REC_ERR:
    case REC_IN:
        if (ev->type == REC_IN && !st->input)
            return 0;
        k = ev->type == REC_IN;
        buf_init(&text, 4 * ev->len + 16);
        if ((r = utf8_clean(st->carry[k], &st->ncarry[k], ev->data, ev->len, &text)) == 0 &&
            text.len)
            r = line(out, ev->t_us, k ? "i" : "o", text.data, text.len);
        buf_fini(&text);
        return r;
    case REC_RESIZE: {
        unsigned c, rw;
        if (rec_event_resize(ev, &c, &rw) != 0)
            return -ERR_CORRUPT;
        snprintf(msg, sizeof(msg), "%ux%u", c, rw);
        return line(out, ev->t_us, "r", msg, strlen(msg));
    }
    case REC_MARKER:
    case REC_COMMAND:
        if (event_text(ev, msg, sizeof(msg)) != 0)
            return -ERR_CORRUPT;
        return line(out, ev->t_us, "m", msg, strlen(msg));
    default:
        return 0;
    }
}

/* ---- text ------------------------------------------------------------------------------- */

void rec_text_init(struct rec_text *t)
{
    memset(t, 0, sizeof(*t));
    buf_init(&t->line, 1u << 20);
}

void rec_text_fini(struct rec_text *t)
{
    buf_fini(&t->line);
}

static int text_emit(struct rec_text *t, struct buf *out)
{
    int r;

    /* trailing blanks are the terminal's, not the session's */
    while (t->line.len && t->line.data[t->line.len - 1] == ' ')
        t->line.len--;
    if ((r = buf_append(out, t->line.data, t->line.len)) != 0 || (r = buf_append(out, "\n", 1)))
        return r;
    buf_reset(&t->line);
    t->cursor = 0;
    return 0;
}

/* Write byte c at the cursor (overwriting, as a terminal does). */
static int text_put(struct rec_text *t, char c)
{
    int r;

    if (t->cursor < t->line.len) {
        t->line.data[t->cursor++] = c;
        return 0;
    }
    while (t->line.len < t->cursor)
        if ((r = buf_append(&t->line, " ", 1)) != 0)
            return r;
    if ((r = buf_append(&t->line, &c, 1)) != 0)
        return r == -ERR_TOO_LONG ? 0 : r; /* a line past 1 MiB is cut, not an error */
    t->cursor++;
    return 0;
}

static int text_output(struct rec_text *t, const unsigned char *p, size_t n, struct buf *out)
{
    int r;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        switch (t->esc) {
        case 1:
            t->esc = c == '['                                                     ? 2
                     : (c == ']' || c == 'P' || c == '_' || c == '^' || c == 'X') ? 3
                                                                                  : 0;
            t->csi_has_param = false;
            t->csi_param = 0;
            continue;
        case 2:
            if (c >= '0' && c <= '9') {
                t->csi_has_param = true;
                t->csi_param = t->csi_param > 9999 ? 9999 : t->csi_param * 10 + (c - '0');
            } else if (c >= 0x40 && c <= 0x7e) {
                t->esc = 0;
                if (c == 'K' && (!t->csi_has_param || t->csi_param == 0) && t->cursor < t->line.len)
                    t->line.len = t->cursor; /* erase to the end of the line */
                else if (c == 'K' && t->csi_param == 2)
                    buf_reset(&t->line);
                else if (c == 'C')
                    t->cursor += t->csi_has_param ? t->csi_param : 1;
                else if (c == 'D') {
                    size_t k = t->csi_has_param ? t->csi_param : 1;
                    t->cursor = k > t->cursor ? 0 : t->cursor - k;
                }
            }
            continue;
        case 3:
            if (c == 0x07)
                t->esc = 0;
            else if (c == 0x1b)
                t->esc = 4;
            continue;
        case 4:
            t->esc = c == '\\' ? 0 : 3;
            continue;
        default:
            break;
        }
        if (c == 0x1b) {
            t->esc = 1;
        } else if (c == '\n') {
            if ((r = text_emit(t, out)) != 0)
                return r;
        } else if (c == '\r') {
            t->cursor = 0;
        } else if (c == '\b') {
            if (t->cursor)
                t->cursor--;
        } else if (c == '\t') {
            do {
                if ((r = text_put(t, ' ')) != 0)
                    return r;
            } while (t->cursor % 8);
        } else if (c >= 0x20 && c != 0x7f) {
            if ((r = text_put(t, (char)c)) != 0)
                return r;
        }
    }
    return 0;
}

static int text_note(struct rec_text *t, uint64_t t_us, const char *what, struct buf *out)
{
    int r;

    if (t->line.len && (r = text_emit(t, out)) != 0)
        return r;
    return buf_printf(out, "[custos +%llu.%01llus] %s\n", (unsigned long long)(t_us / 1000000),
                      (unsigned long long)(t_us % 1000000 / 100000), what);
}

int rec_text_event(struct rec_text *t, const struct rec_event *ev, struct buf *out)
{
    char msg[1100], tmp[1024];
    uint64_t v;

    switch (ev->type) {
    case REC_OUT:
    case REC_ERR:
        return text_output(t, ev->data, ev->len, out);
    case REC_EXEC:
    case REC_SUBSYSTEM:
        snprintf(msg, sizeof(msg), "%s: %.*s", ev->type == REC_EXEC ? "exec" : "subsystem",
                 (int)(ev->len > 1000 ? 1000 : ev->len), (const char *)ev->data);
        for (char *c = msg; *c; c++)
            if ((unsigned char)*c < 0x20)
                *c = '?';
        return text_note(t, ev->t_us, msg, out);
    case REC_MARKER:
        if (event_text(ev, tmp, sizeof(tmp)) != 0)
            return -ERR_CORRUPT;
        snprintf(msg, sizeof(msg), "marker %s", tmp);
        return text_note(t, ev->t_us, msg, out);
    case REC_EXIT:
        if (rec_event_uint(ev, &v) != 0)
            return -ERR_CORRUPT;
        snprintf(msg, sizeof(msg), "exit status %llu", (unsigned long long)v);
        return text_note(t, ev->t_us, msg, out);
    case REC_IN_MASKED:
        if (rec_event_uint(ev, &v) != 0)
            return -ERR_CORRUPT;
        return 0; /* masked input shows nothing: not even its length */
    default:
        return 0;
    }
}

int rec_text_finish(struct rec_text *t, struct buf *out)
{
    return t->line.len ? text_emit(t, out) : 0;
}
