/*
 * ceremony_cmd.c - the key ceremony's three subcommands (ceremony.h):
 * ceremony-request, -export and -import, driving the token (hsm.c) and
 * the vault's store (store.c); the files are ceremony.c's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ceremony.h"
#include "store.h"

#define CER_KCV_META_MAX 64

/* ---- files ---- */

static int cer_read_file(const char *path, char **ret_text, size_t *ret_len)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if (st.st_size > CEREMONY_FILE_MAX) {
		r = -EFBIG;
		goto out;
	}
	text = malloc(CEREMONY_FILE_MAX + 1);
	if (!text) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		n = read(fd, text + len, CEREMONY_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CEREMONY_FILE_MAX) {
			r = -EFBIG;
			goto out;
		}
	}
	*ret_text = text;
	*ret_len = len;
	text = NULL; /* transferred */
	r = 0;
out:
	free(text);
	close(fd);
	return r;
}

/* Creates path (never replaces a file), writes text and a newline, fsyncs. */
static int cer_write_file(const char *path, const char *text)
{
	size_t len = strlen(text), off = 0;
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0)
		return -errno;
	while (off < len + 1) {
		ssize_t n = off < len ? write(fd, text + off, len - off)
				      : write(fd, "\n", 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		off += (size_t)n;
	}
	r = fsync(fd) < 0 ? -errno : 0;
out:
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
	return r;
}

/* ---- store and token ---- */

static int cer_open_store(const struct vs_config *cfg, struct store **ret_s,
			  uint8_t vid[CEREMONY_VID_LEN])
{
	struct store *s = NULL;
	size_t n = 0;
	int r;

	r = store_open(cfg->store, 0, &s);
	if (r < 0) {
		fprintf(stderr, "vaultsrv: cannot open '%s': %s\n", cfg->store,
			r == -EAGAIN ? "unreachable (etcd: no member answers "
				       "or no quorum)"
			: r == -ENOENT ? "no vault there (the ceremony copies "
					 "the keys of an existing vault)"
				       : strerror(-r));
		return r;
	}
	r = store_meta_get(s, "vault_id", vid, CEREMONY_VID_LEN, &n);
	if (r < 0 || n != CEREMONY_VID_LEN) {
		fprintf(stderr, "vaultsrv: '%s' has no vault_id\n",
			cfg->store);
		store_free(s);
		return r < 0 ? r : -EINVAL;
	}
	*ret_s = s;
	return 0;
}

static int cer_open_token(const struct vs_config *cfg, struct hsm **ret_h)
{
	int r = hsm_open(cfg->pkcs11_module, cfg->token_label, cfg->pin_file,
			 1, ret_h);

	if (r < 0)
		fprintf(stderr,
			"vaultsrv: cannot open token '%s' with module '%s' "
			"and pin_file '%s': %s\n",
			cfg->token_label, cfg->pkcs11_module, cfg->pin_file,
			r == -EACCES ? "PIN refused or pin_file readable by "
				       "others (chmod 600)"
				     : strerror(-r));
	return r;
}

static void cer_kcv_meta(const char *label, char out[CER_KCV_META_MAX])
{
	snprintf(out, CER_KCV_META_MAX, "kcv.%s", label);
}

static void cer_hex(const uint8_t *v, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, v, n);
}

/* Reads the key check value the store holds for label. */
static int cer_kcv_get(struct store *s, const char *label,
		       uint8_t kcv[HSM_KCV_LEN])
{
	char name[CER_KCV_META_MAX];
	size_t n = 0;
	int r;

	cer_kcv_meta(label, name);
	r = store_meta_get(s, name, kcv, HSM_KCV_LEN, &n);
	if (r == 0 && n != HSM_KCV_LEN)
		r = -EINVAL;
	return r;
}

/*
 * The first export records each key's check value in the store; later
 * ones check the source token against it, so that a token holding other
 * keys (another vault's) can never be copied around as this vault's.
 */
static int cer_kcv_record(struct store *s, const struct hsm_vault_key *k)
{
	char name[CER_KCV_META_MAX], a[2 * HSM_KCV_LEN + 1],
	    b[2 * HSM_KCV_LEN + 1];
	uint8_t have[HSM_KCV_LEN];
	int r;

	r = cer_kcv_get(s, k->label, have);
	if (r == -ENOENT) {
		cer_kcv_meta(k->label, name);
		r = store_meta_put(s, name, k->kcv, HSM_KCV_LEN);
		if (r == 0)
			return 0;
		/* written meanwhile by another export: compare with it */
		r = cer_kcv_get(s, k->label, have);
	}
	if (r < 0) {
		fprintf(stderr,
			"vaultsrv: cannot read or record the check value of "
			"'%s' in the store: %s\n",
			k->label, strerror(-r));
		return r;
	}
	if (sodium_memcmp(have, k->kcv, HSM_KCV_LEN) != 0) {
		cer_hex(k->kcv, HSM_KCV_LEN, a);
		cer_hex(have, HSM_KCV_LEN, b);
		fprintf(stderr,
			"vaultsrv: this token's key '%s' is not the vault's "
			"(check value %s, the store records %s); refusing to "
			"export it\n",
			k->label, a, b);
		return -EKEYREJECTED;
	}
	return 0;
}

/* ---- commands ---- */

int ceremony_cmd_request(const struct vs_config *cfg, const char *out)
{
	struct ceremony_request q;
	struct store *s = NULL;
	struct hsm *h = NULL;
	char *text = NULL, fpr[CEREMONY_FPR_TEXT], id[2 * HSM_REQ_ID_LEN + 1];
	int r, made = 0;

	memset(&q, 0, sizeof(q));
	r = cer_open_store(cfg, &s, q.vault_id);
	if (r < 0)
		goto out;
	r = cer_open_token(cfg, &h);
	if (r < 0)
		goto out;
	r = hsm_load_keys(h);
	if (r == 0)
		fprintf(stderr,
			"vaultsrv: token '%s' already holds vault keys: the "
			"bundle will bring only the keys it lacks (a new "
			"master key epoch)\n",
			cfg->token_label);
	else if (r != -ENOENT) {
		fprintf(stderr,
			"vaultsrv: token '%s' cannot be searched for vault "
			"keys: %s\n",
			cfg->token_label, strerror(-r));
		goto out;
	}
	randombytes_buf(q.id, sizeof(q.id));
	snprintf(q.token_label, sizeof(q.token_label), "%s", cfg->token_label);
	q.created = (uint64_t)time(NULL);
	r = hsm_transport_create(h, q.id, q.mod, q.exp, &q.exp_len);
	if (r < 0) {
		fprintf(stderr,
			"vaultsrv: cannot generate the RSA-%d transport key "
			"in token '%s': %s\n",
			HSM_RSA_BITS, cfg->token_label, strerror(-r));
		goto out;
	}
	made = 1;
	if (ceremony_rsa_check(q.mod, q.exp, q.exp_len) < 0) {
		fprintf(stderr, "vaultsrv: the token made an RSA key of the "
				"wrong size or exponent\n");
		r = -EIO;
		goto out;
	}
	ceremony_fingerprint(q.id, q.mod, q.exp, q.exp_len, q.fpr);
	r = ceremony_request_format(&q, &text);
	if (r < 0)
		goto out;
	r = cer_write_file(out, text);
	if (r < 0) {
		fprintf(stderr, "vaultsrv: cannot write '%s': %s\n", out,
			r == -EEXIST ? "it exists (never overwritten)"
				     : strerror(-r));
		goto out;
	}
	made = 0;
	cer_hex(q.id, sizeof(q.id), id);
	ceremony_fingerprint_text(q.fpr, fpr);
	printf("request %s\ntoken %s\nfingerprint %s\n", id, q.token_label,
	       fpr);
	fflush(stdout);
	fprintf(stderr,
		"vaultsrv: wrote '%s'. Read the fingerprint to the operator "
		"of a replica that holds the keys over a channel you trust; "
		"they run ceremony-export --fingerprint '...'.\n",
		out);
	r = 0;
out:
	if (made && hsm_transport_destroy(h, q.id) < 0)
		fprintf(stderr, "vaultsrv: could not remove the transport key "
				"again\n");
	free(text);
	hsm_free(h);
	store_free(s);
	return r;
}

int ceremony_cmd_export(const struct vs_config *cfg, const char *request,
			const char *fingerprint, const char *out)
{
	struct ceremony_request *q = NULL;
	struct ceremony_bundle *b = NULL;
	struct store *s = NULL;
	struct hsm *h = NULL;
	uint8_t fpr[CEREMONY_FPR_LEN], vid[CEREMONY_VID_LEN];
	char *text = NULL, why[160] = "", fpt[CEREMONY_FPR_TEXT],
	     id[2 * HSM_REQ_ID_LEN + 1], v1[33], v2[33],
	     kcv[2 * HSM_KCV_LEN + 1];
	size_t len = 0;
	int r;

	if (!fingerprint || ceremony_fingerprint_parse(fingerprint, fpr) < 0) {
		fprintf(stderr,
			"vaultsrv: --fingerprint must be the 64 hex digits "
			"the joining operator read to you (spaces allowed)\n");
		return -EINVAL;
	}
	q = calloc(1, sizeof(*q));
	b = calloc(1, sizeof(*b));
	if (!q || !b) {
		r = -ENOMEM;
		goto out;
	}
	r = cer_read_file(request, &text, &len);
	if (r < 0) {
		fprintf(stderr, "vaultsrv: cannot read '%s': %s\n", request,
			r == -EFBIG ? "larger than 64 KiB" : strerror(-r));
		goto out;
	}
	r = ceremony_request_parse(text, len, q, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "vaultsrv: '%s' is not a ceremony request: %s\n",
			request, why);
		goto out;
	}
	free(text);
	text = NULL;
	if (sodium_memcmp(fpr, q->fpr, sizeof(fpr)) != 0) {
		ceremony_fingerprint_text(q->fpr, fpt);
		fprintf(stderr,
			"vaultsrv: the fingerprint given is not the one of "
			"the transport key in '%s' (%s): the request may have "
			"been replaced on the way; nothing exported\n",
			request, fpt);
		r = -EKEYREJECTED;
		goto out;
	}
	r = cer_open_store(cfg, &s, vid);
	if (r < 0)
		goto out;
	if (memcmp(vid, q->vault_id, sizeof(vid)) != 0) {
		cer_hex(q->vault_id, sizeof(vid), v1);
		cer_hex(vid, sizeof(vid), v2);
		fprintf(stderr,
			"vaultsrv: the request is for vault %s, this "
			"replica's store holds vault %s; nothing exported\n",
			v1, v2);
		r = -EXDEV;
		goto out;
	}
	r = cer_open_token(cfg, &h);
	if (r < 0)
		goto out;
	r = hsm_vault_keys_list(h, b->keys, HSM_CKEYS_MAX, &b->nkeys);
	if (r < 0) {
		fprintf(stderr,
			"vaultsrv: token '%s' does not hold the vault keys "
			"(%s)\n",
			cfg->token_label,
			r == -ENOENT ? "no master key or no token MAC key"
				     : strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < b->nkeys; i++) {
		r = cer_kcv_record(s, &b->keys[i]);
		if (r < 0)
			goto out;
	}
	r = hsm_vault_keys_wrap(h, q->mod, q->exp, q->exp_len, b->keys,
				b->nkeys, &b->oaep);
	if (r < 0) {
		fprintf(stderr,
			"vaultsrv: cannot wrap the vault keys for the "
			"request: %s\n",
			r == -EPERM
			    ? "the token does not let them out (not "
			      "extractable, or wrap-with-trusted); see "
			      "docs/operations.md, \"Vaults whose keys cannot "
			      "be copied\""
			    : strerror(-r));
		goto out;
	}
	memcpy(b->id, q->id, sizeof(b->id));
	memcpy(b->fpr, q->fpr, sizeof(b->fpr));
	memcpy(b->vault_id, vid, sizeof(vid));
	b->created = (uint64_t)time(NULL);
	r = ceremony_bundle_format(b, &text);
	if (r < 0)
		goto out;
	r = cer_write_file(out, text);
	if (r < 0) {
		fprintf(stderr, "vaultsrv: cannot write '%s': %s\n", out,
			r == -EEXIST ? "it exists (never overwritten)"
				     : strerror(-r));
		goto out;
	}
	cer_hex(q->id, sizeof(q->id), id);
	printf("bundle %s for request %s (token '%s'): %zu keys, RSA-OAEP "
	       "%s\n",
	       out, id, q->token_label, b->nkeys,
	       b->oaep == HSM_OAEP_SHA256 ? "SHA-256" : "SHA-1");
	for (size_t i = 0; i < b->nkeys; i++) {
		cer_hex(b->keys[i].kcv, HSM_KCV_LEN, kcv);
		printf("key %s kcv %s\n", b->keys[i].label, kcv);
	}
	r = 0;
out:
	free(text);
	hsm_free(h);
	store_free(s);
	free(q);
	free(b);
	return r;
}

int ceremony_cmd_import(const struct vs_config *cfg, const char *bundle,
			int extractable)
{
	struct ceremony_bundle *b = NULL;
	struct store *s = NULL;
	struct hsm *h = NULL;
	uint8_t vid[CEREMONY_VID_LEN], fpr[CEREMONY_FPR_LEN];
	uint8_t mod[HSM_RSA_MOD_LEN], exp[HSM_RSA_EXP_MAX];
	char *text = NULL, why[160] = "", id[2 * HSM_REQ_ID_LEN + 1], v1[33],
	     v2[33], kcv[2 * HSM_KCV_LEN + 1];
	size_t len = 0, elen = 0, bad = 0, nnew = 0;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	r = cer_read_file(bundle, &text, &len);
	if (r < 0) {
		fprintf(stderr, "vaultsrv: cannot read '%s': %s\n", bundle,
			r == -EFBIG ? "larger than 64 KiB" : strerror(-r));
		goto out;
	}
	r = ceremony_bundle_parse(text, len, b, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "vaultsrv: '%s' is not a ceremony bundle: %s\n",
			bundle, why);
		goto out;
	}
	cer_hex(b->id, sizeof(b->id), id);
	r = cer_open_store(cfg, &s, vid);
	if (r < 0)
		goto out;
	if (memcmp(vid, b->vault_id, sizeof(vid)) != 0) {
		cer_hex(b->vault_id, sizeof(vid), v1);
		cer_hex(vid, sizeof(vid), v2);
		fprintf(stderr,
			"vaultsrv: the bundle holds the keys of vault %s, "
			"this replica's store holds vault %s; refused\n",
			v1, v2);
		r = -EXDEV;
		goto out;
	}
	r = cer_open_token(cfg, &h);
	if (r < 0)
		goto out;
	r = hsm_transport_public(h, b->id, mod, exp, &elen);
	if (r == -ENOENT) {
		int have = hsm_load_keys(h) == 0;

		fprintf(stderr,
			"vaultsrv: token '%s' has no pending request %s: %s; "
			"refused\n",
			cfg->token_label, id,
			have ? "it holds vault keys and the bundle's request "
			       "was used already (a replay), or was made for "
			       "another token"
			     : "the bundle was made for another token's "
			       "request, or was used already");
		r = -ENOENT;
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "vaultsrv: token '%s': %s\n", cfg->token_label,
			strerror(-r));
		goto out;
	}
	ceremony_fingerprint(b->id, mod, exp, elen, fpr);
	if (sodium_memcmp(fpr, b->fpr, sizeof(fpr)) != 0) {
		fprintf(stderr,
			"vaultsrv: the bundle was made for another transport "
			"key than request %s's (fingerprint differs); "
			"refused\n",
			id);
		r = -EKEYREJECTED;
		goto out;
	}
	/* Each key must be the one whose check value the vault records. */
	for (size_t i = 0; i < b->nkeys; i++) {
		uint8_t want[HSM_KCV_LEN];

		r = cer_kcv_get(s, b->keys[i].label, want);
		if (r < 0) {
			fprintf(stderr,
				"vaultsrv: the store has no check value for "
				"'%s' (%s): the bundle was not made by "
				"ceremony-export for this vault; refused\n",
				b->keys[i].label, strerror(-r));
			goto out;
		}
		if (sodium_memcmp(want, b->keys[i].kcv, HSM_KCV_LEN) != 0) {
			fprintf(stderr,
				"vaultsrv: the bundle's key '%s' is not the "
				"vault's (check value differs from the "
				"store's); refused\n",
				b->keys[i].label);
			r = -EKEYREJECTED;
			goto out;
		}
	}
	r = hsm_vault_keys_unwrap(h, b->id, b->oaep, b->keys, b->nkeys,
				  extractable, &bad);
	if (r < 0) {
		const char *what =
		    r == -EEXIST ? "the token holds a different key under "
				   "that label (another vault's?); nothing "
				   "imported"
		    : r == -EBADMSG
			? "a wrapped key does not unwrap with this token's "
			  "transport key (tampered, or made for another "
			  "token)"
		    : r == -EKEYREJECTED ? "an unwrapped key does not match "
					   "the vault's check value "
					   "(tampered bundle)"
					 : strerror(-r);

		int named = r == -EBADMSG || r == -EKEYREJECTED || r == -EEXIST;

		fprintf(stderr, "vaultsrv: cannot import%s%s%s: %s; refused\n",
			named ? " '" : "",
			named ? b->keys[bad < b->nkeys ? bad : 0].label : "",
			named ? "'" : "", what);
		goto out;
	}
	r = hsm_transport_destroy(h, b->id);
	if (r < 0) {
		fprintf(stderr,
			"vaultsrv: the keys are imported but the transport "
			"key could not be destroyed: %s\n",
			strerror(-r));
		goto out;
	}
	cer_hex(vid, sizeof(vid), v1);
	for (size_t i = 0; i < b->nkeys; i++)
		nnew += !b->keys[i].present;
	printf("imported %zu new keys (%zu held already) for vault %s from "
	       "request %s; transport key destroyed\n",
	       nnew, b->nkeys - nnew, v1, id);
	for (size_t i = 0; i < b->nkeys; i++) {
		cer_hex(b->keys[i].kcv, HSM_KCV_LEN, kcv);
		printf("key %s kcv %s%s\n", b->keys[i].label, kcv,
		       b->keys[i].present ? " (held already)"
		       : extractable	  ? ""
					  : " (not extractable)");
	}
	r = 0;
out:
	free(text);
	hsm_free(h);
	store_free(s);
	free(b);
	return r;
}
