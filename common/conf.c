/* SPDX-License-Identifier: Apache-2.0 */
/* Table-driven INI loader over libinih, with sample, Markdown and effective-config printers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <sodium.h>

#include "custos/conf.h"
#include "custos/log.h"

#define MSG_MAX 512
#define DOC_WIDTH 96

static const struct {
    const char *name;
    int lvl;
} level_names[] = {
    {"err", LOG_LVL_ERR},
    {"warn", LOG_LVL_WARN},
    {"info", LOG_LVL_INFO},
    {"debug", LOG_LVL_DEBUG},
};

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;

    if (!msg || msglen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

static void *field_of(const struct conf_key *k, void *base)
{
    return (char *)base + k->offset;
}

static const void *cfield_of(const struct conf_key *k, const void *base)
{
    return (const char *)base + k->offset;
}

static bool is_string_type(enum conf_type t)
{
    return t == CONF_STRING || t == CONF_PATH;
}

static const struct conf_section *section_find(const struct conf_schema *s, const char *name)
{
    for (size_t i = 0; i < s->n_sections; i++)
        if (strcmp(s->sections[i].name, name) == 0)
            return &s->sections[i];
    return NULL;
}

const struct conf_key *conf_key_find(const struct conf_schema *s, const char *section,
                                     const char *key)
{
    for (size_t i = 0; i < s->n_keys; i++)
        if (strcmp(s->keys[i].section, section) == 0 && strcmp(s->keys[i].key, key) == 0)
            return &s->keys[i];
    return NULL;
}

static void string_free(char *p, bool sensitive)
{
    if (p && sensitive)
        sodium_memzero(p, strlen(p));
    free(p);
}

static unsigned long long type_max(const struct conf_key *k)
{
    if (k->type == CONF_U64)
        return ULLONG_MAX;
    if (k->type == CONF_SIZE)
        return SIZE_MAX;
    return UINT_MAX;
}

/* The inclusive range of a numeric key. */
static void key_range(const struct conf_key *k, unsigned long long *lo, unsigned long long *hi)
{
    unsigned long long tmax = type_max(k);

    *lo = k->min;
    *hi = k->max == 0 || k->max > tmax ? tmax : k->max;
}

/* "64K", "1G", or plain bytes when not a whole multiple. */
static void format_size(unsigned long long v, char *out, size_t outlen)
{
    static const char units[] = "GMK";
    static const unsigned shifts[] = {30, 20, 10};

    for (size_t i = 0; i < 3; i++) {
        unsigned long long m = 1ull << shifts[i];

        if (v >= m && v % m == 0) {
            snprintf(out, outlen, "%llu%c", v / m, units[i]);
            return;
        }
    }
    snprintf(out, outlen, "%llu", v);
}

static void format_num(const struct conf_key *k, unsigned long long v, char *out, size_t outlen)
{
    if (k->type == CONF_SIZE)
        format_size(v, out, outlen);
    else
        snprintf(out, outlen, "%llu", v);
}

/* "integer, 1..65536", "size, >= 8K", ... */
static void type_desc(const struct conf_key *k, char *out, size_t outlen)
{
    unsigned long long lo, hi, tmax;
    char a[32], b[32];
    const char *name = "value";

    switch (k->type) {
    case CONF_STRING:
        name = "string";
        break;
    case CONF_PATH:
        name = "absolute path";
        break;
    case CONF_BOOL:
        name = "boolean";
        break;
    case CONF_UINT:
    case CONF_U64:
        name = "integer";
        break;
    case CONF_SIZE:
        name = "size (K, M, G suffixes)";
        break;
    case CONF_MODE:
        name = "octal mode";
        break;
    case CONF_LOG_LEVEL:
        name = "log level (err, warn, info, debug)";
        break;
    case CONF_CUSTOM:
        name = k->type_doc ? k->type_doc : "value";
        break;
    }
    if (k->type != CONF_UINT && k->type != CONF_U64 && k->type != CONF_SIZE) {
        snprintf(out, outlen, "%s", name);
        return;
    }
    key_range(k, &lo, &hi);
    tmax = type_max(k);
    format_num(k, lo, a, sizeof(a));
    format_num(k, hi, b, sizeof(b));
    if (lo == 0 && hi == tmax)
        snprintf(out, outlen, "%s", name);
    else if (hi == tmax)
        snprintf(out, outlen, "%s, >= %s", name, a);
    else
        snprintf(out, outlen, "%s, %s..%s", name, a, b);
}

/* Decimal digits only: strtoull alone would take spaces, signs and wrap "-1". */
static bool parse_decimal(const char *v, size_t n, unsigned long long *out)
{
    unsigned long long x = 0;

    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned d;

        if (v[i] < '0' || v[i] > '9')
            return false;
        d = (unsigned)(v[i] - '0');
        if (x > (ULLONG_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *out = x;
    return true;
}

static bool parse_size(const char *v, unsigned long long *out)
{
    size_t n = strlen(v);
    unsigned shift = 0;
    unsigned long long x;

    if (n > 1) {
        switch (v[n - 1]) {
        case 'K':
        case 'k':
            shift = 10;
            break;
        case 'M':
        case 'm':
            shift = 20;
            break;
        case 'G':
        case 'g':
            shift = 30;
            break;
        default:
            break;
        }
    }
    if (!parse_decimal(v, shift ? n - 1 : n, &x))
        return false;
    if (shift && x > (ULLONG_MAX >> shift))
        return false;
    *out = x << shift;
    return true;
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool parse_mode(const char *v, unsigned *out)
{
    unsigned x = 0;
    size_t n = strlen(v);

    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '7')
            return false;
        x = x * 8 + (unsigned)(v[i] - '0');
    }
    if (x > 07777)
        return false;
    *out = x;
    return true;
}

/*
 * Parse `value` for key k into base.  On error, msg says what was expected;
 * the value itself is quoted only for keys that are not sensitive.
 */
static int value_set(const struct conf_key *k, void *base, const char *value, char *msg,
                     size_t msglen)
{
    void *f = field_of(k, base);
    bool sensitive = k->flags & CONF_SENSITIVE;
    unsigned long long x = 0, lo, hi;
    char desc[96];
    int r = -ERR_CONFIG;

    switch (k->type) {
    case CONF_STRING:
    case CONF_PATH: {
        char *dup;

        if (k->type == CONF_PATH && value[0] != '\0' && value[0] != '/')
            goto bad;
        if (k->type == CONF_PATH && strlen(value) >= PATH_MAX)
            goto bad;
        r = -ERR_NOMEM;
        if (!(dup = strdup(value))) {
            set_msg(msg, msglen, "out of memory");
            goto out;
        }
        string_free(*(char **)f, sensitive);
        *(char **)f = dup;
        break;
    }
    case CONF_BOOL:
        if (!parse_bool(value, (bool *)f))
            goto bad;
        break;
    case CONF_UINT:
    case CONF_U64:
    case CONF_SIZE:
        if (k->type == CONF_SIZE ? !parse_size(value, &x)
                                 : !parse_decimal(value, strlen(value), &x))
            goto bad;
        key_range(k, &lo, &hi);
        if (x < lo || x > hi)
            goto bad;
        if (k->type == CONF_UINT)
            *(unsigned *)f = (unsigned)x;
        else if (k->type == CONF_U64)
            *(unsigned long long *)f = x;
        else
            *(size_t *)f = (size_t)x;
        break;
    case CONF_MODE:
        if (!parse_mode(value, (unsigned *)f))
            goto bad;
        break;
    case CONF_LOG_LEVEL: {
        enum log_level lvl;

        if (log_level_parse(value, &lvl) != 0)
            goto bad;
        *(int *)f = (int)lvl;
        break;
    }
    case CONF_CUSTOM:
        if (!k->parse) {
            set_msg(msg, msglen, "no parser for this key");
            r = -ERR_INTERNAL;
            goto out;
        }
        if ((r = k->parse(k, base, value, msg, msglen)) != 0)
            goto out;
        break;
    }
    if (k->check && (r = k->check(k, base, msg, msglen)) != 0)
        goto out;
    r = 0;
    goto out;
bad:
    type_desc(k, desc, sizeof(desc));
    if (sensitive)
        set_msg(msg, msglen, "expected %s", desc);
    else
        set_msg(msg, msglen, "expected %s, got '%s'", desc, value);
out:
    return r;
}

/* A key without a default: strings NULL, numbers 0; custom fields are left to open(). */
static void value_clear(const struct conf_key *k, void *base)
{
    void *f = field_of(k, base);

    switch (k->type) {
    case CONF_STRING:
    case CONF_PATH:
        string_free(*(char **)f, k->flags & CONF_SENSITIVE);
        *(char **)f = NULL;
        break;
    case CONF_BOOL:
        *(bool *)f = false;
        break;
    case CONF_UINT:
    case CONF_MODE:
        *(unsigned *)f = 0;
        break;
    case CONF_U64:
        *(unsigned long long *)f = 0;
        break;
    case CONF_SIZE:
        *(size_t *)f = 0;
        break;
    case CONF_LOG_LEVEL:
        *(int *)f = 0;
        break;
    case CONF_CUSTOM:
        break;
    }
}

/* Defaults for every key of one section; msg gets "key: ..." on a bad default. */
static int section_defaults(const struct conf_schema *s, const char *section, void *base, char *msg,
                            size_t msglen)
{
    char m[MSG_MAX];
    int r;

    for (size_t i = 0; i < s->n_keys; i++) {
        const struct conf_key *k = &s->keys[i];

        if (strcmp(k->section, section) != 0)
            continue;
        if (!k->def) {
            value_clear(k, base);
            continue;
        }
        if ((r = value_set(k, base, k->def, m, sizeof(m))) != 0) {
            set_msg(msg, msglen, "default of [%s] %s: %s", section, k->key, m);
            return r == -ERR_NOMEM ? r : -ERR_CONFIG;
        }
    }
    return 0;
}

int conf_defaults(const struct conf_schema *s, void *obj, char *err, size_t errlen)
{
    int r = 0;

    for (size_t i = 0; i < s->n_sections && r == 0; i++)
        if (!s->sections[i].open)
            r = section_defaults(s, s->sections[i].name, obj, err, errlen);
    return r;
}

static bool value_is_set(const struct conf_key *k, const void *base, unsigned seen_line)
{
    if (is_string_type(k->type)) {
        const char *v = *(char *const *)cfield_of(k, base);

        return v && *v;
    }
    return seen_line != 0;
}

/* ---- loading ---------------------------------------------------------------------------- */

struct loader {
    const struct conf_schema *s;
    void *obj;
    const char *name; /* file name for messages */
    const char *text;
    size_t len;
    size_t pos;
    unsigned lineno;
    unsigned *seen; /* per key: line where it was set, 0 if not */
    const struct conf_section *cur;
    void *cur_base;
    unsigned cur_line;
    char cur_header[CONF_SECTION_MAX + 1]; /* text between the brackets, as inih sees it */
    int r;
    char *err;
    size_t errlen;
};

static void fail(struct loader *L, int r, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record the first error as "file:line: message"; later ones are consequences. */
static void fail(struct loader *L, int r, unsigned line, const char *fmt, ...)
{
    char m[MSG_MAX];
    va_list ap;

    if (L->r != 0)
        return;
    L->r = r;
    va_start(ap, fmt);
    vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    if (line)
        set_msg(L->err, L->errlen, "%s:%u: %s", L->name, line, m);
    else
        set_msg(L->err, L->errlen, "%s: %s", L->name, m);
}

static int as_config_err(int r)
{
    return r == -ERR_NOMEM ? r : -ERR_CONFIG;
}

/* Finish a repeated section: its required keys, then the owner's close(). */
static void section_close(struct loader *L)
{
    const struct conf_section *sec = L->cur;
    char m[MSG_MAX] = "";
    int r;

    L->cur = NULL;
    if (!sec || !sec->open)
        return;
    for (size_t i = 0; i < L->s->n_keys; i++) {
        const struct conf_key *k = &L->s->keys[i];

        if (strcmp(k->section, sec->name) == 0 && (k->flags & CONF_REQUIRED) &&
            !value_is_set(k, L->cur_base, L->seen[i])) {
            fail(L, -ERR_CONFIG, L->cur_line, "[%s]: missing required key '%s'", L->cur_header,
                 k->key);
            return;
        }
    }
    if (sec->close && (r = sec->close(L->obj, L->cur_base, m, sizeof(m))) != 0)
        fail(L, as_config_err(r), L->cur_line, "[%s]: %s", L->cur_header, m);
}

static void section_open(struct loader *L, const char *hdr, size_t n)
{
    const struct conf_section *sec = NULL;
    char word[CONF_SECTION_MAX + 1], name[CONF_SECTION_MAX + 1], m[MSG_MAX] = "";
    const char *item = NULL;
    void *base = NULL;
    size_t wl, il;
    int r;

    section_close(L);
    if (L->r)
        return;
    if (n > CONF_SECTION_MAX) {
        fail(L, -ERR_CONFIG, L->lineno, "section name too long (max %d characters)",
             CONF_SECTION_MAX);
        return;
    }
    memcpy(L->cur_header, hdr, n);
    L->cur_header[n] = '\0';
    /* [name] or [name ITEM] */
    wl = strcspn(L->cur_header, " \t");
    memcpy(word, L->cur_header, wl);
    word[wl] = '\0';
    item = L->cur_header + wl;
    item += strspn(item, " \t");
    sec = section_find(L->s, word);
    if (!sec || (!sec->open && *item)) {
        fail(L, -ERR_CONFIG, L->lineno, "unknown section [%s]", L->cur_header);
        return;
    }
    if (!sec->open) {
        L->cur = sec;
        L->cur_base = L->obj;
        L->cur_line = L->lineno;
        return;
    }
    if (!*item) {
        fail(L, -ERR_CONFIG, L->lineno, "section [%s] needs a name: [%s NAME]", word, word);
        return;
    }
    /* The item name stops at trailing blanks (inih keeps them in the section text). */
    il = strlen(item);
    while (il > 0 && (item[il - 1] == ' ' || item[il - 1] == '\t'))
        il--;
    memcpy(name, item, il);
    name[il] = '\0';
    if ((r = sec->open(L->obj, name, &base, m, sizeof(m))) != 0) {
        fail(L, as_config_err(r), L->lineno, "[%s]: %s", L->cur_header, m);
        return;
    }
    if ((r = section_defaults(L->s, sec->name, base, m, sizeof(m))) != 0) {
        fail(L, r, L->lineno, "%s", m);
        return;
    }
    for (size_t i = 0; i < L->s->n_keys; i++)
        if (strcmp(L->s->keys[i].section, sec->name) == 0)
            L->seen[i] = 0;
    L->cur = sec;
    L->cur_base = base;
    L->cur_line = L->lineno;
}

/* inih's find_chars_or_comment: stop at one of chars, or at ';' after a blank, or at the end. */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
    bool was_space = false;

    while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
        was_space = *s == ' ' || *s == '\t' || *s == '\v' || *s == '\f' || *s == '\r';
        s++;
    }
    return s;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * The fgets-style reader inih pulls lines through.  It counts lines (the
 * handler has no line number in the distro build), strips leading blanks so
 * an indented key is a key and not a continuation, rejects NUL bytes and
 * over-long lines instead of letting inih split them, and sees section
 * headers before inih does so that empty and unknown sections are caught.
 */
static char *read_line(char *str, int num, void *stream)
{
    struct loader *L = stream;
    const char *p, *end, *nl;
    size_t n;

    if (L->r != 0 || L->pos >= L->len)
        return NULL;
    p = L->text + L->pos;
    nl = memchr(p, '\n', L->len - L->pos);
    end = nl ? nl : L->text + L->len;
    L->pos = (size_t)(end - L->text) + (nl ? 1 : 0);
    L->lineno++;
    if (memchr(p, '\0', (size_t)(end - p))) {
        fail(L, -ERR_CONFIG, L->lineno, "NUL byte in line");
        return NULL;
    }
    if (L->lineno == 1 && end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (p < end && is_blank(*p))
        p++;
    while (end > p && is_blank(end[-1]))
        end--;
    n = (size_t)(end - p);
    if (num < 3 || n > (size_t)num - 2) {
        fail(L, -ERR_CONFIG, L->lineno, "line too long (max %d characters)", num - 2);
        return NULL;
    }
    memcpy(str, p, n);
    str[n] = '\n';
    str[n + 1] = '\0';
    if (n == 0 || str[0] == '#' || str[0] == ';')
        return str;
    str[n] = '\0'; /* for the scans below; restored before returning */
    if (str[0] == '[') {
        const char *close = find_chars_or_comment(str + 1, "]");
        const char *rest;

        if (*close != ']') {
            fail(L, -ERR_CONFIG, L->lineno, "malformed section header (no ']')");
            return NULL;
        }
        rest = close + 1;
        while (is_blank(*rest))
            rest++;
        if (*rest && *rest != ';' && *rest != '#') {
            fail(L, -ERR_CONFIG, L->lineno, "unexpected text after section header");
            return NULL;
        }
        section_open(L, str + 1, (size_t)(close - (str + 1)));
        if (L->r)
            return NULL;
    } else {
        const char *eq = find_chars_or_comment(str, "=:");

        if (*eq != '=' && *eq != ':') {
            fail(L, -ERR_CONFIG, L->lineno, "expected 'key = value'");
            return NULL;
        }
    }
    str[n] = '\n';
    return str;
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
    struct loader *L = user;
    char m[MSG_MAX] = "";
    size_t idx;
    int r;

    if (L->r)
        return 0;
    if (!L->cur) {
        fail(L, -ERR_CONFIG, L->lineno, "key '%s' outside any section", name);
        return 0;
    }
    if (strcmp(section, L->cur_header) != 0) {
        /* The reader and inih disagree on where a section starts: a bug here, not in the file. */
        fail(L, -ERR_INTERNAL, L->lineno, "section tracking lost");
        return 0;
    }
    for (idx = 0; idx < L->s->n_keys; idx++)
        if (strcmp(L->s->keys[idx].section, L->cur->name) == 0 &&
            strcmp(L->s->keys[idx].key, name) == 0)
            break;
    if (idx == L->s->n_keys) {
        fail(L, -ERR_CONFIG, L->lineno, "unknown key '%s' in [%s]", name, L->cur_header);
        return 0;
    }
    if (L->seen[idx]) {
        fail(L, -ERR_CONFIG, L->lineno, "key '%s' in [%s] already set on line %u", name,
             L->cur_header, L->seen[idx]);
        return 0;
    }
    if ((r = value_set(&L->s->keys[idx], L->cur_base, value, m, sizeof(m))) != 0) {
        fail(L, as_config_err(r), L->lineno, "[%s] %s: %s", L->cur_header, name, m);
        return 0;
    }
    L->seen[idx] = L->lineno;
    return 1;
}

static int load_text(const struct conf_schema *s, void *obj, const char *name, const char *text,
                     size_t len, char *err, size_t errlen)
{
    struct loader L = {.s = s, .obj = obj, .name = name, .text = text, .len = len};
    int r;

    L.err = err;
    L.errlen = errlen;
    if (!(L.seen = calloc(s->n_keys ? s->n_keys : 1, sizeof(*L.seen)))) {
        fail(&L, -ERR_NOMEM, 0, "out of memory");
        goto out;
    }
    r = ini_parse_stream(read_line, &L, on_pair, &L);
    if (L.r)
        goto out;
    if (r == -2) {
        fail(&L, -ERR_NOMEM, 0, "out of memory");
        goto out;
    }
    if (r != 0) {
        fail(&L, -ERR_CONFIG, r > 0 ? (unsigned)r : 0, "syntax error");
        goto out;
    }
    section_close(&L);
    for (size_t i = 0; i < s->n_keys && !L.r; i++) {
        const struct conf_key *k = &s->keys[i];
        const struct conf_section *sec = section_find(s, k->section);

        if ((k->flags & CONF_REQUIRED) && sec && !sec->open && !value_is_set(k, obj, L.seen[i]))
            fail(&L, -ERR_CONFIG, 0, "missing required key '%s' in [%s]", k->key, k->section);
    }
out:
    free(L.seen);
    return L.r;
}

int conf_load_string(const struct conf_schema *s, void *obj, const char *name, const char *text,
                     char *err, size_t errlen)
{
    if (!text) {
        set_msg(err, errlen, "%s: no text", name ? name : "<string>");
        return -ERR_INVAL;
    }
    return load_text(s, obj, name ? name : "<string>", text, strlen(text), err, errlen);
}

int conf_load_file(const struct conf_schema *s, void *obj, const char *path, char *err,
                   size_t errlen)
{
    int r = -ERR_IO, fd = -1;
    char *text = NULL;
    size_t len = 0, cap;
    struct stat st;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0 || fstat(fd, &st) != 0) {
        set_msg(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        set_msg(err, errlen, "%s: not a regular file", path);
        goto out;
    }
    /*
     * The file decides who may do what: anyone able to edit it, or to chmod
     * it, owns the vault.  So only root or the daemon's own user may own it,
     * and neither group nor others may write it (reading is fine: no secret
     * belongs in it).
     */
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        r = -ERR_CONFIG;
        set_msg(err, errlen,
                "%s: owned by uid %u, neither root nor this daemon; refusing to use it", path,
                (unsigned)st.st_uid);
        goto out;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        r = -ERR_CONFIG;
        set_msg(err, errlen, "%s: is writable by %s (mode %04o); refusing to use it", path,
                st.st_mode & S_IWOTH ? "everyone" : "its group", (unsigned)(st.st_mode & 07777));
        goto out;
    }
    if (st.st_size > CONF_FILE_MAX) {
        r = -ERR_CONFIG;
        set_msg(err, errlen, "%s: larger than %u bytes", path, CONF_FILE_MAX);
        goto out;
    }
    /* Sized from fstat (+1 to notice growth), not CONF_FILE_MAX: loads are frequent in tests. */
    cap = (size_t)st.st_size + 1;
    r = -ERR_NOMEM;
    if (!(text = malloc(cap))) {
        set_msg(err, errlen, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, text + len, cap - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -ERR_IO;
            set_msg(err, errlen, "%s: cannot read: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap) {
            r = -ERR_CONFIG;
            set_msg(err, errlen, "%s: changed while it was being read", path);
            goto out;
        }
    }
    r = load_text(s, obj, path, text, len, err, errlen);
out:
    if (fd >= 0)
        close(fd);
    if (text) /* it may hold a CONF_SENSITIVE value */
        sodium_memzero(text, len);
    free(text);
    return r;
}

static void fields_free(const struct conf_schema *s, const char *section, void *base)
{
    for (size_t i = 0; i < s->n_keys; i++) {
        const struct conf_key *k = &s->keys[i];

        if (strcmp(k->section, section) == 0 && is_string_type(k->type)) {
            char **f = field_of(k, base);

            string_free(*f, k->flags & CONF_SENSITIVE);
            *f = NULL;
        }
    }
}

void conf_fini(const struct conf_schema *s, void *obj)
{
    if (!obj)
        return;
    for (size_t i = 0; i < s->n_sections; i++)
        if (!s->sections[i].open)
            fields_free(s, s->sections[i].name, obj);
}

void conf_section_fini(const struct conf_schema *s, const char *section, void *base)
{
    if (base)
        fields_free(s, section, base);
}

/* ---- printing --------------------------------------------------------------------------- */

static void value_print(const struct conf_key *k, const void *base, FILE *f)
{
    const void *p = cfield_of(k, base);
    char tmp[32];

    if (k->flags & CONF_SENSITIVE) {
        fputs("<redacted>", f);
        return;
    }
    switch (k->type) {
    case CONF_STRING:
    case CONF_PATH:
        fputs(*(char *const *)p ? *(char *const *)p : "", f);
        break;
    case CONF_BOOL:
        fputs(*(const bool *)p ? "true" : "false", f);
        break;
    case CONF_UINT:
        fprintf(f, "%u", *(const unsigned *)p);
        break;
    case CONF_U64:
        fprintf(f, "%llu", *(const unsigned long long *)p);
        break;
    case CONF_SIZE:
        format_size(*(const size_t *)p, tmp, sizeof(tmp));
        fputs(tmp, f);
        break;
    case CONF_MODE:
        fprintf(f, "%04o", *(const unsigned *)p);
        break;
    case CONF_LOG_LEVEL:
        for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
            if (level_names[i].lvl == *(const int *)p)
                fputs(level_names[i].name, f);
        break;
    case CONF_CUSTOM:
        if (k->print)
            k->print(k, base, f);
        break;
    }
}

static void keys_print(const struct conf_schema *s, const char *section, const void *base, FILE *f)
{
    for (size_t i = 0; i < s->n_keys; i++) {
        const struct conf_key *k = &s->keys[i];

        if (strcmp(k->section, section) != 0)
            continue;
        fprintf(f, "%s = ", k->key);
        value_print(k, base, f);
        fputc('\n', f);
    }
}

void conf_print(const struct conf_schema *s, const void *obj, FILE *f)
{
    bool first = true;

    for (size_t i = 0; i < s->n_sections; i++) {
        if (s->sections[i].open)
            continue;
        fprintf(f, "%s[%s]\n", first ? "" : "\n", s->sections[i].name);
        keys_print(s, s->sections[i].name, obj, f);
        first = false;
    }
}

void conf_print_section(const struct conf_schema *s, const char *section, const char *name,
                        const void *base, FILE *f)
{
    fprintf(f, "\n[%s%s%s]\n", section, name ? " " : "", name ? name : "");
    keys_print(s, section, base, f);
}

/* Word-wrap text after `prefix` to DOC_WIDTH columns. */
static void print_wrapped(FILE *f, const char *prefix, const char *text)
{
    size_t col = 0, plen = strlen(prefix);

    while (*text) {
        size_t w = strcspn(text, " ");

        if (col == 0) {
            fputs(prefix, f);
            col = plen;
        } else if (col + 1 + w > DOC_WIDTH) {
            fputc('\n', f);
            fputs(prefix, f);
            col = plen;
        } else {
            fputc(' ', f);
            col++;
        }
        fwrite(text, 1, w, f);
        col += w;
        text += w;
        text += strspn(text, " ");
    }
    if (col)
        fputc('\n', f);
}

/* The default as documented: def_doc, def, or NULL when there is none. */
static const char *default_text(const struct conf_key *k)
{
    return k->def_doc ? k->def_doc : k->def;
}

void conf_print_sample(const struct conf_schema *s, FILE *f)
{
    char desc[128];

    for (size_t i = 0; i < s->n_sections; i++) {
        const struct conf_section *sec = &s->sections[i];

        fputc('\n', f);
        if (sec->open) {
            fprintf(f, "# [%s NAME] (repeat for each %s)\n", sec->name, sec->name);
            if (sec->doc)
                print_wrapped(f, "# ", sec->doc);
            fprintf(f, "#[%s %s]\n", sec->name, sec->example ? sec->example : "NAME");
        } else {
            if (sec->doc)
                print_wrapped(f, "# ", sec->doc);
            fprintf(f, "[%s]\n", sec->name);
        }
        for (size_t j = 0; j < s->n_keys; j++) {
            const struct conf_key *k = &s->keys[j];
            const char *def = default_text(k);
            const char *shown;

            if (strcmp(k->section, sec->name) != 0)
                continue;
            type_desc(k, desc, sizeof(desc));
            fputc('\n', f);
            if (k->doc)
                print_wrapped(f, "# ", k->doc);
            fprintf(f, "# Type: %s.", desc);
            if (k->flags & CONF_REQUIRED)
                fputs(" Required.", f);
            else
                fprintf(f, " Default: %s.", !def ? "none" : *def ? def : "empty");
            fputc('\n', f);
            /* A computed default cannot be written as a value: show the example instead. */
            shown = k->def_doc ? NULL : k->def;
            if ((!shown || !*shown) && k->example)
                shown = k->example;
            if (shown && *shown)
                fprintf(f, "#%s = %s\n", k->key, shown);
            else
                fprintf(f, "#%s =\n", k->key);
        }
    }
}

static void md_escaped(FILE *f, const char *text)
{
    for (; *text; text++) {
        if (*text == '|')
            fputc('\\', f);
        fputc(*text, f);
    }
}

void conf_print_markdown(const struct conf_schema *s, FILE *f)
{
    char desc[128];

    for (size_t i = 0; i < s->n_sections; i++) {
        const struct conf_section *sec = &s->sections[i];

        if (i)
            fputc('\n', f);
        if (sec->open)
            fprintf(f, "### `[%s NAME]` (repeatable)\n\n", sec->name);
        else
            fprintf(f, "### `[%s]`\n\n", sec->name);
        if (sec->doc) {
            md_escaped(f, sec->doc);
            fputs("\n\n", f);
        }
        fputs("| Key | Type | Default | Description |\n|---|---|---|---|\n", f);
        for (size_t j = 0; j < s->n_keys; j++) {
            const struct conf_key *k = &s->keys[j];
            const char *def = default_text(k);

            if (strcmp(k->section, sec->name) != 0)
                continue;
            type_desc(k, desc, sizeof(desc));
            fprintf(f, "| `%s` | ", k->key);
            md_escaped(f, desc);
            fputs(" | ", f);
            if (k->flags & CONF_REQUIRED)
                fputs("*required*", f);
            else if (!def)
                fputs("(none)", f);
            else if (*def)
                fprintf(f, "`%s`", def);
            else
                fputs("(empty)", f);
            fputs(" | ", f);
            if (k->doc)
                md_escaped(f, k->doc);
            if (k->flags & CONF_SENSITIVE)
                fputs(" Printed as `<redacted>`.", f);
            fputs(" |\n", f);
        }
    }
}
