/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: configuration files.
 *
 * 1. vaultd.conf through vaultd/vconf.c.  vconf_load only reads a path (its
 *    key table is static), so the input goes to a fresh 0600 memfd that is
 *    loaded as /proc/self/fd/N.  A loaded file must survive --data-dir and
 *    vconf_check, and its effective configuration (vconf_print) must load
 *    again and print the same text.
 * 2. conf_load_string with a small table of every key type, flag and a
 *    repeated section, for what the vaultd table does not use (CONF_REQUIRED,
 *    CONF_SENSITIVE, check callbacks, items with defaults).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custos/conf.h"
#include "custos/err.h"
#include "fuzz.h"
#include "vconf.h"

/* ---- vaultd.conf ------------------------------------------------------------------------ */

/* A 0600 memfd holding text; *path names it for open(). */
static int memfd_with(const void *text, size_t len, char *path, size_t pathlen)
{
    int fd = memfd_create("fuzz-vaultd.conf", MFD_CLOEXEC);
    const char *p = text;

    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(fchmod(fd, 0600) == 0); /* memfds start 0777: conf refuses world-writable */
    while (len > 0) {
        ssize_t w = write(fd, p, len);

        FUZZ_CHECK(w > 0);
        p += w;
        len -= (size_t)w;
    }
    snprintf(path, pathlen, "/proc/self/fd/%d", fd);
    return fd;
}

static int load_vconf(const void *text, size_t len, struct vconf **c, char *err, size_t errlen)
{
    char path[64];
    int fd = memfd_with(text, len, path, sizeof(path));
    int r = vconf_load(path, c, err, errlen);

    close(fd);
    return r;
}

static char *print_vconf(const struct vconf *c, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);

    FUZZ_CHECK(f != NULL);
    vconf_print(c, f);
    FUZZ_CHECK(fclose(f) == 0);
    return text;
}

static void fuzz_vconf(const uint8_t *data, size_t size)
{
    struct vconf *c = NULL, *c2 = NULL;
    char err[512] = "";
    char *text, *text2;
    size_t len, len2;
    int r;

    r = load_vconf(data, size, &c, err, sizeof(err));
    if (r != 0) {
        FUZZ_CHECK(c == NULL);
        FUZZ_CHECK(r == -ERR_CONFIG || r == -ERR_IO || r == -ERR_NOMEM);
        FUZZ_CHECK(err[0] != '\0');
        return;
    }
    FUZZ_CHECK(c != NULL);
    for (size_t i = 0; i < c->n_principals; i++) {
        const struct vconf_principal *p = &c->principals[i], *q;

        FUZZ_CHECK(p->name != NULL && p->n_uids + p->n_gids > 0);
        /* The first principal that lists the id wins: this one or an earlier one. */
        q = p->n_uids ? vconf_principal_for(c, p->uids[0], (gid_t)-1)
                      : vconf_principal_for(c, (uid_t)-1, p->gids[0]);
        FUZZ_CHECK(q != NULL && q <= p);
    }

    /* Whatever loads prints as a file that loads again and prints the same. */
    text = print_vconf(c, &len);
    {
        r = load_vconf(text, len, &c2, err, sizeof(err));
        if (r != 0)
            fprintf(stderr, "reload failed: %s\n--- printed:\n%.*s---\n", err, (int)len, text);
        FUZZ_CHECK(r == 0);
        text2 = print_vconf(c2, &len2);
        FUZZ_CHECK(len2 == len && memcmp(text, text2, len) == 0);
        free(text2);
        vconf_free(c2);
    }
    free(text);

    FUZZ_CHECK(vconf_set_data_dir(c, "/var/lib/custos-fuzz", err, sizeof(err)) == 0);
    FUZZ_CHECK(vconf_check(c, err, sizeof(err)) == 0);
    vconf_free(c);
}

/* ---- conf_load_string on a table of every type ------------------------------------------- */

#define MAX_ITEMS 4

struct item {
    char *label;
    unsigned weight;
    char *token;
};

struct tconf {
    char *name, *dir, *secret, *req;
    bool flag;
    unsigned count, mode;
    unsigned long long big;
    size_t size;
    int level;
    struct item items[MAX_ITEMS];
    size_t n_items;
    bool in_item;
};

static int even_check(const struct conf_key *k, const void *base, char *msg, size_t msglen)
{
    const struct tconf *t = base;

    if (t->count % 2) {
        snprintf(msg, msglen, "must be even");
        return -ERR_CONFIG;
    }
    return 0;
}

static int item_open(void *obj, const char *name, void **base, char *msg, size_t msglen)
{
    struct tconf *t = obj;

    FUZZ_CHECK(name != NULL && !t->in_item);
    if (t->n_items == MAX_ITEMS) {
        snprintf(msg, msglen, "too many items");
        return -ERR_CONFIG;
    }
    *base = &t->items[t->n_items++];
    t->in_item = true;
    return 0;
}

static int item_close(void *obj, void *base, char *msg, size_t msglen)
{
    struct tconf *t = obj;
    struct item *it = base;

    FUZZ_CHECK(t->in_item && it == &t->items[t->n_items - 1]);
    FUZZ_CHECK(it->label != NULL && it->label[0] != '\0'); /* CONF_REQUIRED is checked first */
    t->in_item = false;
    return 0;
}

static const struct conf_section t_sections[] = {
    {.name = "main", .doc = "plain"},
    {.name = "need", .doc = "holds a required key"},
    {.name = "item", .doc = "repeated", .open = item_open, .close = item_close, .example = "a"},
};

static const struct conf_key t_keys[] = {
    {.section = "main",
     .key = "name",
     .type = CONF_STRING,
     .def = "x",
     .doc = "d",
     .offset = offsetof(struct tconf, name)},
    {.section = "main",
     .key = "dir",
     .type = CONF_PATH,
     .doc = "d",
     .offset = offsetof(struct tconf, dir)},
    {.section = "main",
     .key = "secret",
     .type = CONF_STRING,
     .flags = CONF_SENSITIVE,
     .doc = "d",
     .offset = offsetof(struct tconf, secret)},
    {.section = "main",
     .key = "flag",
     .type = CONF_BOOL,
     .def = "no",
     .doc = "d",
     .offset = offsetof(struct tconf, flag)},
    {.section = "main",
     .key = "count",
     .type = CONF_UINT,
     .def = "2",
     .doc = "d",
     .offset = offsetof(struct tconf, count),
     .min = 0,
     .max = 1000,
     .check = even_check},
    {.section = "main",
     .key = "big",
     .type = CONF_U64,
     .doc = "d",
     .offset = offsetof(struct tconf, big)},
    {.section = "main",
     .key = "size",
     .type = CONF_SIZE,
     .def = "4K",
     .doc = "d",
     .offset = offsetof(struct tconf, size),
     .min = 1024},
    {.section = "main",
     .key = "mode",
     .type = CONF_MODE,
     .def = "0640",
     .doc = "d",
     .offset = offsetof(struct tconf, mode)},
    {.section = "main",
     .key = "level",
     .type = CONF_LOG_LEVEL,
     .def = "warn",
     .doc = "d",
     .offset = offsetof(struct tconf, level)},
    {.section = "need",
     .key = "req",
     .type = CONF_STRING,
     .flags = CONF_REQUIRED,
     .doc = "d",
     .offset = offsetof(struct tconf, req)},
    {.section = "item",
     .key = "label",
     .type = CONF_STRING,
     .flags = CONF_REQUIRED,
     .doc = "d",
     .offset = offsetof(struct item, label)},
    {.section = "item",
     .key = "weight",
     .type = CONF_UINT,
     .def = "1",
     .doc = "d",
     .offset = offsetof(struct item, weight),
     .min = 1,
     .max = 9},
    {.section = "item",
     .key = "token",
     .type = CONF_STRING,
     .flags = CONF_SENSITIVE,
     .def = "t0",
     .doc = "d",
     .offset = offsetof(struct item, token)},
};

static const struct conf_schema t_schema = {
    .sections = t_sections,
    .n_sections = sizeof(t_sections) / sizeof(t_sections[0]),
    .keys = t_keys,
    .n_keys = sizeof(t_keys) / sizeof(t_keys[0]),
};

static void fuzz_table(const uint8_t *data, size_t size)
{
    struct tconf t = {0};
    char err[512] = "", *text, *out = NULL;
    size_t outlen = 0;
    FILE *f;
    int r;

    text = malloc(size + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    FUZZ_CHECK(conf_defaults(&t_schema, &t, err, sizeof(err)) == 0);
    r = conf_load_string(&t_schema, &t, "fuzz.conf", text, err, sizeof(err));
    if (r != 0) {
        FUZZ_CHECK(r == -ERR_CONFIG || r == -ERR_NOMEM);
        FUZZ_CHECK(strncmp(err, "fuzz.conf", 9) == 0);
    } else {
        FUZZ_CHECK(t.req != NULL && t.req[0] != '\0' && !t.in_item);
        FUZZ_CHECK(t.count % 2 == 0 && t.count <= 1000 && t.size >= 1024 && t.mode <= 07777);
        f = open_memstream(&out, &outlen);
        FUZZ_CHECK(f != NULL);
        conf_print(&t_schema, &t, f);
        for (size_t i = 0; i < t.n_items; i++) {
            FUZZ_CHECK(t.items[i].weight >= 1 && t.items[i].weight <= 9);
            conf_print_section(&t_schema, "item", t.items[i].label, &t.items[i], f);
        }
        FUZZ_CHECK(fclose(f) == 0);
        /* Sensitive values print as <redacted>, never as themselves. */
        FUZZ_CHECK(strstr(out, "secret = <redacted>\n") != NULL);
        free(out);
    }
    for (size_t i = 0; i < t.n_items; i++)
        conf_section_fini(&t_schema, "item", &t.items[i]);
    conf_fini(&t_schema, &t);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    if (size > CONF_FILE_MAX)
        return 0;
    fuzz_vconf(data, size);
    fuzz_table(data, size);
    return 0;
}
