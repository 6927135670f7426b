/*
 * cmdutil.c - pieces the vaultfs commands share (cmdutil.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cmdutil.h"
#include "vfs_error.h"

/* Largest account token file we read. */
#define MAIN_TOKEN_MAX 4096

/* Prints "vaultfs: <what>: <error>" and the hint; returns the exit code. */
int main_fail(int r, const char *fmt, ...)
{
	const char *hint = cli_hint(r);
	va_list ap;

	fputs("vaultfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", vfs_strerror(r));
	if (hint)
		fprintf(stderr, "vaultfs: %s\n", hint);
	return cli_exit_code(r);
}

int main_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

void main_fsync_parent(const char *path)
{
	char *copy = strdup(path), *slash;
	int fd;

	if (!copy)
		return;
	slash = strrchr(copy, '/');
	if (slash == copy)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	fd = open(slash ? copy : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

/* ---- the password vault ---- */

void vault_ctx_release(struct vault_ctx *v)
{
	vc_client_free(v->c);
	v->c = NULL;
	if (v->token) {
		sodium_memzero(v->token, strlen(v->token));
		sodium_free(v->token);
		v->token = NULL;
	}
}

/* Reads the account token (line 1 of path) into secure memory. */
static int vault_read_token(const char *path, char **ret)
{
	char *text = NULL;
	size_t len = 0, n = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = cli_read_secret_fd(fd, MAIN_TOKEN_MAX, &text, &len);
	close(fd);
	if (r < 0)
		return r;
	while (n < len && text[n] != '\n' && text[n] != '\r')
		n++;
	if (n == 0) {
		sodium_memzero(text, len);
		sodium_free(text);
		return -ENODATA;
	}
	text[n] = '\0';
	*ret = text;
	return 0;
}

/* Makes v->c for v->url with the token from v->token_file; prints why
 * not and returns an exit code, or 0. */
int vault_connect(struct vault_ctx *v, long connect_ms, long total_ms)
{
	const char *urls[CLI_VAULT_URLS];
	char list[sizeof(v->url)];
	int n, r;

	/* v->url is a list: the vault's replicas, tried in order. */
	snprintf(list, sizeof(list), "%s", v->url);
	n = cli_vault_urls_split(list, urls, CLI_VAULT_URLS);
	if (n < 0) {
		fprintf(stderr,
			"vaultfs: malformed vault URL list '%s' (URL[,URL...], "
			"at most %d)\n",
			v->url, CLI_VAULT_URLS);
		return CLI_EXIT_USAGE;
	}
	r = vc_client_new(urls, (size_t)n, NULL, &v->c);
	for (int i = 0; r == -EPERM || r == -EINVAL ? i < n : 0; i++) {
		const char *one[1] = {urls[i]};
		struct vc_client *c = NULL;
		int r1 = vc_client_new(one, 1, NULL, &c);

		vc_client_free(c);
		if (r1 == -EPERM) {
			fprintf(stderr,
				"vaultfs: vault URL '%s' refused: plain "
				"http:// is for loopback addresses only; use "
				"https://\n",
				urls[i]);
			return CLI_EXIT_USAGE;
		}
		if (r1 < 0) {
			fprintf(stderr, "vaultfs: vault URL '%s' refused: %s\n",
				urls[i], vfs_strerror(r1));
			return CLI_EXIT_USAGE;
		}
	}
	if (r < 0) {
		fprintf(stderr, "vaultfs: vault URL '%s' refused: %s\n", v->url,
			vfs_strerror(r));
		return CLI_EXIT_USAGE;
	}
	vc_set_timeouts(v->c, connect_ms, total_ms);
	if (!v->token) {
		r = vault_read_token(v->token_file, &v->token);
		if (r == -ENODATA) {
			fprintf(stderr,
				"vaultfs: the account token file '%s' is "
				"empty\n",
				v->token_file);
			return CLI_EXIT_USAGE;
		}
		if (r < 0)
			return main_fail(r,
					 "cannot read the account token file "
					 "'%s'",
					 v->token_file);
	}
	r = vc_set_token(v->c, v->token);
	if (r < 0)
		return main_fail(r, "cannot use the account token in '%s'",
				 v->token_file);
	return 0;
}

/* Absolute path of a token file, for remembering it. */
int vault_token_path(struct vault_ctx *v, const char *path)
{
	char *abs = realpath(path, NULL);

	if (!abs)
		return main_fail(
		    -errno, "cannot read the account token file '%s'", path);
	if (strlen(abs) >= sizeof(v->token_file)) {
		free(abs);
		return main_fail(-ENAMETOOLONG, "account token file '%s'",
				 path);
	}
	strcpy(v->token_file, abs);
	free(abs);
	return 0;
}

/*
 * Tells the user what a vault error means and what to do; returns the
 * exit code. left: attempts left as the vault reported them, or -1.
 */
int vault_fail(int r, int left, const struct vault_ctx *v)
{
	switch (-r) {
	case VFS_E_PASSWORD:
		if (left >= 0)
			fprintf(stderr,
				"vaultfs: wrong password, %d attempt%s left\n",
				left, left == 1 ? "" : "s");
		else
			fprintf(stderr, "vaultfs: wrong password\n");
		if (left == 0 || left == 1)
			fprintf(stderr,
				"vaultfs: when no attempts are left the "
				"password can no longer recover this backup; "
				"only the 64-digit recovery key can\n");
		break;
	case VFS_E_LOCKED:
		fprintf(
		    stderr,
		    "vaultfs: the vault account '%s' is locked after too "
		    "many wrong passwords: the password can no longer "
		    "recover this backup.\n"
		    "vaultfs: the 64-digit recovery key still can: mount "
		    "with --recovery-key (or --recovery-key-file FILE), and "
		    "set a new password with 'vaultfs passwd "
		    "--recovery-key-file FILE CLOUD_DIR'\n",
		    v->account);
		break;
	case VFS_E_VAULT:
		fprintf(stderr,
			"vaultfs: cannot reach the vault at '%s' (or it "
			"failed): %s\n"
			"vaultfs: without the vault, use the 64-digit recovery "
			"key: --recovery-key (asks on the terminal) or "
			"--recovery-key-file FILE\n",
			v->url, vfs_strerror(r));
		break;
	case VFS_E_TOKEN:
		fprintf(stderr,
			"vaultfs: the vault at '%s' refused the account token "
			"in '%s' (expired, or issued for another account or "
			"vault); no password attempt was counted. Get a new "
			"token from the vault's operator.\n",
			v->url, v->token_file);
		break;
	case VFS_E_PROTOCOL:
		fprintf(stderr,
			"vaultfs: the vault at '%s' answered something "
			"malformed or inconsistent; not trusting it: %s\n",
			v->url, vfs_strerror(r));
		break;
	case VFS_E_WRONGKEY:
		fprintf(stderr,
			"vaultfs: the vault at '%s' refused the 64-digit key: "
			"it is not the key it holds for this store\n",
			v->url);
		return CLI_EXIT_WRONGKEY;
	case ENOENT:
		fprintf(stderr,
			"vaultfs: the vault at '%s' holds no password for "
			"this store under account '%s'\n",
			v->url, v->account);
		break;
	case EAGAIN:
		fprintf(stderr,
			"vaultfs: the vault at '%s' is rate limiting this "
			"account or address; wait a minute and retry\n",
			v->url);
		break;
	case ESTALE:
		fprintf(stderr, "vaultfs: the vault's challenge expired; "
				"please try again\n");
		break;
	case ENOSPC:
		fprintf(stderr,
			"vaultfs: the account '%s' protects %d stores "
			"already, the most a vault account holds\n",
			v->account, VC_MAX_STORES);
		break;
	default:
		if (r > -VFS_E_BASE)
			return main_fail(r, "vault '%s'", v->url);
		fprintf(stderr, "vaultfs: vault '%s': %s\n", v->url,
			vfs_strerror(r));
		break;
	}
	switch (-r) {
	case VFS_E_PASSWORD:
		return CLI_EXIT_PASSWORD;
	case VFS_E_LOCKED:
		return CLI_EXIT_LOCKED;
	default:
		return CLI_EXIT_VAULT;
	}
}

/*
 * Reads a password: line 1 of file, or asked on the terminal (twice when
 * confirm is set). New passwords (min_len > 0) must be that long.
 * Returns 0 with *ret and *ret_len (sodium_malloc'd), or an exit code.
 */
int vault_password(const char *file, const char *prompt, const char *confirm,
		   size_t min_len, char **ret, size_t *ret_len)
{
	int r;

	if (file)
		r = cli_password_from_file(file, ret, ret_len);
	else
		r = cli_password_from_tty(prompt, confirm, ret, ret_len);
	if (r == -ENXIO) {
		fprintf(stderr,
			"vaultfs: no terminal to ask for the password on; use "
			"--password-file FILE (the password on its first "
			"line)\n");
		return CLI_EXIT_USAGE;
	}
	if (r == -EILSEQ) {
		fprintf(stderr, "vaultfs: the two passwords differ; nothing "
				"was changed\n");
		return CLI_EXIT_USAGE;
	}
	if (r == -ENODATA) {
		fprintf(stderr, "vaultfs: empty password%s%s%s\n",
			file ? " (line 1 of '" : "", file ? file : "",
			file ? "')" : "");
		return CLI_EXIT_USAGE;
	}
	if (r == -E2BIG) {
		fprintf(stderr,
			"vaultfs: the password is longer than %d bytes\n",
			CLI_PASSWORD_MAX);
		return CLI_EXIT_USAGE;
	}
	if (r < 0) {
		if (file)
			return main_fail(r,
					 "cannot read the password file "
					 "'%s'",
					 file);
		return main_fail(r, "cannot read the password");
	}
	if (*ret_len < min_len) {
		fprintf(stderr,
			"vaultfs: the password must have at least %zu "
			"characters\n",
			min_len);
		sodium_memzero(*ret, *ret_len);
		sodium_free(*ret);
		*ret = NULL;
		return CLI_EXIT_USAGE;
	}
	return 0;
}

void vault_password_free(char *pw, size_t len)
{
	if (pw) {
		sodium_memzero(pw, len);
		sodium_free(pw);
	}
}

/*
 * Finds the vault of a store for mount and passwd: the URL given with
 * --vault, else the one remembered on this machine for this store, else
 * the header's hint if this machine trusts that URL for another store.
 * The header's URL is never followed on its own; a header that names
 * another URL than the one used is reported. Returns 0 with v filled
 * (v->url empty when !required and no vault is known), or an exit code.
 */
int vault_resolve(const struct cli_args *a, const struct store_info *info,
		  const char *state, int required, struct vault_ctx *v)
{
	struct cli_vault_conf rc;
	char trusted_token[4096] = "";
	const char *url = NULL, *account = NULL, *token = NULL;
	int have, r;

	memset(v, 0, sizeof(*v));
	have = cli_vault_conf_load(state, info->store_id, &rc) == 0;
	account = a->account		  ? a->account
		  : have && rc.account[0] ? rc.account
		  : info->account[0]	  ? info->account
					  : NULL;
	if (a->vault_url)
		url = a->vault_url;
	else if (have)
		url = rc.url;
	else if (info->vault_url[0] &&
		 cli_vault_trusted(state, info->vault_url, account,
				   trusted_token, sizeof(trusted_token)))
		url = info->vault_url;
	if (!url) {
		if (!required)
			return 0;
		if (info->vault_url[0])
			fprintf(stderr,
				"vaultfs: this store's header names the vault "
				"'%s', which is not trusted on this machine; "
				"the header is only a hint and is not followed "
				"on its own.\n"
				"vaultfs: to use that vault, pass --vault %s "
				"(it is then remembered); or use the 64-digit "
				"key: --recovery-key or --recovery-key-file "
				"FILE\n",
				info->vault_url, info->vault_url);
		else
			fprintf(stderr,
				"vaultfs: no password vault is known for this "
				"store on this machine: use --recovery-key or "
				"--recovery-key-file FILE, or --vault URL\n");
		return CLI_EXIT_USAGE;
	}
	if (info->vault_url[0] && strcmp(info->vault_url, url) != 0)
		fprintf(stderr,
			"vaultfs: warning: the store header names the vault "
			"'%s', but this machine uses '%s'%s; the header is "
			"only a hint and is not followed\n",
			info->vault_url, url,
			a->vault_url ? " (given with --vault)"
				     : " (trusted here)");
	if (strlen(url) >= sizeof(v->url)) {
		fprintf(stderr, "vaultfs: vault URL too long\n");
		return CLI_EXIT_USAGE;
	}
	strcpy(v->url, url);
	if (!account) {
		fprintf(stderr, "vaultfs: no vault account known for this "
				"store: give --account ID\n");
		return CLI_EXIT_USAGE;
	}
	if (strlen(account) >= sizeof(v->account)) {
		fprintf(stderr,
			"vaultfs: the account is longer than %d "
			"characters\n",
			VC_ACCOUNT_MAX);
		return CLI_EXIT_USAGE;
	}
	strcpy(v->account, account);
	if (a->token_file)
		token = a->token_file;
	else if (have && rc.token_file[0] && strcmp(rc.account, account) == 0)
		token =
		    rc.token_file; /* url is trusted: remembered or --vault */
	else if (trusted_token[0])
		token = trusted_token;
	if (!token) {
		fprintf(stderr,
			"vaultfs: no account token file known for the "
			"vault '%s': give --account-token-file FILE\n",
			url);
		return CLI_EXIT_USAGE;
	}
	r = vault_token_path(v, token);
	if (r)
		return r;
	return 0;
}

/* Remembers (trusts) v's vault for store_id; a failure only warns. */
void vault_remember(const char *state, const uint8_t *store_id,
		    const struct vault_ctx *v)
{
	struct cli_vault_conf c;
	int r;

	memset(&c, 0, sizeof(c));
	snprintf(c.url, sizeof(c.url), "%s", v->url);
	snprintf(c.account, sizeof(c.account), "%s", v->account);
	snprintf(c.token_file, sizeof(c.token_file), "%s", v->token_file);
	r = cli_vault_conf_save(state, store_id, &c);
	if (r < 0)
		fprintf(stderr,
			"vaultfs: warning: cannot remember the vault in "
			"'%s/vaults': %s; pass --vault next time\n",
			state, vfs_strerror(r));
}

/* The 64-digit key from the terminal or a file; exit code. */
static int cmd_key_from_user(const struct cli_args *a, uint8_t *key)
{
	char why[160] = "";
	int r;

	if (a->ask_key)
		r = cli_key_from_tty("64-digit recovery key: ", key, why,
				     sizeof(why));
	else
		r = cli_key_from_file(a->key_file, key, why, sizeof(why));
	if (r == -VFS_E_KEYTEXT) {
		fprintf(stderr, "vaultfs: malformed 64-digit key%s%s%s: %s\n",
			a->key_file ? " in '" : "",
			a->key_file ? a->key_file : "", a->key_file ? "'" : "",
			why);
		fprintf(stderr, "vaultfs: %s\n", cli_hint(r));
		return CLI_EXIT_KEYTEXT;
	}
	if (r == -ENXIO && a->ask_key) {
		fprintf(stderr,
			"vaultfs: no terminal to ask for the key on; use "
			"--recovery-key-file FILE ('-' for standard input)\n");
		return CLI_EXIT_USAGE;
	}
	if (r == -E2BIG) {
		fprintf(stderr,
			"vaultfs: the key %s is far too long to be a "
			"64-digit key\n",
			a->key_file ? "file" : "text");
		return CLI_EXIT_KEYTEXT;
	}
	if (r < 0) {
		if (a->key_file)
			return main_fail(r, "cannot read the key file '%s'",
					 a->key_file);
		return main_fail(r, "cannot read the key");
	}
	return 0;
}

int cmd_get_key(const struct cli_args *a, const struct store_info *info,
		const char *state, uint8_t *key, struct vault_ctx *v,
		int *ret_by_password)
{
	struct vault_ctx local;
	char *pw = NULL;
	size_t pwlen = 0;
	int left = -1;
	int code, r;

	if (!v)
		v = &local;
	memset(v, 0, sizeof(*v));
	if (ret_by_password)
		*ret_by_password = 0;
	if (a->ask_key || a->key_file)
		return cmd_key_from_user(a, key);

	/* The password, through the vault. */
	code = vault_resolve(a, info, state, 1, v);
	if (code)
		goto out;
	code = vault_connect(v, MAIN_VAULT_CONNECT_MS, MAIN_VAULT_TOTAL_MS);
	if (code)
		goto out;
	code = vault_password(a->password_file, "Password: ", NULL, 0, &pw,
			      &pwlen);
	if (code)
		goto out;
	r = vc_recover(v->c, v->account, info->store_id, (const uint8_t *)pw,
		       pwlen, key, &left);
	vault_password_free(pw, pwlen);
	if (r < 0) {
		code = vault_fail(r, left, v);
		goto out;
	}
	vault_remember(state, info->store_id, v);
	if (ret_by_password)
		*ret_by_password = 1;
out:
	vc_client_free(v->c);
	v->c = NULL;
	if (code || v == &local)
		vault_ctx_release(v);
	return code;
}
