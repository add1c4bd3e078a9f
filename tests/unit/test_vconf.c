/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for vaultd/vconf.c: defaults, derived socket path, principals and their errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "custos/log.h"
#include "scopes.h"
#include "custos/paths.h"
#include "vconf.h"

static char errbuf[512];
static char path[64];

/* Write text to a fresh 0600 temp file; its name is in `path`. */
static void write_conf(const char *text)
{
    int fd;

    snprintf(path, sizeof(path), "/tmp/test_vconf.XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int load_text(const char *text, struct vconf **c)
{
    int r;

    write_conf(text);
    errbuf[0] = '\0';
    r = vconf_load(path, c, errbuf, sizeof(errbuf));
    unlink(path);
    return r;
}

/* Loading fails with -ERR_CONFIG; the message has ":line:" (0: no line check) and frag. */
static void load_fails(const char *text, unsigned line, const char *frag)
{
    struct vconf *c = (struct vconf *)1;
    char want[32];
    int r = load_text(text, &c);

    snprintf(want, sizeof(want), ":%u: ", line);
    if (r != -ERR_CONFIG || !strstr(errbuf, frag) || (line && !strstr(errbuf, want)))
        fail_msg("r=%d errbuf='%s' wanted line %u and '%s' for:\n%s", r, errbuf, line, frag, text);
    assert_null(c);
}

static void test_vconf_defaults(void **state)
{
    struct vconf *c = NULL;

    assert_int_equal(vconf_load(NULL, &c, errbuf, sizeof(errbuf)), 0);
    assert_string_equal(c->data_dir, CUSTOS_VAULT_DIR);
    assert_string_equal(c->data_dir, "/var/lib/custos");
    assert_string_equal(c->socket_path, "/run/custos/vaultd.sock");
    assert_int_equal(c->socket_mode, 0660);
    assert_string_equal(c->socket_group, "");
    assert_string_equal(c->key_file, "");
    assert_false(c->auto_unseal);
    assert_true(c->argon2_ops == crypto_pwhash_OPSLIMIT_MODERATE);
    assert_int_equal(c->argon2_mem, crypto_pwhash_MEMLIMIT_MODERATE);
    assert_int_equal(c->map_size, 1u << 30);
    assert_int_equal(c->max_line, 1u << 20);
    assert_int_equal(c->max_pending_output, 4u << 20);
    assert_int_equal(c->max_clients, 1024);
    assert_int_equal(c->max_line_short, 64u << 10);
    assert_int_equal(c->max_clients_per_uid, 64);
    assert_int_equal(c->idle_timeout, 30);
    assert_int_equal(c->quiet_timeout, 300);
    assert_int_equal(c->request_timeout, 86400);
    assert_int_equal(c->mfa_max_failures, 5);
    assert_int_equal(c->mfa_failure_window, 900);
    assert_int_equal(c->mfa_free_failures, 2);
    assert_int_equal(c->mfa_delay, 1);
    assert_int_equal(c->mfa_lock_time, 900);
    assert_int_equal(c->mfa_max_lock_time, 86400);
    assert_true(c->allow_self);
    assert_int_equal(c->sync_interval_ms, 0);
    assert_int_equal(c->log_level, LOG_LVL_INFO);
    assert_int_equal(c->n_principals, 0);
    assert_null(vconf_principal_for(c, 0, 0));
    assert_int_equal(vconf_check(c, errbuf, sizeof(errbuf)), 0);
    assert_int_equal(vconf_set_data_dir(c, "relative", errbuf, sizeof(errbuf)), -ERR_CONFIG);
    assert_int_equal(vconf_set_data_dir(c, "/srv/custos/", errbuf, sizeof(errbuf)), 0);
    assert_string_equal(c->data_dir, "/srv/custos/");
    /* The socket is the unit's RuntimeDirectory's, wherever the data lives. */
    assert_string_equal(c->socket_path, "/run/custos/vaultd.sock");
    assert_int_equal(vconf_check(c, errbuf, sizeof(errbuf)), 0);
    vconf_free(c);
    vconf_free(NULL);
}

static void test_vconf_socket_fixed(void **state)
{
    struct vconf *c = NULL;

    /* The socket no longer follows data_dir: one path for vaultd, the CLI and the broker. */
    assert_int_equal(load_text("[vault]\ndata_dir = /srv/v\n", &c), 0);
    assert_string_equal(c->socket_path, CUSTOS_SOCKET_PATH);
    vconf_free(c);

    /* An explicit socket stays. */
    assert_int_equal(load_text("[vault]\ndata_dir = /srv/v\nsocket = /run/custos/v.sock\n", &c), 0);
    assert_string_equal(c->socket_path, "/run/custos/v.sock");
    assert_int_equal(vconf_set_data_dir(c, "/other", errbuf, sizeof(errbuf)), 0);
    assert_string_equal(c->socket_path, "/run/custos/v.sock");
    vconf_free(c);

    load_fails("[vault]\nsocket = /run/"
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n",
               0, "longer than 107 bytes");
}

/* key_file = ${CREDENTIALS_DIRECTORY}/NAME: the systemd credential of LoadCredential=. */
static void test_vconf_key_file_credentials(void **state)
{
    struct vconf *c = NULL;

    assert_int_equal(setenv("CREDENTIALS_DIRECTORY", "/run/credentials/custos-vaultd.service", 1),
                     0);
    assert_int_equal(load_text("[vault]\nkey_file = ${CREDENTIALS_DIRECTORY}/vault.key\n", &c), 0);
    assert_string_equal(c->key_file, "/run/credentials/custos-vaultd.service/vault.key");
    vconf_free(c);
    assert_int_equal(load_text("[vault]\nkey_file = /etc/custos/vault.key\n", &c), 0);
    assert_string_equal(c->key_file, "/etc/custos/vault.key");
    vconf_free(c);
    load_fails("[vault]\nkey_file = ${CREDENTIALS_DIRECTORY}/a/b\n", 2, "a name in");
    load_fails("[vault]\nkey_file = ${CREDENTIALS_DIRECTORY}/..\n", 2, "a name in");
    load_fails("[vault]\nkey_file = vault.key\n", 2, "absolute path");
    /* Outside a unit with LoadCredential= the variable is unset: a clear error, no guess. */
    assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
    load_fails("[vault]\nkey_file = ${CREDENTIALS_DIRECTORY}/vault.key\n", 2, "LoadCredential=");
}

static void test_vconf_all_keys(void **state)
{
    struct vconf *c = NULL;
    const char *text = "[vault]\n"
                       "data_dir = /var/lib/custos\n"
                       "socket_mode = 0600\n"
                       "socket_group = custos\n"
                       "key_file = /etc/custos/kek\n"
                       "auto_unseal = yes\n"
                       "argon2_ops = 4\n"
                       "argon2_mem = 64M\n"
                       "map_size = 8G\n"
                       "sync_interval_ms = 8\n"
                       "[api]\n"
                       "max_line = 1M\n"
                       "max_pending_output = 16M\n"
                       "max_clients = 16\n"
                       "max_clients_per_uid = 3\n"
                       "max_line_short = 8K\n"
                       "idle_timeout = 30\n"
                       "quiet_timeout = 0\n"
                       "allow_self = false\n"
                       "[gov]\n"
                       "request_timeout = 600\n"
                       "[mfa]\n"
                       "max_failures = 10\n"
                       "failure_window = 60\n"
                       "free_failures = 0\n"
                       "delay = 0\n"
                       "lock_time = 120\n"
                       "max_lock_time = 120\n"

                       "[log]\n"
                       "level = debug\n";

    assert_int_equal(load_text(text, &c), 0);
    assert_string_equal(c->data_dir, "/var/lib/custos");
    assert_int_equal(c->socket_mode, 0600);
    assert_string_equal(c->socket_group, "custos");
    assert_string_equal(c->key_file, "/etc/custos/kek");
    assert_true(c->auto_unseal);
    assert_true(c->argon2_ops == 4);
    assert_int_equal(c->argon2_mem, 64u << 20);
    assert_int_equal(c->map_size, 8ull << 30);
    assert_int_equal(c->max_line, 1u << 20);
    assert_int_equal(c->max_pending_output, 16u << 20);
    assert_int_equal(c->max_clients, 16);
    assert_int_equal(c->idle_timeout, 30);
    assert_int_equal(c->max_clients_per_uid, 3);
    assert_int_equal(c->max_line_short, 8u << 10);
    assert_int_equal(c->quiet_timeout, 0);
    assert_int_equal(c->request_timeout, 600);
    assert_int_equal(c->mfa_max_failures, 10);
    assert_int_equal(c->mfa_failure_window, 60);
    assert_int_equal(c->mfa_free_failures, 0);
    assert_int_equal(c->mfa_delay, 0);
    assert_int_equal(c->mfa_lock_time, 120);
    assert_int_equal(c->mfa_max_lock_time, 120);
    assert_false(c->allow_self);
    assert_int_equal(c->sync_interval_ms, 8);
    assert_int_equal(c->log_level, LOG_LVL_DEBUG);
    assert_int_equal(vconf_check(c, errbuf, sizeof(errbuf)), 0);
    vconf_free(c);
}

static void test_vconf_value_errors(void **state)
{
    load_fails("[api]\nmax_line = 512\n", 2, "max_line");
    load_fails("[api]\nmax_line = 17M\n", 2, "1K..16M");
    load_fails("[api]\nmax_line = 2M\nmax_pending_output = 1M\n", 0,
               "max_pending_output (1048576) is less than max_line (2097152)");
    load_fails("[api]\nmax_clients = 0\n", 2, "max_clients");
    load_fails("[api]\nmax_clients_per_uid = 0\n", 2, "max_clients_per_uid");
    load_fails("[gov]\nrequest_timeout = 5\n", 2, "request_timeout");
    load_fails("[mfa]\nlock_time = 600\nmax_lock_time = 60\n", 0,
               "max_lock_time (60) is less than lock_time (600)");
    load_fails("[vault]\nsocket_mode = 0999\n", 2, "octal mode");
    load_fails("[vault]\nargon2_mem = 1K\n", 2, "argon2_mem");
    load_fails("[vault]\nargon2_ops = 0\n", 2, "argon2_ops");
    load_fails("[vault]\ndata_dir = var/lib\n", 2, "absolute path");
    load_fails("[vault]\nauto_unseal = true\n", 0, "auto_unseal needs key_file");
    load_fails("[log]\nlevel = verbose\n", 2, "level");
    load_fails("[vault]\ndata_dir = /x\n\n[api]\nmax_lines = 1\n", 5, "unknown key 'max_lines'");
    load_fails("[vaults]\n", 1, "unknown section [vaults]");
}

static void test_vconf_principals(void **state)
{
    struct vconf *c = NULL;
    const struct vconf_principal *p;
    const char *text = "[vault]\n"
                       "data_dir = /v\n"
                       "[principal admin]\n"
                       "uids = root, 1000 1001\n"
                       "scopes = all\n"
                       "[principal ops]\n"
                       "gids = daemon,2000\n"
                       "scopes = read write\n"
                       "[principal watcher]\n"
                       "uids = 3000\n"
                       "[principal shadowed]\n"
                       "uids = 1000\n"
                       "scopes = secret\n";

    assert_int_equal(load_text(text, &c), 0);
    assert_int_equal(c->n_principals, 4);
    p = &c->principals[0];
    assert_string_equal(p->name, "admin");
    assert_int_equal(p->n_uids, 3);
    assert_int_equal(p->uids[0], 0);
    assert_int_equal(p->uids[1], 1000);
    assert_int_equal(p->uids[2], 1001);
    assert_int_equal(p->n_gids, 0);
    assert_int_equal(p->scopes, SCOPE_ALL);
    p = &c->principals[1];
    assert_int_equal(p->n_gids, 2);
    assert_int_equal(p->gids[0], 1);
    assert_int_equal(p->gids[1], 2000);
    assert_int_equal(p->scopes, SCOPE(STATUS) | SCOPE(READ) | SCOPE(WRITE));
    /* No scopes key: status only. */
    assert_int_equal(c->principals[2].scopes, SCOPE(STATUS));

    assert_ptr_equal(vconf_principal_for(c, 1000, 12345), &c->principals[0]); /* first wins */
    assert_ptr_equal(vconf_principal_for(c, 12345, 2000), &c->principals[1]);
    assert_ptr_equal(vconf_principal_for(c, 0, 2000), &c->principals[0]);
    assert_ptr_equal(vconf_principal_for(c, 3000, 0), &c->principals[2]);
    assert_null(vconf_principal_for(c, 12345, 12345));
    vconf_free(c);
}

static void test_vconf_principal_errors(void **state)
{
    load_fails("[principal p]\nuids = 1\nscopes = read, bogus\n", 3, "unknown scope 'bogus'");
    load_fails("[principal p]\nuids = 1\nscopes = read, bogus\n", 3,
               "known: status, unseal, admin, read, write, secret, audit, gov, request, act_as, "
               "authorize, broker, all");
    load_fails("[principal p]\nuids = 1\nscopes = , ,\n", 3, "empty list");
    load_fails("[principal p]\nuids = 1\nscopes = READ\n", 3, "unknown scope 'READ'");
    load_fails("[principal p]\nuids = no-such-user-xq\n", 2, "unknown user 'no-such-user-xq'");
    load_fails("[principal p]\ngids = no-such-group-xq\n", 2, "unknown group 'no-such-group-xq'");
    load_fails("[principal p]\nuids = 4294967295\n", 2, "out of range");
    load_fails("[principal p]\nuids = 99999999999999999999999\n", 2, "out of range");
    load_fails("[principal p]\nuids =\n", 2, "empty list");
    load_fails("[vault]\ndata_dir = /v\n[principal p]\nscopes = all\n", 3, "matches nobody");
    load_fails("[principal p]\nuids = 1\n[principal p]\nuids = 2\n", 3, "defined twice");
    load_fails("[principal bad/name]\nuids = 1\n", 1, "principal names are");
    load_fails("[principal -x]\nuids = 1\n", 1, "principal names are");
    load_fails("[principal]\nuids = 1\n", 1, "needs a name");
    load_fails("[principal p]\nuids = 1\nuids = 2\n", 3, "already set on line 2");
    load_fails("[principal p]\nuids = 1\ndata_dir = /x\n", 3, "unknown key 'data_dir'");
}

static char *capture(void (*print)(FILE *))
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    assert_non_null(f);
    print(f);
    fclose(f);
    return out;
}

static void test_vconf_print(void **state)
{
    struct vconf *c = NULL;
    char *out = NULL;
    size_t len = 0;
    FILE *f;

    assert_int_equal(load_text("[vault]\ndata_dir = /v\n[principal admin]\nuids = root 1000\n"
                               "scopes = all\n[principal ro]\ngids = 5\nscopes = read\n",
                               &c),
                     0);
    f = open_memstream(&out, &len);
    assert_non_null(f);
    vconf_print(c, f);
    fclose(f);
    assert_non_null(strstr(out, "[vault]\ndata_dir = /v\nsocket = /run/custos/vaultd.sock\n"
                                "socket_mode = 0660\n"));
    assert_non_null(strstr(out, "argon2_mem = 256M\nmap_size = 1G\n"));
    assert_non_null(strstr(out, "[api]\nmax_line = 1M\n"));
    assert_non_null(strstr(out, "[log]\nlevel = info\n"));
    assert_non_null(
        strstr(out, "\n[principal admin]\nuids = 0, 1000\ngids = none\nscopes = all\n"));
    assert_non_null(
        strstr(out, "\n[principal ro]\nuids = none\ngids = 5\nscopes = status, read\n"));
    free(out);
    vconf_free(c);
}

static void test_vconf_sample_loads(void **state)
{
    struct vconf *c = NULL;
    char *out = capture(vconf_print_sample);

    /* Every key is documented in the sample. */
    static const char *const keys[] = {"#data_dir = ",
                                       "#socket =",
                                       "#socket_mode = 0660",
                                       "#socket_group =",
                                       "#key_file =",
                                       "#auto_unseal = false",
                                       "#argon2_ops = 3",
                                       "#argon2_mem = 256M",
                                       "#map_size = 1G",
                                       "#sync_interval_ms = 0",
                                       "#max_line = 1M",
                                       "#max_pending_output = 4M",
                                       "#max_clients = 1024",
                                       "#max_line_short = 64K",
                                       "#max_clients_per_uid = 64",
                                       "#idle_timeout = 30",
                                       "#quiet_timeout = 300",
                                       "#request_timeout = 86400",
                                       "#max_failures = 5",
                                       "#failure_window = 900",
                                       "#free_failures = 2",
                                       "#delay = 1",
                                       "#lock_time = 900",
                                       "#max_lock_time = 86400",
                                       "#allow_self = true",
                                       "#level = info",
                                       "#[principal admin]",
                                       "#uids = ",
                                       "#gids = ",
                                       "#scopes = "};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!strstr(out, keys[i]))
            fail_msg("sample lacks '%s'", keys[i]);
    /* As shipped it loads and means the defaults. */
    assert_int_equal(load_text(out, &c), 0);
    assert_int_equal(c->max_line, 1u << 20);
    assert_int_equal(c->n_principals, 0);
    vconf_free(c);
    free(out);

    out = capture(vconf_print_markdown);
    assert_non_null(strstr(out, "| `max_line` | size (K, M, G suffixes), 1K..16M | `1M` |"));
    assert_non_null(strstr(out, "### `[principal NAME]` (repeatable)"));
    assert_non_null(strstr(out, "| `secret` | secret.get"));
    free(out);
}

static void test_vconf_missing_file(void **state)
{
    struct vconf *c = (struct vconf *)1;

    assert_int_equal(vconf_load("/nonexistent/vaultd.conf", &c, errbuf, sizeof(errbuf)), -ERR_IO);
    assert_null(c);
    assert_non_null(strstr(errbuf, "/nonexistent/vaultd.conf"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vconf_defaults),
        cmocka_unit_test(test_vconf_socket_fixed),
        cmocka_unit_test(test_vconf_key_file_credentials),
        cmocka_unit_test(test_vconf_all_keys),
        cmocka_unit_test(test_vconf_value_errors),
        cmocka_unit_test(test_vconf_principals),
        cmocka_unit_test(test_vconf_principal_errors),
        cmocka_unit_test(test_vconf_print),
        cmocka_unit_test(test_vconf_sample_loads),
        cmocka_unit_test(test_vconf_missing_file),
    };

    return cmocka_run_group_tests_name("vconf", tests, NULL, NULL);
}
