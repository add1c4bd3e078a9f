/* SPDX-License-Identifier: Apache-2.0 */
/* vaultd.conf: key table, principal sections (users, groups, scopes) and derived defaults. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <sodium.h>

#include "custos/conf.h"
#include "custos/log.h"
#include "custos/ndjson.h"
#include "custos/paths.h"
#include "scopes.h"
#include "vconf.h"

#define PRINCIPAL_NAME_MAX 32
#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
/* Separators of list values: "a, b c". */
#define LIST_SEP ", \t"

static const struct {
    const char *name;
    const char *doc;
    unsigned bit;
} scope_names[] = {
#define SCOPE_ROW(n, s, d) {s, d, SCOPE(n)},
    SCOPE_LIST(SCOPE_ROW)
#undef SCOPE_ROW
};

#define N_SCOPES (sizeof(scope_names) / sizeof(scope_names[0]))

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

/* ---- [principal NAME] ------------------------------------------------------------------- */

static bool is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

static int principal_open(void *obj, const char *name, void **base, char *msg, size_t msglen)
{
    struct vconf *c = obj;
    struct vconf_principal *arr, *p;
    size_t n = strlen(name);

    if (n == 0 || n > PRINCIPAL_NAME_MAX || name[0] == '.' || name[0] == '-') {
        set_msg(msg, msglen, "principal names are 1-%d characters of A-Z a-z 0-9 . _ -",
                PRINCIPAL_NAME_MAX);
        return -ERR_CONFIG;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_name_char(name[i])) {
            set_msg(msg, msglen, "principal names are 1-%d characters of A-Z a-z 0-9 . _ -",
                    PRINCIPAL_NAME_MAX);
            return -ERR_CONFIG;
        }
    }
    for (size_t i = 0; i < c->n_principals; i++) {
        if (strcmp(c->principals[i].name, name) == 0) {
            set_msg(msg, msglen, "principal '%s' defined twice", name);
            return -ERR_CONFIG;
        }
    }
    arr = realloc(c->principals, (c->n_principals + 1) * sizeof(*arr));
    if (!arr) {
        set_msg(msg, msglen, "out of memory");
        return -ERR_NOMEM;
    }
    c->principals = arr;
    p = &arr[c->n_principals];
    memset(p, 0, sizeof(*p));
    if (!(p->name = strdup(name))) {
        set_msg(msg, msglen, "out of memory");
        return -ERR_NOMEM;
    }
    c->n_principals++;
    *base = p;
    return 0;
}

static int principal_close(void *obj, void *base, char *msg, size_t msglen)
{
    struct vconf_principal *p = base;

    if (p->n_uids == 0 && p->n_gids == 0) {
        set_msg(msg, msglen, "matches nobody: set uids or gids");
        return -ERR_CONFIG;
    }
    /* Every known principal may ask for the vault's status (docs/api.md). */
    p->scopes |= SCOPE(STATUS);
    return 0;
}

/* A uid or gid written as a number: 32 bits, and never (id_t)-1, which means "no change". */
static bool parse_id(const char *tok, unsigned *out)
{
    unsigned long long x = 0;

    if (!*tok)
        return false;
    for (const char *p = tok; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        x = x * 10 + (unsigned)(*p - '0');
        if (x >= UINT32_MAX)
            return false;
    }
    *out = (unsigned)x;
    return true;
}

static bool is_all_digits(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

/* Look a user (is_group false) or group name up; 1 found, 0 unknown, negative error. */
static int resolve_name(const char *name, bool is_group, unsigned *out, int *errnum)
{
    size_t len = 4096;
    char *mem = NULL;
    int e, r = -ERR_NOMEM;

    for (;;) {
        struct passwd pw, *pwr = NULL;
        struct group gr, *grr = NULL;
        char *tmp = realloc(mem, len);

        if (!tmp)
            goto out;
        mem = tmp;
        if (is_group)
            e = getgrnam_r(name, &gr, mem, len, &grr);
        else
            e = getpwnam_r(name, &pw, mem, len, &pwr);
        if (e == ERANGE && len < (1u << 24)) {
            len *= 2;
            continue;
        }
        if (e != 0 && e != ENOENT && e != ESRCH) {
            *errnum = e;
            r = -ERR_IO;
            goto out;
        }
        if (is_group ? !grr : !pwr) {
            r = 0;
            goto out;
        }
        *out = is_group ? (unsigned)grr->gr_gid : (unsigned)pwr->pw_uid;
        r = 1;
        goto out;
    }
out:
    free(mem);
    return r;
}

/* uids or gids: "root, 1000 alice". */
static int ids_parse(const char *value, bool is_group, unsigned **out, size_t *n_out, char *msg,
                     size_t msglen)
{
    const char *what = is_group ? "group" : "user";
    unsigned *ids = NULL, *tmp;
    size_t n = 0;
    char *copy = NULL, *save = NULL, *tok;
    int r = -ERR_NOMEM, errnum = 0;

    if (strcmp(value, "none") == 0) {
        /* What ids_print writes for an empty list, so printed configs load back. */
        *out = NULL;
        *n_out = 0;
        return 0;
    }
    if (!(copy = strdup(value))) {
        set_msg(msg, msglen, "out of memory");
        goto out;
    }
    for (tok = strtok_r(copy, LIST_SEP, &save); tok; tok = strtok_r(NULL, LIST_SEP, &save)) {
        unsigned id;

        if (is_all_digits(tok)) {
            if (!parse_id(tok, &id)) {
                r = -ERR_CONFIG;
                set_msg(msg, msglen, "%s id '%s' out of range", what, tok);
                goto out;
            }
        } else if ((r = resolve_name(tok, is_group, &id, &errnum)) != 1) {
            if (r == 0) {
                r = -ERR_CONFIG;
                set_msg(msg, msglen, "unknown %s '%s'", what, tok);
            } else if (r == -ERR_IO) {
                set_msg(msg, msglen, "cannot look %s '%s' up: %s", what, tok, strerror(errnum));
            } else {
                set_msg(msg, msglen, "out of memory");
            }
            goto out;
        }
        r = -ERR_NOMEM;
        if (!(tmp = realloc(ids, (n + 1) * sizeof(*ids)))) {
            set_msg(msg, msglen, "out of memory");
            goto out;
        }
        ids = tmp;
        ids[n++] = id;
    }
    if (n == 0) {
        r = -ERR_CONFIG;
        set_msg(msg, msglen, "empty list: give at least one %s", what);
        goto out;
    }
    *out = ids;
    *n_out = n;
    ids = NULL;
    r = 0;
out:
    free(copy);
    free(ids);
    return r;
}

/* uid_t and gid_t are unsigned int on Linux; ids_parse relies on it. */
_Static_assert(sizeof(uid_t) == sizeof(unsigned) && sizeof(gid_t) == sizeof(unsigned),
               "uid_t/gid_t must be unsigned int");

static int uids_parse(const struct conf_key *k, void *base, const char *value, char *msg,
                      size_t msglen)
{
    struct vconf_principal *p = base;
    unsigned *ids;
    size_t n;
    int r;

    if ((r = ids_parse(value, false, &ids, &n, msg, msglen)) != 0)
        return r;
    free(p->uids);
    p->uids = (uid_t *)ids;
    p->n_uids = n;
    return 0;
}

static int gids_parse(const struct conf_key *k, void *base, const char *value, char *msg,
                      size_t msglen)
{
    struct vconf_principal *p = base;
    unsigned *ids;
    size_t n;
    int r;

    if ((r = ids_parse(value, true, &ids, &n, msg, msglen)) != 0)
        return r;
    free(p->gids);
    p->gids = (gid_t *)ids;
    p->n_gids = n;
    return 0;
}

static void scope_names_list(char *out, size_t outlen)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < N_SCOPES && o < outlen; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%s, ", scope_names[i].name);
    if (o < outlen)
        snprintf(out + o, outlen - o, "all");
}

static int scopes_parse(const struct conf_key *k, void *base, const char *value, char *msg,
                        size_t msglen)
{
    struct vconf_principal *p = base;
    unsigned bits = 0;
    bool any = false;
    char *copy, *save = NULL, *tok, known[160];
    int r = -ERR_CONFIG;

    if (!(copy = strdup(value))) {
        set_msg(msg, msglen, "out of memory");
        return -ERR_NOMEM;
    }
    for (tok = strtok_r(copy, LIST_SEP, &save); tok; tok = strtok_r(NULL, LIST_SEP, &save)) {
        size_t i;

        any = true;
        if (strcmp(tok, "all") == 0) {
            bits |= SCOPE_ALL;
            continue;
        }
        for (i = 0; i < N_SCOPES; i++)
            if (strcmp(tok, scope_names[i].name) == 0)
                break;
        if (i == N_SCOPES) {
            scope_names_list(known, sizeof(known));
            set_msg(msg, msglen, "unknown scope '%s' (known: %s)", tok, known);
            goto out;
        }
        bits |= scope_names[i].bit;
    }
    if (!any) {
        set_msg(msg, msglen, "empty list: give at least one scope");
        goto out;
    }
    p->scopes = bits;
    r = 0;
out:
    free(copy);
    return r;
}

static void ids_print(const unsigned *ids, size_t n, FILE *f)
{
    if (n == 0)
        fputs("none", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%u", i ? ", " : "", ids[i]);
}

static void uids_print(const struct conf_key *k, const void *base, FILE *f)
{
    const struct vconf_principal *p = base;

    ids_print((const unsigned *)p->uids, p->n_uids, f);
}

static void gids_print(const struct conf_key *k, const void *base, FILE *f)
{
    const struct vconf_principal *p = base;

    ids_print((const unsigned *)p->gids, p->n_gids, f);
}

static void scopes_print(const struct conf_key *k, const void *base, FILE *f)
{
    const struct vconf_principal *p = base;
    bool first = true;

    if (p->scopes == SCOPE_ALL) {
        fputs("all", f);
        return;
    }
    for (size_t i = 0; i < N_SCOPES; i++) {
        if (p->scopes & scope_names[i].bit) {
            fprintf(f, "%s%s", first ? "" : ", ", scope_names[i].name);
            first = false;
        }
    }
}

/* ---- [vault] key_file ------------------------------------------------------------------ */

#define CREDS_VAR "${CREDENTIALS_DIRECTORY}"

/*
 * "", an absolute path, or ${CREDENTIALS_DIRECTORY}/NAME: systemd expands that
 * variable only in Exec lines, so the daemon does it for this one key, from
 * its own environment, when the file is loaded.
 */
static int key_file_parse(const struct conf_key *k, void *base, const char *value, char *msg,
                          size_t msglen)
{
    struct vconf *c = base;
    const char *creds = NULL, *rest = value;
    size_t n;
    char *p;

    if (strncmp(value, CREDS_VAR "/", sizeof(CREDS_VAR)) == 0) {
        creds = getenv("CREDENTIALS_DIRECTORY");
        rest = value + sizeof(CREDS_VAR) - 1;
        if (!creds || creds[0] != '/') {
            set_msg(msg, msglen,
                    "%s is not set (LoadCredential= in the unit sets it); cannot use '%s'",
                    CREDS_VAR, value);
            return -ERR_CONFIG;
        }
        if (strstr(rest, "/../") || strcmp(rest, "/..") == 0 || strchr(rest + 1, '/')) {
            set_msg(msg, msglen, "a credential is a name in %s, not a path", CREDS_VAR);
            return -ERR_CONFIG;
        }
    } else if (value[0] != '\0' && value[0] != '/') {
        set_msg(msg, msglen, "expected an absolute path or %s/NAME", CREDS_VAR);
        return -ERR_CONFIG;
    }
    n = (creds ? strlen(creds) : 0) + strlen(rest);
    if (n >= PATH_MAX) {
        set_msg(msg, msglen, "path longer than %d bytes", PATH_MAX - 1);
        return -ERR_CONFIG;
    }
    if (!(p = malloc(n + 1))) {
        set_msg(msg, msglen, "out of memory");
        return -ERR_NOMEM;
    }
    snprintf(p, n + 1, "%s%s", creds ? creds : "", rest);
    free(c->key_file);
    c->key_file = p;
    return 0;
}

static void key_file_print(const struct conf_key *k, const void *base, FILE *f)
{
    const struct vconf *c = base;

    fputs(c->key_file ? c->key_file : "", f);
}

/* ---- the table -------------------------------------------------------------------------- */

static const struct conf_section sections[] = {
    {.name = "vault", .doc = "Where the vault keeps its data, how it is reached and unsealed."},
    {.name = "api", .doc = "Limits of the local socket API (docs/api.md)."},
    {.name = "gov", .doc = "Governance deadlines (docs/governance.md)."},
    {.name = "mfa",
     .doc = "The TOTP brute-force throttle, per identity (docs/api.md, gov.totp.verify): a few "
            "wrong codes are free, then each attempt waits twice as long as the one before, and "
            "max_failures wrong codes within failure_window lock the identity's codes for "
            "lock_time, doubling with each lock until a code is accepted (at most "
            "max_lock_time). The count is stored in the vault: it survives reconnects and "
            "restarts."},
    {.name = "log", .doc = "Logging to stderr, with journald priority prefixes."},
    {.name = "principal",
     .doc = "Maps local callers, identified by the kernel (SO_PEERCRED uid and primary gid), to "
            "API scopes. The first principal, in file order, that lists the caller's uid or gid "
            "applies; a caller that matches none is closed as it connects (see [api] "
            "allow_self).",
     .open = principal_open,
     .close = principal_close,
     .example = "admin"},
};

#define SCOPE_DOC_NAME(n, s, d) s ", "
/* "status, unseal, ..., " from the scope list, so the doc cannot fall behind it. */
#define SCOPE_NAMES SCOPE_LIST(SCOPE_DOC_NAME)
#define SCOPES_DOC                                                                                 \
    "Scopes granted, separated by commas or spaces: " SCOPE_NAMES "or all. The status scope is "   \
    "always granted."

static const struct conf_key keys[] = {
    {.section = "vault",
     .key = "data_dir",
     .type = CONF_PATH,
     .def = CUSTOS_VAULT_DIR,
     .doc = "Directory of the LMDB environment and the audit log (the unit's StateDirectory), "
            "owned by the daemon's user, mode 0700: refused when group or others have any "
            "access. --data-dir overrides it.",
     .offset = offsetof(struct vconf, data_dir)},
    {.section = "vault",
     .key = "socket",
     .type = CONF_PATH,
     .def = CUSTOS_SOCKET_PATH,
     .doc = "Path of the API socket (in the unit's RuntimeDirectory); the CLI's default too.",
     .offset = offsetof(struct vconf, socket_path)},
    {.section = "vault",
     .key = "socket_mode",
     .type = CONF_MODE,
     .def = "0660",
     .doc = "Mode of the API socket, set on the socket before it is bound. Whoever can connect "
            "is still checked against the principals; a mode that lets others write is warned "
            "about.",
     .offset = offsetof(struct vconf, socket_mode)},
    {.section = "vault",
     .key = "socket_group",
     .type = CONF_STRING,
     .def = "",
     .doc = "Group owning the API socket and the agent sockets of key accounts (name or "
            "number; the daemon must be a member); empty: the daemon's group.",
     .offset = offsetof(struct vconf, socket_group)},
    {.section = "vault",
     .key = "key_file",
     .type = CONF_CUSTOM,
     .def = "",
     .doc = "Key file of the keyfile unseal method: 32 raw bytes or 64 hex characters, mode 0600 "
            "or 0400, owned by the daemon's user; empty: none. " CREDS_VAR "/NAME names a "
            "systemd credential (LoadCredential=NAME:PATH in the unit).",
     .offset = offsetof(struct vconf, key_file),
     .type_doc = "absolute path",
     .parse = key_file_parse,
     .print = key_file_print},
    {.section = "vault",
     .key = "auto_unseal",
     .type = CONF_BOOL,
     .def = "false",
     .doc = "Unseal from key_file at start (vaults initialised with the keyfile method).",
     .offset = offsetof(struct vconf, auto_unseal)},
    {.section = "vault",
     .key = "argon2_ops",
     .type = CONF_U64,
     .def = "3", /* crypto_pwhash_OPSLIMIT_MODERATE; test_vconf holds them equal */
     .doc = "Argon2id passes for the passphrase method, used by vault.init and then stored with "
            "the vault.",
     .offset = offsetof(struct vconf, argon2_ops),
     .min = crypto_pwhash_OPSLIMIT_MIN,
     .max = crypto_pwhash_OPSLIMIT_MAX},
    {.section = "vault",
     .key = "argon2_mem",
     .type = CONF_SIZE,
     .def = "256M", /* crypto_pwhash_MEMLIMIT_MODERATE */
     .doc = "Argon2id memory for the passphrase method, used by vault.init and then stored with "
            "the vault.",
     .offset = offsetof(struct vconf, argon2_mem),
     .min = crypto_pwhash_MEMLIMIT_MIN,
     .max = crypto_pwhash_MEMLIMIT_MAX},
    {.section = "vault",
     .key = "map_size",
     .type = CONF_SIZE,
     .def = "1G",
     .doc = "Largest size of the LMDB environment (address space reserved, not disk used).",
     .offset = offsetof(struct vconf, map_size),
     .min = 1u << 20},
    {.section = "vault",
     .key = "sync_interval_ms",
     .type = CONF_UINT,
     .def = "0",
     .doc = "0: every commit is fsynced before it is answered, so an audited release survives "
            "power loss. N > 0: commits reach the OS before they are answered (they survive a "
            "crash of the daemon) and are fsynced at most N ms later (a power loss can take the "
            "last N ms). Trades the durability of the newest entries for throughput.",
     .offset = offsetof(struct vconf, sync_interval_ms),
     .min = 0,
     .max = 10000},
    {.section = "api",
     .key = "max_line",
     .type = CONF_SIZE,
     .def = "1M",
     .doc = "Longest request line of a caller that may send long requests: the daemon's own uid "
            "and principals with the write or gov scope (secret values, policies; an HR feed for "
            "gov.sync is one line). A longer one is answered too_long and skipped (buffers grow "
            "only as a line arrives).",
     .offset = offsetof(struct vconf, max_line),
     .min = 1024,
     .max = NDJSON_LINE_HARD_MAX},
    {.section = "api",
     .key = "max_line_short",
     .type = CONF_SIZE,
     .def = "64K",
     .doc = "Longest request line of every other caller (none of their ops needs more), so a "
            "half-sent line costs little; at most max_line (a larger value is taken as "
            "max_line).",
     .offset = offsetof(struct vconf, max_line_short),
     .min = 1024,
     .max = NDJSON_LINE_HARD_MAX},
    {.section = "api",
     .key = "max_pending_output",
     .type = CONF_SIZE,
     .def = "4M",
     .doc = "Unread answers a client may pile up before it is disconnected; at least max_line.",
     .offset = offsetof(struct vconf, max_pending_output),
     .min = 64u << 10,
     .max = 1u << 30},
    {.section = "api",
     .key = "max_clients",
     .type = CONF_UINT,
     .def = "1024",
     .doc = "Connections served at once; further ones are closed at once.",
     .offset = offsetof(struct vconf, max_clients),
     .min = 1,
     .max = 65536},
    {.section = "api",
     .key = "max_clients_per_uid",
     .type = CONF_UINT,
     .def = "64",
     .doc = "Connections one uid may hold at once, so no caller can take every slot; further "
            "ones are closed at once. The daemon's own uid is not counted. A broker holds two "
            "per event loop.",
     .offset = offsetof(struct vconf, max_clients_per_uid),
     .min = 1,
     .max = 65536},
    {.section = "api",
     .key = "idle_timeout",
     .type = CONF_UINT,
     .def = "30",
     .doc = "Seconds a client may leave a request line unfinished before it is disconnected; 0: "
            "no limit.",
     .offset = offsetof(struct vconf, idle_timeout),
     .max = 86400},
    {.section = "api",
     .key = "quiet_timeout",
     .type = CONF_UINT,
     .def = "300",
     .doc = "Seconds a connection may stay silent (no line received, no answer outstanding) "
            "before it is disconnected; an empty line keeps it open. Principals with the "
            "authorize or broker scope (the broker's event and MFA links) and the daemon's own "
            "uid are exempt. 0: no limit.",
     .offset = offsetof(struct vconf, quiet_timeout),
     .max = 86400},
    {.section = "api",
     .key = "allow_self",
     .type = CONF_BOOL,
     .def = "true",
     .doc = "The daemon's own uid holds every scope.",
     .offset = offsetof(struct vconf, allow_self)},
    {.section = "gov",
     .key = "request_timeout",
     .type = CONF_UINT,
     .def = "86400",
     .doc = "Seconds an access request waits for its approvers; then it expires, and approve, "
            "deny and cancel are refused with reason request_expired.",
     .offset = offsetof(struct vconf, request_timeout),
     .min = 10,
     .max = 30 * 86400},
    {.section = "mfa",
     .key = "max_failures",
     .type = CONF_UINT,
     .def = "5",
     .doc = "Wrong codes within failure_window that lock an identity's TOTP codes.",
     .offset = offsetof(struct vconf, mfa_max_failures),
     .min = 1,
     .max = 1000},
    {.section = "mfa",
     .key = "failure_window",
     .type = CONF_UINT,
     .def = "900",
     .doc = "Seconds over which wrong codes are counted, from the first of them.",
     .offset = offsetof(struct vconf, mfa_failure_window),
     .min = 1,
     .max = 30 * 86400},
    {.section = "mfa",
     .key = "free_failures",
     .type = CONF_UINT,
     .def = "2",
     .doc = "Wrong codes that cost no delay (typing mistakes).",
     .offset = offsetof(struct vconf, mfa_free_failures),
     .max = 1000},
    {.section = "mfa",
     .key = "delay",
     .type = CONF_UINT,
     .def = "1",
     .doc = "Seconds to wait after the first wrong code beyond free_failures, doubling with each "
            "further one (1, 2, 4 ...); an attempt within the wait is refused with reason "
            "throttled, its code unchecked. 0: no delay.",
     .offset = offsetof(struct vconf, mfa_delay),
     .max = 3600},
    {.section = "mfa",
     .key = "lock_time",
     .type = CONF_UINT,
     .def = "900",
     .doc = "Seconds codes stay locked after max_failures wrong ones: even the right code is "
            "refused with reason locked. Each further lock before a code is accepted lasts twice "
            "as long.",
     .offset = offsetof(struct vconf, mfa_lock_time),
     .min = 1,
     .max = 30 * 86400},
    {.section = "mfa",
     .key = "max_lock_time",
     .type = CONF_UINT,
     .def = "86400",
     .doc = "Longest lock, however many came before; at least lock_time.",
     .offset = offsetof(struct vconf, mfa_max_lock_time),
     .min = 1,
     .max = 365 * 86400},
    {.section = "log",
     .key = "level",
     .type = CONF_LOG_LEVEL,
     .def = "info",
     .doc = "Messages above this level are dropped.",
     .offset = offsetof(struct vconf, log_level)},
    {.section = "principal",
     .key = "uids",
     .type = CONF_CUSTOM,
     .doc = "Users, by name or number, separated by commas or spaces. Names are resolved when the "
            "file is loaded.",
     .offset = offsetof(struct vconf_principal, uids),
     .example = "root",
     .type_doc = "list of users",
     .parse = uids_parse,
     .print = uids_print},
    {.section = "principal",
     .key = "gids",
     .type = CONF_CUSTOM,
     .doc = "Groups (matched against the caller's primary group), by name or number, separated by "
            "commas or spaces.",
     .offset = offsetof(struct vconf_principal, gids),
     .example = "custos-admin",
     .type_doc = "list of groups",
     .parse = gids_parse,
     .print = gids_print},
    {.section = "principal",
     .key = "scopes",
     .type = CONF_CUSTOM,
     .doc = SCOPES_DOC,
     .offset = offsetof(struct vconf_principal, scopes),
     .example = "all",
     .type_doc = "list of scopes",
     .parse = scopes_parse,
     .print = scopes_print},
    {.section = "principal",
     .key = "identity",
     .type = CONF_STRING,
     .def = "",
     .doc = "Governance identity this principal acts as (its requests, approvals and reviews); "
            "empty: none (then governance ops need the act_as scope and an \"as\" argument).",
     .offset = offsetof(struct vconf_principal, identity),
     .example = "alice"},
};

static const struct conf_schema schema = {
    .sections = sections,
    .n_sections = sizeof(sections) / sizeof(sections[0]),
    .keys = keys,
    .n_keys = sizeof(keys) / sizeof(keys[0]),
};

/* ---- loading ---------------------------------------------------------------------------- */

/* Defaults computed from other keys, and checks that span keys. */
static int finish(struct vconf *c, const char *name, char *err, size_t errlen)
{
    if (c->socket_path && strlen(c->socket_path) > SUN_PATH_MAX) {
        set_msg(err, errlen, "%s: [vault] socket: '%s' is longer than %zu bytes", name,
                c->socket_path, SUN_PATH_MAX);
        return -ERR_CONFIG;
    }
    if (c->max_pending_output < c->max_line) {
        set_msg(err, errlen, "%s: [api] max_pending_output (%zu) is less than max_line (%zu)", name,
                c->max_pending_output, c->max_line);
        return -ERR_CONFIG;
    }
    if (c->max_line_short > c->max_line)
        c->max_line_short = c->max_line;
    if (c->mfa_max_lock_time < c->mfa_lock_time) {
        set_msg(err, errlen, "%s: [mfa] max_lock_time (%u) is less than lock_time (%u)", name,
                c->mfa_max_lock_time, c->mfa_lock_time);
        return -ERR_CONFIG;
    }
    if (c->auto_unseal && (!c->key_file || !*c->key_file)) {
        set_msg(err, errlen, "%s: [vault] auto_unseal needs key_file", name);
        return -ERR_CONFIG;
    }
    return 0;
}

int vconf_load(const char *path, struct vconf **out, char *err, size_t errlen)
{
    int r = -ERR_NOMEM;
    struct vconf *c;

    *out = NULL;
    if (!(c = calloc(1, sizeof(*c)))) {
        set_msg(err, errlen, "out of memory");
        goto out;
    }
    if ((r = conf_defaults(&schema, c, err, errlen)) != 0)
        goto out;
    if (path && (r = conf_load_file(&schema, c, path, err, errlen)) != 0)
        goto out;
    if ((r = finish(c, path ? path : "defaults", err, errlen)) != 0)
        goto out;
    *out = c;
    c = NULL;
out:
    vconf_free(c);
    return r;
}

void vconf_free(struct vconf *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_principals; i++) {
        struct vconf_principal *p = &c->principals[i];

        conf_section_fini(&schema, "principal", p);
        free(p->name);
        free(p->uids);
        free(p->gids);
    }
    free(c->principals);
    free(c->key_file); /* CONF_CUSTOM: conf_fini frees only plain string types */
    conf_fini(&schema, c);
    free(c);
}

int vconf_set_data_dir(struct vconf *c, const char *dir, char *err, size_t errlen)
{
    char *copy;

    if (!dir || dir[0] != '/' || strlen(dir) >= PATH_MAX) {
        set_msg(err, errlen, "data directory must be an absolute path");
        return -ERR_CONFIG;
    }
    if (!(copy = strdup(dir))) {
        set_msg(err, errlen, "out of memory");
        return -ERR_NOMEM;
    }
    free(c->data_dir);
    c->data_dir = copy;
    return finish(c, "--data-dir", err, errlen);
}

int vconf_check(const struct vconf *c, char *err, size_t errlen)
{
    if (!c->data_dir || !*c->data_dir) {
        set_msg(err, errlen, "no data directory: set [vault] data_dir or pass --data-dir");
        return -ERR_CONFIG;
    }
    if (!c->socket_path || !*c->socket_path) {
        set_msg(err, errlen, "no socket path");
        return -ERR_CONFIG;
    }
    return 0;
}

static bool has_id(const unsigned *ids, size_t n, unsigned id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

const struct vconf_principal *vconf_principal_for(const struct vconf *c, uid_t uid, gid_t gid)
{
    for (size_t i = 0; i < c->n_principals; i++) {
        const struct vconf_principal *p = &c->principals[i];

        if (has_id((const unsigned *)p->uids, p->n_uids, uid) ||
            has_id((const unsigned *)p->gids, p->n_gids, gid))
            return p;
    }
    return NULL;
}

/* ---- printing --------------------------------------------------------------------------- */

void vconf_print_sample(FILE *f)
{
    fputs("# vaultd.conf: configuration of custos-vaultd (reference: docs/config.md).\n"
          "#\n"
          "# Generated from the key table in vaultd/vconf.c (custos-vaultd --sample-config).\n"
          "# Every key is shown commented out with its default: uncomment to change it.\n"
          "# Unknown sections and keys are errors. No secret belongs in this file.\n",
          f);
    conf_print_sample(&schema, f);
}

void vconf_print_markdown(FILE *f)
{
    conf_print_markdown(&schema, f);
    fputs("\n#### Scopes\n\n| Scope | Allows |\n|---|---|\n", f);
    for (size_t i = 0; i < N_SCOPES; i++)
        fprintf(f, "| `%s` | %s |\n", scope_names[i].name, scope_names[i].doc);
    fputs("| `all` | every scope above |\n", f);
}

void vconf_print(const struct vconf *c, FILE *f)
{
    conf_print(&schema, c, f);
    for (size_t i = 0; i < c->n_principals; i++)
        conf_print_section(&schema, "principal", c->principals[i].name, &c->principals[i], f);
}
