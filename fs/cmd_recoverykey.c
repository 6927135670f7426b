/*
 * cmd_recoverykey.c - `vaultfs recovery-key --show`: shows the 64-digit
 * key of a store again, typically after the password got the key from
 * the vault (docs/cli.md). The key is checked against the store header
 * first, printed only to a terminal or written to a new 0600 file, and
 * never logged.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cmd_keycare.h"
#include "cmdutil.h"
#include "keytext.h"
#include "store.h"
#include "vfs_error.h"

/* Checks whether the file at path holds exactly key. */
static int key_file_holds(const char *path, const uint8_t *key)
{
	uint8_t *have = sodium_malloc(STORE_KEY_BYTES);
	char why[160];
	int r;

	if (!have)
		return 0;
	r = cli_key_from_file(path, have, why, sizeof(why)) == 0 &&
	    sodium_memcmp(have, key, STORE_KEY_BYTES) == 0;
	sodium_free(have);
	return r;
}

int cmd_write_key_file(const char *path, const uint8_t *key, int same_ok)
{
	char *text = NULL, *tmp = NULL;
	size_t n;
	int fd = -1, code, r;

	/* Written under a temporary name and linked into place, so the
	 * name never holds a partial key (a rekey killed while writing it
	 * must find either nothing or the whole key on its rerun). */
	text = sodium_malloc(KEYTEXT_FORMAT_LEN + 1);
	tmp = malloc(strlen(path) + 16);
	if (!text || !tmp) {
		code = main_fail(-ENOMEM, "cannot allocate memory");
		goto out;
	}
	if (access(path, F_OK) == 0 || errno != ENOENT) {
		if (same_ok && key_file_holds(path, key)) {
			code = CLI_EXIT_OK;
			goto out;
		}
		fprintf(stderr,
			"vaultfs: '%s' exists: refusing to overwrite it (it "
			"may hold another key)\n",
			path);
		code = CLI_EXIT_USAGE;
		goto out;
	}
	sprintf(tmp, "%s.tmp-XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		free(tmp);
		tmp = NULL;
		code = main_fail(-errno, "cannot create '%s'", path);
		goto out;
	}
	keytext_format(key, text);
	n = strlen(text);
	text[n] = '\n';
	r = main_write_all(fd, text, n + 1);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	fd = -1;
	if (r == 0 && link(tmp, path) < 0)
		r = -errno;
	unlink(tmp);
	if (r == -EEXIST) {
		fprintf(stderr,
			"vaultfs: '%s' exists: refusing to overwrite it (it "
			"may hold another key)\n",
			path);
		code = CLI_EXIT_USAGE;
		goto out;
	}
	if (r < 0) {
		code = main_fail(r, "cannot write '%s'", path);
		goto out;
	}
	main_fsync_parent(path);
	code = CLI_EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	if (text) {
		sodium_memzero(text, KEYTEXT_FORMAT_LEN + 1);
		sodium_free(text);
	}
	free(tmp);
	return code;
}

int cmd_recovery_key(const struct cli_args *a)
{
	struct store_info info;
	uint8_t *key = NULL;
	char *text = NULL, *state = NULL;
	int by_password = 0, code, r;

	if (!a->output && !isatty(STDOUT_FILENO)) {
		fprintf(stderr,
			"vaultfs: standard output is not a terminal: refusing "
			"to print the 64-digit recovery key there.\n"
			"vaultfs: use --output FILE to write it to a new file "
			"instead.\n");
		return CLI_EXIT_USAGE;
	}
	r = store_read_info(a->cloud_dir, &info);
	if (r < 0)
		return main_fail(r, "'%s'", a->cloud_dir);
	r = cli_state_dir(&state);
	if (r < 0)
		return main_fail(r, "cannot create the state folder");
	key = sodium_malloc(STORE_KEY_BYTES);
	text = sodium_malloc(KEYTEXT_FORMAT_LEN);
	if (!key || !text) {
		code = main_fail(-ENOMEM, "cannot allocate secure memory");
		goto out;
	}
	code = cmd_get_key(a, &info, state, key, NULL, &by_password);
	if (code)
		goto out;
	r = store_check_key(a->cloud_dir, key);
	if (r == -VFS_E_WRONGKEY) {
		fprintf(stderr,
			"vaultfs: the key %s does not open the store in "
			"'%s' (checked against its header)\n",
			by_password ? "the vault gave for the password"
				    : "given",
			a->cloud_dir);
		if (by_password)
			fprintf(stderr,
				"vaultfs: if a 'vaultfs rekey' of this store "
				"was interrupted, run it again to finish it; "
				"the new key is shown at its end\n");
		code = CLI_EXIT_WRONGKEY;
		goto out;
	}
	if (r < 0) {
		code = main_fail(r, "cannot check the key against '%s'",
				 a->cloud_dir);
		goto out;
	}
	if (a->output) {
		code = cmd_write_key_file(a->output, key, 0);
		if (code)
			goto out;
		printf("The 64-digit recovery key of '%s' is in '%s' (mode "
		       "0600).\n",
		       a->cloud_dir, a->output);
	} else {
		keytext_format(key, text);
		printf("\nThe 64-digit recovery key of '%s' (checked against "
		       "the store header):\n\n    %s\n\n"
		       "Keep it somewhere safe and offline: anyone with it can "
		       "read the backup.\n",
		       a->cloud_dir, text);
	}
	code = fflush(stdout) == 0 ? CLI_EXIT_OK
				   : main_fail(-EIO, "cannot write to standard "
						     "output");
out:
	if (text) {
		sodium_memzero(text, KEYTEXT_FORMAT_LEN);
		sodium_free(text);
	}
	sodium_free(key);
	free(state);
	return code;
}
