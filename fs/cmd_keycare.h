/*
 * cmd_keycare.h - the key care commands: `vaultfs recovery-key --show`
 * (cmd_recoverykey.c) and `vaultfs rekey` (cmd_rekey.c), and the
 * 64-digit key file writer they share. Each returns an exit code after
 * telling the user what happened.
 */
#ifndef VFS_CMD_KEYCARE_H
#define VFS_CMD_KEYCARE_H

#include <stdint.h>

#include "cli.h"

int cmd_recovery_key(const struct cli_args *a);
int cmd_rekey(const struct cli_args *a);

/*
 * Writes the 64-digit text of key (STORE_KEY_BYTES) and a newline to a
 * new file at path (mode 0600, O_EXCL, fsync-ed, folder fsync-ed). A file
 * that exists is never overwritten: when same_ok and it already holds
 * exactly this key, that is success (a resumed rekey); otherwise the
 * answer is CLI_EXIT_USAGE. Exit code.
 */
int cmd_write_key_file(const char *path, const uint8_t *key, int same_ok);

#endif
