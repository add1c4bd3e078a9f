/* SPDX-License-Identifier: Apache-2.0 */
/* The custos@broker menu: a numbered list to connect or request, on the admin's raw pty. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/buf.h"
#include "custos/gov.h"
#include "custos/log.h"
#include "selfmenu.h"
#include "selfsvc.h"

/* Longest line the admin may type (account, duration, reason, choice). */
#define SELFMENU_FIELD_MAX 256u
/* Entries listed; the rest is counted (`ssh custos@broker targets` shows all). */
#define SELFMENU_ENTRIES 40u
/* One screen of output at most. */
#define SELFMENU_OUT_MAX (64u << 10)
/* Duration offered when the admin just presses Enter (bounded by the entitlement). */
#define SELFMENU_DEFAULT_DURATION 3600

static const char choice_prompt[] = "Number to connect or request, r to refresh, q to quit: ";

enum entry_kind {
    ENTRY_GRANT,       /* a live grant: a concrete account, connectable now */
    ENTRY_STANDING,    /* a standing role's pattern: connectable now, any matching account */
    ENTRY_REQUESTABLE, /* a requestable entitlement's pattern */
};

struct entry {
    enum entry_kind kind;
    char account[256]; /* account id, or pattern */
    char note[160];    /* grant id and end, or role and approval */
    long long max_duration;
};

enum step {
    STEP_WHO,      /* gov.mfa.check outstanding */
    STEP_LOAD,     /* gov.me outstanding */
    STEP_CHOICE,   /* the prompt under the list */
    STEP_ACCOUNT,  /* which account of the chosen pattern */
    STEP_DURATION, /* for how long (requests) */
    STEP_REASON,   /* why (requests) */
    STEP_FILE,     /* gov.request.create outstanding */
};

enum esc { ESC_NONE, ESC_START, ESC_CSI, ESC_SS3 };

struct selfmenu {
    struct vlink *vault;
    struct selfmenu_io io;
    bool gone;    /* io is never called again: abandoned, done, or connected */
    bool pending; /* a vault call is outstanding: free when it answers */
    enum step step;
    int cols;
    char identity[80];
    struct entry entries[SELFMENU_ENTRIES];
    unsigned n_entries, n_hidden;
    size_t n_todo, n_reviews; /* requests to approve, review items: a hint under the list */
    unsigned chosen;
    char account[SELFMENU_FIELD_MAX + 1];
    long long duration;
    char line[SELFMENU_FIELD_MAX + 1]; /* what is being typed, NUL-terminated */
    size_t len;
    enum esc esc;
    bool after_cr;
    char echo[512]; /* echo of what was typed, written in one go (a paste is one packet) */
    size_t echo_len;
};

/* ---- output ------------------------------------------------------------------ */

static void flush_echo(struct selfmenu *m)
{
    if (!m->gone && m->echo_len)
        m->io.out(m->io.ctx, m->echo, m->echo_len);
    m->echo_len = 0;
}

static void put(struct selfmenu *m, const char *data, size_t len)
{
    flush_echo(m);
    if (!m->gone && len)
        m->io.out(m->io.ctx, data, len);
}

static void echo(struct selfmenu *m, const char *data, size_t len)
{
    if (m->echo_len + len > sizeof(m->echo))
        flush_echo(m);
    memcpy(m->echo + m->echo_len, data, len);
    m->echo_len += len;
}

/*
 * Text for the terminal, in one write: "\n" becomes "\r\n" (the pty is raw)
 * and other control characters, which could come from the vault's strings
 * (reasons are free text), become '?'.
 */
static void show(struct selfmenu *m, const char *text, size_t len)
{
    struct buf o;
    int r = 0;

    buf_init(&o, SELFMENU_OUT_MAX);
    for (size_t i = 0; i < len && r == 0; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n')
            r = buf_append(&o, "\r\n", 2);
        else if (c < 0x20 || c == 0x7f)
            r = buf_append(&o, "?", 1);
        else
            r = buf_append(&o, &text[i], 1);
    }
    put(m, o.data, o.len);
    buf_fini(&o);
}

static void say(struct selfmenu *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct selfmenu *m, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n > 0)
        show(m, text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

static long long default_duration(const struct entry *e)
{
    return e->max_duration > 0 && e->max_duration < SELFMENU_DEFAULT_DURATION
               ? e->max_duration
               : SELFMENU_DEFAULT_DURATION;
}

static void prompt(struct selfmenu *m)
{
    const struct entry *e = &m->entries[m->chosen];
    char d[32];

    switch (m->step) {
    case STEP_CHOICE:
        say(m, "%s", choice_prompt);
        break;
    case STEP_ACCOUNT:
        say(m, "Account [%s]: ", e->account);
        break;
    case STEP_DURATION:
        gov_duration_format(default_duration(e), d, sizeof(d));
        say(m, "Duration (e.g. 30m, 4h) [%s]: ", d);
        break;
    case STEP_REASON:
        say(m, "Reason: ");
        break;
    default:
        break;
    }
}

/* ---- lifetime ------------------------------------------------------------------ */

/* The menu ends: tell the session once. */
static void quit(struct selfmenu *m, int status, const char *errmsg)
{
    if (m->gone)
        return;
    m->gone = true;
    m->io.done(m->io.ctx, status, errmsg);
}

/* Hand the session over to `account`; the menu is finished. */
static void go(struct selfmenu *m, const char *account)
{
    char copy[sizeof(m->account)];

    say(m, "Connecting to %s ...\n", account);
    snprintf(copy, sizeof(copy), "%s", account);
    log_info("menu identity=%s connects to %s", m->identity, copy);
    m->gone = true;
    m->io.connect(m->io.ctx, copy);
}

/* Free the menu once it is finished and no vault answer is due; true if it is gone. */
static bool settle(struct selfmenu *m)
{
    if (!m->gone || m->pending)
        return false;
    free(m);
    return true;
}

static void call(struct selfmenu *m, const char *op, json_t *args, vlink_answer_cb cb)
{
    m->pending = true;
    vlink_call(m->vault, op, args, cb, m);
}

/* A vault answer arrived: false if the menu was abandoned meanwhile (and is freed now). */
static bool answered(struct selfmenu *m)
{
    m->pending = false;
    return !settle(m);
}

/* ---- the list -------------------------------------------------------------------- */

/* The entries of one section (reachable or requestable), numbered from 1 over both. */
static void list_section(struct selfmenu *m, struct buf *b, const char *title, bool requestable)
{
    unsigned shown = 0;

    selfsvc_emit(b, "%s\n", title);
    for (unsigned i = 0; i < m->n_entries; i++) {
        const struct entry *e = &m->entries[i];
        if ((e->kind == ENTRY_REQUESTABLE) != requestable)
            continue;
        selfsvc_emit(b, "%3u) %-28s %s\n", i + 1, e->account, e->note);
        shown++;
    }
    if (!shown)
        selfsvc_emit(b, "     (nothing)\n");
}

static void show_menu(struct selfmenu *m)
{
    struct buf b;
    int rule = m->cols > 20 && m->cols < 72 ? m->cols : 72;

    buf_init(&b, SELFMENU_OUT_MAX);
    selfsvc_emit(&b, "\nCustos self-service for %s\n%.*s\n", m->identity, rule,
                 "------------------------------------------------------------------------");
    list_section(m, &b, "Reachable now:", false);
    list_section(m, &b, "You may request:", true);
    if (m->n_hidden)
        selfsvc_emit(&b, "     (%u more not shown: ssh custos@broker targets)\n", m->n_hidden);
    if (m->n_todo || m->n_reviews)
        selfsvc_emit(&b,
                     "Waiting for you: %zu request(s) to approve, %zu review item(s) "
                     "(ssh custos@broker requests, reviews).\n",
                     m->n_todo, m->n_reviews);
    show(m, b.data, b.len);
    buf_fini(&b);
    m->step = STEP_CHOICE;
    prompt(m);
}

static void add_entry(struct selfmenu *m, enum entry_kind kind, const json_t *o)
{
    struct entry *e;
    char until[32], d[32];

    if (m->n_entries >= SELFMENU_ENTRIES) {
        m->n_hidden++;
        return;
    }
    e = &m->entries[m->n_entries++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    snprintf(e->account, sizeof(e->account), "%s", selfsvc_str(o, "account"));
    e->max_duration = json_integer_value(json_object_get(o, "max_duration"));
    gov_duration_format(e->max_duration, d, sizeof(d));
    if (kind == ENTRY_GRANT) {
        selfsvc_when(json_object_get(o, "expires_at"), until, sizeof(until));
        snprintf(e->note, sizeof(e->note), "grant %s until %s", selfsvc_str(o, "id"), until);
    } else if (kind == ENTRY_STANDING) {
        snprintf(e->note, sizeof(e->note), "standing (role %s)", selfsvc_str(o, "role"));
    } else {
        snprintf(e->note, sizeof(e->note), "up to %s, approval by %s (role %s)", d,
                 selfsvc_str(json_object_get(o, "approval"), "by"), selfsvc_str(o, "role"));
    }
}

static void on_me(void *ctx, int err, json_t *res, const char *errmsg)
{
    struct selfmenu *m = ctx;
    size_t i;
    json_t *o;

    if (!answered(m))
        return;
    if (err) {
        say(m, "Cannot list your access: %s\n", errmsg ? errmsg : "the vault did not answer");
        show_menu(m);
        return;
    }
    m->n_entries = m->n_hidden = 0;
    json_array_foreach(json_object_get(res, "grants"), i, o) add_entry(m, ENTRY_GRANT, o);
    /* Standing patterns (reachable) before requestable ones, so numbers follow the sections. */
    for (int pass = 0; pass < 2; pass++)
        json_array_foreach(json_object_get(res, "entitlements"), i, o)
        {
            bool standing = json_is_true(json_object_get(o, "standing"));
            if (standing == (pass == 0))
                add_entry(m, standing ? ENTRY_STANDING : ENTRY_REQUESTABLE, o);
        }
    m->n_todo = json_array_size(json_object_get(res, "requests_to_approve"));
    m->n_reviews = json_array_size(json_object_get(res, "reviews"));
    show_menu(m);
}

static void load(struct selfmenu *m)
{
    m->step = STEP_LOAD;
    call(m, "gov.me", json_pack("{s:s}", "as", m->identity), on_me);
}

static void on_who(void *ctx, int err, json_t *res, const char *errmsg)
{
    struct selfmenu *m = ctx;
    const char *refusal;

    if (!answered(m))
        return;
    if ((refusal = selfsvc_identity(err, res, errmsg, m->identity, sizeof(m->identity)))) {
        quit(m, 1, refusal);
        settle(m);
        return;
    }
    log_info("menu identity=%s", m->identity);
    load(m);
}

static void on_filed(void *ctx, int err, json_t *res, const char *errmsg)
{
    struct selfmenu *m = ctx;
    struct buf b;

    if (!answered(m))
        return;
    if (err) {
        /* Nothing changed: the list as it was (and no new call on a link that may be closing). */
        say(m, "Refused: %s\n", errmsg ? errmsg : "the vault did not answer");
        show_menu(m);
        return;
    }
    buf_init(&b, SELFMENU_OUT_MAX);
    selfsvc_emit(&b, "Request filed:\n");
    selfsvc_request_line(res, &b);
    show(m, b.data, b.len);
    buf_fini(&b);
    load(m); /* an auto-approved request is reachable at once */
}

/* ---- answers to the prompts ------------------------------------------------------ */

static void choose(struct selfmenu *m, const char *v)
{
    const struct entry *e;
    char *end;
    unsigned long n;

    if (!*v) {
        prompt(m);
        return;
    }
    if (strcmp(v, "q") == 0 || strcmp(v, "quit") == 0 || strcmp(v, "exit") == 0) {
        say(m, "Bye.\n");
        quit(m, 0, NULL);
        return;
    }
    if (strcmp(v, "r") == 0) {
        load(m);
        return;
    }
    n = strtoul(v, &end, 10);
    if (*end || n < 1 || n > m->n_entries) {
        say(m, "Type a number from the list, r or q.\n");
        prompt(m);
        return;
    }
    m->chosen = (unsigned)(n - 1);
    e = &m->entries[m->chosen];
    if (e->kind == ENTRY_GRANT) {
        go(m, e->account);
    } else if (strpbrk(e->account, "*?")) {
        m->step = STEP_ACCOUNT;
        prompt(m);
    } else if (e->kind == ENTRY_STANDING) {
        go(m, e->account);
    } else {
        snprintf(m->account, sizeof(m->account), "%s", e->account);
        m->step = STEP_DURATION;
        prompt(m);
    }
}

static void take_account(struct selfmenu *m, const char *v)
{
    if (!*v) {
        show_menu(m);
        return;
    }
    if (strpbrk(v, "*? ")) {
        say(m, "Type one account, such as root@web01 (no wildcards, no spaces).\n");
        prompt(m);
        return;
    }
    snprintf(m->account, sizeof(m->account), "%s", v);
    if (m->entries[m->chosen].kind == ENTRY_STANDING) {
        go(m, m->account);
        return;
    }
    m->step = STEP_DURATION;
    prompt(m);
}

static void take_duration(struct selfmenu *m, const char *v)
{
    const struct entry *e = &m->entries[m->chosen];
    long long d = default_duration(e);
    char max[32];

    if (*v && gov_duration_parse(v, &d) != 0)
        d = 0;
    if (d <= 0) {
        say(m, "'%s' is not a duration like 30m, 4h or 1d.\n", v);
    } else if (e->max_duration > 0 && d > e->max_duration) {
        gov_duration_format(e->max_duration, max, sizeof(max));
        say(m, "At most %s for %s.\n", max, e->account);
    } else {
        m->duration = d;
        m->step = STEP_REASON;
    }
    prompt(m);
}

static void take_reason(struct selfmenu *m, const char *v)
{
    json_t *args;

    if (strlen(v) < 3) {
        say(m, "A reason is needed (a ticket, what for).\n");
        prompt(m);
        return;
    }
    args = json_pack("{s:s,s:s,s:I,s:s}", "as", m->identity, "account", m->account, "duration",
                     (json_int_t)m->duration, "reason", v);
    if (!args) {
        say(m, "That is not valid UTF-8 text; type it again.\n");
        prompt(m);
        return;
    }
    log_info("menu identity=%s requests %s for %llds", m->identity, m->account, m->duration);
    m->step = STEP_FILE;
    call(m, "gov.request.create", args, on_filed);
}

/* What Enter does at each step that asks something. */
static void (*const answer[])(struct selfmenu *m, const char *v) = {
    [STEP_CHOICE] = choose,
    [STEP_ACCOUNT] = take_account,
    [STEP_DURATION] = take_duration,
    [STEP_REASON] = take_reason,
};

static void submit(struct selfmenu *m)
{
    char v[sizeof(m->line)];
    char *p = v, *e;

    memcpy(v, m->line, m->len + 1);
    m->len = 0;
    m->line[0] = '\0';
    say(m, "\n");
    while (*p == ' ')
        p++;
    for (e = p + strlen(p); e > p && e[-1] == ' '; e--)
        e[-1] = '\0';
    if (m->step < sizeof(answer) / sizeof(answer[0]) && answer[m->step])
        answer[m->step](m, p);
}

/* ---- line editing ------------------------------------------------------------------ */

/* Bytes of the last (UTF-8) character of the line. */
static size_t last_char(const struct selfmenu *m)
{
    size_t n = 1;

    while (n < m->len && ((unsigned char)m->line[m->len - n] & 0xc0) == 0x80)
        n++;
    return n;
}

static void erase_char(struct selfmenu *m)
{
    if (!m->len)
        return;
    m->len -= last_char(m);
    m->line[m->len] = '\0';
    echo(m, "\b \b", 3);
}

/* One escape sequence (arrows, function keys): swallowed; true while inside one. */
static bool in_escape(struct selfmenu *m, unsigned char c)
{
    switch (m->esc) {
    case ESC_NONE:
        if (c != 0x1b)
            return false;
        m->esc = ESC_START;
        return true;
    case ESC_START:
        m->esc = c == '[' ? ESC_CSI : c == 'O' ? ESC_SS3 : ESC_NONE;
        return true;
    case ESC_CSI:
        /* Parameter and intermediate bytes 0x20-0x3f; a final byte (or anything else) ends it. */
        if (c < 0x20 || c > 0x3f)
            m->esc = ESC_NONE;
        return true;
    case ESC_SS3:
        m->esc = ESC_NONE;
        return true;
    }
    return false;
}

static void key(struct selfmenu *m, unsigned char c)
{
    bool after_cr = m->after_cr;

    m->after_cr = false;
    if (in_escape(m, c))
        return;
    if (c == 0x03 || c == 0x04) {
        say(m, "\n");
        quit(m, c == 0x03 ? 130 : 0, NULL);
        return;
    }
    if (m->pending)
        return; /* nothing is asked while the vault is: typing ahead is dropped */
    if (c == '\r' || (c == '\n' && !after_cr)) {
        m->after_cr = c == '\r';
        submit(m);
    } else if (c == 0x7f || c == 0x08) {
        erase_char(m);
    } else if (c == 0x15) {
        while (m->len)
            erase_char(m);
    } else if (c >= 0x20 && c != 0x7f) {
        if (m->len >= SELFMENU_FIELD_MAX) {
            echo(m, "\a", 1);
            return;
        }
        m->line[m->len++] = (char)c;
        m->line[m->len] = '\0';
        echo(m, (const char *)&c, 1);
    }
}

/* ---- API ---------------------------------------------------------------------------- */

struct selfmenu *selfmenu_start(struct vlink *vault, const char *fp, int cols,
                                const struct selfmenu_io *io)
{
    struct selfmenu *m = calloc(1, sizeof(*m));

    if (!m) {
        io->done(io->ctx, 1, "out of memory");
        return NULL;
    }
    m->vault = vault;
    m->io = *io;
    m->cols = cols;
    m->step = STEP_WHO;
    /* Who is asking: the identity of the key that authenticated, as selfsvc does. */
    call(m, "gov.mfa.check", json_pack("{s:s}", "fp", fp), on_who);
    return m;
}

void selfmenu_input(struct selfmenu *m, const char *data, size_t len)
{
    for (size_t i = 0; i < len && !m->gone; i++)
        key(m, (unsigned char)data[i]);
    flush_echo(m);
    settle(m);
}

void selfmenu_abandon(struct selfmenu *m)
{
    if (!m)
        return;
    m->gone = true;
    settle(m);
}
