/* SPDX-License-Identifier: Apache-2.0 */
/* HR feed: strict CSV (RFC 4180) and JSON parsing into identity records, and the sync plan. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "custos/buf.h"
#include "internal.h"

#define HR_ROWS_MAX GOV_HR_ROWS_MAX
#define HR_FIELD_MAX GOV_HR_FIELD_MAX
#define HR_CYCLE_SHOWN 8u /* ids shown in a cycle message before "..." */

enum col { COL_ID, COL_NAME, COL_EMAIL, COL_DEPT, COL_TITLE, COL_MANAGER, COL_GROUPS, COL_STATUS };
#define COL_COUNT 8

static const char *const col_names[COL_COUNT] = {"id",    "name",    "email",  "department",
                                                 "title", "manager", "groups", "status"};

/* One row's raw values, borrowed from the parser; s == NULL means the column is absent. */
struct row {
    const char *s[COL_COUNT];
    size_t len[COL_COUNT];
    const json_t *groups_array; /* JSON only: "groups" given as an array */
    size_t line;
    bool bad;                /* already refused (a JSON key): check the rest, store nothing */
    bool refused[COL_COUNT]; /* JSON only: given with the wrong type, already reported */
};

struct hr {
    json_t *records; /* valid rows */
    json_t *errors;
    json_t *seen; /* id -> line of its first row, for every row with a valid id */
    size_t rows;
    int fatal; /* -ERR_NOMEM: stop everything */
};

/* ---- helpers ---- */

static bool utf8_is_valid(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t k;
        unsigned cp;

        if (c < 0x80) {
            if (c == 0)
                return false;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            unsigned char d = (unsigned char)s[i + j];

            if ((d & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (d & 0x3f);
        }
        /* No overlong forms, no surrogates, nothing past U+10FFFF. */
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

/* A value for a message: printable ASCII kept, the rest '?', at most 64 bytes. */
static void shown(char *dst, size_t dstlen, const char *s, size_t n)
{
    size_t j = 0;

    for (size_t i = 0; i < n && j + 4 < dstlen; i++) {
        if (i == 64) {
            memcpy(dst + j, "...", 3);
            j += 3;
            break;
        }
        char ch = s[i];

        dst[j++] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
    }
    dst[j] = '\0';
}

static void add_error(struct hr *h, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_error(struct hr *h, size_t line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    json_t *e;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    e = json_pack("{s:I, s:s}", "line", (json_int_t)line, "message", msg);
    if (!e || json_array_append_new(h->errors, e) != 0)
        h->fatal = -ERR_NOMEM;
}

static json_t *opt_string(const char *s, size_t n)
{
    return n ? json_stringn(s, n) : json_null();
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A new array of the strings of `arr`, sorted and each once (non-strings dropped). */
static json_t *sorted_set(const json_t *arr)
{
    size_t n = json_array_size(arr), k = 0, i;
    const char **v = calloc(n ? n : 1, sizeof(*v));
    json_t *out = json_array();
    const json_t *e;

    if (!out || !v)
        goto fail;
    json_array_foreach(arr, i, e)
    {
        if (json_is_string(e))
            v[k++] = json_string_value(e);
    }
    if (k)
        qsort(v, k, sizeof(*v), cmp_str);
    for (i = 0; i < k; i++)
        if ((i == 0 || strcmp(v[i], v[i - 1]) != 0) &&
            json_array_append_new(out, json_string(v[i])) != 0)
            goto fail;
    free(v);
    return out;
fail:
    free(v);
    json_decref(out);
    return NULL;
}

/* ---- one row -> one record ---- */

static json_t *parse_groups(struct hr *h, const struct row *rw, bool *bad)
{
    json_t *list = json_array(), *set = NULL;
    char name[HR_FIELD_MAX + 1], show[80];
    size_t i;
    const json_t *g;

    if (!list)
        goto oom;
    if (rw->groups_array) {
        json_array_foreach(rw->groups_array, i, g)
        {
            if (!gov_name_is_valid(json_string_value(g))) {
                *bad = true;
                add_error(h, rw->line, "groups[%zu] is not a valid group name", i);
                continue;
            }
            if (json_array_append(list, (json_t *)g) != 0)
                goto oom;
        }
    } else if (rw->s[COL_GROUPS]) {
        const char *p = rw->s[COL_GROUPS], *end = p + rw->len[COL_GROUPS];

        while (p <= end) {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *e = semi ? semi : end, *b = p;
            size_t n;

            while (b < e && (*b == ' ' || *b == '\t'))
                b++;
            while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            n = (size_t)(e - b);
            if (n > 0) {
                memcpy(name, b, n);
                name[n] = '\0';
                if (strlen(name) != n || !gov_name_is_valid(name)) {
                    *bad = true;
                    shown(show, sizeof(show), b, n);
                    add_error(h, rw->line, "bad group name \"%s\"", show);
                } else if (json_array_append_new(list, json_string(name)) != 0) {
                    goto oom;
                }
            }
            if (!semi)
                break;
            p = semi + 1;
        }
    }
    if (!(set = sorted_set(list)))
        goto oom;
    json_decref(list);
    return set;
oom:
    h->fatal = -ERR_NOMEM;
    json_decref(list);
    return NULL;
}

static const char *parse_status(const char *s, size_t n)
{
    static const struct {
        const char *word, *state;
    } map[] = {
        {"active", "active"}, {"suspended", "suspended"}, {"inactive", "left"}, {"left", "left"}};

    if (!s || n == 0)
        return "active";
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strlen(map[i].word) == n && strncasecmp(map[i].word, s, n) == 0)
            return map[i].state;
    return NULL;
}

/*
 * Validate a row; on success append its record.  Every problem of the row is
 * its own error: a field too long or not UTF-8 is reported and left out of the
 * other checks (they print and store values, which must be sane first), and
 * the other fields are still checked.
 */
static void row_record(struct hr *h, const struct row *rw)
{
    char id[GOV_NAME_MAX + 1] = "", show[80], tmp[HR_FIELD_MAX + 1];
    bool bad = rw->bad, have_id = false, unusable[COL_COUNT];
    const char *state = NULL;
    json_t *groups = NULL, *rec = NULL, *first;

    for (int c = 0; c < COL_COUNT; c++) {
        unusable[c] = rw->refused[c];
        if (unusable[c])
            continue;
        if (rw->s[c] && rw->len[c] > HR_FIELD_MAX) {
            bad = unusable[c] = true;
            add_error(h, rw->line, "field %s is longer than %u bytes", col_names[c], HR_FIELD_MAX);
        } else if (rw->s[c] && !utf8_is_valid(rw->s[c], rw->len[c])) {
            bad = unusable[c] = true;
            add_error(h, rw->line, "field %s is not valid UTF-8", col_names[c]);
        }
    }
    if (unusable[COL_ID]) {
        /* reported above */
    } else if (!rw->s[COL_ID] || rw->len[COL_ID] == 0) {
        bad = true;
        add_error(h, rw->line, "missing id");
    } else {
        shown(show, sizeof(show), rw->s[COL_ID], rw->len[COL_ID]);
        if (rw->len[COL_ID] <= GOV_NAME_MAX) {
            memcpy(id, rw->s[COL_ID], rw->len[COL_ID]);
            id[rw->len[COL_ID]] = '\0';
        }
        if (!gov_name_is_valid(id)) {
            bad = true;
            id[0] = '\0';
            add_error(h, rw->line, "bad id \"%s\" (1-64 of A-Z a-z 0-9 . _ -)", show);
        } else {
            have_id = true;
        }
    }
    if (have_id) {
        first = json_object_get(h->seen, id);
        if (first) {
            /* The first row stands for this id; the rest of this row is still checked. */
            add_error(h, rw->line, "duplicate id %s (first on line %lld)", id,
                      (long long)json_integer_value(first));
            bad = true;
        } else if (json_object_set_new(h->seen, id, json_integer((json_int_t)rw->line)) != 0) {
            h->fatal = -ERR_NOMEM;
            goto out;
        }
    }
    if (!unusable[COL_NAME] && (!rw->s[COL_NAME] || rw->len[COL_NAME] == 0)) {
        bad = true;
        add_error(h, rw->line, "missing name%s%s", have_id ? " for " : "", id);
    }
    if (unusable[COL_EMAIL]) {
        /* reported above */
    } else if (!rw->s[COL_EMAIL] || rw->len[COL_EMAIL] == 0) {
        bad = true;
        add_error(h, rw->line, "missing email%s%s", have_id ? " for " : "", id);
    } else {
        memcpy(tmp, rw->s[COL_EMAIL], rw->len[COL_EMAIL]);
        tmp[rw->len[COL_EMAIL]] = '\0';
        if (!gov_email_is_valid(tmp)) {
            bad = true;
            shown(show, sizeof(show), rw->s[COL_EMAIL], rw->len[COL_EMAIL]);
            add_error(h, rw->line, "bad email \"%s\"", show);
        }
    }
    if (!unusable[COL_MANAGER] && rw->s[COL_MANAGER] && rw->len[COL_MANAGER] > 0) {
        bool ok = rw->len[COL_MANAGER] <= GOV_NAME_MAX;

        if (ok) {
            memcpy(tmp, rw->s[COL_MANAGER], rw->len[COL_MANAGER]);
            tmp[rw->len[COL_MANAGER]] = '\0';
            ok = gov_name_is_valid(tmp);
        }
        if (!ok) {
            bad = true;
            shown(show, sizeof(show), rw->s[COL_MANAGER], rw->len[COL_MANAGER]);
            add_error(h, rw->line, "bad manager id \"%s\"", show);
        }
    }
    if (!unusable[COL_STATUS] && !(state = parse_status(rw->s[COL_STATUS], rw->len[COL_STATUS]))) {
        bad = true;
        shown(show, sizeof(show), rw->s[COL_STATUS], rw->len[COL_STATUS]);
        add_error(h, rw->line, "unknown status \"%s\" (active, suspended, inactive or left)", show);
    }
    if (!unusable[COL_GROUPS])
        groups = parse_groups(h, rw, &bad);
    if (bad || !groups)
        goto out;
    rec = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:O, s:s, s:I}", "id", id, "name",
                    json_stringn(rw->s[COL_NAME], rw->len[COL_NAME]), "email",
                    json_stringn(rw->s[COL_EMAIL], rw->len[COL_EMAIL]), "department",
                    opt_string(rw->s[COL_DEPT], rw->len[COL_DEPT]), "title",
                    opt_string(rw->s[COL_TITLE], rw->len[COL_TITLE]), "manager",
                    opt_string(rw->s[COL_MANAGER], rw->len[COL_MANAGER]), "groups", groups, "state",
                    state, "line", (json_int_t)rw->line);
    if (!rec || json_array_append_new(h->records, rec) != 0)
        h->fatal = -ERR_NOMEM;
out:
    json_decref(groups);
}

static bool count_row(struct hr *h, size_t line)
{
    if (++h->rows > HR_ROWS_MAX) {
        add_error(h, line, "more than %u rows", HR_ROWS_MAX);
        return false;
    }
    return true;
}

/* ---- CSV (RFC 4180) ---- */

struct field {
    struct buf b;
    bool quoted;
};

struct csv {
    const char *p, *end;
    size_t line;
    struct field *f;
    size_t nf, cap;
};

#define CSV_FIELDS_MAX 64u

/*
 * Read one record.  1: a record (fields in c->f[0..nf)), 0: end of data,
 * -1: a fatal error already reported (unterminated quote), or -ERR_NOMEM.
 * Problems that leave the record readable are reported and make *bad true.
 */
static int csv_record(struct hr *h, struct csv *c, size_t *start, bool *bad)
{
    bool over = false;
    int r;

    *bad = false;
    *start = c->line;
    c->nf = 0;
    if (c->p >= c->end)
        return 0;
    for (;;) {
        struct field *f;
        bool toolong = false;

        if (c->nf == CSV_FIELDS_MAX) {
            /* Keep reading into the last slot until the record ends. */
            if (!over)
                add_error(h, *start, "more than %u fields", CSV_FIELDS_MAX);
            over = *bad = true;
            f = &c->f[c->nf - 1];
        } else {
            if (c->nf == c->cap) {
                struct field *nfp = realloc(c->f, (c->cap + 8) * sizeof(*nfp));

                if (!nfp)
                    return -ERR_NOMEM;
                c->f = nfp;
                for (size_t i = c->cap; i < c->cap + 8; i++)
                    buf_init(&c->f[i].b, HR_FIELD_MAX);
                c->cap += 8;
            }
            f = &c->f[c->nf++];
        }
        buf_reset(&f->b);
        f->quoted = c->p < c->end && *c->p == '"';
        if (f->quoted) {
            c->p++;
            for (;;) {
                const char *q;

                if (c->p >= c->end) {
                    add_error(h, *start, "unterminated quoted field");
                    return -1;
                }
                q = memchr(c->p, '"', (size_t)(c->end - c->p));
                if (!q)
                    q = c->end;
                for (const char *s = c->p; s < q; s++)
                    if (*s == '\n')
                        c->line++;
                if (!toolong && (r = buf_append(&f->b, c->p, (size_t)(q - c->p))) != 0) {
                    if (r != -ERR_TOO_LONG)
                        return r;
                    toolong = true;
                }
                c->p = q;
                if (c->p >= c->end)
                    continue; /* reports the unterminated quote */
                if (c->p + 1 < c->end && c->p[1] == '"') {
                    if (!toolong && (r = buf_append(&f->b, "\"", 1)) != 0) {
                        if (r != -ERR_TOO_LONG)
                            return r;
                        toolong = true;
                    }
                    c->p += 2;
                    continue;
                }
                c->p++; /* the closing quote */
                break;
            }
            if (c->p < c->end && *c->p != ',' && *c->p != '\n' &&
                !(*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n')) {
                add_error(h, *start, "unexpected text after a closing quote");
                *bad = true;
                while (c->p < c->end && *c->p != ',' && *c->p != '\n')
                    c->p++;
            }
        } else {
            const char *s = c->p;

            while (c->p < c->end && *c->p != ',' && *c->p != '\n') {
                if (*c->p == '"' && !*bad) {
                    add_error(h, *start, "quote inside an unquoted field (quote the whole field)");
                    *bad = true;
                }
                if (*c->p == '\r' && !(c->p + 1 < c->end && c->p[1] == '\n') && !*bad) {
                    add_error(h, *start, "carriage return outside quotes");
                    *bad = true;
                }
                c->p++;
            }
            /* "\r\n" ends the record: the '\r' is not data. */
            size_t n = (size_t)(c->p - s);
            if (c->p < c->end && *c->p == '\n' && n > 0 && s[n - 1] == '\r')
                n--;
            if ((r = buf_append(&f->b, s, n)) != 0) {
                if (r != -ERR_TOO_LONG)
                    return r;
                toolong = true;
            }
        }
        if (toolong) {
            add_error(h, *start, "field %zu is longer than %u bytes", c->nf, HR_FIELD_MAX);
            *bad = true;
        }
        if (memchr(f->b.data ? f->b.data : "", '\0', f->b.len) && !*bad) {
            add_error(h, *start, "NUL byte in a field");
            *bad = true;
        }
        if (c->p >= c->end)
            return 1;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == '\r')
            c->p++;
        c->p++; /* '\n' */
        c->line++;
        return 1;
    }
}

static bool csv_blank(const struct csv *c)
{
    return c->nf == 1 && !c->f[0].quoted && c->f[0].b.len == 0;
}

static void csv_free(struct csv *c)
{
    for (size_t i = 0; i < c->cap; i++)
        buf_fini(&c->f[i].b);
    free(c->f);
}

static void parse_csv(struct hr *h, const char *data, size_t len)
{
    struct csv c = {.p = data, .end = data + len, .line = 1};
    int map[CSV_FIELDS_MAX]; /* field index -> column, or -1 */
    int seen_col[COL_COUNT];
    size_t ncols = 0, start;
    bool bad, header_bad = false;
    int r;

    /* The header: the first non-blank record. */
    do {
        r = csv_record(h, &c, &start, &bad);
    } while (r == 1 && csv_blank(&c));
    if (r < 0) {
        if (r != -1)
            h->fatal = r;
        goto out;
    }
    if (r == 0) {
        add_error(h, 0, "the file has no header row");
        goto out;
    }
    if (bad)
        goto out;
    for (int i = 0; i < COL_COUNT; i++)
        seen_col[i] = -1;
    ncols = c.nf;
    for (size_t i = 0; i < ncols; i++) {
        const struct buf *b = &c.f[i].b;
        char show[80];
        int col = -1;

        for (int k = 0; k < COL_COUNT; k++)
            if (b->len == strlen(col_names[k]) && strncasecmp(b->data, col_names[k], b->len) == 0)
                col = k;
        shown(show, sizeof(show), b->data ? b->data : "", b->len);
        if (col < 0) {
            add_error(h, start,
                      "unknown column \"%s\" (id, name, email, department, title, "
                      "manager, groups, status)",
                      show);
            header_bad = true;
        } else if (seen_col[col] >= 0) {
            add_error(h, start, "column %s appears twice", col_names[col]);
            header_bad = true;
        } else {
            seen_col[col] = (int)i;
        }
        map[i] = col;
    }
    for (int k = COL_ID; k <= COL_EMAIL; k++)
        if (seen_col[k] < 0) {
            add_error(h, start, "required column %s is missing", col_names[k]);
            header_bad = true;
        }
    if (header_bad)
        goto out;
    for (;;) {
        struct row rw;

        r = csv_record(h, &c, &start, &bad);
        if (r < 0) {
            if (r != -1)
                h->fatal = r;
            goto out;
        }
        if (r == 0 || h->fatal)
            goto out;
        if (csv_blank(&c))
            continue;
        if (!count_row(h, start))
            goto out;
        memset(&rw, 0, sizeof(rw));
        rw.line = start;
        if (c.nf != ncols) {
            add_error(h, start, "expected %zu fields, found %zu", ncols, c.nf);
            bad = true;
        }
        if (bad) {
            /* Still known as an id of this file, so managers pointing here are not "unknown". */
            const struct buf *b = (size_t)seen_col[COL_ID] < c.nf ? &c.f[seen_col[COL_ID]].b : NULL;
            char id[GOV_NAME_MAX + 1];

            if (b && b->len > 0 && b->len <= GOV_NAME_MAX) {
                memcpy(id, b->data, b->len);
                id[b->len] = '\0';
                if (gov_name_is_valid(id) && !json_object_get(h->seen, id) &&
                    json_object_set_new(h->seen, id, json_integer((json_int_t)start)) != 0)
                    h->fatal = -ERR_NOMEM;
            }
            continue;
        }
        for (size_t i = 0; i < ncols; i++) {
            rw.s[map[i]] = c.f[i].b.data ? c.f[i].b.data : "";
            rw.len[map[i]] = c.f[i].b.len;
        }
        row_record(h, &rw);
        if (h->fatal)
            goto out;
    }
out:
    csv_free(&c);
}

/* ---- JSON ---- */

static void parse_json(struct hr *h, const char *data, size_t len)
{
    json_error_t e;
    json_t *top = json_loadb(data, len, JSON_REJECT_DUPLICATES, &e), *obj;
    size_t i;

    if (!top) {
        add_error(h, e.line > 0 ? (size_t)e.line : 0, "not valid JSON: %s", e.text);
        return;
    }
    if (!json_is_array(top)) {
        add_error(h, 0, "the file must be a JSON array of objects");
        goto out;
    }
    json_array_foreach(top, i, obj)
    {
        struct row rw;
        const char *k;
        json_t *v;
        bool bad = false;
        unsigned given = 0; /* columns seen, whatever their case */

        if (!count_row(h, i + 1))
            goto out;
        memset(&rw, 0, sizeof(rw));
        rw.line = i + 1;
        if (!json_is_object(obj)) {
            add_error(h, rw.line, "element is not an object");
            continue;
        }
        json_object_foreach(obj, k, v)
        {
            int col = -1;

            for (int c = 0; c < COL_COUNT; c++)
                if (strcasecmp(k, col_names[c]) == 0)
                    col = c;
            if (col < 0) {
                char show[80];

                shown(show, sizeof(show), k, strlen(k));
                add_error(h, rw.line, "unknown key \"%s\"", show);
                bad = true;
            } else if (given & (1u << col)) {
                add_error(h, rw.line, "key %s appears twice", col_names[col]);
                bad = true;
            } else {
                given |= 1u << col;
                if (json_is_null(v))
                    continue; /* the same as leaving the key out */
                if (col == COL_GROUPS && json_is_array(v)) {
                    rw.groups_array = v;
                } else if (!json_is_string(v)) {
                    add_error(h, rw.line, "%s must be a string", col_names[col]);
                    bad = rw.refused[col] = true;
                } else {
                    rw.s[col] = json_string_value(v);
                    rw.len[col] = json_string_length(v);
                }
            }
        }
        rw.bad = bad; /* the other keys of this element are still checked */
        row_record(h, &rw);
        if (h->fatal)
            goto out;
    }
out:
    json_decref(top);
}

/* ---- whole-file checks ---- */

static void check_managers(struct hr *h)
{
    const json_t *rec;
    size_t i;

    json_array_foreach(h->records, i, rec)
    {
        const char *m = gov_json_str(rec, "manager");

        if (m && !json_object_get(h->seen, m))
            add_error(h, (size_t)gov_json_int(rec, "line", 0),
                      "manager %s of %s is not in the file", m, gov_json_str(rec, "id"));
    }
}

/* "a -> b -> c -> a", starting at cyc[from], at most HR_CYCLE_SHOWN ids. */
static void cycle_text(struct buf *b, json_t *records, const size_t *cyc, size_t n, size_t from)
{
    buf_reset(b);
    for (size_t k = 0; k <= n && k <= HR_CYCLE_SHOWN; k++) {
        const char *id = gov_json_str(json_array_get(records, cyc[(from + k) % n]), "id");

        if (k == HR_CYCLE_SHOWN && k < n) {
            (void)!buf_printf(b, " -> ... (%zu identities)", n);
            break;
        }
        (void)!buf_printf(b, "%s%s", k ? " -> " : "", id);
    }
}

/*
 * Each identity has at most one manager, so following managers from any row
 * either ends or enters a cycle; a walk marks rows with its own number, and
 * meeting a row of the current walk means a new cycle.  O(rows).
 */
static void check_cycles(struct hr *h)
{
    size_t n = json_array_size(h->records), i;
    size_t *next = NULL, *mark = NULL, *cyc = NULL;
    json_t *index = json_object();
    struct buf msg;
    const json_t *rec;

    buf_init(&msg, 1024);
    if (n == 0)
        goto out;
    next = calloc(n, sizeof(*next));
    mark = calloc(n, sizeof(*mark));
    cyc = calloc(n, sizeof(*cyc));
    if (!next || !mark || !cyc || !index) {
        h->fatal = -ERR_NOMEM;
        goto out;
    }
    json_array_foreach(h->records, i, rec)
    {
        if (json_object_set_new(index, gov_json_str(rec, "id"), json_integer((json_int_t)i)) != 0) {
            h->fatal = -ERR_NOMEM;
            goto out;
        }
    }
    json_array_foreach(h->records, i, rec)
    {
        const char *mgr = gov_json_str(rec, "manager");
        const json_t *m = mgr ? json_object_get(index, mgr) : NULL;

        next[i] = m ? (size_t)json_integer_value(m) : SIZE_MAX;
    }
    for (i = 0; i < n; i++) {
        size_t j = i, len = 0;

        if (mark[i])
            continue;
        while (j != SIZE_MAX && !mark[j]) {
            mark[j] = i + 1;
            j = next[j];
        }
        if (j == SIZE_MAX || mark[j] != i + 1)
            continue;
        /* j is on a new cycle: collect it once. */
        size_t k = j;
        do {
            cyc[len++] = k;
            k = next[k];
        } while (k != j);
        for (size_t s = 0; s < len; s++) {
            cycle_text(&msg, h->records, cyc, len, s);
            add_error(h, (size_t)gov_json_int(json_array_get(h->records, cyc[s]), "line", 0),
                      "manager cycle: %s", msg.data ? msg.data : "");
        }
    }
out:
    buf_fini(&msg);
    free(next);
    free(mark);
    free(cyc);
    json_decref(index);
}

struct err_ref {
    json_int_t line;
    size_t pos;
    json_t *e;
};

static int cmp_err(const void *a, const void *b)
{
    const struct err_ref *x = a, *y = b;

    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Errors in line order (stable), as people read the file. */
static json_t *sorted_errors(json_t *errors)
{
    size_t n = json_array_size(errors), i;
    struct err_ref *v = calloc(n ? n : 1, sizeof(*v));
    json_t *out = json_array(), *e;

    if (!out || !v)
        goto fail;
    json_array_foreach(errors, i, e)
    {
        v[i].line = gov_json_int(e, "line", 0);
        v[i].pos = i;
        v[i].e = e;
    }
    if (n)
        qsort(v, n, sizeof(*v), cmp_err);
    for (i = 0; i < n; i++)
        if (json_array_append(out, v[i].e) != 0)
            goto fail;
    free(v);
    return out;
fail:
    free(v);
    json_decref(out);
    return NULL;
}

int gov_hr_parse(const char *format, const char *data, size_t len, json_t **records,
                 json_t **errors)
{
    int r = -ERR_NOMEM;
    struct hr h = {.records = json_array(), .errors = json_array(), .seen = json_object()};
    json_t *sorted = NULL;

    if (!h.records || !h.errors || !h.seen)
        goto out;
    if (!data)
        len = 0;
    /* A UTF-8 byte order mark is tolerated (spreadsheet exports add one). */
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
        data += 3;
        len -= 3;
    }
    if (!format || (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0))
        add_error(&h, 0, "unknown format \"%.16s\" (csv or json)", format ? format : "");
    else if (len == 0)
        add_error(&h, 0, "the file is empty");
    else if (strcmp(format, "csv") == 0)
        parse_csv(&h, data, len);
    else
        parse_json(&h, data, len);
    if (!h.fatal) {
        check_managers(&h);
        check_cycles(&h);
    }
    if (h.fatal) {
        r = h.fatal;
        goto out;
    }
    if (!(sorted = sorted_errors(h.errors)))
        goto out;
    r = json_array_size(sorted) ? -ERR_PARSE : 0;
    *records = h.records;
    *errors = sorted;
    h.records = sorted = NULL;
out:
    json_decref(h.records);
    json_decref(h.errors);
    json_decref(h.seen);
    json_decref(sorted);
    return r;
}

/* ---- plan ---- */

/* missing, null and "" are the same: no value. */
static json_t *norm_value(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return json_null();
    return json_deep_copy(v);
}

static int diff_record(const json_t *cur, const json_t *rec, json_t *changes)
{
    static const char *const fields[] = {"name", "email", "department", "title", "manager"};
    const char *cs = gov_json_str(cur, "state"), *rs = gov_json_str(rec, "state");
    json_t *a, *b;

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        a = norm_value(cur, fields[i]);
        b = norm_value(rec, fields[i]);
        if (!a || !b) {
            json_decref(a);
            json_decref(b);
            return -ERR_NOMEM;
        }
        if (json_equal(a, b)) {
            json_decref(a);
            json_decref(b);
        } else if (json_object_set_new(changes, fields[i], json_pack("[o, o]", a, b)) != 0) {
            return -ERR_NOMEM;
        }
    }
    a = sorted_set(json_object_get(cur, "groups"));
    b = sorted_set(json_object_get(rec, "groups"));
    if (!a || !b) {
        json_decref(a);
        json_decref(b);
        return -ERR_NOMEM;
    }
    if (json_equal(a, b)) {
        json_decref(a);
        json_decref(b);
    } else if (json_object_set_new(changes, "groups", json_pack("[o, o]", a, b)) != 0) {
        return -ERR_NOMEM;
    }
    /* HR sets active or suspended; it also activates a pending identity. */
    if (cs && rs && strcmp(cs, rs) != 0 &&
        (strcmp(rs, "active") == 0 || strcmp(rs, "suspended") == 0) &&
        (strcmp(cs, "active") == 0 || strcmp(cs, "suspended") == 0 || strcmp(cs, "pending") == 0) &&
        json_object_set_new(changes, "state", json_pack("[s, s]", cs, rs)) != 0)
        return -ERR_NOMEM;
    return 0;
}

static int plan_error(json_t *errors, const json_t *rec, const char *msg)
{
    return json_array_append_new(errors, json_pack("{s:I, s:s}", "line",
                                                   gov_json_int(rec, "line", 0), "message", msg)) !=
                   0
               ? -ERR_NOMEM
               : 0;
}

static int cmp_json_str(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

int gov_hr_plan(const json_t *records, const json_t *current, json_t **plan, json_t **errors)
{
    int r = -ERR_NOMEM;
    json_t *p =
        json_pack("{s:[], s:[], s:[], s:i}", "joiners", "movers", "leavers", "unchanged", 0);
    json_t *errs = json_array(), *in_file = json_object(), *changes = NULL;
    json_t *joiners, *movers, *leavers, **sorted = NULL;
    json_int_t unchanged = 0;
    const json_t *rec, *cur;
    const char *id;
    size_t i, n = 0;
    char msg[128];

    if (!p || !errs || !in_file)
        goto out;
    joiners = json_object_get(p, "joiners");
    movers = json_object_get(p, "movers");
    leavers = json_object_get(p, "leavers");
    json_array_foreach(records, i, rec)
    {
        const char *st = gov_json_str(rec, "state"), *cst;
        bool leaving = st && strcmp(st, "left") == 0;

        id = gov_json_str(rec, "id");
        if (!gov_name_is_valid(id)) {
            if ((r = plan_error(errs, rec, "record without a valid id")) != 0)
                goto out;
            continue;
        }
        if (json_object_get(in_file, id)) {
            snprintf(msg, sizeof(msg), "duplicate id %s", id);
            if ((r = plan_error(errs, rec, msg)) != 0)
                goto out;
            continue;
        }
        if (json_object_set_new(in_file, id, json_true()) != 0)
            goto out;
        cur = json_object_get(current, id);
        cst = gov_json_str(cur, "state");
        if (!cur) {
            if (!leaving && json_array_append_new(joiners, json_deep_copy(rec)) != 0)
                goto out;
        } else if (cst && strcmp(cst, "left") == 0) {
            if (leaving)
                unchanged++;
            else {
                snprintf(msg, sizeof(msg), "%s has left; an id is never reused", id);
                if ((r = plan_error(errs, rec, msg)) != 0)
                    goto out;
            }
        } else if (leaving) {
            if (json_array_append_new(leavers, json_string(id)) != 0)
                goto out;
        } else {
            if (!(changes = json_object()) || diff_record(cur, rec, changes) != 0)
                goto out;
            if (json_object_size(changes) == 0) {
                unchanged++;
            } else if (json_array_append_new(movers, json_pack("{s:s, s:O, s:o}", "id", id,
                                                               "changes", changes, "record",
                                                               json_deep_copy(rec))) != 0) {
                goto out;
            }
            json_decref(changes);
            changes = NULL;
        }
    }
    /* HR-sourced identities the file no longer lists have left. */
    json_object_foreach((json_t *)current, id, cur)
    {
        const char *src = gov_json_str(cur, "source"), *cst = gov_json_str(cur, "state");

        if (!json_object_get(in_file, id) && src && strcmp(src, "hr") == 0 &&
            !(cst && strcmp(cst, "left") == 0) && json_array_append_new(leavers, json_string(id)))
            goto out;
    }
    n = json_array_size(leavers);
    if (n > 1) {
        if (!(sorted = calloc(n, sizeof(*sorted))))
            goto out;
        for (i = 0; i < n; i++)
            sorted[i] = json_incref(json_array_get(leavers, i));
        qsort(sorted, n, sizeof(*sorted), cmp_json_str);
        json_array_clear(leavers);
        for (i = 0; i < n; i++)
            if (json_array_append(leavers, sorted[i]) != 0)
                goto out;
    }
    if (json_object_set_new(p, "unchanged", json_integer(unchanged)) != 0)
        goto out;
    if (json_array_size(errs) > 0) {
        r = -ERR_PARSE;
        *plan = NULL;
        *errors = errs;
        errs = NULL;
        goto out;
    }
    *plan = p;
    *errors = errs;
    p = errs = NULL;
    r = 0;
out:
    if (sorted)
        for (i = 0; i < n; i++)
            json_decref(sorted[i]);
    free(sorted);
    json_decref(changes);
    json_decref(p);
    json_decref(errs);
    json_decref(in_file);
    return r;
}
