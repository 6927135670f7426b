/*
 * cmd_status.h - 'vaultfs status CLOUD_DIR|MOUNTPOINT', and the daemon's
 * side of it: the status file it keeps next to its lock file and its
 * reports of sync debris in the cloud folder (docs/cli.md).
 *
 * The status file STATE_DIR/mounts/<hash>.status (mode 0600) is one JSON
 * object that the daemon rewrites (temp file + rename) from its commit
 * thread whenever a figure in it changed. It holds no secret: numbers,
 * paths, the vault URL and account, the names of debris files.
 */
#ifndef VFS_CMD_STATUS_H
#define VFS_CMD_STATUS_H

#include <stdint.h>

#include "cli.h"
#include "store.h"

/* Runs status as parsed into a (its argument is in a->cloud_dir). Returns
 * an exit code (cli.h). */
int cmd_status(const struct cli_args *a);

/* What the daemon knows about its mount that the store does not. */
struct status_pub_info {
	const char *lock_path; /* STATE_DIR/mounts/<hash>.pid */
	const char *cloud_dir; /* absolute */
	const char *mountpoint;
	const struct store_info *info;
	const char *vault_url; /* NULL or "" when no vault */
	const char *account;
	int read_only;
	uint64_t generation; /* at mount */
};

struct status_pub;

/*
 * Daemon side, once the store s is open: looks for sync debris in the
 * cloud folder and, if there is any, prints a warning naming it on stderr
 * (the user's terminal at mount time); writes the status file. Never
 * fails the mount: on error *ret is NULL (a warning was printed) and
 * every status_pub_* accepts NULL.
 */
void status_pub_new(const struct status_pub_info *pi, struct store *s,
		    struct status_pub **ret);

/* After the daemon detached (its log is STATE_DIR/vaultfs.log): logs the
 * debris found at mount, one line per name (and refreshes the status
 * file). */
void status_pub_started(struct status_pub *p, struct store *s);

/*
 * From the commit thread, about once a second: every
 * STATUS_SCAN_INTERVAL_S looks at the cloud folder again and logs debris
 * that appeared (or went); rewrites the status file when a figure
 * changed. commit_err: the last automatic commit's error (0 if none);
 * vault_gen: the highest generation the vault holds (0 if unknown).
 */
void status_pub_tick(struct status_pub *p, struct store *s, int commit_err,
		     uint64_t vault_gen);

/* Removes the status file and frees p. NULL does nothing. */
void status_pub_free(struct status_pub *p);

/* Seconds between two looks at the cloud folder from a mount. */
#define STATUS_SCAN_INTERVAL_S 10
/* ... and after a commit, at most this often. */
#define STATUS_SCAN_MIN_S 2

#endif
