/*
 * progress.h - a one-line progress display for long commands (fsck,
 * restore, rekey): bytes done, rate and time left, redrawn in place on a
 * terminal at most a few times a second; silent when the stream is not a
 * terminal (scripts and logs see only the command's own messages).
 *
 * Not thread-safe: one thread drives one progress display.
 */
#ifndef VFS_PROGRESS_H
#define VFS_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

struct progress;

/*
 * Starts a display on out (normally stderr) for work of total bytes (0 when
 * unknown: no percentage or time left). label is copied (e.g. "restore").
 * Active only when out is a terminal, or when force is set (tests). Returns
 * NULL only when out of memory; every function accepts NULL and then does
 * nothing.
 */
struct progress *progress_new(FILE *out, const char *label, uint64_t total,
			      int force);

/* Changes the total (e.g. once it is known). */
void progress_set_total(struct progress *p, uint64_t total);

/* Counts bytes more as done, and redraws if the last drawing is old. */
void progress_add(struct progress *p, uint64_t bytes);

/* Formats the current line into buf (for tests): "label  12.0 MiB / 1.0
 * GiB  1%  5.0 MiB/s  ETA 3m24s". Returns buf. */
const char *progress_format(struct progress *p, char *buf, size_t size);

/* Draws the final state, ends the line, frees p. NULL does nothing. */
void progress_done(struct progress *p);

#endif
