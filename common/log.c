/*
 * log.c - leveled key=value logging to stderr.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>

#include "log.h"

static const char *log_prog = "vaultfs";
static enum log_level log_level_max = LOG_LVL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(const char *prog, enum log_level level)
{
	log_prog = prog;
	log_level_max = level;
}

enum log_level log_get_level(void)
{
	return log_level_max;
}

int log_level_parse(const char *s, enum log_level *ret)
{
	static const char *names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*ret = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_msg(enum log_level level, const char *func, const char *fmt, ...)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	va_list ap;

	if (level > log_level_max)
		return;
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s: level=%s func=%s ", log_prog, names[level], func);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
}
