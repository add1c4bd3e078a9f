/* SPDX-License-Identifier: Apache-2.0 */
/* Table-driven INI configuration: one key table drives the parser, the sample file and the docs. */
#ifndef CUSTOS_CONF_H
#define CUSTOS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "custos/err.h"

/*
 * A program describes its configuration once, as a `struct conf_schema`:
 * a small list of sections and one table of keys.  Each key names the
 * section it lives in, its type, its default (as text, parsed like a value
 * from the file), flags, a one-line doc and the offsetof() of the field it
 * fills.  From that table conf.c loads files, applies defaults, prints the
 * effective configuration, a commented sample file and a Markdown table.
 *
 * Files are INI as read by libinih: `[section]`, `key = value`, full-line
 * comments starting with `#` or `;`, inline comments after ` ;`.  Leading
 * whitespace is ignored (there are no continuation lines).  Unknown sections,
 * unknown keys, keys set twice, malformed lines and values of the wrong type
 * are errors reported as "file:line: message".
 */

/* Field type written at base + offset. */
enum conf_type {
    CONF_STRING,    /* char *: any text, "" allowed; malloc'd, freed by conf_fini */
    CONF_PATH,      /* char *: "" (unset) or an absolute path shorter than PATH_MAX */
    CONF_BOOL,      /* bool: true/false, yes/no, on/off, 1/0 (any case) */
    CONF_UINT,      /* unsigned int, decimal, within [min, max] */
    CONF_U64,       /* unsigned long long, decimal, within [min, max] */
    CONF_SIZE,      /* size_t, decimal with optional K, M, G suffix (powers of 1024) */
    CONF_MODE,      /* unsigned int, octal file mode, at most 07777 */
    CONF_LOG_LEVEL, /* int holding enum log_level: err, warn, info, debug */
    CONF_CUSTOM,    /* parsed and printed by the key's callbacks */
};

/* Key flags. */
#define CONF_REQUIRED 0x1u  /* must be set (strings: to a non-empty value) */
#define CONF_SENSITIVE 0x2u /* printed as <redacted>, never echoed in errors */

struct conf_key;

/*
 * CONF_CUSTOM parser: read `value` into the object at `base` (the section's
 * struct, not the field, so a list can set its pointer and its count).
 * Returns 0 or a negative ERR_*, with a message (no file:line, the loader
 * adds it) in msg.  It must free any earlier value of the field (a default).
 */
typedef int (*conf_parse_fn)(const struct conf_key *k, void *base, const char *value, char *msg,
                             size_t msglen);
/* CONF_CUSTOM printer: write the value (no key, no newline) to f. */
typedef void (*conf_print_fn)(const struct conf_key *k, const void *base, FILE *f);
/* Optional extra check after a value is parsed (any type): 0 or negative ERR_* with msg. */
typedef int (*conf_check_fn)(const struct conf_key *k, const void *base, char *msg, size_t msglen);

struct conf_key {
    const char *section; /* name in struct conf_section */
    const char *key;
    enum conf_type type;
    const char *def;             /* default as text; NULL: strings stay NULL, numbers 0 */
    unsigned flags;              /* CONF_REQUIRED, CONF_SENSITIVE */
    const char *doc;             /* one or two sentences, for the sample and the docs */
    size_t offset;               /* offsetof() the field in the section's struct */
    unsigned long long min, max; /* CONF_UINT/U64/SIZE bounds; max 0: the type's maximum */
    const char *def_doc;         /* shown instead of def when the real default is computed */
    const char *example;         /* value shown in the sample file when there is no default */
    const char *type_doc;        /* CONF_CUSTOM: type as shown in docs ("list of users") */
    conf_parse_fn parse;         /* CONF_CUSTOM */
    conf_print_fn print;         /* CONF_CUSTOM */
    conf_check_fn check;         /* optional */
};

/*
 * A section.  A plain section's keys fill the top-level object.  A repeated
 * section ([principal NAME], open != NULL) may appear once per NAME: at each
 * header the loader calls open(obj, NAME), which returns the struct its keys
 * fill (`*base`, owned by obj); the loader then applies that section's key
 * defaults to it.  close(obj, base) runs at the end of the section, after its
 * CONF_REQUIRED keys are checked.  Item strings are freed with
 * conf_section_fini().
 */
struct conf_section {
    const char *name;
    const char *doc;
    int (*open)(void *obj, const char *name, void **base, char *msg, size_t msglen);
    int (*close)(void *obj, void *base, char *msg, size_t msglen); /* optional */
    const char *example; /* NAME used in the sample file */
};

struct conf_schema {
    const struct conf_section *sections; /* printing order */
    size_t n_sections;
    const struct conf_key *keys;
    size_t n_keys;
};

/* Longest accepted file, and the longest section name (libinih truncates longer ones). */
#define CONF_FILE_MAX (1u << 20)
#define CONF_SECTION_MAX 49

/*
 * Set every key of the plain sections to its default.  `obj` must be zeroed
 * or hold values from this schema (old strings are freed).  -ERR_CONFIG with
 * a message if a default does not parse (a bug in the table).
 */
MUST_CHECK int conf_defaults(const struct conf_schema *s, void *obj, char *err, size_t errlen);

/*
 * Read the INI file at `path` into obj (defaults are not applied here: call
 * conf_defaults first).  Returns 0, -ERR_IO (cannot read; message names the
 * file), -ERR_CONFIG (message "path:line: ..."), -ERR_NOMEM.  On failure obj
 * may be partly filled; release it with conf_fini as usual.
 */
MUST_CHECK int conf_load_file(const struct conf_schema *s, void *obj, const char *path, char *err,
                              size_t errlen);
/* As conf_load_file, for text in memory; `name` stands for the file name in messages. */
MUST_CHECK int conf_load_string(const struct conf_schema *s, void *obj, const char *name,
                                const char *text, char *err, size_t errlen);

/* Free (and wipe, if sensitive) the string fields of the plain sections; obj itself is the
 * caller's. */
void conf_fini(const struct conf_schema *s, void *obj);
/* Same for one item of a repeated section. */
void conf_section_fini(const struct conf_schema *s, const char *section, void *base);

/* Effective configuration of the plain sections, as INI; sensitive values print as <redacted>. */
void conf_print(const struct conf_schema *s, const void *obj, FILE *f);
/* One item of a repeated section, as `[section name]` and its keys. */
void conf_print_section(const struct conf_schema *s, const char *section, const char *name,
                        const void *base, FILE *f);
/* A commented sample file: every section and key with its doc, type and default. */
void conf_print_sample(const struct conf_schema *s, FILE *f);
/* The same as Markdown: per section a heading, its doc and a table of keys. */
void conf_print_markdown(const struct conf_schema *s, FILE *f);

/* Look up a key of the table; NULL if none. */
const struct conf_key *conf_key_find(const struct conf_schema *s, const char *section,
                                     const char *key);

#endif
