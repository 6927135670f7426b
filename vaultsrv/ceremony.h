/*
 * ceremony.h - the key ceremony: copying the vault keys (master wrapping
 * key(s), token MAC key) from a token that holds them to another token (a
 * replica's HSM, or an offline backup token) without the keys ever being
 * in clear outside a token. docs/operations.md has the operator's steps,
 * docs/decisions.md the reasons.
 *
 *   joining token:  ceremony-request  -> request file (transport public key,
 *                                        fingerprint read out of band)
 *   source token:   ceremony-export   -> bundle file (keys wrapped with
 *                                        RSA-OAEP under the transport key)
 *   joining token:  ceremony-import   <- bundle; transport key destroyed
 *
 * The request and bundle files are untrusted input: parsed with bounds,
 * every field checked; the bundle is bound to its request (id and the
 * fingerprint of the transport key) and to the vault (vault_id), and each
 * key to the key check value recorded in the vault's store.
 */
#ifndef VS_CEREMONY_H
#define VS_CEREMONY_H

#include <stddef.h>
#include <stdint.h>

#include "hsm.h"
#include "vs_config.h"

#define CEREMONY_WUR __attribute__((warn_unused_result))

/* Largest request or bundle file read (a bundle of 16 keys is ~10 KiB). */
#define CEREMONY_FILE_MAX (64 * 1024)
#define CEREMONY_FPR_LEN 32
/* "abcd ef01 ..." : 16 groups of 4 hex digits and 15 spaces, NUL */
#define CEREMONY_FPR_TEXT (CEREMONY_FPR_LEN * 2 + CEREMONY_FPR_LEN / 2)
#define CEREMONY_VID_LEN 16
#define CEREMONY_REQUEST_FORMAT "vaultsrv-ceremony-request-1"
#define CEREMONY_BUNDLE_FORMAT "vaultsrv-ceremony-bundle-1"

struct ceremony_request {
	uint8_t id[HSM_REQ_ID_LEN];
	uint8_t vault_id[CEREMONY_VID_LEN];
	char token_label[33];
	uint8_t mod[HSM_RSA_MOD_LEN];
	uint8_t exp[HSM_RSA_EXP_MAX];
	size_t exp_len;
	uint8_t fpr[CEREMONY_FPR_LEN];
	uint64_t created; /* Unix time, informative */
};

struct ceremony_bundle {
	uint8_t id[HSM_REQ_ID_LEN]; /* of the request */
	uint8_t fpr[CEREMONY_FPR_LEN];
	uint8_t vault_id[CEREMONY_VID_LEN];
	enum hsm_oaep oaep;
	uint64_t created;
	size_t nkeys;
	struct hsm_vault_key keys[HSM_CKEYS_MAX];
};

/*
 * The transport key's fingerprint: SHA-256 over a domain string, the
 * request id, and the length-prefixed modulus and exponent.
 */
void ceremony_fingerprint(const uint8_t id[HSM_REQ_ID_LEN],
			  const uint8_t mod[HSM_RSA_MOD_LEN],
			  const uint8_t *exp, size_t exp_len,
			  uint8_t ret_fpr[CEREMONY_FPR_LEN]);

/* Writes fpr as 16 space-separated groups of 4 lower-case hex digits. */
void ceremony_fingerprint_text(const uint8_t fpr[CEREMONY_FPR_LEN],
			       char out[CEREMONY_FPR_TEXT]);

/*
 * Parses a fingerprint typed by an operator: 64 hex digits (either case)
 * with any spaces, ':' or '-' between them. -EINVAL otherwise.
 */
int ceremony_fingerprint_parse(const char *s,
			       uint8_t ret_fpr[CEREMONY_FPR_LEN]) CEREMONY_WUR;

/* 0 if (mod, exp) is a transport key we accept: an odd modulus of exactly
 * 3072 bits and the exponent 65537; -EINVAL otherwise. */
int ceremony_rsa_check(const uint8_t mod[HSM_RSA_MOD_LEN], const uint8_t *exp,
		       size_t exp_len) CEREMONY_WUR;

/*
 * Request and bundle files (JSON). _format returns malloc'd text (caller
 * frees) or -ENOMEM / -EINVAL (a field out of range). _parse reads len
 * bytes (<= CEREMONY_FILE_MAX) of untrusted text into *ret: -EINVAL with
 * a reason in why (whylen bytes) for anything malformed: wrong format
 * string, a missing or ill-formed field, a modulus that is not 3072 bits,
 * an exponent other than 65537, a fingerprint that does not match the
 * key, an unknown or repeated key label, no MAC key or no master key.
 * *ret is written only on success.
 */
int ceremony_request_format(const struct ceremony_request *q,
			    char **ret_text) CEREMONY_WUR;
int ceremony_request_parse(const char *text, size_t len,
			   struct ceremony_request *ret, char *why,
			   size_t whylen) CEREMONY_WUR;
int ceremony_bundle_format(const struct ceremony_bundle *b,
			   char **ret_text) CEREMONY_WUR;
int ceremony_bundle_parse(const char *text, size_t len,
			  struct ceremony_bundle *ret, char *why,
			  size_t whylen) CEREMONY_WUR;

/*
 * The three commands (vaultsrv ceremony-request / -export / -import).
 * They print what they did on stdout and what went wrong, with what to
 * do, on stderr; return 0 or -errno. Files are created, never
 * overwritten (-EEXIST). The caller syncs the token files afterwards.
 */
int ceremony_cmd_request(const struct vs_config *cfg,
			 const char *out) CEREMONY_WUR;
int ceremony_cmd_export(const struct vs_config *cfg, const char *request,
			const char *fingerprint, const char *out) CEREMONY_WUR;
int ceremony_cmd_import(const struct vs_config *cfg, const char *bundle,
			int extractable) CEREMONY_WUR;

#endif
