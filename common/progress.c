/*
 * progress.c - one-line progress display (progress.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

/* Redraw at most this often. */
#define PROGRESS_REDRAW_NS 200000000ull

struct progress {
	FILE *out;
	char label[32];
	uint64_t total, done;
	uint64_t start_ns, drawn_ns;
	size_t last_len; /* length of the last line drawn, to blank it */
	int active;
};

static uint64_t progress_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct progress *progress_new(FILE *out, const char *label, uint64_t total,
			      int force)
{
	struct progress *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->out = out;
	snprintf(p->label, sizeof(p->label), "%s", label ? label : "");
	p->total = total;
	p->start_ns = progress_now_ns();
	p->active = force || (out && isatty(fileno(out)));
	return p;
}

void progress_set_total(struct progress *p, uint64_t total)
{
	if (p)
		p->total = total;
}

/* "12.0 MiB" style, 1024-based. */
static void progress_size(char *buf, size_t size, double v)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	unsigned u = 0;

	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%.0f %s", v, units[u]);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
}

static void progress_duration(char *buf, size_t size, uint64_t s)
{
	if (s >= 3600)
		snprintf(buf, size, "%lluh%02llum",
			 (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60));
	else if (s >= 60)
		snprintf(buf, size, "%llum%02llus",
			 (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, size, "%llus", (unsigned long long)s);
}

const char *progress_format(struct progress *p, char *buf, size_t size)
{
	char done[32], total[32], rate[32], eta[32];
	double secs, bps = 0.0;
	int n;

	if (!p || size == 0) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	secs = (double)(progress_now_ns() - p->start_ns) / 1e9;
	if (secs > 0.0)
		bps = (double)p->done / secs;
	progress_size(done, sizeof(done), (double)p->done);
	progress_size(rate, sizeof(rate), bps);
	if (p->total == 0) {
		snprintf(buf, size, "%s  %s  %s/s", p->label, done, rate);
		return buf;
	}
	progress_size(total, sizeof(total), (double)p->total);
	if (bps > 0.0 && p->done < p->total)
		progress_duration(
		    eta, sizeof(eta),
		    (uint64_t)((double)(p->total - p->done) / bps));
	else if (p->done >= p->total)
		snprintf(eta, sizeof(eta), "0s");
	else
		snprintf(eta, sizeof(eta), "?");
	n = snprintf(buf, size, "%s  %s / %s  %3u%%  %s/s  ETA %s", p->label,
		     done, total,
		     (unsigned)(p->done >= p->total ? 100
						    : (double)p->done * 100.0 /
							  (double)p->total),
		     rate, eta);
	(void)n;
	return buf;
}

static void progress_draw(struct progress *p)
{
	char line[160];
	size_t len;

	progress_format(p, line, sizeof(line));
	len = strlen(line);
	fprintf(p->out, "\r%s", line);
	/* Blank what a longer earlier line left behind. */
	for (size_t i = len; i < p->last_len; i++)
		fputc(' ', p->out);
	p->last_len = len;
	fflush(p->out);
	p->drawn_ns = progress_now_ns();
}

void progress_add(struct progress *p, uint64_t bytes)
{
	if (!p)
		return;
	p->done += bytes;
	if (p->active && progress_now_ns() - p->drawn_ns >= PROGRESS_REDRAW_NS)
		progress_draw(p);
}

void progress_done(struct progress *p)
{
	if (!p)
		return;
	if (p->active) {
		progress_draw(p);
		fputc('\n', p->out);
		fflush(p->out);
	}
	free(p);
}
