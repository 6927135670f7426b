/*
 * cmd_rekey.c - `vaultfs rekey`: changes a store's backup key K
 * (docs/cli.md). The store work (copy under K2, atomic switch, removal of
 * the old objects, the journal that keeps K2 safe) is fs/rekey.c; this
 * adds the user's side: getting the current key, saving or showing the
 * new 64-digit key before the old objects go, registering the password
 * at the vault for the new key, and the progress display.
 *
 * Order, so that no crash leaves the user without a working key:
 *   new key file (if asked) -> copy + switch -> vault re-registration ->
 *   new key shown -> old objects and journal removed.
 * Until the last step the old key (and so the password at the vault)
 * still opens the store through the journal, and a rerun resumes.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cmd_keycare.h"
#include "cmdutil.h"
#include "keytext.h"
#include "progress.h"
#include "rekey.h"
#include "store.h"
#include "vfs_error.h"

struct rekey_prog {
	struct progress *p;
	uint64_t done;
};

static void rekey_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct rekey_prog *rp = ctx;

	progress_set_total(rp->p, total);
	if (done > rp->done)
		progress_add(rp->p, done - rp->done);
	rp->done = done;
}

/* Registers the password at the vault for the new key: proven with the
 * old key while the vault still holds it, else with the new one (a rerun
 * after the vault already took it). Exit code. */
static int rekey_vault(const struct cli_args *a, struct vault_ctx *v,
		       const struct store_info *info, struct rekey *rk)
{
	struct vc_store_key prove, sk2;
	uint8_t *check = NULL;
	char *pw = NULL;
	const char *pwfile;
	size_t pwlen = 0;
	uint64_t max = 0;
	int left = -1, code, r;

	pwfile = a->new_password_file ? a->new_password_file
				       : a->password_file;
	code = vault_password(pwfile,
			      "Password to protect the new key (may be the "
			      "same): ",
			      "Repeat the password: ", CLI_PASSWORD_MIN, &pw,
			      &pwlen);
	if (code)
		return code;
	code = vault_connect(v, MAIN_VAULT_CONNECT_MS, MAIN_VAULT_TOTAL_MS);
	if (code)
		goto out;
	check = sodium_malloc(STORE_KEY_BYTES);
	if (!check) {
		code = main_fail(-ENOMEM, "cannot allocate secure memory");
		goto out;
	}
	memcpy(sk2.store_id, info->store_id, sizeof(sk2.store_id));
	sk2.key = (uint8_t *)rekey_new_key(rk);
	prove = sk2;
	if (rekey_old_key(rk))
		prove.key = (uint8_t *)rekey_old_key(rk);
	r = vc_rearm_rekey(v->c, v->account, &prove, &sk2, 1,
			   (const uint8_t *)pw, pwlen);
	if (r == -VFS_E_WRONGKEY && prove.key != sk2.key)
		r = vc_rearm_rekey(v->c, v->account, &sk2, &sk2, 1,
				   (const uint8_t *)pw, pwlen);
	if (r == 0)
		r = vc_recover(v->c, v->account, info->store_id,
			       (const uint8_t *)pw, pwlen, check, &left);
	if (r == 0 && sodium_memcmp(check, sk2.key, STORE_KEY_BYTES) != 0)
		r = -VFS_E_PROTOCOL;
	if (r < 0) {
		code = vault_fail(r, left, v);
		goto out;
	}
	/* The vault's generation record was signed with the old key: a
	 * report signed with the new one replaces it. */
	r = vc_report_generation(v->c, v->account, &sk2, rekey_generation(rk),
				 &max);
	if (r < 0)
		fprintf(stderr,
			"vaultfs: warning: cannot report the generation to "
			"the vault '%s' (the next mount does): %s\n",
			v->url, vfs_strerror(r));
	code = CLI_EXIT_OK;
out:
	sodium_free(check);
	vault_password_free(pw, pwlen);
	return code;
}

static int rekey_open_fail(int r, const char *cloud_dir)
{
	if (r == -VFS_E_WRONGKEY) {
		fprintf(stderr,
			"vaultfs: the key does not open the store in '%s' "
			"(checked against its header and any unfinished key "
			"change)\n",
			cloud_dir);
		return CLI_EXIT_WRONGKEY;
	}
	if (r == -VFS_E_LEASE) {
		fprintf(stderr,
			"vaultfs: the store in '%s' is mounted read-write "
			"(it holds the writer's lease): unmount it, then run "
			"rekey again\n",
			cloud_dir);
		return CLI_EXIT_LEASE;
	}
	return main_fail(r, "cannot start the key change of '%s'", cloud_dir);
}

int cmd_rekey(const struct cli_args *a)
{
	struct store_info info;
	struct vault_ctx v;
	struct rekey *rk = NULL;
	struct rekey_prog prog = {0};
	uint8_t *key = NULL;
	char *text = NULL, *state = NULL;
	char idhex[2 * STORE_ID_BYTES + 1];
	int by_password = 0, has_vault, code, r;

	memset(&v, 0, sizeof(v));
	if (!a->new_key_file && !a->no_recovery_key &&
	    !isatty(STDOUT_FILENO)) {
		fprintf(stderr,
			"vaultfs: standard output is not a terminal: refusing "
			"to print the new 64-digit recovery key there.\n"
			"vaultfs: use --new-recovery-key-file FILE to write it "
			"to a new file instead.\n");
		return CLI_EXIT_USAGE;
	}
	r = store_read_info(a->cloud_dir, &info);
	if (r < 0)
		return main_fail(r, "'%s'", a->cloud_dir);
	sodium_bin2hex(idhex, sizeof(idhex), info.store_id,
		       sizeof(info.store_id));
	r = cli_state_dir(&state);
	if (r < 0)
		return main_fail(r, "cannot create the state folder");

	/* The vault that must learn the new key, if the store has one. */
	code = vault_resolve(a, &info, state, 0, &v);
	if (code)
		goto out;
	has_vault = v.url[0] != '\0';
	if (!has_vault && (info.vault_url[0] || info.account[0])) {
		fprintf(stderr,
			"vaultfs: the store's header names a vault, but none "
			"is known here: after the key change its password "
			"would open nothing. Give --vault URL --account ID "
			"--account-token-file F.\n");
		code = CLI_EXIT_USAGE;
		goto out;
	}
	if (!has_vault && a->no_recovery_key) {
		fprintf(stderr, "vaultfs: --no-recovery-key needs a password "
				"vault: this store has none\n");
		code = CLI_EXIT_USAGE;
		goto out;
	}

	key = sodium_malloc(STORE_KEY_BYTES);
	text = sodium_malloc(KEYTEXT_FORMAT_LEN);
	if (!key || !text) {
		code = main_fail(-ENOMEM, "cannot allocate secure memory");
		goto out;
	}
	code = cmd_get_key(a, &info, state, key, NULL, &by_password);
	if (code)
		goto out;
	r = rekey_begin(a->cloud_dir, key, state, 0, &rk);
	sodium_memzero(key, STORE_KEY_BYTES);
	if (r < 0) {
		code = rekey_open_fail(r, a->cloud_dir);
		goto out;
	}
	if (rekey_fresh(rk))
		fprintf(stderr,
			"vaultfs: changing the key of the store %s in '%s'\n",
			idhex, a->cloud_dir);
	else
		fprintf(stderr,
			"vaultfs: resuming the unfinished key change of the "
			"store %s in '%s'%s\n",
			idhex, a->cloud_dir,
			rekey_switched(rk) ? " (already switched to the new key)"
					   : "");

	/* The new key is saved before anything depends on it. */
	if (a->new_key_file) {
		code = cmd_write_key_file(a->new_key_file, rekey_new_key(rk), 1);
		if (code && rekey_fresh(rk)) {
			r = rekey_abandon(rk);
			if (r < 0)
				fprintf(stderr,
					"vaultfs: cannot remove the journal "
					"of the change not started: %s\n",
					vfs_strerror(r));
		}
		if (code)
			goto out;
	}

	if (!rekey_switched(rk)) {
		prog.p = progress_new(stderr, "rekey", 0, 0);
		r = rekey_switch(rk, rekey_progress, &prog);
		progress_done(prog.p);
		if (r < 0) {
			code = main_fail(r,
					 "the key change of '%s' stopped before "
					 "the switch (the old key still opens "
					 "it; run rekey again to resume)",
					 a->cloud_dir);
			goto out;
		}
	}

	if (has_vault) {
		code = rekey_vault(a, &v, &info, rk);
		if (code) {
			fprintf(stderr,
				"vaultfs: the store now uses the new key, but "
				"the vault does not know it yet; the old key "
				"(and so the password) still opens the store "
				"until the key change is finished: run "
				"'vaultfs rekey' again\n");
			goto out;
		}
		vault_remember(state, info.store_id, &v);
	}

	if (!a->new_key_file && !a->no_recovery_key) {
		keytext_format(rekey_new_key(rk), text);
		printf("\nThe new 64-digit recovery key:\n\n    %s\n\n"
		       "WARNING: write it down and keep it somewhere safe and "
		       "offline. The old\n64-digit key stops working now.\n",
		       text);
		if (fflush(stdout) != 0) {
			code = main_fail(-EIO, "cannot write to standard "
					       "output");
			goto out;
		}
	}

	r = rekey_finish(rk);
	if (r < 0) {
		code = main_fail(r,
				 "the store uses the new key, but removing the "
				 "old key's objects failed (run rekey again "
				 "to finish)");
		goto out;
	}
	r = rekey_free(rk);
	rk = NULL;
	if (r < 0) {
		code = main_fail(r, "closing the store");
		goto out;
	}
	printf("The backup key of '%s' was changed and everything was "
	       "re-encrypted under it;\nthe old key's objects were "
	       "removed.%s\n",
	       a->cloud_dir,
	       has_vault ? " The password now recovers the new key." : "");
	if (a->new_key_file)
		printf("The new 64-digit recovery key is in '%s' (mode "
		       "0600).\n",
		       a->new_key_file);
	printf("Note: the cloud provider may keep old versions of deleted "
	       "objects; those stay\nreadable with the old key.\n");
	code = fflush(stdout) == 0 ? CLI_EXIT_OK
				   : main_fail(-EIO, "cannot write to standard "
						     "output");
out:
	if (rk)
		(void)rekey_free(rk);
	if (text) {
		sodium_memzero(text, KEYTEXT_FORMAT_LEN);
		sodium_free(text);
	}
	sodium_free(key);
	vault_ctx_release(&v);
	free(state);
	return code;
}
