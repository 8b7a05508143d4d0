#include "log.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "err.h"
#include "caps.h"

static struct {
    const char *ident;
    enum da_log_level level;
    enum da_log_target target;
    da_log_sink_fn sink;
    void *sink_ctx;
} da_log_state = {"devattest", DA_LOG_INFO, DA_LOG_STDERR, NULL, NULL};

static const char *const da_log_names[] = {"error", "warn", "info", "debug"};

void da_log_init(const char *ident, enum da_log_level level, enum da_log_target target)
{
    da_log_state.ident = ident != NULL ? ident : "devattest";
    da_log_state.level = level;
    da_log_state.target = target;
    if (target == DA_LOG_SYSLOG)
        openlog(da_log_state.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void da_log_set_level(enum da_log_level level)
{
    da_log_state.level = level;
}

enum da_log_level da_log_get_level(void)
{
    return da_log_state.level;
}

void da_log_set_sink(da_log_sink_fn fn, void *ctx)
{
    da_log_state.sink = fn;
    da_log_state.sink_ctx = ctx;
}

int da_log_parse_level(const char *name, enum da_log_level *out)
{
    size_t i;

    if (name == NULL)
        return DA_ERR_INVALID_ARG;
    for (i = 0; i < sizeof(da_log_names) / sizeof(da_log_names[0]); i++) {
        if (strcmp(name, da_log_names[i]) == 0) {
            *out = (enum da_log_level)i;
            return 0;
        }
    }
    return DA_ERR_INVALID_ARG;
}

static int da_log_syslog_priority(enum da_log_level level)
{
    switch (level) {
    case DA_LOG_ERROR:
        return LOG_ERR;
    case DA_LOG_WARN:
        return LOG_WARNING;
    case DA_LOG_INFO:
        return LOG_INFO;
    case DA_LOG_DEBUG:
        break;
    }
    return LOG_DEBUG;
}

void da_log_vmsg(enum da_log_level level, const char *func, const char *fmt, va_list ap)
{
    char line[DA_MAX_LOG_LINE];
    int off;

    if (level > da_log_state.level)
        return;
    off = snprintf(line, sizeof(line), "%s: ", func != NULL ? func : "?");
    if (off < 0 || (size_t)off >= sizeof(line))
        off = 0;
    /* Truncation is acceptable for a log line; it is always terminated. */
    (void)vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);

    if (da_log_state.sink != NULL) {
        da_log_state.sink(level, line, da_log_state.sink_ctx);
        return;
    }
    if (da_log_state.target == DA_LOG_SYSLOG) {
        syslog(da_log_syslog_priority(level), "%s", line);
        return;
    }
    fprintf(stderr, "%s: %s: %s\n", da_log_state.ident, da_log_names[level], line);
}

void da_log_msg(enum da_log_level level, const char *func, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    da_log_vmsg(level, func, fmt, ap);
    va_end(ap);
}
