/*
 * cmd_fsck.h - the "vaultfs fsck" command (fs/cmd_fsck.c).
 */
#ifndef VFS_CMD_FSCK_H
#define VFS_CMD_FSCK_H

#include "cli.h"

/*
 * Checks (and with a->repair, carefully repairs) the store in
 * a->cloud_dir, getting the key as mount does. Findings go to standard
 * output, a progress line to standard error when it is a terminal.
 * Returns the exit code: 0 sound, CLI_EXIT_DAMAGED, CLI_EXIT_ROLLBACK, or
 * the code of what stopped the check (already said on stderr).
 */
int cmd_fsck(const struct cli_args *a);

#endif
