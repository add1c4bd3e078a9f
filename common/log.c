/* SPDX-License-Identifier: Apache-2.0 */
/* stderr logger with journald priority prefixes and control-character escaping. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "custos/log.h"

static enum log_level level = LOG_LVL_INFO;
static const char *ident = "custos";

void log_set_level(enum log_level lvl)
{
    level = lvl;
}

void log_set_ident(const char *id)
{
    ident = id;
}

int log_level_parse(const char *s, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level lvl;
    } names[] = {{"err", LOG_LVL_ERR},      {"error", LOG_LVL_ERR}, {"warn", LOG_LVL_WARN},
                 {"warning", LOG_LVL_WARN}, {"info", LOG_LVL_INFO}, {"debug", LOG_LVL_DEBUG}};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (s && strcmp(s, names[i].name) == 0) {
            *out = names[i].lvl;
            return 0;
        }
    }
    return -ERR_INVAL;
}

void log_msg(enum log_level lvl, const char *func, const char *fmt, ...)
{
    char raw[1024], line[2048];
    size_t o = 0;
    va_list ap;

    if (lvl > level)
        return;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    /* One event, one line: escape what could split or colour it. */
    for (const unsigned char *p = (const unsigned char *)raw; *p && o + 5 < sizeof(line); p++) {
        if (*p < 0x20 || *p == 0x7f)
            o += (size_t)snprintf(line + o, sizeof(line) - o, "\\x%02x", *p);
        else
            line[o++] = (char)*p;
    }
    line[o] = '\0';
    fprintf(stderr, "<%d>%s: %s: %s\n", (int)lvl, ident, func, line);
}
