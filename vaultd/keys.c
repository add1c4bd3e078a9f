/* SPDX-License-Identifier: Apache-2.0 */
/* Key custody: the KEK from a passphrase, key file or Shamir shares, and DEK wrapping. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "custos/log.h"
#include "crypt.h"
#include "keys.h"
#include "shamir.h"

#define SALT_LEN crypto_pwhash_SALTBYTES /* 16 */
#define DEK_ID_LEN 8u
#define DEK_ID_HEX (2u * DEK_ID_LEN)
#define DEK_AD_PREFIX "custos-dek-v1:"
#define DEK_AD_PREFIX_LEN (sizeof(DEK_AD_PREFIX) - 1)
#define WRAPPED_LEN (CRYPT_KEY_LEN + CRYPT_OVERHEAD)
#define WRAPPED_HEX (2u * WRAPPED_LEN)
#define KEYFILE_HEX (2u * CRYPT_KEY_LEN)
/* Longest accepted key file: 64 hex characters and a newline. */
#define KEYFILE_MAX (KEYFILE_HEX + 1u)

/* errno as text without strerror()'s shared buffer: Argon2 runs on other threads. */
static const char *errno_str(int e, char *buf, size_t len)
{
    return strerror_r(e, buf, len); /* GNU variant: _GNU_SOURCE is project-wide */
}

/* Decode the hex string field `name` of exactly `len` bytes; -ERR_CORRUPT otherwise. */
static int desc_get_hex(const json_t *desc, const char *name, unsigned char *bin, size_t len)
{
    const json_t *v = json_object_get(desc, name);
    size_t got = 0;

    if (!json_is_string(v) || json_string_length(v) != 2 * len)
        return -ERR_CORRUPT;
    if (sodium_hex2bin(bin, len, json_string_value(v), 2 * len, NULL, &got, NULL) != 0 ||
        got != len)
        return -ERR_CORRUPT;
    return 0;
}

/* An unsigned integer field within [lo, hi]; -ERR_CORRUPT otherwise. */
static int desc_get_uint(const json_t *desc, const char *name, unsigned long long lo,
                         unsigned long long hi, unsigned long long *out)
{
    const json_t *v = json_object_get(desc, name);
    json_int_t i;

    if (!json_is_integer(v))
        return -ERR_CORRUPT;
    i = json_integer_value(v);
    if (i < 0 || (unsigned long long)i < lo || (unsigned long long)i > hi)
        return -ERR_CORRUPT;
    *out = (unsigned long long)i;
    return 0;
}

/*
 * A systemd credential (LoadCredential=): a file in $CREDENTIALS_DIRECTORY,
 * which systemd makes private to the service.  It is the service user's with
 * mode 0400 when the credential file system has no ACLs, else root's, 0440
 * (the group bits show the ACL mask of the entry for our uid).  Writable by
 * nobody, readable by no other.
 */
static bool is_credential(const char *path, const struct stat *st)
{
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    size_t n = dir ? strlen(dir) : 0;

    if (n < 2 || dir[0] != '/' || strncmp(path, dir, n) != 0 || path[n] != '/' ||
        strchr(path + n + 1, '/'))
        return false;
    return (st->st_uid == 0 || st->st_uid == geteuid()) && (st->st_mode & 0237) == 0;
}

/* "custos-dek-v1:" || dek_id (its hex text, as stored) into ad[DEK_AD_PREFIX_LEN + DEK_ID_HEX]. */
static void dek_ad(const char *dek_id_hex, unsigned char *ad)
{
    memcpy(ad, DEK_AD_PREFIX, DEK_AD_PREFIX_LEN);
    memcpy(ad + DEK_AD_PREFIX_LEN, dek_id_hex, DEK_ID_HEX);
}

int keys_desc_new(const char *method, unsigned long long opslimit, size_t memlimit,
                  unsigned threshold, unsigned shares, json_t **out)
{
    int r = -ERR_INTERNAL;
    json_t *d = NULL;
    unsigned char salt[SALT_LEN];
    char salt_hex[2 * SALT_LEN + 1];

    if (!out) {
        r = -ERR_INVAL;
        goto out;
    }
    *out = NULL;
    if (!method) {
        r = -ERR_INVAL;
        goto out;
    }
    if (strcmp(method, "passphrase") == 0) {
        if (opslimit < crypto_pwhash_OPSLIMIT_MIN || opslimit > crypto_pwhash_OPSLIMIT_MAX ||
            memlimit < crypto_pwhash_MEMLIMIT_MIN || memlimit > crypto_pwhash_MEMLIMIT_MAX) {
            log_err("argon2id limits out of range opslimit=%llu memlimit=%zu", opslimit, memlimit);
            r = -ERR_INVAL;
            goto out;
        }
        randombytes_buf(salt, sizeof(salt));
        sodium_bin2hex(salt_hex, sizeof(salt_hex), salt, sizeof(salt));
        d = json_pack("{s:s, s:s, s:I, s:I}", "method", method, "salt", salt_hex, "opslimit",
                      (json_int_t)opslimit, "memlimit", (json_int_t)memlimit);
    } else if (strcmp(method, "keyfile") == 0) {
        d = json_pack("{s:s}", "method", method);
    } else if (strcmp(method, "shamir") == 0) {
        if (threshold < 2 || threshold > shares || shares > SHAMIR_MAX_SHARES) {
            log_err("shamir threshold=%u shares=%u: need 2 <= threshold <= shares <= %u", threshold,
                    shares, SHAMIR_MAX_SHARES);
            r = -ERR_INVAL;
            goto out;
        }
        d = json_pack("{s:s, s:I, s:I}", "method", method, "threshold", (json_int_t)threshold,
                      "shares", (json_int_t)shares);
    } else {
        log_err("unknown kek method");
        r = -ERR_INVAL;
        goto out;
    }
    if (!d) {
        r = -ERR_NOMEM;
        goto out;
    }
    *out = d; /* caller owns it now */
    d = NULL;
    r = 0;
out:
    json_decref(d);
    return r;
}

int keys_kek_from_passphrase(const json_t *desc, const struct secbuf *passphrase,
                             struct secbuf **kek)
{
    int r = -ERR_INTERNAL;
    struct secbuf *k = NULL;
    unsigned char salt[SALT_LEN];
    unsigned long long ops = 0, mem = 0;
    const char *method;

    if (!kek) {
        r = -ERR_INVAL;
        goto out;
    }
    *kek = NULL;
    if (!desc || !passphrase || secbuf_len(passphrase) == 0 ||
        secbuf_len(passphrase) > crypto_pwhash_PASSWD_MAX) {
        r = -ERR_INVAL;
        goto out;
    }
    method = json_string_value(json_object_get(desc, "method"));
    if (!method || strcmp(method, "passphrase") != 0) {
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = desc_get_hex(desc, "salt", salt, sizeof(salt))) != 0 ||
        (r = desc_get_uint(desc, "opslimit", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_OPSLIMIT_MAX,
                           &ops)) != 0 ||
        (r = desc_get_uint(desc, "memlimit", crypto_pwhash_MEMLIMIT_MIN, crypto_pwhash_MEMLIMIT_MAX,
                           &mem)) != 0) {
        log_err_r(r, "bad passphrase kek descriptor");
        goto out;
    }
    if ((r = secbuf_new(CRYPT_KEY_LEN, &k)) != 0)
        goto out;
    /* RFC 9106 Argon2id; libsodium only fails here when it cannot allocate memlimit. */
    if (crypto_pwhash(secbuf_data(k), CRYPT_KEY_LEN, secbuf_cdata(passphrase),
                      secbuf_len(passphrase), salt, ops, (size_t)mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        r = -ERR_NOMEM;
        log_err_r(r, "argon2id failed opslimit=%llu memlimit=%llu", ops, mem);
        goto out;
    }
    if ((r = secbuf_set_len(k, CRYPT_KEY_LEN)) != 0)
        goto out;
    *kek = k; /* caller owns it now */
    k = NULL;
    r = 0;
out:
    secbuf_free(k);
    return r;
}

int keys_kek_from_file(const char *path, struct secbuf **kek)
{
    int r = -ERR_INTERNAL;
    int fd = -1, e;
    struct stat st;
    struct secbuf *raw = NULL, *k = NULL;
    unsigned char *p;
    size_t n = 0, got = 0;
    ssize_t rd;
    char eb[128];

    if (!kek) {
        r = -ERR_INVAL;
        goto out;
    }
    *kek = NULL;
    if (!path) {
        r = -ERR_INVAL;
        goto out;
    }
    /* O_NONBLOCK so a FIFO planted at the path cannot hang us before the S_ISREG check. */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        e = errno;
        if (e == ELOOP) {
            r = -ERR_CONFIG;
            log_err_r(r, "key file path=%s is a symbolic link", path);
        } else {
            r = -ERR_IO;
            log_err_r(r, "cannot open key file path=%s (%s)", path, errno_str(e, eb, sizeof(eb)));
        }
        goto out;
    }
    /* Checks on the open file, not the name, so nothing can be swapped in between. */
    if (fstat(fd, &st) != 0) {
        e = errno;
        r = -ERR_IO;
        log_err_r(r, "cannot stat key file path=%s (%s)", path, errno_str(e, eb, sizeof(eb)));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = -ERR_CONFIG;
        log_err_r(r, "key file path=%s is not a regular file", path);
        goto out;
    }
    if (is_credential(path, &st)) {
        /* systemd's own: root's, read-only, reached through an ACL entry for our uid. */
    } else if (st.st_uid != geteuid()) {
        r = -ERR_CONFIG;
        log_err_r(r, "key file path=%s owner uid=%u, expected uid=%u", path, (unsigned)st.st_uid,
                  (unsigned)geteuid());
        goto out;
    } else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        /* As OpenSSH does for private keys: no access at all for group or other. */
        r = -ERR_CONFIG;
        log_err_r(r, "key file path=%s mode=%04o, must be 0600 or stricter", path,
                  (unsigned)(st.st_mode & 07777));
        goto out;
    }
    /* One byte more than the longest valid file, to notice a longer one. */
    if ((r = secbuf_new(KEYFILE_MAX + 1, &raw)) != 0)
        goto out;
    p = secbuf_data(raw);
    while (n < KEYFILE_MAX + 1) {
        rd = read(fd, p + n, KEYFILE_MAX + 1 - n);
        if (rd < 0 && errno == EINTR)
            continue;
        if (rd < 0) {
            e = errno;
            r = -ERR_IO;
            log_err_r(r, "cannot read key file path=%s (%s)", path, errno_str(e, eb, sizeof(eb)));
            goto out;
        }
        if (rd == 0)
            break;
        n += (size_t)rd;
    }
    if ((r = secbuf_new(CRYPT_KEY_LEN, &k)) != 0)
        goto out;
    if (n == CRYPT_KEY_LEN) {
        memcpy(secbuf_data(k), p, CRYPT_KEY_LEN);
    } else if (n == KEYFILE_HEX || (n == KEYFILE_HEX + 1 && p[KEYFILE_HEX] == '\n')) {
        /* sodium_hex2bin runs in constant time, so the key does not leak through timing. */
        if (sodium_hex2bin(secbuf_data(k), CRYPT_KEY_LEN, (const char *)p, KEYFILE_HEX, NULL, &got,
                           NULL) != 0 ||
            got != CRYPT_KEY_LEN) {
            r = -ERR_CONFIG;
            log_err_r(r, "key file path=%s length=%zu is not 64 hex characters", path, n);
            goto out;
        }
    } else {
        r = -ERR_CONFIG;
        log_err_r(r, "key file path=%s length=%zu, expected 32 raw bytes or 64 hex characters",
                  path, n);
        goto out;
    }
    if ((r = secbuf_set_len(k, CRYPT_KEY_LEN)) != 0)
        goto out;
    *kek = k; /* caller owns it now */
    k = NULL;
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    secbuf_free(raw);
    secbuf_free(k);
    return r;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    ssize_t w;

    while (len > 0) {
        w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsync the directory holding `path`, so the new name survives a crash. */
static int sync_parent_dir(const char *path)
{
    int r = -ERR_INTERNAL;
    int dfd = -1, e;
    const char *slash = strrchr(path, '/');
    char *copy = NULL;
    const char *dir = ".";
    char eb[128];

    if (slash) {
        /* "/k" lives in "/", "a/b/k" in "a/b". */
        if (!(copy = strndup(path, slash == path ? 1 : (size_t)(slash - path)))) {
            r = -ERR_NOMEM;
            goto out;
        }
        dir = copy;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    /* EINVAL: the file system cannot sync directories; nothing more to do there. */
    if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL)) {
        e = errno;
        r = -ERR_IO;
        log_err_r(r, "cannot sync directory dir=%s (%s)", dir, errno_str(e, eb, sizeof(eb)));
        goto out;
    }
    r = 0;
out:
    if (dfd >= 0)
        close(dfd);
    free(copy);
    return r;
}

int keys_keyfile_create(const char *path)
{
    int r = -ERR_INTERNAL;
    int fd = -1, e;
    bool created = false;
    struct secbuf *key = NULL, *text = NULL;
    char *t;
    char eb[128];

    if (!path) {
        r = -ERR_INVAL;
        goto out;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        e = errno;
        r = e == EEXIST ? -ERR_EXISTS : -ERR_IO;
        log_err_r(r, "cannot create key file path=%s (%s)", path, errno_str(e, eb, sizeof(eb)));
        goto out;
    }
    created = true;
    /* Exactly 0600 whatever the umask (which can only have taken bits away). */
    if (fchmod(fd, 0600) != 0) {
        e = errno;
        r = -ERR_IO;
        log_err_r(r, "cannot chmod key file path=%s (%s)", path, errno_str(e, eb, sizeof(eb)));
        goto out;
    }
    if ((r = crypt_key_new(&key)) != 0)
        goto out;
    if ((r = secbuf_new(KEYFILE_HEX + 1, &text)) != 0)
        goto out;
    t = secbuf_data(text);
    sodium_bin2hex(t, KEYFILE_HEX + 1, secbuf_cdata(key), CRYPT_KEY_LEN);
    t[KEYFILE_HEX] = '\n'; /* replaces the NUL: the file is a text line */
    if (write_all(fd, (const unsigned char *)t, KEYFILE_HEX + 1) != 0 || fsync(fd) != 0) {
        e = errno;
        r = -ERR_IO;
        log_err_r(r, "cannot write key file path=%s (%s)", path, errno_str(e, eb, sizeof(eb)));
        goto out;
    }
    e = close(fd) != 0 ? errno : 0;
    fd = -1;
    if (e != 0) {
        r = -ERR_IO;
        log_err_r(r, "cannot close key file path=%s (%s)", path, errno_str(e, eb, sizeof(eb)));
        goto out;
    }
    if ((r = sync_parent_dir(path)) != 0)
        goto out;
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    /* O_EXCL made the name ours: a half-written key file must not be mistaken for a key. */
    if (r != 0 && created && unlink(path) != 0)
        log_warn("cannot remove partial key file path=%s", path);
    secbuf_free(key);
    secbuf_free(text);
    return r;
}

int keys_wrap_dek(json_t *desc, const struct secbuf *kek, const struct secbuf *dek)
{
    int r = -ERR_INTERNAL;
    unsigned char id[DEK_ID_LEN];
    char id_hex[DEK_ID_HEX + 1];
    unsigned char ad[DEK_AD_PREFIX_LEN + DEK_ID_HEX];
    unsigned char sealed[WRAPPED_LEN];
    char sealed_hex[WRAPPED_HEX + 1];
    json_t *jid = NULL, *jwrapped = NULL, *old_id = NULL;

    if (!json_is_object(desc) || !kek || !dek || secbuf_len(dek) != CRYPT_KEY_LEN ||
        secbuf_len(kek) != CRYPT_KEY_LEN) {
        r = -ERR_INVAL;
        goto out;
    }
    /* A fresh id per wrap: the AD then ties this ciphertext to this descriptor. */
    randombytes_buf(id, sizeof(id));
    sodium_bin2hex(id_hex, sizeof(id_hex), id, sizeof(id));
    dek_ad(id_hex, ad);
    if ((r = crypt_seal(kek, ad, sizeof(ad), secbuf_cdata(dek), CRYPT_KEY_LEN, sealed)) != 0)
        goto out;
    sodium_bin2hex(sealed_hex, sizeof(sealed_hex), sealed, sizeof(sealed));
    jid = json_string(id_hex);
    jwrapped = json_string(sealed_hex);
    if (!jid || !jwrapped) {
        r = -ERR_NOMEM;
        goto out;
    }
    /* Both fields or neither: a new id beside the old wrapped key would never open. */
    old_id = json_incref(json_object_get(desc, "dek_id"));
    if (json_object_set(desc, "dek_id", jid) != 0) {
        r = -ERR_NOMEM;
        goto out;
    }
    if (json_object_set(desc, "wrapped_dek", jwrapped) != 0) {
        if (old_id)
            (void)json_object_set(desc, "dek_id", old_id);
        else
            (void)json_object_del(desc, "dek_id");
        r = -ERR_NOMEM;
        goto out;
    }
    r = 0;
out:
    json_decref(jid);
    json_decref(jwrapped);
    json_decref(old_id);
    sodium_memzero(sealed, sizeof(sealed));
    sodium_memzero(sealed_hex, sizeof(sealed_hex));
    return r;
}

int keys_unwrap_dek(const json_t *desc, const struct secbuf *kek, struct secbuf **dek)
{
    int r = -ERR_INTERNAL;
    unsigned char id[DEK_ID_LEN];
    unsigned char ad[DEK_AD_PREFIX_LEN + DEK_ID_HEX];
    unsigned char sealed[WRAPPED_LEN];
    struct secbuf *plain = NULL;

    if (!dek) {
        r = -ERR_INVAL;
        goto out;
    }
    *dek = NULL;
    if (!json_is_object(desc) || !kek || secbuf_len(kek) != CRYPT_KEY_LEN) {
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = desc_get_hex(desc, "dek_id", id, sizeof(id))) != 0 ||
        (r = desc_get_hex(desc, "wrapped_dek", sealed, sizeof(sealed))) != 0) {
        log_err_r(r, "bad kek descriptor");
        goto out;
    }
    /* The AD is the id as stored (its text), exactly as keys_wrap_dek used it. */
    dek_ad(json_string_value(json_object_get(desc, "dek_id")), ad);
    r = crypt_open(kek, ad, sizeof(ad), sealed, sizeof(sealed), &plain);
    if (r == -ERR_TAMPERED) {
        /* Wrong KEK and a modified descriptor look the same, by design of the AEAD. */
        r = -ERR_AUTH;
        goto out;
    }
    if (r != 0)
        goto out;
    if (secbuf_len(plain) != CRYPT_KEY_LEN) {
        r = -ERR_CORRUPT;
        goto out;
    }
    *dek = plain; /* caller owns it now */
    plain = NULL;
    r = 0;
out:
    secbuf_free(plain);
    return r;
}

struct keys_shares {
    unsigned threshold;
    unsigned count;
    struct secbuf *share[]; /* threshold slots, the first count used */
};

int keys_shares_new(unsigned threshold, struct keys_shares **out)
{
    int r = -ERR_INTERNAL;
    struct keys_shares *ks = NULL;

    if (!out) {
        r = -ERR_INVAL;
        goto out;
    }
    *out = NULL;
    if (threshold < 2 || threshold > SHAMIR_MAX_SHARES) {
        r = -ERR_INVAL;
        goto out;
    }
    if (!(ks = calloc(1, sizeof(*ks) + threshold * sizeof(ks->share[0])))) {
        r = -ERR_NOMEM;
        goto out;
    }
    ks->threshold = threshold;
    *out = ks; /* caller owns it now */
    r = 0;
out:
    return r;
}

int keys_shares_add(struct keys_shares *ks, const char *text, size_t len)
{
    int r = -ERR_INTERNAL;
    struct secbuf *sh = NULL;
    unsigned k = 0, i, x;

    if (!ks || !text) {
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = shamir_share_decode(text, len, &k, &sh)) != 0) {
        log_warn_r(r, "share refused length=%zu", len);
        goto out;
    }
    x = ((const unsigned char *)secbuf_cdata(sh))[0];
    if (k != ks->threshold) {
        r = -ERR_INVAL;
        log_warn_r(r, "share x=%u threshold=%u, vault needs threshold=%u", x, k, ks->threshold);
        goto out;
    }
    if (secbuf_len(sh) != 1 + CRYPT_KEY_LEN) {
        r = -ERR_INVAL;
        log_warn_r(r, "share x=%u length=%zu is not a key share", x, secbuf_len(sh) - 1);
        goto out;
    }
    for (i = 0; i < ks->count; i++) {
        if (((const unsigned char *)secbuf_cdata(ks->share[i]))[0] == x) {
            r = -ERR_INVAL;
            log_info("share x=%u already given, not counted", x);
            goto out;
        }
    }
    if (ks->count >= ks->threshold) {
        r = -ERR_INVAL;
        log_info("share x=%u not needed: threshold=%u reached", x, ks->threshold);
        goto out;
    }
    ks->share[ks->count++] = sh; /* ks owns it now */
    sh = NULL;
    r = 0;
out:
    secbuf_free(sh);
    return r;
}

unsigned keys_shares_count(const struct keys_shares *ks)
{
    return ks ? ks->count : 0;
}

int keys_shares_combine(const struct keys_shares *ks, struct secbuf **kek)
{
    int r = -ERR_INTERNAL;
    struct secbuf *k = NULL;

    if (!kek) {
        r = -ERR_INVAL;
        goto out;
    }
    *kek = NULL;
    if (!ks) {
        r = -ERR_INVAL;
        goto out;
    }
    if (ks->count < ks->threshold) {
        r = -ERR_STATE;
        goto out;
    }
    if ((r = shamir_combine(ks->share, ks->count, &k)) != 0)
        goto out;
    *kek = k; /* caller owns it now */
    k = NULL;
    r = 0;
out:
    secbuf_free(k);
    return r;
}

void keys_shares_free(struct keys_shares *ks)
{
    unsigned i;

    if (!ks)
        return;
    for (i = 0; i < ks->count; i++)
        secbuf_free(ks->share[i]);
    sodium_memzero(ks, sizeof(*ks) + ks->threshold * sizeof(ks->share[0]));
    free(ks);
}
