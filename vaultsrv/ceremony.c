/*
 * ceremony.c - the key ceremony's files (ceremony.h): the transport key
 * fingerprint, and the request and bundle (JSON) written and parsed with
 * every field checked. No token, no store: the commands are in
 * ceremony_cmd.c, so that the fuzz harness needs nothing else.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ceremony.h"
#include "json.h"

#define CER_FPR_DOMAIN "vaultsrv ceremony transport key v1"

static const uint8_t cer_f4[] = {0x01, 0x00, 0x01};

static void cer_why(char *why, size_t whylen, const char *what)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", what);
}

static void cer_be32(uint8_t out[4], size_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

void ceremony_fingerprint(const uint8_t id[HSM_REQ_ID_LEN],
			  const uint8_t mod[HSM_RSA_MOD_LEN],
			  const uint8_t *exp, size_t exp_len,
			  uint8_t ret_fpr[CEREMONY_FPR_LEN])
{
	crypto_hash_sha256_state st;
	uint8_t len[4];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)CER_FPR_DOMAIN,
				  sizeof(CER_FPR_DOMAIN));
	crypto_hash_sha256_update(&st, id, HSM_REQ_ID_LEN);
	cer_be32(len, HSM_RSA_MOD_LEN);
	crypto_hash_sha256_update(&st, len, sizeof(len));
	crypto_hash_sha256_update(&st, mod, HSM_RSA_MOD_LEN);
	cer_be32(len, exp_len);
	crypto_hash_sha256_update(&st, len, sizeof(len));
	crypto_hash_sha256_update(&st, exp, exp_len);
	crypto_hash_sha256_final(&st, ret_fpr);
}

void ceremony_fingerprint_text(const uint8_t fpr[CEREMONY_FPR_LEN],
			       char out[CEREMONY_FPR_TEXT])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < CEREMONY_FPR_LEN; i++) {
		if (i > 0 && i % 2 == 0)
			out[o++] = ' ';
		out[o++] = hex[fpr[i] >> 4];
		out[o++] = hex[fpr[i] & 15];
	}
	out[o] = '\0';
}

static int cer_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ceremony_fingerprint_parse(const char *s, uint8_t ret_fpr[CEREMONY_FPR_LEN])
{
	uint8_t fpr[CEREMONY_FPR_LEN];
	size_t nd = 0;

	for (size_t i = 0; s[i]; i++) {
		int v;

		if (i > 4 * CEREMONY_FPR_LEN)
			return -EINVAL;
		if (s[i] == ' ' || s[i] == ':' || s[i] == '-')
			continue;
		v = cer_hexval(s[i]);
		if (v < 0 || nd == 2 * CEREMONY_FPR_LEN)
			return -EINVAL;
		if (nd % 2 == 0)
			fpr[nd / 2] = (uint8_t)(v << 4);
		else
			fpr[nd / 2] |= (uint8_t)v;
		nd++;
	}
	if (nd != 2 * CEREMONY_FPR_LEN)
		return -EINVAL;
	memcpy(ret_fpr, fpr, sizeof(fpr));
	return 0;
}

/* Exactly n bytes as 2n lower-case hex digits. */
static int cer_get_hex(const struct json_obj *o, const char *name,
		       uint8_t *out, size_t n)
{
	const char *s;
	int r = json_get_str(o, name, 2 * n, &s);

	if (r < 0)
		return r;
	if (strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < 2 * n; i++)
		if (!strchr("0123456789abcdef", s[i]) || s[i] == '\0')
			return -EINVAL;
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(cer_hexval(s[2 * i]) << 4 |
				   cer_hexval(s[2 * i + 1]));
	return 0;
}

static int cer_check_format(const struct json_obj *o, const char *want,
			    char *why, size_t whylen)
{
	const char *s;

	if (json_get_str(o, "format", 64, &s) < 0 || strcmp(s, want) != 0) {
		if (why && whylen)
			snprintf(why, whylen, "not a %s file ('format')", want);
		return -EINVAL;
	}
	return 0;
}

int ceremony_rsa_check(const uint8_t mod[HSM_RSA_MOD_LEN], const uint8_t *exp,
		       size_t exp_len)
{
	if (!(mod[0] & 0x80) || !(mod[HSM_RSA_MOD_LEN - 1] & 1))
		return -EINVAL;
	if (exp_len != sizeof(cer_f4) || memcmp(exp, cer_f4, exp_len) != 0)
		return -EINVAL;
	return 0;
}

int ceremony_request_format(const struct ceremony_request *q,
			    char **ret_text)
{
	struct json_out *w;
	char *text;

	if (q->exp_len == 0 || q->exp_len > HSM_RSA_EXP_MAX ||
	    strnlen(q->token_label, sizeof(q->token_label)) >=
		sizeof(q->token_label))
		return -EINVAL;
	w = json_out_new();
	if (!w)
		return -ENOMEM;
	json_out_str(w, "format", CEREMONY_REQUEST_FORMAT);
	json_out_hex(w, "request_id", q->id, sizeof(q->id));
	json_out_hex(w, "vault_id", q->vault_id, sizeof(q->vault_id));
	json_out_str(w, "token_label", q->token_label);
	json_out_b64(w, "rsa_modulus", q->mod, sizeof(q->mod));
	json_out_b64(w, "rsa_exponent", q->exp, q->exp_len);
	json_out_hex(w, "fingerprint", q->fpr, sizeof(q->fpr));
	json_out_u64(w, "created", q->created);
	text = json_out_finish(w);
	json_out_free(w);
	if (!text)
		return -ENOMEM;
	*ret_text = text;
	return 0;
}

int ceremony_request_parse(const char *text, size_t len,
			   struct ceremony_request *ret, char *why,
			   size_t whylen)
{
	struct ceremony_request *q = NULL;
	struct json_obj *o = NULL;
	uint8_t fpr[CEREMONY_FPR_LEN];
	const char *label;
	int r;

	if (len == 0 || len > CEREMONY_FILE_MAX) {
		cer_why(why, whylen, "empty or larger than 64 KiB");
		return -EINVAL;
	}
	r = json_parse(text, len, &o);
	if (r < 0) {
		cer_why(why, whylen, "not a JSON object");
		r = -EINVAL;
		goto out;
	}
	r = cer_check_format(o, CEREMONY_REQUEST_FORMAT, why, whylen);
	if (r < 0)
		goto out;
	q = calloc(1, sizeof(*q));
	if (!q) {
		r = -ENOMEM;
		goto out;
	}
	r = -EINVAL;
	if (json_get_hex16(o, "request_id", q->id) < 0) {
		cer_why(why, whylen, "'request_id' must be 32 hex digits");
		goto out;
	}
	if (json_get_hex16(o, "vault_id", q->vault_id) < 0) {
		cer_why(why, whylen, "'vault_id' must be 32 hex digits");
		goto out;
	}
	if (json_get_str(o, "token_label", 32, &label) < 0 || !*label) {
		cer_why(why, whylen, "'token_label' must be 1..32 characters");
		goto out;
	}
	for (const char *c = label; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
			cer_why(why, whylen,
				"'token_label' must be printable ASCII");
			goto out;
		}
	}
	snprintf(q->token_label, sizeof(q->token_label), "%s", label);
	if (json_get_b64n(o, "rsa_modulus", q->mod, sizeof(q->mod)) < 0) {
		cer_why(why, whylen,
			"'rsa_modulus' must be 384 bytes of base64");
		goto out;
	}
	if (json_get_b64(o, "rsa_exponent", q->exp, 1, sizeof(q->exp),
			 &q->exp_len) < 0 ||
	    ceremony_rsa_check(q->mod, q->exp, q->exp_len) < 0) {
		cer_why(why, whylen,
			"the transport key must be RSA-3072 with exponent "
			"65537");
		goto out;
	}
	if (cer_get_hex(o, "fingerprint", q->fpr, sizeof(q->fpr)) < 0) {
		cer_why(why, whylen, "'fingerprint' must be 64 hex digits");
		goto out;
	}
	ceremony_fingerprint(q->id, q->mod, q->exp, q->exp_len, fpr);
	if (sodium_memcmp(fpr, q->fpr, sizeof(fpr)) != 0) {
		cer_why(why, whylen,
			"'fingerprint' does not match the transport key");
		goto out;
	}
	if (json_get_u64(o, "created", &q->created) < 0) {
		cer_why(why, whylen, "'created' must be a Unix time");
		goto out;
	}
	memcpy(ret, q, sizeof(*q));
	r = 0;
out:
	free(q);
	json_obj_free(o);
	return r;
}

int ceremony_bundle_format(const struct ceremony_bundle *b, char **ret_text)
{
	struct json_out *w;
	char *text;

	if (b->nkeys == 0 || b->nkeys > HSM_CKEYS_MAX ||
	    (b->oaep != HSM_OAEP_SHA1 && b->oaep != HSM_OAEP_SHA256))
		return -EINVAL;
	for (size_t i = 0; i < b->nkeys; i++)
		if (b->keys[i].wrapped_len == 0 ||
		    b->keys[i].wrapped_len > sizeof(b->keys[i].wrapped))
			return -EINVAL;
	w = json_out_new();
	if (!w)
		return -ENOMEM;
	json_out_str(w, "format", CEREMONY_BUNDLE_FORMAT);
	json_out_hex(w, "request_id", b->id, sizeof(b->id));
	json_out_hex(w, "fingerprint", b->fpr, sizeof(b->fpr));
	json_out_hex(w, "vault_id", b->vault_id, sizeof(b->vault_id));
	json_out_str(w, "oaep", b->oaep == HSM_OAEP_SHA256 ? "sha256" : "sha1");
	json_out_u64(w, "created", b->created);
	json_out_arr_begin(w, "keys");
	for (size_t i = 0; i < b->nkeys; i++) {
		const struct hsm_vault_key *k = &b->keys[i];

		json_out_obj_begin(w, NULL);
		json_out_str(w, "label", k->label);
		json_out_hex(w, "kcv", k->kcv, sizeof(k->kcv));
		json_out_b64(w, "wrapped", k->wrapped, k->wrapped_len);
		json_out_end(w);
	}
	json_out_end(w);
	text = json_out_finish(w);
	json_out_free(w);
	if (!text)
		return -ENOMEM;
	*ret_text = text;
	return 0;
}

static int cer_bundle_key(const struct json_obj *k, struct hsm_vault_key *key,
			  char *why, size_t whylen)
{
	const char *label;

	memset(key, 0, sizeof(*key));
	if (json_get_str(k, "label", HSM_CKEY_LABEL_MAX, &label) < 0 ||
	    !hsm_vault_key_label(label, &key->kind)) {
		cer_why(why, whylen,
			"a key's 'label' is not a vault key label "
			"(vaultsrv-master-N, vaultsrv-token-mac)");
		return -EINVAL;
	}
	snprintf(key->label, sizeof(key->label), "%s", label);
	key->len = 32;
	if (json_get_hex16(k, "kcv", key->kcv) < 0) {
		cer_why(why, whylen, "a key's 'kcv' must be 32 hex digits");
		return -EINVAL;
	}
	if (json_get_b64(k, "wrapped", key->wrapped, HSM_RSA_MOD_LEN,
			 HSM_RSA_MOD_LEN, &key->wrapped_len) < 0) {
		cer_why(why, whylen,
			"a key's 'wrapped' must be 384 bytes of base64");
		return -EINVAL;
	}
	return 0;
}

int ceremony_bundle_parse(const char *text, size_t len,
			  struct ceremony_bundle *ret, char *why,
			  size_t whylen)
{
	struct ceremony_bundle *b = NULL;
	struct json_obj *o = NULL;
	const char *oaep;
	size_t n = 0, nmaster = 0, nmac = 0;
	int r;

	if (len == 0 || len > CEREMONY_FILE_MAX) {
		cer_why(why, whylen, "empty or larger than 64 KiB");
		return -EINVAL;
	}
	r = json_parse(text, len, &o);
	if (r < 0) {
		cer_why(why, whylen, "not a JSON object");
		r = -EINVAL;
		goto out;
	}
	r = cer_check_format(o, CEREMONY_BUNDLE_FORMAT, why, whylen);
	if (r < 0)
		goto out;
	b = calloc(1, sizeof(*b));
	if (!b) {
		r = -ENOMEM;
		goto out;
	}
	r = -EINVAL;
	if (json_get_hex16(o, "request_id", b->id) < 0) {
		cer_why(why, whylen, "'request_id' must be 32 hex digits");
		goto out;
	}
	if (cer_get_hex(o, "fingerprint", b->fpr, sizeof(b->fpr)) < 0) {
		cer_why(why, whylen, "'fingerprint' must be 64 hex digits");
		goto out;
	}
	if (json_get_hex16(o, "vault_id", b->vault_id) < 0) {
		cer_why(why, whylen, "'vault_id' must be 32 hex digits");
		goto out;
	}
	if (json_get_str(o, "oaep", 8, &oaep) < 0 ||
	    (strcmp(oaep, "sha1") != 0 && strcmp(oaep, "sha256") != 0)) {
		cer_why(why, whylen, "'oaep' must be \"sha1\" or \"sha256\"");
		goto out;
	}
	b->oaep = strcmp(oaep, "sha256") == 0 ? HSM_OAEP_SHA256 : HSM_OAEP_SHA1;
	if (json_get_u64(o, "created", &b->created) < 0) {
		cer_why(why, whylen, "'created' must be a Unix time");
		goto out;
	}
	if (json_get_array_len(o, "keys", HSM_CKEYS_MAX, &n) < 0 || n == 0) {
		cer_why(why, whylen, "'keys' must be an array of 1..16 keys");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct json_obj *k;

		if (json_get_array_obj(o, "keys", i, &k) < 0) {
			cer_why(why, whylen, "'keys' must hold objects");
			goto out;
		}
		if (cer_bundle_key(k, &b->keys[i], why, whylen) < 0)
			goto out;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(b->keys[j].label, b->keys[i].label) == 0) {
				cer_why(why, whylen, "a key label repeats");
				goto out;
			}
		}
		if (b->keys[i].kind == HSM_KEY_MASTER)
			nmaster++;
		else
			nmac++;
	}
	if (nmaster == 0 || nmac != 1) {
		cer_why(why, whylen,
			"'keys' must hold the token MAC key and at least one "
			"master key");
		goto out;
	}
	b->nkeys = n;
	memcpy(ret, b, sizeof(*b));
	r = 0;
out:
	free(b);
	json_obj_free(o);
	return r;
}
