/* Logging: levels, stderr or syslog, messages prefixed with the function.
 *
 * Use the _f macros; they add the calling function's name, so a log line
 * says where it came from without the caller writing it out.
 */
#ifndef DA_LOG_H
#define DA_LOG_H

#include <stdarg.h>

enum da_log_level {
    DA_LOG_ERROR = 0,
    DA_LOG_WARN = 1,
    DA_LOG_INFO = 2,
    DA_LOG_DEBUG = 3,
};

enum da_log_target {
    DA_LOG_STDERR = 0,
    DA_LOG_SYSLOG = 1,
};

/* A sink receives each formatted line (without newline); for tests and for
 * processes that forward their logs to a parent. */
typedef void (*da_log_sink_fn)(enum da_log_level level, const char *line, void *ctx);

void da_log_init(const char *ident, enum da_log_level level, enum da_log_target target);
void da_log_set_level(enum da_log_level level);
enum da_log_level da_log_get_level(void);
/* NULL restores the configured target. */
void da_log_set_sink(da_log_sink_fn fn, void *ctx);
/* "error", "warn", "info", "debug" -> 0, or DA_ERR_INVALID_ARG. */
int da_log_parse_level(const char *name, enum da_log_level *out);

void da_log_msg(enum da_log_level level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void da_log_vmsg(enum da_log_level level, const char *func, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define da_error_f(...) da_log_msg(DA_LOG_ERROR, __func__, __VA_ARGS__)
#define da_warn_f(...)  da_log_msg(DA_LOG_WARN, __func__, __VA_ARGS__)
#define da_info_f(...)  da_log_msg(DA_LOG_INFO, __func__, __VA_ARGS__)
#define da_debug_f(...) da_log_msg(DA_LOG_DEBUG, __func__, __VA_ARGS__)

#endif
