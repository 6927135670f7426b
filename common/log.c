/*
 * log.c - leveled key=value logging to stderr.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/*
 * The message as one quoted value: '"' and '\\' escaped, control bytes
 * as \n, \t or \xNN (a line can never be forged from inside a message);
 * other bytes (UTF-8) as they are.
 */
static void log_put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void log_msg(enum log_level level, const char *func, const char *fmt, ...)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	char small[512], *msg = small, *big = NULL;
	va_list ap;
	int n;

	if (level > log_level_max)
		return;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(small)) {
		big = malloc((size_t)n + 1);
		if (big) {
			va_start(ap, fmt);
			vsnprintf(big, (size_t)n + 1, fmt, ap);
			va_end(ap);
			msg = big;
		}
	} else if (n < 0) {
		small[0] = '\0';
	}
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s: level=%s func=%s msg=", log_prog, names[level],
		func);
	log_put_quoted(stderr, msg);
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
	free(big);
}
