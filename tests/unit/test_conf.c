/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for conf.c against a test table that uses every type, flag and a repeated section. */
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

#include "custos/conf.h"
#include "custos/log.h"

enum color { COLOR_NONE, COLOR_RED, COLOR_GREEN };

struct item {
    char *name;
    char *label;
    unsigned weight;
    enum color color;
};

struct tconf {
    char *name;
    char *dir;
    bool flag;
    unsigned count;
    unsigned long long big;
    size_t size;
    unsigned mode;
    int level;
    char *req;
    char *token;
    unsigned pin;
    struct item *items;
    size_t n_items;
    int closes;
};

static int color_parse(const struct conf_key *k, void *base, const char *value, char *msg,
                       size_t msglen)
{
    struct item *it = base;

    if (strcmp(value, "red") == 0)
        it->color = COLOR_RED;
    else if (strcmp(value, "green") == 0)
        it->color = COLOR_GREEN;
    else {
        snprintf(msg, msglen, "unknown color '%s'", value);
        return -ERR_CONFIG;
    }
    return 0;
}

static void color_print(const struct conf_key *k, const void *base, FILE *f)
{
    const struct item *it = base;

    fputs(it->color == COLOR_RED ? "red" : it->color == COLOR_GREEN ? "green" : "none", f);
}

static int even_check(const struct conf_key *k, const void *base, char *msg, size_t msglen)
{
    const struct tconf *c = base;

    if (c->count % 2) {
        snprintf(msg, msglen, "must be even");
        return -ERR_CONFIG;
    }
    return 0;
}

static int item_open(void *obj, const char *name, void **base, char *msg, size_t msglen)
{
    struct tconf *c = obj;
    struct item *arr;

    for (size_t i = 0; i < c->n_items; i++) {
        if (strcmp(c->items[i].name, name) == 0) {
            snprintf(msg, msglen, "item '%s' twice", name);
            return -ERR_CONFIG;
        }
    }
    arr = realloc(c->items, (c->n_items + 1) * sizeof(*arr));
    if (!arr)
        return -ERR_NOMEM;
    c->items = arr;
    memset(&arr[c->n_items], 0, sizeof(*arr));
    arr[c->n_items].name = strdup(name);
    *base = &arr[c->n_items++];
    return 0;
}

static int item_close(void *obj, void *base, char *msg, size_t msglen)
{
    struct tconf *c = obj;
    struct item *it = base;

    c->closes++;
    if (it->weight == 13) {
        snprintf(msg, msglen, "unlucky weight");
        return -ERR_CONFIG;
    }
    return 0;
}

static const struct conf_section sections[] = {
    {.name = "main", .doc = "Main section."},
    {.name = "secret", .doc = "Things never printed."},
    {.name = "item",
     .doc = "One per item.",
     .open = item_open,
     .close = item_close,
     .example = "first"},
};

static const struct conf_key keys[] = {
    {.section = "main",
     .key = "name",
     .type = CONF_STRING,
     .def = "custos",
     .doc = "A name.",
     .offset = offsetof(struct tconf, name)},
    {.section = "main",
     .key = "dir",
     .type = CONF_PATH,
     .def = "/var/lib/x",
     .doc = "A directory.",
     .offset = offsetof(struct tconf, dir)},
    {.section = "main",
     .key = "flag",
     .type = CONF_BOOL,
     .def = "false",
     .doc = "A flag.",
     .offset = offsetof(struct tconf, flag)},
    {.section = "main",
     .key = "count",
     .type = CONF_UINT,
     .def = "10",
     .doc = "A count.",
     .offset = offsetof(struct tconf, count),
     .min = 1,
     .max = 100,
     .check = even_check},
    {.section = "main",
     .key = "big",
     .type = CONF_U64,
     .def = "5",
     .doc = "A big number.",
     .offset = offsetof(struct tconf, big)},
    {.section = "main",
     .key = "size",
     .type = CONF_SIZE,
     .def = "64K",
     .doc = "A size.",
     .offset = offsetof(struct tconf, size),
     .min = 1024,
     .max = 1ull << 40},
    {.section = "main",
     .key = "mode",
     .type = CONF_MODE,
     .def = "0640",
     .doc = "A mode.",
     .offset = offsetof(struct tconf, mode)},
    {.section = "main",
     .key = "level",
     .type = CONF_LOG_LEVEL,
     .def = "info",
     .doc = "A level.",
     .offset = offsetof(struct tconf, level)},
    {.section = "main",
     .key = "req",
     .type = CONF_STRING,
     .flags = CONF_REQUIRED,
     .doc = "Must be given.",
     .offset = offsetof(struct tconf, req),
     .example = "something"},
    {.section = "secret",
     .key = "token",
     .type = CONF_STRING,
     .def = "",
     .flags = CONF_SENSITIVE,
     .doc = "A token.",
     .offset = offsetof(struct tconf, token)},
    {.section = "secret",
     .key = "pin",
     .type = CONF_UINT,
     .def = "0",
     .flags = CONF_SENSITIVE,
     .doc = "A pin.",
     .offset = offsetof(struct tconf, pin),
     .max = 9999},
    {.section = "item",
     .key = "label",
     .type = CONF_STRING,
     .flags = CONF_REQUIRED,
     .doc = "Label | with a pipe.",
     .offset = offsetof(struct item, label)},
    {.section = "item",
     .key = "weight",
     .type = CONF_UINT,
     .def = "1",
     .doc = "Weight.",
     .offset = offsetof(struct item, weight)},
    {.section = "item",
     .key = "color",
     .type = CONF_CUSTOM,
     .doc = "Color.",
     .offset = offsetof(struct item, color),
     .type_doc = "red or green",
     .example = "red",
     .parse = color_parse,
     .print = color_print},
};

static const struct conf_schema schema = {
    .sections = sections,
    .n_sections = sizeof(sections) / sizeof(sections[0]),
    .keys = keys,
    .n_keys = sizeof(keys) / sizeof(keys[0]),
};

static void tconf_free(struct tconf *c)
{
    for (size_t i = 0; i < c->n_items; i++) {
        conf_section_fini(&schema, "item", &c->items[i]);
        free(c->items[i].name);
    }
    free(c->items);
    conf_fini(&schema, c);
    memset(c, 0, sizeof(*c));
}

static char errbuf[512];

/* Defaults, then the text; returns the loader's result with the message in errbuf. */
static int load(struct tconf *c, const char *text)
{
    memset(c, 0, sizeof(*c));
    errbuf[0] = '\0';
    assert_int_equal(conf_defaults(&schema, c, errbuf, sizeof(errbuf)), 0);
    return conf_load_string(&schema, c, "t.ini", text, errbuf, sizeof(errbuf));
}

/* The load fails with -ERR_CONFIG and a message containing every given fragment. */
static void load_fails(const char *text, const char *frag1, const char *frag2)
{
    struct tconf c;
    int r = load(&c, text);

    if (r != -ERR_CONFIG || !strstr(errbuf, frag1) || (frag2 && !strstr(errbuf, frag2)))
        fail_msg("r=%d errbuf='%s' wanted '%s' '%s' for text:\n%s", r, errbuf, frag1,
                 frag2 ? frag2 : "", text);
    tconf_free(&c);
}

static void test_conf_defaults(void **state)
{
    struct tconf c;

    memset(&c, 0, sizeof(c));
    assert_int_equal(conf_defaults(&schema, &c, errbuf, sizeof(errbuf)), 0);
    assert_string_equal(c.name, "custos");
    assert_string_equal(c.dir, "/var/lib/x");
    assert_false(c.flag);
    assert_int_equal(c.count, 10);
    assert_int_equal(c.big, 5);
    assert_int_equal(c.size, 65536);
    assert_int_equal(c.mode, 0640);
    assert_int_equal(c.level, LOG_LVL_INFO);
    assert_null(c.req);
    assert_string_equal(c.token, "");
    /* Applying them again replaces (and frees) the strings. */
    assert_int_equal(conf_defaults(&schema, &c, errbuf, sizeof(errbuf)), 0);
    tconf_free(&c);
}

static void test_conf_load_all_types(void **state)
{
    struct tconf c;
    const char *text = "# comment\n"
                       "; another\n"
                       "[main]\n"
                       "name = vault one\n"
                       "dir = /srv/custos\n"
                       "flag = YES\n"
                       "count = 42 ; inline comment\n"
                       "big = 18446744073709551615\n"
                       "size = 2M\n"
                       "mode = 750\n"
                       "level = debug\n"
                       "req = here\n"
                       "[secret]\n"
                       "token = s3cr3t\n"
                       "[main]\n"; /* a plain section may reopen */

    assert_int_equal(load(&c, text), 0);
    assert_string_equal(c.name, "vault one");
    assert_string_equal(c.dir, "/srv/custos");
    assert_true(c.flag);
    assert_int_equal(c.count, 42);
    assert_true(c.big == 18446744073709551615ull);
    assert_int_equal(c.size, 2u << 20);
    assert_int_equal(c.mode, 0750);
    assert_int_equal(c.level, LOG_LVL_DEBUG);
    assert_string_equal(c.req, "here");
    assert_string_equal(c.token, "s3cr3t");
    tconf_free(&c);
}

static void test_conf_bools(void **state)
{
    static const char *const yes[] = {"true", "True", "yes", "on", "1"};
    static const char *const no[] = {"false", "FALSE", "no", "off", "0"};
    char text[128];
    struct tconf c;

    for (size_t i = 0; i < 5; i++) {
        snprintf(text, sizeof(text), "[main]\nreq=x\nflag=%s\n", yes[i]);
        assert_int_equal(load(&c, text), 0);
        assert_true(c.flag);
        tconf_free(&c);
        snprintf(text, sizeof(text), "[main]\nreq=x\nflag=%s\n", no[i]);
        assert_int_equal(load(&c, text), 0);
        assert_false(c.flag);
        tconf_free(&c);
    }
    load_fails("[main]\nreq=x\nflag = maybe\n", "t.ini:3:", "flag");
    load_fails("[main]\nreq=x\nflag = 2\n", "t.ini:3:", "boolean");
    load_fails("[main]\nreq=x\nflag =\n", "t.ini:3:", "boolean");
}

static void test_conf_size_suffixes(void **state)
{
    static const struct {
        const char *text;
        size_t want;
    } ok[] = {
        {"1024", 1024},   {"1K", 1024},     {"64k", 65536},         {"3M", 3u << 20},
        {"1G", 1u << 30}, {"1g", 1u << 30}, {"1048576K", 1u << 30}, {"1024G", 1ull << 40},
    };
    static const char *const bad[] = {"1T",  "K",    "1.5M", "1 M",   "-1K",
                                      "1KB", "0x10", "1023", "1025G", "99999999999999999999G",
                                      ""};
    char text[128];
    struct tconf c;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(text, sizeof(text), "[main]\nreq=x\nsize = %s\n", ok[i].text);
        assert_int_equal(load(&c, text), 0);
        assert_int_equal(c.size, ok[i].want);
        tconf_free(&c);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "[main]\nreq=x\nsize = %s\n", bad[i]);
        load_fails(text, "t.ini:3: [main] size: expected size", NULL);
    }
    /* The range shows in the message, in the same units. */
    load_fails("[main]\nsize = 1\n", "1K..1024G", NULL);
}

static void test_conf_uint_errors(void **state)
{
    load_fails("[main]\nreq=x\ncount = abc\n", "t.ini:3:", "count");
    load_fails("[main]\nreq=x\ncount = abc\n", "got 'abc'", "1..100");
    load_fails("[main]\nreq=x\ncount = 0\n", "t.ini:3:", "1..100");
    load_fails("[main]\nreq=x\ncount = 102\n", "t.ini:3:", "1..100");
    load_fails("[main]\nreq=x\ncount = -2\n", "t.ini:3:", "count");
    load_fails("[main]\nreq=x\ncount = +2\n", "t.ini:3:", "count");
    load_fails("[main]\nreq=x\ncount = 2x\n", "t.ini:3:", "count");
    load_fails("[main]\nreq=x\ncount = 4294967298\n", "t.ini:3:", "count");
    load_fails("[main]\nreq=x\nbig = 18446744073709551616\n", "t.ini:3:", "big");
    /* The check callback runs after the type is fine. */
    load_fails("[main]\nreq=x\ncount = 7\n", "t.ini:3: [main] count: must be even", NULL);
}

static void test_conf_mode(void **state)
{
    struct tconf c;

    assert_int_equal(load(&c, "[main]\nreq=x\nmode = 07777\n"), 0);
    assert_int_equal(c.mode, 07777);
    tconf_free(&c);
    assert_int_equal(load(&c, "[main]\nreq=x\nmode = 0\n"), 0);
    assert_int_equal(c.mode, 0);
    tconf_free(&c);
    load_fails("[main]\nreq=x\nmode = 0999\n", "t.ini:3:", "octal mode");
    load_fails("[main]\nreq=x\nmode = rw-r-----\n", "t.ini:3:", "mode");
    load_fails("[main]\nreq=x\nmode = 10000\n", "t.ini:3:", "mode");
    load_fails("[main]\nreq=x\nmode = 000000\n", "t.ini:3:", "mode");
    load_fails("[main]\nreq=x\nmode = 0o640\n", "t.ini:3:", "mode");
    load_fails("[main]\nreq=x\nmode =\n", "t.ini:3:", "mode");
}

static void test_conf_level_and_path(void **state)
{
    load_fails("[main]\nreq=x\nlevel = loud\n", "t.ini:3:", "err, warn, info, debug");
    load_fails("[main]\nreq=x\ndir = relative/dir\n", "t.ini:3:", "absolute path");
    load_fails("[main]\nreq=x\ndir = \"/quoted\"\n", "t.ini:3:", "absolute path");
}

static void test_conf_unknown_key_line(void **state)
{
    load_fails("[main]\nreq = x\n\n# c\nbogus = 1\n", "t.ini:5: unknown key 'bogus' in [main]",
               NULL);
    /* A key of another section is unknown here. */
    load_fails("[secret]\nname = x\n", "t.ini:2: unknown key 'name' in [secret]", NULL);
}

static void test_conf_unknown_section_line(void **state)
{
    /* Even with no keys in it. */
    load_fails("[main]\nreq=x\n[nope]\n", "t.ini:3: unknown section [nope]", NULL);
    load_fails("[main extra]\nreq=x\n", "t.ini:1: unknown section [main extra]", NULL);
    load_fails("[ main]\nreq=x\n", "t.ini:1: unknown section", NULL);
    load_fails("[main]\nreq=x\n[Main]\n", "t.ini:3: unknown section [Main]", NULL);
}

static void test_conf_syntax_errors(void **state)
{
    load_fails("[main]\nreq=x\njust words\n", "t.ini:3: expected 'key = value'", NULL);
    load_fails("[main\nreq=x\n", "t.ini:1: malformed section header", NULL);
    load_fails("[main] trailing\nreq=x\n", "t.ini:1: unexpected text", NULL);
    load_fails("req = x\n[main]\n", "t.ini:1: key 'req' outside any section", NULL);
    load_fails("[main]\nreq=x\nname = a\nname = b\n",
               "t.ini:4: key 'name' in [main] already set on line 3", NULL);
    load_fails("[main]\nreq=x\n[main]\nreq=y\n", "t.ini:4:", "already set on line 2");
}

static void test_conf_indent_crlf_bom_comments(void **state)
{
    struct tconf c;
    const char *text = "\xEF\xBB\xBF[main]\r\n"
                       "  req = x\r\n"
                       "\tcount = 12\r\n"
                       "  # indented comment\r\n"
                       "name = a;b ; comment\r\n"
                       "[main] ; comment after header\r\n"
                       "flag: true\r\n";

    /* Indented lines are keys, never continuations of the key above. */
    assert_int_equal(load(&c, text), 0);
    assert_string_equal(c.req, "x");
    assert_int_equal(c.count, 12);
    assert_string_equal(c.name, "a;b");
    assert_true(c.flag);
    tconf_free(&c);
}

static void test_conf_long_line(void **state)
{
    char text[1200];
    struct tconf c;

    /* Long lines are refused, not split into two lines by the parser. */
    snprintf(text, sizeof(text), "[main]\nreq=x\nname = %01000d\n", 0);
    load_fails(text, "t.ini:3: line too long", NULL);
    snprintf(text, sizeof(text), "[main]\nreq=x\nname = %0150d\n", 0);
    assert_int_equal(load(&c, text), 0);
    assert_int_equal(strlen(c.name), 150);
    tconf_free(&c);
}

static void test_conf_required(void **state)
{
    load_fails("[main]\nname = x\n", "t.ini: missing required key 'req' in [main]", NULL);
    load_fails("", "missing required key 'req'", NULL);
    /* An empty string does not satisfy a required key. */
    load_fails("[main]\nreq =\n", "missing required key 'req'", NULL);
}

static void test_conf_sensitive(void **state)
{
    struct tconf c;
    char *out = NULL;
    size_t len = 0;
    FILE *f;

    assert_int_equal(load(&c, "[main]\nreq=x\n[secret]\ntoken = tok-123456\npin = 4321\n"), 0);
    assert_string_equal(c.token, "tok-123456");
    assert_int_equal(c.pin, 4321);
    f = open_memstream(&out, &len);
    assert_non_null(f);
    conf_print(&schema, &c, f);
    fclose(f);
    assert_non_null(strstr(out, "token = <redacted>\n"));
    assert_non_null(strstr(out, "pin = <redacted>\n"));
    assert_null(strstr(out, "tok-123456"));
    assert_null(strstr(out, "4321"));
    assert_non_null(strstr(out, "[main]\nname = custos\ndir = /var/lib/x\nflag = false\n"
                                "count = 10\nbig = 5\nsize = 64K\nmode = 0640\nlevel = info\n"
                                "req = x\n"));
    free(out);
    tconf_free(&c);
    /* A bad sensitive value is not echoed in the error. */
    load_fails("[main]\nreq=x\n[secret]\npin = 12345678\n", "t.ini:4: [secret] pin: expected",
               NULL);
    assert_null(strstr(errbuf, "12345678"));
}

static void test_conf_repeated_sections(void **state)
{
    struct tconf c;
    char *out = NULL;
    size_t len = 0;
    FILE *f;
    const char *text = "[main]\nreq=x\n"
                       "[item first]\nlabel = one\ncolor = red\n"
                       "[item second ]\nlabel = two\nweight = 5\n"
                       "[main]\nname = after\n";

    assert_int_equal(load(&c, text), 0);
    assert_int_equal(c.n_items, 2);
    assert_int_equal(c.closes, 2);
    assert_string_equal(c.items[0].name, "first");
    assert_string_equal(c.items[0].label, "one");
    assert_int_equal(c.items[0].weight, 1); /* default applied per item */
    assert_int_equal(c.items[0].color, COLOR_RED);
    assert_string_equal(c.items[1].name, "second");
    assert_string_equal(c.items[1].label, "two");
    assert_int_equal(c.items[1].weight, 5);
    assert_int_equal(c.items[1].color, COLOR_NONE);
    assert_string_equal(c.name, "after");
    f = open_memstream(&out, &len);
    assert_non_null(f);
    conf_print_section(&schema, "item", c.items[1].name, &c.items[1], f);
    fclose(f);
    assert_string_equal(out, "\n[item second]\nlabel = two\nweight = 5\ncolor = none\n");
    free(out);
    tconf_free(&c);

    /* The longest section name libinih keeps whole: 49 characters. */
    assert_int_equal(load(&c, "[main]\nreq=x\n[item 01234567890123456789012345678901234567890123]\n"
                              "label = long\n"),
                     0);
    assert_int_equal(c.n_items, 1);
    assert_int_equal(strlen(c.items[0].name), 44);
    assert_string_equal(c.items[0].label, "long");
    tconf_free(&c);
}

static void test_conf_repeated_errors(void **state)
{
    /* Required key of an item: reported at the item's header, also for the last one. */
    load_fails("[main]\nreq=x\n[item a]\nweight = 2\n[item b]\nlabel = b\n",
               "t.ini:3: [item a]: missing required key 'label'", NULL);
    load_fails("[main]\nreq=x\n[item a]\nlabel=a\n[item b]\n",
               "t.ini:5: [item b]: missing required key 'label'", NULL);
    load_fails("[main]\nreq=x\n[item]\nlabel = a\n", "t.ini:3: section [item] needs a name", NULL);
    load_fails("[main]\nreq=x\n[item a]\nlabel=a\n[item a]\nlabel=b\n",
               "t.ini:5: [item a]: item 'a' twice", NULL);
    load_fails("[main]\nreq=x\n[item a]\nlabel=a\ncolor = blue\n",
               "t.ini:5: [item a] color: unknown color 'blue'", NULL);
    load_fails("[main]\nreq=x\n[item a]\nlabel=a\nweight=13\n", "t.ini:3: [item a]: unlucky", NULL);
    load_fails("[main]\nreq=x\n[item a]\nlabel=a\nlabel=b\n", "t.ini:5:", "already set");
    load_fails("[main]\nreq=x\n[item 0123456789012345678901234567890123456789abcdefghij]\n",
               "t.ini:3: section name too long", NULL);
}

static char *write_tmp(const char *text, size_t len, mode_t mode)
{
    char *path = strdup("/tmp/test_conf.XXXXXX");
    int fd;

    assert_non_null(path);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

static void test_conf_files(void **state)
{
    static const char good[] = "[main]\nreq = file\n";
    static const char nul[] = "[main]\nreq = a\nname = x\0y\n";
    struct tconf c;
    char *path;

    memset(&c, 0, sizeof(c));
    assert_int_equal(conf_defaults(&schema, &c, errbuf, sizeof(errbuf)), 0);
    path = write_tmp(good, sizeof(good) - 1, 0600);
    assert_int_equal(conf_load_file(&schema, &c, path, errbuf, sizeof(errbuf)), 0);
    assert_string_equal(c.req, "file");
    tconf_free(&c);
    assert_int_equal(chmod(path, 0602), 0);
    assert_int_equal(conf_load_file(&schema, &c, path, errbuf, sizeof(errbuf)), -ERR_CONFIG);
    assert_non_null(strstr(errbuf, "writable by everyone"));
    /* Group-writable is refused too: a group member could rewrite the principals. */
    assert_int_equal(chmod(path, 0620), 0);
    assert_int_equal(conf_load_file(&schema, &c, path, errbuf, sizeof(errbuf)), -ERR_CONFIG);
    assert_non_null(strstr(errbuf, "writable by its group"));
    /* Readable by all is fine: no secret belongs in a config file. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(conf_load_file(&schema, &c, path, errbuf, sizeof(errbuf)), 0);
    tconf_free(&c);
    /* Owned by someone who is neither root nor us: they could chmod it at will. */
    if (geteuid() == 0) {
        assert_int_equal(chown(path, 4242, (gid_t)-1), 0);
        assert_int_equal(conf_load_file(&schema, &c, path, errbuf, sizeof(errbuf)), -ERR_CONFIG);
        assert_non_null(strstr(errbuf, "owned by uid 4242"));
    }
    unlink(path);
    assert_int_equal(conf_load_file(&schema, &c, path, errbuf, sizeof(errbuf)), -ERR_IO);
    assert_non_null(strstr(errbuf, path));
    free(path);

    path = write_tmp(nul, sizeof(nul) - 1, 0600);
    assert_int_equal(conf_load_file(&schema, &c, path, errbuf, sizeof(errbuf)), -ERR_CONFIG);
    assert_non_null(strstr(errbuf, ":3: NUL byte"));
    tconf_free(&c);
    unlink(path);
    free(path);

    assert_int_equal(conf_load_file(&schema, &c, "/", errbuf, sizeof(errbuf)), -ERR_IO);
}

static void test_conf_small_errbuf(void **state)
{
    struct tconf c;
    char small[8];

    memset(&c, 0, sizeof(c));
    assert_int_equal(conf_defaults(&schema, &c, NULL, 0), 0);
    assert_int_equal(conf_load_string(&schema, &c, "t.ini", "[x]\n", small, sizeof(small)),
                     -ERR_CONFIG);
    assert_string_equal(small, "t.ini:1");
    assert_int_equal(conf_load_string(&schema, &c, NULL, "[y]\n", NULL, 0), -ERR_CONFIG);
    tconf_free(&c);
}

static void test_conf_sample(void **state)
{
    struct tconf c;
    char *out = NULL, *filled;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    assert_non_null(f);
    conf_print_sample(&schema, f);
    fclose(f);
    /* Each key with its doc, type and default. */
    assert_non_null(
        strstr(out, "# A count.\n# Type: integer, 1..100. Default: 10.\n#count = 10\n"));
    assert_non_null(strstr(out, "# Type: size (K, M, G suffixes), 1K..1024G. Default: 64K.\n"));
    assert_non_null(strstr(out, "# Must be given.\n# Type: string. Required.\n#req = something\n"));
    assert_non_null(strstr(out, "#token =\n"));
    assert_non_null(strstr(out, "[main]\n"));
    assert_non_null(strstr(out, "#[item first]\n"));
    assert_non_null(strstr(out, "#color = red\n"));
    /* The sample loads as it is once its required key is uncommented. */
    filled = strdup(out);
    assert_non_null(filled);
    memcpy(strstr(filled, "#req = something"), " ", 1);
    assert_int_equal(load(&c, filled), 0);
    assert_string_equal(c.req, "something");
    assert_int_equal(c.count, 10);
    tconf_free(&c);
    free(filled);
    free(out);
}

static void test_conf_markdown(void **state)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    assert_non_null(f);
    conf_print_markdown(&schema, f);
    fclose(f);
    assert_non_null(strstr(out, "### `[main]`\n\nMain section.\n\n| Key | Type | Default | "
                                "Description |\n|---|---|---|---|\n"));
    assert_non_null(strstr(out, "| `count` | integer, 1..100 | `10` | A count. |\n"));
    assert_non_null(strstr(out, "| `req` | string | *required* | Must be given. |\n"));
    assert_non_null(strstr(out, "| `token` | string | (empty) | A token. Printed as "
                                "`<redacted>`. |\n"));
    assert_non_null(strstr(out, "### `[item NAME]` (repeatable)\n"));
    assert_non_null(strstr(out, "| `label` | string | *required* | Label \\| with a pipe. |\n"));
    assert_non_null(strstr(out, "| `color` | red or green | (none) | Color. |\n"));
    free(out);
}

static void test_conf_key_find(void **state)
{
    assert_ptr_equal(conf_key_find(&schema, "main", "count"), &keys[3]);
    assert_null(conf_key_find(&schema, "secret", "count"));
    assert_null(conf_key_find(&schema, "main", "nope"));
}

static const struct conf_key bad_default_keys[] = {
    {.section = "main",
     .key = "count",
     .type = CONF_UINT,
     .def = "many",
     .offset = offsetof(struct tconf, count)},
};

static void test_conf_bad_default(void **state)
{
    const struct conf_schema bad = {sections, 1, bad_default_keys, 1};
    struct tconf c;

    memset(&c, 0, sizeof(c));
    assert_int_equal(conf_defaults(&bad, &c, errbuf, sizeof(errbuf)), -ERR_CONFIG);
    assert_non_null(strstr(errbuf, "default of [main] count"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_defaults),
        cmocka_unit_test(test_conf_load_all_types),
        cmocka_unit_test(test_conf_bools),
        cmocka_unit_test(test_conf_size_suffixes),
        cmocka_unit_test(test_conf_uint_errors),
        cmocka_unit_test(test_conf_mode),
        cmocka_unit_test(test_conf_level_and_path),
        cmocka_unit_test(test_conf_unknown_key_line),
        cmocka_unit_test(test_conf_unknown_section_line),
        cmocka_unit_test(test_conf_syntax_errors),
        cmocka_unit_test(test_conf_indent_crlf_bom_comments),
        cmocka_unit_test(test_conf_long_line),
        cmocka_unit_test(test_conf_required),
        cmocka_unit_test(test_conf_sensitive),
        cmocka_unit_test(test_conf_repeated_sections),
        cmocka_unit_test(test_conf_repeated_errors),
        cmocka_unit_test(test_conf_files),
        cmocka_unit_test(test_conf_small_errbuf),
        cmocka_unit_test(test_conf_sample),
        cmocka_unit_test(test_conf_markdown),
        cmocka_unit_test(test_conf_key_find),
        cmocka_unit_test(test_conf_bad_default),
    };

    return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
