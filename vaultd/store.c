/* SPDX-License-Identifier: Apache-2.0 */
/* The LMDB environment of vaultd: named tables, schema, JSON objects, sealed values, backups. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "custos/log.h"
#include "crypt.h"
#include "store.h"

/*
 * Room for tables added by later schema versions; each costs a few bytes per
 * txn.  The integrity probe opens any file, so it allows more.
 */
#define STORE_MAXDBS 32u
#define PROBE_MAXDBS 128u
/* A wedged probe (a page cycle in a crafted file) is killed after this many seconds. */
#define PROBE_TIMEOUT 300u
/* Probe exit codes; anything else (a signal, a sanitizer's exit 1) means corrupt. */
#define PROBE_OK 0
#define PROBE_CORRUPT 64
#define PROBE_IO 65
#define PROBE_NOT_LMDB 66
/* Largest sealed plaintext: far above any credential, well below secbuf's cap. */
#define STORE_VALUE_MAX ((size_t)1 << 24)
/* key || 0x00 || be32 version */
#define SEALED_KEY_MAX (STORE_KEY_MAX + 5u)
#define COPY_CHUNK ((size_t)1 << 16)

struct store {
    MDB_env *env;
    MDB_dbi dbi[STORE__TABLES];
    size_t map_size;
    char *dir;
};

static const char *const table_names[STORE__TABLES] = {
    [STORE_META] = "meta",
    [STORE_TARGETS] = "targets",
    [STORE_ACCOUNTS] = "accounts",
    [STORE_SECRETS] = "secrets",
    [STORE_AUDIT] = "audit",
    [STORE_AUDIT_CKPT] = "audit_ckpt",
    [STORE_IDENTITIES] = "gov_identities",
    [STORE_KEYFP] = "gov_keyfp",
    [STORE_ROLES] = "gov_roles",
    [STORE_RULES] = "gov_rules",
    [STORE_SOD] = "gov_sod",
    [STORE_SOD_EXC] = "gov_sod_exceptions",
    [STORE_AUTO] = "gov_auto",
    [STORE_REQUESTS] = "gov_requests",
    [STORE_GRANTS] = "gov_grants",
    [STORE_GRANT_IDX] = "gov_grant_index",
    [STORE_ASSIGN] = "gov_assignments",
    [STORE_CAMPAIGNS] = "gov_campaigns",
    [STORE_ITEMS] = "gov_review_items",
    [STORE_ROTATION] = "gov_rotation_queue",
    [STORE_USAGE] = "gov_usage",
    [STORE_SESSIONS] = "broker_sessions",
    [STORE_MFA] = "gov_mfa_throttle",
};

/*
 * Translate an LMDB result (MDB_* or errno) once, at the call, logging the
 * original.  MDB_NOTFOUND is usually an answer, not a failure: callers test
 * for it before coming here.
 */
int store_mdb_error(const char *func, int rc, const char *what)
{
    int r;

    switch (rc) {
    case MDB_NOTFOUND:
        r = -ERR_NOT_FOUND;
        break;
    case MDB_KEYEXIST:
        r = -ERR_EXISTS;
        break;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case ENOSPC:
        r = -ERR_FULL;
        break;
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INCOMPATIBLE:
        r = -ERR_CORRUPT;
        break;
    case MDB_READERS_FULL:
    case EAGAIN:
    case EBUSY:
        r = -ERR_BUSY;
        break;
    case MDB_BAD_VALSIZE:
        r = -ERR_TOO_LONG;
        break;
    case ENOMEM:
        r = -ERR_NOMEM;
        break;
    case EINVAL:
    case EACCES: /* a write in a read-only txn */
    case MDB_BAD_TXN:
    case MDB_BAD_DBI:
        r = -ERR_INVAL;
        break;
    default:
        r = -ERR_IO;
        break;
    }
    log_msg(LOG_LVL_ERR, func, "%s: %s (rc=%d)", what, mdb_strerror(rc), rc);
    return r;
}
#define FROM_MDB(rc, what) store_mdb_error(__func__, (rc), (what))

static int from_errno(const char *func, int e, const char *what, const char *path)
{
    log_msg(LOG_LVL_ERR, func, "%s path=%s: %s", what, path, strerror(e));
    switch (e) {
    case ENOMEM:
        return -ERR_NOMEM;
    case ENOSPC:
    case EDQUOT:
        return -ERR_FULL;
    case EEXIST:
        return -ERR_EXISTS;
    case ENAMETOOLONG:
        return -ERR_TOO_LONG;
    default:
        return -ERR_IO;
    }
}
#define FROM_ERRNO(what, path) from_errno(__func__, errno, (what), (path))

static int path_join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

    return n < 0 || n >= PATH_MAX ? -ERR_TOO_LONG : 0;
}

static int key_check(const char *key, size_t *len)
{
    size_t n;

    if (!key)
        return -ERR_INVAL;
    n = strnlen(key, STORE_KEY_MAX + 1);
    if (n == 0)
        return -ERR_INVAL;
    if (n > STORE_KEY_MAX)
        return -ERR_TOO_LONG;
    *len = n;
    return 0;
}

/* The handle of table t; JSON calls may not touch the sealed table. */
static int table_dbi(const struct store *s, MDB_txn *txn, enum store_table t, bool json,
                     MDB_dbi *out)
{
    if (!s || !txn || (unsigned)t >= STORE__TABLES)
        return -ERR_INVAL;
    if (json && t == STORE_SECRETS)
        return -ERR_INVAL;
    *out = s->dbi[t];
    return 0;
}

static size_t sealed_key(const char *key, size_t klen, uint32_t version, unsigned char *out)
{
    memcpy(out, key, klen);
    out[klen] = 0x00;
    out[klen + 1] = (unsigned char)(version >> 24);
    out[klen + 2] = (unsigned char)(version >> 16);
    out[klen + 3] = (unsigned char)(version >> 8);
    out[klen + 4] = (unsigned char)version;
    return klen + 5;
}

static int dir_sync(const char *dir)
{
    int r = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return FROM_ERRNO("open directory", dir);
    if (fsync(fd) != 0)
        r = FROM_ERRNO("fsync directory", dir);
    close(fd);
    return r;
}

/* fsync the directory holding `path` so that a new name in it is durable. */
static int parent_sync(const char *path)
{
    char dir[PATH_MAX];
    char *slash;

    if (strlen(path) >= sizeof(dir))
        return -ERR_TOO_LONG;
    strcpy(dir, path);
    slash = strrchr(dir, '/');
    if (!slash)
        return dir_sync(".");
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    return dir_sync(dir);
}

/* Parse a stored JSON object; the log names its table and key, never its contents. */
static int parse_object(const MDB_val *v, const char *table, const MDB_val *k, json_t **out)
{
    json_error_t jerr;
    json_t *obj = json_loadb(v->mv_data, v->mv_size, JSON_REJECT_DUPLICATES, &jerr);

    if (!obj || !json_is_object(obj)) {
        log_err("table=%s key=%.*s len=%zu: stored value is not a JSON object (at byte %d)", table,
                (int)(k->mv_size > 128 ? 128 : k->mv_size), (const char *)k->mv_data, v->mv_size,
                obj ? 0 : jerr.position);
        json_decref(obj);
        return -ERR_CORRUPT;
    }
    *out = obj;
    return 0;
}

/* ---- integrity probe ---------------------------------------------------- */

/*
 * Read one byte of every page a record spans.  A page past the end of a cut
 * file raises SIGBUS and a wild pointer SIGSEGV: either kills the probe,
 * which is the point.
 */
static unsigned touch(const MDB_val *v)
{
    const volatile unsigned char *p = v->mv_data;
    unsigned sum = 0;

    if (v->mv_size == 0)
        return 0;
    for (size_t i = 0; i < v->mv_size; i += 4096)
        sum += p[i];
    return sum + p[v->mv_size - 1];
}

/* Walk one table, reading every record. */
static int probe_table(MDB_txn *txn, MDB_dbi dbi)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    unsigned sum = 0;
    int rc;

    if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size == 0) {
            rc = MDB_CORRUPTED; /* LMDB never stores an empty key */
            break;
        }
        sum += touch(&k) + touch(&v);
    }
    mdb_cursor_close(cur);
    (void)sum;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int probe_walk(MDB_env *env)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_dbi main_dbi;
    MDB_val k, v;
    int rc;

    if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0)
        return rc;
    /* The free list too: write txns read it, so a lost page there would kill them. */
    if ((rc = probe_table(txn, 0)) != 0)
        goto out;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) != 0)
        goto out;
    if ((rc = probe_table(txn, main_dbi)) != 0)
        goto out;
    if ((rc = mdb_cursor_open(txn, main_dbi, &cur)) != 0)
        goto out;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char name[512];
        MDB_dbi dbi;
        int r2;

        if (k.mv_size >= sizeof(name) || memchr(k.mv_data, 0, k.mv_size))
            continue; /* not one of ours: no table has such a name */
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        r2 = mdb_dbi_open(txn, name, 0, &dbi);
        if (r2 == MDB_INCOMPATIBLE || r2 == MDB_NOTFOUND)
            continue; /* a plain record in the main table */
        if (r2 == 0)
            r2 = probe_table(txn, dbi);
        if (r2 != 0) {
            rc = r2;
            break;
        }
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
out:
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

/* Runs in the forked child: only _exit, no logging (another thread may hold stderr's lock). */
static void __attribute__((noreturn)) probe_child(const char *file)
{
    struct rlimit no_core = {0, 0};
    MDB_env *env = NULL;
    int rc;

    /* The child is a copy of vaultd, keys included: it must never dump core. */
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    (void)setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGBUS, SIG_DFL);
    signal(SIGSEGV, SIG_DFL);
    alarm(PROBE_TIMEOUT);
    if (mdb_env_create(&env) != 0)
        _exit(PROBE_IO);
    if (mdb_env_set_maxdbs(env, PROBE_MAXDBS) != 0)
        _exit(PROBE_IO);
    rc = mdb_env_open(env, file, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0600);
    if (rc == 0)
        rc = probe_walk(env);
    /* No mdb_env_close: _exit drops the map and fds anyway. */
    switch (rc) {
    case 0:
        _exit(PROBE_OK);
    case ENOENT:
    case EACCES:
    case EPERM:
    case EIO:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case MDB_DBS_FULL:
        _exit(PROBE_IO);
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        _exit(PROBE_NOT_LMDB);
    default:
        _exit(PROBE_CORRUPT);
    }
}

/*
 * LMDB has no checksums and trusts its file: a page that a truncated file no
 * longer holds is a SIGBUS when touched through the map, and a damaged page
 * can be worse.  Before a file is used, a forked child walks every table of it
 * read-only; if the child dies, the file is corrupt and vaultd lives on.  A
 * size check alone is not enough and can be wrong: LMDB legitimately leaves
 * free pages at the tail unwritten (mdb_env_copyfd1 clamps to the file size
 * for that reason), while a cut can fall anywhere.
 */
static int file_probe(const char *file)
{
    struct stat st;
    pid_t pid;
    int status = 0, r;

    if (stat(file, &st) != 0)
        return FROM_ERRNO("stat", file);
    if (!S_ISREG(st.st_mode)) {
        log_err("path=%s is not a regular file", file);
        return -ERR_CORRUPT;
    }
    if (st.st_size == 0) {
        log_err("path=%s is empty: a truncated environment file", file);
        return -ERR_CORRUPT;
    }
    pid = fork();
    if (pid < 0)
        return FROM_ERRNO("fork integrity probe", file);
    if (pid == 0)
        probe_child(file);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return FROM_ERRNO("waitpid integrity probe", file);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == PROBE_OK) {
        r = 0;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == PROBE_IO) {
        log_err("path=%s: integrity probe could not read the file", file);
        r = -ERR_IO;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == PROBE_NOT_LMDB) {
        log_err("path=%s size=%lld: not an LMDB environment file (bad header, version or "
                "truncated before its first pages)",
                file, (long long)st.st_size);
        r = -ERR_CORRUPT;
    } else if (WIFSIGNALED(status)) {
        log_err("path=%s size=%lld: integrity probe died on signal %d; the file is truncated or "
                "corrupt",
                file, (long long)st.st_size, WTERMSIG(status));
        r = -ERR_CORRUPT;
    } else {
        log_err("path=%s size=%lld: integrity probe failed (exit %d); the file is not a sound "
                "LMDB environment",
                file, (long long)st.st_size, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        r = -ERR_CORRUPT;
    }
    return r;
}

/* ---- schema ------------------------------------------------------------- */

/* Read and check "schema" in the meta table: 0, -ERR_NOT_FOUND, -ERR_CORRUPT, -ERR_SCHEMA. */
static int schema_check(MDB_txn *txn, MDB_dbi meta, const char *where)
{
    static const char name[] = "schema";
    MDB_val k = {sizeof(name) - 1, (void *)name}, v;
    json_t *obj = NULL, *ver;
    json_int_t n;
    int r, rc;

    rc = mdb_get(txn, meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        r = -ERR_NOT_FOUND;
        goto out;
    }
    if (rc != 0) {
        r = FROM_MDB(rc, "mdb_get schema");
        goto out;
    }
    if ((r = parse_object(&v, table_names[STORE_META], &k, &obj)) != 0)
        goto out;
    ver = json_object_get(obj, "version");
    n = json_is_integer(ver) ? json_integer_value(ver) : 0;
    if (n < 1) {
        log_err("path=%s: schema record has no valid version", where);
        r = -ERR_CORRUPT;
        goto out;
    }
    if ((unsigned long long)n > STORE_SCHEMA) {
        log_err("path=%s: schema version %lld is newer than this build's %u; refusing to open",
                where, (long long)n, STORE_SCHEMA);
        r = -ERR_SCHEMA;
        goto out;
    }
    r = 0;
out:
    json_decref(obj);
    return r;
}

static int schema_write(MDB_txn *txn, MDB_dbi meta)
{
    static const char name[] = "schema";
    MDB_val k = {sizeof(name) - 1, (void *)name}, v;
    json_t *obj = NULL;
    char *text = NULL;
    int r, rc;

    obj =
        json_pack("{s:i, s:I}", "version", (int)STORE_SCHEMA, "created_at", (json_int_t)time(NULL));
    if (!obj || !(text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS))) {
        r = -ERR_NOMEM;
        goto out;
    }
    v.mv_size = strlen(text);
    v.mv_data = text;
    if ((rc = mdb_put(txn, meta, &k, &v, MDB_NOOVERWRITE)) != 0) {
        r = FROM_MDB(rc, "mdb_put schema");
        goto out;
    }
    r = 0;
out:
    free(text);
    json_decref(obj);
    return r;
}

/* Open (creating) every table and check or write the schema, in one write txn. */
static int tables_open(struct store *s)
{
    MDB_txn *txn = NULL;
    MDB_dbi main_dbi;
    MDB_stat st;
    bool fresh;
    int r, rc;

    if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0) {
        r = FROM_MDB(rc, "mdb_txn_begin");
        goto out;
    }
    if ((rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) != 0 ||
        (rc = mdb_stat(txn, main_dbi, &st)) != 0) {
        r = FROM_MDB(rc, "main table");
        goto out;
    }
    fresh = st.ms_entries == 0;
    for (unsigned i = 0; i < STORE__TABLES; i++) {
        if ((rc = mdb_dbi_open(txn, table_names[i], MDB_CREATE, &s->dbi[i])) != 0) {
            r = FROM_MDB(rc, "mdb_dbi_open");
            log_err("dir=%s table=%s cannot be opened", s->dir, table_names[i]);
            goto out;
        }
    }
    r = schema_check(txn, s->dbi[STORE_META], s->dir);
    if (r == -ERR_NOT_FOUND && fresh) {
        if ((r = schema_write(txn, s->dbi[STORE_META])) != 0)
            goto out;
        log_info("dir=%s created environment schema=%u", s->dir, STORE_SCHEMA);
    } else if (r == -ERR_NOT_FOUND) {
        log_err("dir=%s holds an LMDB environment without a Custos schema record", s->dir);
        r = -ERR_CORRUPT;
        goto out;
    } else if (r != 0) {
        goto out;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
        r = FROM_MDB(rc, "mdb_txn_commit");
        goto out;
    }
    r = 0;
out:
    mdb_txn_abort(txn);
    return r;
}

/* ---- environment -------------------------------------------------------- */

/*
 * The data directory and lock.mdb: whoever can reach them can read the
 * environment's reader table or corrupt its locks, so group or other access
 * is refused, not warned about (as OpenSSH refuses a private key).
 */
static int dir_prepare(const char *dir)
{
    char lock[PATH_MAX];
    struct stat st;
    int r;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return FROM_ERRNO("mkdir", dir);
    if (stat(dir, &st) != 0)
        return FROM_ERRNO("stat", dir);
    if (!S_ISDIR(st.st_mode)) {
        log_err("path=%s is not a directory", dir);
        return -ERR_IO;
    }
    if (st.st_uid != geteuid()) {
        log_err("dir=%s is owned by uid %u, not by this daemon's uid %u; refusing", dir,
                (unsigned)st.st_uid, (unsigned)geteuid());
        return -ERR_DENIED;
    }
    if (st.st_mode & 077) {
        log_err("dir=%s mode=%03o is open to group or others; refusing (chmod 0700 %s)", dir,
                (unsigned)(st.st_mode & 0777), dir);
        return -ERR_DENIED;
    }
    if ((r = path_join(lock, dir, "lock.mdb")) != 0)
        return r;
    if (lstat(lock, &st) != 0)
        return errno == ENOENT ? 0 : FROM_ERRNO("stat", lock);
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
        log_err("path=%s mode=%03o uid=%u: must be a file of uid %u without group or other "
                "access; refusing",
                lock, (unsigned)(st.st_mode & 0777), (unsigned)st.st_uid, (unsigned)geteuid());
        return -ERR_DENIED;
    }
    return 0;
}

/* data.mdb must be 0600 whatever created it. */
static int data_mode_fix(struct store *s)
{
    struct stat st;
    int fd;

    if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &st) != 0)
        return FROM_ERRNO("fstat data.mdb", s->dir);
    if ((st.st_mode & 0777) != 0600) {
        log_warn("dir=%s data.mdb mode=%03o; setting 0600", s->dir, (unsigned)(st.st_mode & 0777));
        if (fchmod(fd, 0600) != 0)
            return FROM_ERRNO("fchmod data.mdb", s->dir);
    }
    return 0;
}

int store_open(const char *dir, size_t map_size, struct store **out)
{
    char data[PATH_MAX];
    struct store *s = NULL;
    struct stat st;
    int r, rc, dead = 0;

    if (out)
        *out = NULL;
    if (!dir || !*dir || !out) {
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = path_join(data, dir, "data.mdb")) != 0)
        goto out;
    if (!(s = calloc(1, sizeof(*s))) || !(s->dir = strdup(dir))) {
        r = -ERR_NOMEM;
        goto out;
    }
    s->map_size = map_size ? map_size : STORE_MAP_SIZE_DEFAULT;
    if ((r = dir_prepare(dir)) != 0)
        goto out;
    if (stat(data, &st) == 0) {
        /* An existing file is walked first: a damaged one must not take vaultd down. */
        if ((r = file_probe(data)) != 0) {
            log_err("dir=%s: data.mdb is unusable; restore a backup or move it away", dir);
            goto out;
        }
    } else if (errno != ENOENT) {
        r = FROM_ERRNO("stat", data);
        goto out;
    }
    if ((rc = mdb_env_create(&s->env)) != 0) {
        r = FROM_MDB(rc, "mdb_env_create");
        goto out;
    }
    if ((rc = mdb_env_set_mapsize(s->env, s->map_size)) != 0 ||
        (rc = mdb_env_set_maxdbs(s->env, STORE_MAXDBS)) != 0) {
        r = FROM_MDB(rc, "mdb_env_set");
        goto out;
    }
    /*
     * MDB_NOTLS: read txns are not tied to a thread (the loop reads while a
     * worker writes).  No MDB_WRITEMAP: the map stays read-only, so a stray
     * pointer write faults instead of corrupting the file.  No MDB_NOSYNC:
     * a commit is durable when it returns.  No MDB_NOMEMINIT: pages written
     * from the heap are zeroed first, so no freed heap data reaches the file.
     */
    rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600);
    if (rc != 0) {
        if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
            log_err("dir=%s: data.mdb is not a usable LMDB file: %s", dir, mdb_strerror(rc));
            r = -ERR_CORRUPT;
        } else if (rc == EACCES || rc == EPERM || rc == ENOENT || rc == ENOTDIR) {
            r = from_errno(__func__, rc, "mdb_env_open", dir);
        } else {
            r = FROM_MDB(rc, "mdb_env_open");
        }
        goto out;
    }
    if ((r = data_mode_fix(s)) != 0)
        goto out;
    if ((rc = mdb_reader_check(s->env, &dead)) != 0) {
        r = FROM_MDB(rc, "mdb_reader_check");
        goto out;
    }
    if (dead > 0)
        log_info("dir=%s cleared %d stale reader slots", dir, dead);
    if ((r = tables_open(s)) != 0)
        goto out;
    *out = s;
    s = NULL;
    r = 0;
out:
    store_close(s);
    return r;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    if (s->env)
        mdb_env_close(s->env);
    free(s->dir);
    free(s);
}

int store_set_nosync(struct store *s, bool on)
{
    int rc = mdb_env_set_flags(s->env, MDB_NOSYNC, on ? 1 : 0);

    return rc ? FROM_MDB(rc, "mdb_env_set_flags") : 0;
}

int store_sync(struct store *s)
{
    int rc = mdb_env_sync(s->env, 1);

    return rc ? FROM_MDB(rc, "mdb_env_sync") : 0;
}

const char *store_dir(const struct store *s)
{
    return s->dir;
}

int store_txn_begin(struct store *s, MDB_txn *parent, bool write, MDB_txn **out)
{
    MDB_txn *txn = NULL;
    int r, rc;

    if (out)
        *out = NULL;
    if (!s || !out || (parent && !write)) {
        r = -ERR_INVAL;
        goto out;
    }
    rc = mdb_txn_begin(s->env, parent, write ? 0 : MDB_RDONLY, &txn);
    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the map: adopt its size and try once more. */
        if ((rc = mdb_env_set_mapsize(s->env, 0)) == 0)
            rc = mdb_txn_begin(s->env, parent, write ? 0 : MDB_RDONLY, &txn);
    }
    if (rc != 0) {
        r = FROM_MDB(rc, "mdb_txn_begin");
        goto out;
    }
    *out = txn;
    r = 0;
out:
    return r;
}

int store_txn_commit(MDB_txn *txn)
{
    int rc;

    if (!txn)
        return -ERR_INVAL;
    rc = mdb_txn_commit(txn);
    if (rc == 0)
        return 0;
    if (rc == MDB_MAP_FULL) {
        log_err("mdb_txn_commit: %s", mdb_strerror(rc));
        return -ERR_FULL;
    }
    log_err("mdb_txn_commit: %s (rc=%d)", mdb_strerror(rc), rc);
    return -ERR_IO;
}

void store_txn_abort(MDB_txn *txn)
{
    if (txn)
        mdb_txn_abort(txn);
}

MDB_dbi store_dbi(const struct store *s, enum store_table t)
{
    /* 0 is LMDB's free list, which refuses user reads and writes. */
    return s && (unsigned)t < STORE__TABLES ? s->dbi[t] : 0;
}

/* ---- JSON objects ------------------------------------------------------- */

int store_json_get(struct store *s, MDB_txn *txn, enum store_table t, const char *key, json_t **out)
{
    MDB_dbi dbi;
    MDB_val k, v;
    json_t *obj = NULL;
    size_t klen;
    int r, rc;

    if (out)
        *out = NULL;
    if (!out) {
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = table_dbi(s, txn, t, true, &dbi)) != 0 || (r = key_check(key, &klen)) != 0)
        goto out;
    k.mv_size = klen;
    k.mv_data = (void *)key;
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        r = -ERR_NOT_FOUND;
        goto out;
    }
    if (rc != 0) {
        r = FROM_MDB(rc, "mdb_get");
        goto out;
    }
    if ((r = parse_object(&v, table_names[t], &k, &obj)) != 0)
        goto out;
    *out = obj;
    obj = NULL;
out:
    json_decref(obj);
    return r;
}

int store_json_put(struct store *s, MDB_txn *txn, enum store_table t, const char *key,
                   const json_t *obj, unsigned flags)
{
    MDB_dbi dbi;
    MDB_val k, v;
    char *text = NULL;
    size_t klen;
    int r, rc;

    if ((r = table_dbi(s, txn, t, true, &dbi)) != 0 || (r = key_check(key, &klen)) != 0)
        goto out;
    if (!json_is_object(obj) ||
        (flags != STORE_UPSERT && flags != STORE_CREATE && flags != STORE_UPDATE)) {
        r = -ERR_INVAL;
        goto out;
    }
    k.mv_size = klen;
    k.mv_data = (void *)key;
    if (flags == STORE_UPDATE) {
        rc = mdb_get(txn, dbi, &k, &v);
        if (rc == MDB_NOTFOUND) {
            r = -ERR_NOT_FOUND;
            goto out;
        }
        if (rc != 0) {
            r = FROM_MDB(rc, "mdb_get");
            goto out;
        }
    }
    if (!(text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS))) {
        r = -ERR_NOMEM;
        goto out;
    }
    v.mv_size = strlen(text);
    v.mv_data = text;
    rc = mdb_put(txn, dbi, &k, &v, flags == STORE_CREATE ? MDB_NOOVERWRITE : 0);
    if (rc == MDB_KEYEXIST) {
        r = -ERR_EXISTS;
        goto out;
    }
    if (rc != 0) {
        r = FROM_MDB(rc, "mdb_put");
        goto out;
    }
    r = 0;
out:
    free(text);
    return r;
}

int store_del(struct store *s, MDB_txn *txn, enum store_table t, const char *key)
{
    MDB_dbi dbi;
    MDB_val k;
    size_t klen;
    int r, rc;

    if ((r = table_dbi(s, txn, t, false, &dbi)) != 0 || (r = key_check(key, &klen)) != 0)
        goto out;
    k.mv_size = klen;
    k.mv_data = (void *)key;
    rc = mdb_del(txn, dbi, &k, NULL);
    if (rc == MDB_NOTFOUND) {
        r = -ERR_NOT_FOUND;
        goto out;
    }
    if (rc != 0) {
        r = FROM_MDB(rc, "mdb_del");
        goto out;
    }
    r = 0;
out:
    return r;
}

int store_json_list(struct store *s, MDB_txn *txn, enum store_table t, const char *prefix,
                    json_t **out)
{
    MDB_dbi dbi;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    json_t *arr = NULL, *obj = NULL;
    size_t plen;
    int r, rc;

    if (out)
        *out = NULL;
    if (!out || !prefix) {
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = table_dbi(s, txn, t, true, &dbi)) != 0)
        goto out;
    plen = strnlen(prefix, STORE_KEY_MAX + 1);
    if (plen > STORE_KEY_MAX) {
        r = -ERR_TOO_LONG;
        goto out;
    }
    if (!(arr = json_array())) {
        r = -ERR_NOMEM;
        goto out;
    }
    if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
        r = FROM_MDB(rc, "mdb_cursor_open");
        goto out;
    }
    /* SET_RANGE lands on the first key >= prefix; LMDB refuses an empty key. */
    k.mv_size = plen;
    k.mv_data = (void *)prefix;
    rc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if ((r = parse_object(&v, table_names[t], &k, &obj)) != 0)
            goto out;
        if (json_array_append_new(arr, obj) != 0) {
            obj = NULL;
            r = -ERR_NOMEM;
            goto out;
        }
        obj = NULL;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        r = FROM_MDB(rc, "mdb_cursor_get");
        goto out;
    }
    *out = arr;
    arr = NULL;
    r = 0;
out:
    mdb_cursor_close(cur);
    json_decref(obj);
    json_decref(arr);
    return r;
}

/* ---- sealed values ------------------------------------------------------ */

int store_value_put(struct store *s, MDB_txn *txn, const struct secbuf *dek, const char *key,
                    uint32_t version, const void *plain, size_t len)
{
    unsigned char kb[SEALED_KEY_MAX];
    unsigned char *sealed = NULL;
    MDB_dbi dbi;
    MDB_val k, v;
    size_t klen;
    int r, rc;

    if ((r = table_dbi(s, txn, STORE_SECRETS, false, &dbi)) != 0 ||
        (r = key_check(key, &klen)) != 0)
        goto out;
    if (!dek || secbuf_len(dek) != CRYPT_KEY_LEN || (!plain && len)) {
        r = -ERR_INVAL;
        goto out;
    }
    if (len > STORE_VALUE_MAX) {
        r = -ERR_TOO_LONG;
        goto out;
    }
    /* Ciphertext is not secret: heap memory will do. */
    if (!(sealed = malloc(len + CRYPT_OVERHEAD))) {
        r = -ERR_NOMEM;
        goto out;
    }
    k.mv_size = sealed_key(key, klen, version, kb);
    k.mv_data = kb;
    if ((r = crypt_seal(dek, kb, k.mv_size, plain ? plain : "", len, sealed)) != 0)
        goto out;
    v.mv_size = len + CRYPT_OVERHEAD;
    v.mv_data = sealed;
    if ((rc = mdb_put(txn, dbi, &k, &v, 0)) != 0) {
        r = FROM_MDB(rc, "mdb_put");
        goto out;
    }
    r = 0;
out:
    free(sealed);
    return r;
}

int store_value_get(struct store *s, MDB_txn *txn, const struct secbuf *dek, const char *key,
                    uint32_t version, struct secbuf **out)
{
    unsigned char kb[SEALED_KEY_MAX];
    struct secbuf *plain = NULL;
    MDB_dbi dbi;
    MDB_val k, v;
    size_t klen;
    int r, rc;

    if (out)
        *out = NULL;
    if (!out || !dek) {
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = table_dbi(s, txn, STORE_SECRETS, false, &dbi)) != 0 ||
        (r = key_check(key, &klen)) != 0)
        goto out;
    k.mv_size = sealed_key(key, klen, version, kb);
    k.mv_data = kb;
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        r = -ERR_NOT_FOUND;
        goto out;
    }
    if (rc != 0) {
        r = FROM_MDB(rc, "mdb_get");
        goto out;
    }
    /* v is borrowed from the read-only map; crypt_open writes only into a new secbuf. */
    r = crypt_open(dek, kb, k.mv_size, v.mv_data, v.mv_size, &plain);
    if (r == -ERR_TAMPERED || r == -ERR_CORRUPT) {
        log_err("key=%s version=%u len=%zu: sealed value failed authentication", key, version,
                v.mv_size);
        r = -ERR_TAMPERED;
        goto out;
    }
    if (r != 0)
        goto out;
    *out = plain;
    plain = NULL;
out:
    secbuf_free(plain);
    return r;
}

int store_value_del(struct store *s, MDB_txn *txn, const char *key, uint32_t version)
{
    unsigned char kb[SEALED_KEY_MAX];
    MDB_dbi dbi;
    MDB_val k;
    size_t klen;
    int r, rc;

    if ((r = table_dbi(s, txn, STORE_SECRETS, false, &dbi)) != 0 ||
        (r = key_check(key, &klen)) != 0)
        goto out;
    k.mv_size = sealed_key(key, klen, version, kb);
    k.mv_data = kb;
    rc = mdb_del(txn, dbi, &k, NULL);
    if (rc == MDB_NOTFOUND) {
        r = -ERR_NOT_FOUND;
        goto out;
    }
    if (rc != 0) {
        r = FROM_MDB(rc, "mdb_del");
        goto out;
    }
    r = 0;
out:
    return r;
}

int store_value_del_all(struct store *s, MDB_txn *txn, const char *key)
{
    unsigned char kb[SEALED_KEY_MAX];
    MDB_cursor *cur = NULL;
    MDB_dbi dbi;
    MDB_val k, v;
    size_t klen;
    int r, rc;

    if ((r = table_dbi(s, txn, STORE_SECRETS, false, &dbi)) != 0 ||
        (r = key_check(key, &klen)) != 0)
        goto out;
    (void)sealed_key(key, klen, 0, kb);
    if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
        r = FROM_MDB(rc, "mdb_cursor_open");
        goto out;
    }
    /* Keys hold no NUL, so key||0x00 is a prefix of this key's versions only. */
    for (;;) {
        k.mv_size = klen + 1;
        k.mv_data = kb;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc != 0 || k.mv_size != klen + 5 || memcmp(k.mv_data, kb, klen + 1) != 0)
            break;
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        r = FROM_MDB(rc, "value delete");
        goto out;
    }
    /* No version at all is fine: the key has none now either way. */
    r = 0;
out:
    mdb_cursor_close(cur);
    return r;
}

int store_reseal_all(struct store *s, MDB_txn *txn, const struct secbuf *old_dek,
                     const struct secbuf *new_dek, size_t *count)
{
    unsigned char kb[SEALED_KEY_MAX];
    unsigned char *sealed = NULL, *grown;
    struct secbuf *plain = NULL;
    MDB_cursor *cur = NULL;
    MDB_dbi dbi;
    MDB_val k, v;
    size_t n = 0, cap = 0, klen;
    int r, rc;

    if ((r = table_dbi(s, txn, STORE_SECRETS, false, &dbi)) != 0)
        goto out;
    if (!count || !old_dek || !new_dek || secbuf_len(old_dek) != CRYPT_KEY_LEN ||
        secbuf_len(new_dek) != CRYPT_KEY_LEN) {
        r = -ERR_INVAL;
        goto out;
    }
    if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
        r = FROM_MDB(rc, "mdb_cursor_open");
        goto out;
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        /* The key is copied out: the put below may rewrite the page it lives on. */
        klen = k.mv_size;
        if (klen < 6 || klen > sizeof(kb) || ((const unsigned char *)k.mv_data)[klen - 5] != 0) {
            log_err("len=%zu: malformed key in the sealed table", klen);
            r = -ERR_CORRUPT;
            goto out;
        }
        memcpy(kb, k.mv_data, klen);
        r = crypt_open(old_dek, kb, klen, v.mv_data, v.mv_size, &plain);
        if (r == -ERR_TAMPERED || r == -ERR_CORRUPT) {
            log_err("key=%.*s: sealed value failed authentication under the old key",
                    (int)(klen - 5), (const char *)kb);
            r = -ERR_TAMPERED;
            goto out;
        }
        if (r != 0)
            goto out;
        if (secbuf_len(plain) + CRYPT_OVERHEAD > cap) {
            cap = secbuf_len(plain) + CRYPT_OVERHEAD;
            if (!(grown = realloc(sealed, cap))) {
                r = -ERR_NOMEM;
                goto out;
            }
            sealed = grown;
        }
        if ((r = crypt_seal(new_dek, kb, klen, secbuf_cdata(plain), secbuf_len(plain), sealed)) !=
            0)
            goto out;
        v.mv_size = secbuf_len(plain) + CRYPT_OVERHEAD;
        v.mv_data = sealed;
        secbuf_free(plain); /* wipes it */
        plain = NULL;
        k.mv_size = klen;
        k.mv_data = kb;
        if ((rc = mdb_cursor_put(cur, &k, &v, MDB_CURRENT)) != 0) {
            r = FROM_MDB(rc, "mdb_cursor_put");
            goto out;
        }
        n++;
    }
    if (rc != MDB_NOTFOUND) {
        r = FROM_MDB(rc, "mdb_cursor_get");
        goto out;
    }
    *count = n;
    r = 0;
out:
    secbuf_free(plain);
    free(sealed);
    mdb_cursor_close(cur);
    return r;
}

/* ---- backup and restore ------------------------------------------------- */

int store_backup(struct store *s, const char *path, uint64_t *bytes)
{
    struct stat st;
    bool created = false;
    int fd = -1, r, rc;

    if (!s || !path || !bytes) {
        r = -ERR_INVAL;
        goto out;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        r = FROM_ERRNO("open backup", path);
        goto out;
    }
    created = true;
    /* Compaction copies live pages only, through a read txn of its own. */
    if ((rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT)) != 0) {
        r = FROM_MDB(rc, "mdb_env_copyfd2");
        goto out;
    }
    if (fsync(fd) != 0) {
        r = FROM_ERRNO("fsync backup", path);
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        r = FROM_ERRNO("fstat backup", path);
        goto out;
    }
    rc = close(fd);
    fd = -1;
    if (rc != 0) {
        r = FROM_ERRNO("close backup", path);
        goto out;
    }
    if ((r = parent_sync(path)) != 0)
        goto out;
    log_info("dir=%s backup path=%s bytes=%lld", s->dir, path, (long long)st.st_size);
    *bytes = (uint64_t)st.st_size;
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    if (r != 0 && created)
        unlink(path);
    return r;
}

int store_check_file(const char *path)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    int r, rc;

    if (!path) {
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = file_probe(path)) != 0)
        goto out;
    if ((rc = mdb_env_create(&env)) != 0 || (rc = mdb_env_set_maxdbs(env, STORE_MAXDBS)) != 0) {
        r = FROM_MDB(rc, "mdb_env_create");
        goto out;
    }
    /* A backup has no lock file and nobody else writes it: MDB_NOLOCK. */
    rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0600);
    if (rc != 0) {
        r = FROM_MDB(rc, "mdb_env_open");
        if (r != -ERR_CORRUPT)
            r = -ERR_IO;
        goto out;
    }
    if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0) {
        r = FROM_MDB(rc, "mdb_txn_begin");
        if (r != -ERR_CORRUPT)
            r = -ERR_IO;
        goto out;
    }
    rc = mdb_dbi_open(txn, table_names[STORE_META], 0, &meta);
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
        log_err("path=%s has no meta table: not a Custos environment", path);
        r = -ERR_CORRUPT;
        goto out;
    }
    if (rc != 0) {
        r = FROM_MDB(rc, "mdb_dbi_open");
        if (r != -ERR_CORRUPT)
            r = -ERR_IO;
        goto out;
    }
    r = schema_check(txn, meta, path);
    if (r == -ERR_NOT_FOUND) {
        log_err("path=%s has no schema record: not a Custos environment", path);
        r = -ERR_CORRUPT;
    }
out:
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return r;
}

static int file_copy(int in, int out, const char *src, const char *dst)
{
    char *chunk = malloc(COPY_CHUNK);
    int r = 0;

    if (!chunk)
        return -ERR_NOMEM;
    for (;;) {
        ssize_t n = read(in, chunk, COPY_CHUNK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = FROM_ERRNO("read", src);
            break;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, chunk + off, (size_t)(n - off));

            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                r = FROM_ERRNO("write", dst);
                goto out;
            }
            off += w;
        }
    }
out:
    free(chunk);
    return r;
}

int store_restore(struct store **sp, const char *backup_path)
{
    char tmp[PATH_MAX], data[PATH_MAX], lock[PATH_MAX];
    char *dir = NULL;
    size_t map_size;
    bool tmp_made = false;
    int in = -1, out_fd = -1, r, r2;

    if (!sp || !*sp || !backup_path) {
        r = -ERR_INVAL;
        goto out;
    }
    if (!(dir = strdup((*sp)->dir))) {
        r = -ERR_NOMEM;
        goto out;
    }
    map_size = (*sp)->map_size;
    if ((r = path_join(tmp, dir, "data.mdb.restore")) != 0 ||
        (r = path_join(data, dir, "data.mdb")) != 0 || (r = path_join(lock, dir, "lock.mdb")) != 0)
        goto out;
    /* A leftover of an interrupted restore: it was never installed. */
    if (unlink(tmp) != 0 && errno != ENOENT) {
        r = FROM_ERRNO("unlink", tmp);
        goto out;
    }
    if ((in = open(backup_path, O_RDONLY | O_CLOEXEC)) < 0) {
        r = FROM_ERRNO("open", backup_path);
        goto out;
    }
    out_fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (out_fd < 0) {
        r = FROM_ERRNO("open", tmp);
        goto out;
    }
    tmp_made = true;
    if ((r = file_copy(in, out_fd, backup_path, tmp)) != 0)
        goto out;
    if (fsync(out_fd) != 0) {
        r = FROM_ERRNO("fsync", tmp);
        goto out;
    }
    r2 = close(out_fd);
    out_fd = -1;
    if (r2 != 0) {
        r = FROM_ERRNO("close", tmp);
        goto out;
    }
    /* Check the copy, not the source: these are the bytes that will be installed. */
    if ((r = store_check_file(tmp)) != 0)
        goto out;
    if ((r = dir_sync(dir)) != 0)
        goto out;

    /* The caller guarantees no txn is open on *sp. */
    store_close(*sp);
    *sp = NULL;
    if (rename(tmp, data) != 0) {
        r = FROM_ERRNO("rename restore over data.mdb", dir);
        /* Nothing was replaced: bring the old environment back. */
        if ((r2 = store_open(dir, map_size, sp)) != 0)
            log_err_r(r2, "dir=%s: reopening the old environment failed", dir);
        goto out;
    }
    tmp_made = false;
    r = dir_sync(dir);
    /*
     * lock.mdb caches the last txn id of the file it served; a fresh one is
     * built from the new data.mdb.  LMDB would rebuild it anyway when it is
     * the only user, but not if some other process still held it open.
     */
    if (unlink(lock) != 0 && errno != ENOENT)
        log_warn("dir=%s: cannot remove lock.mdb: %s", dir, strerror(errno));
    if ((r2 = store_open(dir, map_size, sp)) != 0) {
        log_err_r(r2, "dir=%s: reopening after restore failed", dir);
        r = r2;
        goto out;
    }
    if (r != 0) {
        /* Restored and open, but the rename may not survive a crash. */
        log_err_r(r, "dir=%s: restore installed but not known durable", dir);
        goto out;
    }
    log_info("dir=%s restored from path=%s", dir, backup_path);
out:
    if (in >= 0)
        close(in);
    if (out_fd >= 0)
        close(out_fd);
    if (tmp_made)
        unlink(tmp);
    free(dir);
    return r;
}
