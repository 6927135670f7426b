/*
 * cmdutil.h - pieces the vaultfs commands share: error messages with exit
 * codes, writing whole buffers, and everything about getting the backup key
 * K the way the user asked (64-digit key on the terminal or in a file, or
 * the password through the vault).
 *
 * Every function that returns "an exit code" has already told the user
 * what went wrong on stderr; 0 means success.
 */
#ifndef VFS_CMDUTIL_H
#define VFS_CMDUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "store.h"
#include "vaultclient/vaultclient.h"

/* Commands: timeouts for interactive vault calls. */
#define MAIN_VAULT_CONNECT_MS 5000
#define MAIN_VAULT_TOTAL_MS 30000

/* What a command needs to talk to the vault of one store. */
struct vault_ctx {
	struct vc_client *c;
	char url[512];
	char account[VC_ACCOUNT_MAX + 1];
	char token_file[4096]; /* absolute */
	char *token;	       /* sodium_malloc'd, NUL-terminated */
	uint8_t store_id[STORE_ID_BYTES];
};

/* Prints "vaultfs: <what>: <error>" and the hint; returns the exit code. */
int main_fail(int r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* write() all of p, retrying on EINTR. 0 or -errno. */
int main_write_all(int fd, const void *p, size_t n);

/* fsync the folder holding path (best effort). */
void main_fsync_parent(const char *path);

/* Frees v's client and wipes its token; v can be reused. */
void vault_ctx_release(struct vault_ctx *v);

/* Makes v->c for v->url with the token from v->token_file. Exit code. */
int vault_connect(struct vault_ctx *v, long connect_ms, long total_ms);

/* Tells the user what a vault error r means (left: attempts left, or -1)
 * and returns the exit code. */
int vault_fail(int r, int left, const struct vault_ctx *v);

/* Reads a password from file (line 1) or the terminal (twice when confirm
 * is set); new passwords (min_len > 0) must be that long. Exit code; on 0
 * *ret and *ret_len are sodium_malloc'd (free with vault_password_free). */
int vault_password(const char *file, const char *prompt, const char *confirm,
		   size_t min_len, char **ret, size_t *ret_len);
void vault_password_free(char *pw, size_t len);

/* Finds the vault of a store (--vault, else remembered, else a trusted
 * header hint). Exit code; v->url empty when !required and none known. */
int vault_resolve(const struct cli_args *a, const struct store_info *info,
		  const char *state, int required, struct vault_ctx *v);

/* Sets v->token_file to the absolute path of path. Exit code. */
int vault_token_path(struct vault_ctx *v, const char *path);

/* Remembers (trusts) v's vault for store_id; a failure only warns. */
void vault_remember(const char *state, const uint8_t *store_id,
		    const struct vault_ctx *v);

/*
 * Gets K for the store described by info, as the user asked in a:
 * --recovery-key (terminal), --recovery-key-file FILE, else the password
 * through the vault (resolved, asked, recovered and remembered). key is
 * STORE_KEY_BYTES of the caller's sodium_malloc'd memory. When v is not
 * NULL and the password was used, *v holds the vault (client freed; the
 * caller releases it with vault_ctx_release); else *v is zeroed.
 * *ret_by_password (may be NULL) tells which way was used. Exit code.
 */
int cmd_get_key(const struct cli_args *a, const struct store_info *info,
		const char *state, uint8_t *key, struct vault_ctx *v,
		int *ret_by_password);

#endif
