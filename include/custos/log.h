/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr with journald <N> priority prefixes; one line per event. */
#ifndef CUSTOS_LOG_H
#define CUSTOS_LOG_H

#include "custos/err.h"

enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

/* Messages above this level are dropped. Default LOG_LVL_INFO. */
void log_set_level(enum log_level lvl);
/* Parse "err|warn|info|debug"; returns -ERR_INVAL on anything else. */
MUST_CHECK int log_level_parse(const char *s, enum log_level *out);
/* Prefix every line with this program name (borrowed; must outlive logging). */
void log_set_ident(const char *ident);

/*
 * Never pass secret material: secret buffers are `struct secbuf`, an opaque
 * type whose accessors return `void *`, which -Wformat (an error in our
 * builds) refuses for %s.  Log lengths and ids as key=value, never contents.
 * Control characters in the formatted line are escaped so a client-supplied
 * name cannot forge a second log line.
 */
void log_msg(enum log_level lvl, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(...) log_msg(LOG_LVL_ERR, __func__, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __func__, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __func__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __func__, __VA_ARGS__)
/* As log_err, appending ": <err_str(r)>". */
#define log_err_r(r, fmt, ...) log_msg(LOG_LVL_ERR, __func__, fmt ": %s", ##__VA_ARGS__, err_str(r))
#define log_warn_r(r, fmt, ...)                                                                    \
    log_msg(LOG_LVL_WARN, __func__, fmt ": %s", ##__VA_ARGS__, err_str(r))

#endif
