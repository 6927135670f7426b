/*
 * log.h - the one set of logging macros. Only entry points log (FUSE ops,
 * HTTP handlers, main); library code returns errors. Never pass a secret.
 * Lines go to stderr (the journal under systemd) as key=value pairs:
 * 'vaultfs: level=info func=main_serve msg="mounted ..."', the message
 * quoted and escaped (log.c).
 */
#ifndef VFS_LOG_H
#define VFS_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Sets the program name and the most verbose level printed. */
void log_init(const char *prog, enum log_level level);
/* Parses "error", "warn", "info", "debug"; returns -EINVAL otherwise. */
int log_level_parse(const char *s, enum log_level *ret)
	__attribute__((warn_unused_result));
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __func__, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __func__, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __func__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __func__, __VA_ARGS__)

#endif
