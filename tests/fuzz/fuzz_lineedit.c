/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the broker's typed-line editor (broker/lineedit.c).
 *
 * Input: a 4-byte header, then the admin's keys.
 *   hdr[0]  bit 0: raw mode (a script, lineedit_feed_raw) instead of a terminal;
 *           bit 1: the owner resets the line at every KEY stop (as a refusal does);
 *           bit 2: the target echoes, at every stop, the line's text (else a
 *                  slice of the keys themselves)
 *   hdr[1..3]  chunk sizes, used in turn (0 = all the rest)
 * The keys are fed twice, whole and in those chunks; the stops and their
 * lines must be the same (the editor's state does not depend on how the keys
 * were split).  On every call: progress, the stop on the right key, bounds
 * (no line past LINEEDIT_MAX, NUL-terminated, no echo past LINEEDIT_ECHO),
 * an unknown line stays unknown until it ends or is reset, a terminal line
 * never holds a control byte, and a known line is valid UTF-8.  Lines typed
 * without any control key (terminal) and every line (raw: nothing is
 * edited) must equal a model computed from the keys alone.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/lineedit.h"
#include "fuzz.h"

#define HDR_LEN 4u

struct stopv {
    enum lineedit_stop kind;
    size_t at; /* offset of the decision key + 1 */
    size_t len;
    bool unknown, echoed;
    uint64_t hash; /* of the text (FNV-1a), to compare runs */
};

struct run {
    const uint8_t *keys;
    size_t n;
    bool raw, reset_at_key, echo_text;
    struct stopv *stops;
    size_t n_stops;
    size_t line_start; /* where the line being typed began */
};

/* Would the terminal editor treat c as a decision point (a KEY stop)? */
static bool is_decision_key(unsigned char c)
{
    return c < 0x20 && c != 0x1b && c != '\r' && c != '\n' && c != 0x08 && c != 0x03 && c != 0x15 &&
           c != 0x17;
}

/* The raw-mode model: the line of keys[from..to) (without its newline), kept and marked. */
static void raw_model(const uint8_t *k, size_t from, size_t to, char *text, size_t *len,
                      bool *unknown)
{
    *len = 0;
    *unknown = false;
    for (size_t i = from; i < to; i++) {
        if (k[i] < 0x20 && k[i] != '\t' && k[i] != '\r' && k[i] != '\n')
            *unknown = true;
        if (*len < LINEEDIT_MAX)
            text[(*len)++] = (char)k[i];
        else
            *unknown = true;
    }
    text[*len] = '\0';
    if (!lineedit_utf8_valid(text, *len))
        *unknown = true;
}

/* Where, in the raw model, does the line starting at `from` end (offset of its newline)? */
static bool raw_model_end(const uint8_t *k, size_t from, size_t n, size_t *nl)
{
    size_t kept = 0, bs = 0; /* trailing backslashes among the kept bytes */

    for (size_t i = from; i < n; i++) {
        if (k[i] == '\n' && bs % 2 == 0) {
            *nl = i;
            return true;
        }
        if (kept < LINEEDIT_MAX) {
            kept++;
            bs = k[i] == '\\' ? bs + 1 : 0;
        }
    }
    return false;
}

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return h;
}

/* Echo at a stop: the line's text, or a slice of the keys (both the same in every run). */
static void echo_at_stop(struct run *r, struct lineedit *le, const struct lineedit_line *l,
                         size_t at)
{
    char before[LINEEDIT_ECHO];
    size_t before_len = le->echo_len, len, total;
    const char *p;
    char model[2 * LINEEDIT_ECHO + LINEEDIT_MAX];

    if (r->echo_text) {
        p = l->text;
        len = l->len;
    } else {
        p = (const char *)r->keys + (at - 1) / 2;
        len = (at - 1) - (at - 1) / 2;
    }
    if (len > LINEEDIT_MAX) {
        p += len - LINEEDIT_MAX;
        len = LINEEDIT_MAX;
    }
    memcpy(before, le->echo, before_len);
    lineedit_echo(le, p, len);
    /* The echo kept is the tail of what was kept before followed by this. */
    FUZZ_CHECK(le->echo_len <= LINEEDIT_ECHO);
    memcpy(model, before, before_len);
    memcpy(model + before_len, p, len);
    total = before_len + len;
    FUZZ_CHECK(le->echo_len == (total < LINEEDIT_ECHO ? total : LINEEDIT_ECHO));
    FUZZ_CHECK(memcmp(le->echo, model + total - le->echo_len, le->echo_len) == 0);
}

static void check_line(const struct run *r, const struct lineedit_line *l, struct lineedit *le)
{
    FUZZ_CHECK(l->text == le->line);
    FUZZ_CHECK(l->len <= LINEEDIT_MAX);
    FUZZ_CHECK(l->text[l->len] == '\0');
    if (!l->unknown)
        FUZZ_CHECK(lineedit_utf8_valid(l->text, l->len));
    if (l->echoed && !r->raw)
        FUZZ_CHECK(l->len > 0);
    if (!r->raw) /* control keys are never part of a terminal line */
        for (size_t i = 0; i < l->len; i++)
            FUZZ_CHECK((unsigned char)l->text[i] >= 0x20 && l->text[i] != 0x7f);
}

static void record(struct run *r, enum lineedit_stop kind, size_t at, const struct lineedit_line *l)
{
    struct stopv *sv = &r->stops[r->n_stops++];

    sv->kind = kind;
    sv->at = at;
    sv->len = l->len;
    sv->unknown = l->unknown;
    sv->echoed = l->echoed;
    sv->hash = fnv1a(l->text, l->len);
}

/* The terminal model: keys with no control byte and no DEL are the line itself. */
static void terminal_model_check(const struct run *r, const struct lineedit_line *l, size_t at)
{
    char text[LINEEDIT_MAX + 1];
    size_t len = 0;
    bool unknown = false;

    for (size_t i = r->line_start; i + 1 < at; i++)
        if (r->keys[i] < 0x20 || r->keys[i] == 0x7f)
            return; /* edited: no model */
    for (size_t i = r->line_start; i + 1 < at; i++) {
        if (len < LINEEDIT_MAX)
            text[len++] = (char)r->keys[i];
        else
            unknown = true;
    }
    text[len] = '\0';
    if (!lineedit_utf8_valid(text, len))
        unknown = true;
    FUZZ_CHECK(l->len == len && memcmp(l->text, text, len) == 0);
    /* A KEY stop reports the line as it was before the key. */
    FUZZ_CHECK(l->unknown == unknown);
}

/* Keys r->keys[off..off+len), in their own buffer d. */
static void feed_terminal(struct run *r, struct lineedit *le, const char *d, size_t off, size_t len)
{
    size_t used = 0;

    while (used < len) {
        enum lineedit_stop stop;
        struct lineedit_line l;
        bool was_unknown = le->unknown, reset_inside = false;
        size_t k = lineedit_feed(le, d + used, len - used, &stop, &l);

        FUZZ_CHECK(k > 0 && k <= len - used);
        FUZZ_CHECK(lineedit_pending(le) <= LINEEDIT_MAX);
        FUZZ_CHECK(le->echo_len <= LINEEDIT_ECHO);
        for (size_t i = 0; i < k; i++)
            if (d[used + i] == 0x03)
                reset_inside = true;
        /* No decision key before the one it stopped on. */
        for (size_t i = 0; i + 1 < k; i++) {
            unsigned char c = (unsigned char)d[used + i];
            FUZZ_CHECK(c != '\r' && c != '\n' && !is_decision_key(c));
        }
        if (stop == LINEEDIT_MORE) {
            unsigned char c = (unsigned char)d[used + k - 1];
            FUZZ_CHECK(c != '\r' && c != '\n' && !is_decision_key(c));
            FUZZ_CHECK(k == len - used);
            /* Unknown is sticky: only an Enter, ^C or the owner clears it. */
            if (was_unknown && !reset_inside)
                FUZZ_CHECK(le->unknown);
            used += k;
            continue;
        }
        check_line(r, &l, le);
        if (was_unknown && !reset_inside)
            FUZZ_CHECK(l.unknown);
        if (stop == LINEEDIT_ENTER) {
            FUZZ_CHECK(d[used + k - 1] == '\r' || d[used + k - 1] == '\n');
            FUZZ_CHECK(lineedit_pending(le) == 0 && !le->unknown && le->echo_len == 0);
        } else {
            FUZZ_CHECK(stop == LINEEDIT_KEY);
            FUZZ_CHECK(is_decision_key((unsigned char)d[used + k - 1]));
            FUZZ_CHECK(le->unknown && lineedit_pending(le) == l.len);
        }
        used += k;
        record(r, stop, off + used, &l);
        terminal_model_check(r, &l, off + used);
        echo_at_stop(r, le, &l, off + used);
        if (stop == LINEEDIT_KEY && r->reset_at_key) {
            lineedit_reset(le);
            FUZZ_CHECK(lineedit_pending(le) == 0 && !le->unknown && le->echo_len == 0);
        }
        if (stop == LINEEDIT_ENTER || (stop == LINEEDIT_KEY && r->reset_at_key))
            r->line_start = off + used;
    }
}

static void feed_raw(struct run *r, struct lineedit *le, const char *d, size_t off, size_t len)
{
    size_t used = 0;

    while (used < len) {
        struct lineedit_line l;
        bool done, was_unknown = le->unknown;
        size_t k = lineedit_feed_raw(le, d + used, len - used, &done, &l);
        char text[LINEEDIT_MAX + 1];
        size_t mlen, nl;
        bool munknown;

        FUZZ_CHECK(k > 0 && k <= len - used);
        FUZZ_CHECK(lineedit_pending(le) <= LINEEDIT_MAX);
        if (!done) {
            FUZZ_CHECK(k == len - used);
            if (was_unknown)
                FUZZ_CHECK(le->unknown); /* nothing but the line's end clears it */
            FUZZ_CHECK(!raw_model_end(r->keys, r->line_start, off + used + k, &nl));
            used += k;
            continue;
        }
        check_line(r, &l, le);
        FUZZ_CHECK(l.echoed);
        FUZZ_CHECK(d[used + k - 1] == '\n');
        if (was_unknown)
            FUZZ_CHECK(l.unknown);
        FUZZ_CHECK(lineedit_pending(le) == 0 && !le->unknown);
        /* Nothing is edited: the line is exactly the keys since the last one. */
        FUZZ_CHECK(raw_model_end(r->keys, r->line_start, r->n, &nl) && nl == off + used + k - 1);
        raw_model(r->keys, r->line_start, nl, text, &mlen, &munknown);
        FUZZ_CHECK(l.len == mlen && memcmp(l.text, text, mlen) == 0);
        FUZZ_CHECK(l.unknown == munknown);
        {
            /* Joining never grows a line, and a line without a backslash joins to itself. */
            char joined[LINEEDIT_MAX + 1], small[8];

            lineedit_join(l.text, joined, sizeof(joined));
            FUZZ_CHECK(strlen(joined) <= strlen(l.text));
            if (!memchr(l.text, '\\', l.len))
                FUZZ_CHECK(strcmp(joined, l.text) == 0);
            lineedit_join(l.text, small, sizeof(small));
            FUZZ_CHECK(strlen(small) < sizeof(small));
        }
        used += k;
        record(r, LINEEDIT_ENTER, off + used, &l);
        r->line_start = off + used;
    }
}

static void run_once(struct run *r, const size_t *chunks, size_t n_chunks)
{
    struct lineedit *le = calloc(1, sizeof(*le));
    size_t off = 0, c = 0;

    FUZZ_CHECK(le != NULL);
    r->n_stops = 0;
    r->line_start = 0;
    while (off < r->n) {
        size_t len = n_chunks && chunks[c % n_chunks] ? chunks[c % n_chunks] : r->n - off;

        c++;
        if (len > r->n - off)
            len = r->n - off;
        /* Each chunk in its own exact-size buffer, so an over-read is out of bounds. */
        char *d = malloc(len);
        FUZZ_CHECK(d != NULL);
        memcpy(d, r->keys + off, len);
        if (r->raw)
            feed_raw(r, le, d, off, len);
        else
            feed_terminal(r, le, d, off, len);
        free(d);
        off += len;
    }
    free(le);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run a = {0}, b;
    size_t chunks[HDR_LEN - 1];

    fuzz_init();
    if (size < HDR_LEN)
        return 0;
    a.keys = data + HDR_LEN;
    a.n = size - HDR_LEN;
    a.raw = data[0] & 1;
    a.reset_at_key = data[0] & 2;
    a.echo_text = data[0] & 4;
    for (size_t i = 0; i < HDR_LEN - 1; i++)
        chunks[i] = data[1 + i];
    a.stops = calloc(a.n + 1, sizeof(*a.stops));
    FUZZ_CHECK(a.stops != NULL);
    b = a;
    b.stops = calloc(b.n + 1, sizeof(*b.stops));
    FUZZ_CHECK(b.stops != NULL);

    run_once(&a, NULL, 0);
    run_once(&b, chunks, HDR_LEN - 1);
    FUZZ_CHECK(a.n_stops == b.n_stops);
    for (size_t i = 0; i < a.n_stops; i++) {
        const struct stopv *x = &a.stops[i], *y = &b.stops[i];

        FUZZ_CHECK(x->kind == y->kind && x->at == y->at && x->len == y->len);
        FUZZ_CHECK(x->unknown == y->unknown && x->echoed == y->echoed && x->hash == y->hash);
    }
    free(a.stops);
    free(b.stops);
    return 0;
}
