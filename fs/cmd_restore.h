/*
 * cmd_restore.h - 'vaultfs restore CLOUD_DIR DEST': the whole plaintext
 * tree of a store copied out into a new folder, resumable (docs/cli.md).
 */
#ifndef VFS_CMD_RESTORE_H
#define VFS_CMD_RESTORE_H

#include "cli.h"

/*
 * Runs restore as parsed into a (cloud_dir, dest, key options). Opens the
 * store read-only without the lease, so a store mounted elsewhere can be
 * restored. Messages on stderr, the summary on stdout, the progress line
 * on stderr when it is a terminal. Returns an exit code (cli.h).
 */
int cmd_restore(const struct cli_args *a);

#endif
