/*
 * hsm.h - the vault's keys in a PKCS#11 token (SoftHSMv2 by default).
 *
 * The only module that knows PKCS#11. Holds a pool of logged-in sessions
 * (one per worker thread) over one token found by label. Two token keys
 * are made at init: the AES-256 master wrapping key and the HMAC key of the
 * account tokens. Per-user OPRF keys are EC P-256 keys generated as session
 * objects and kept outside the token only as blobs wrapped under the master
 * key (CKM_AES_KEY_WRAP_PAD); an evaluation unwraps into a session object,
 * derives with CKM_ECDH1_DERIVE, reads the 32-byte x coordinate and destroys
 * both objects.
 *
 * Initialise only after any fork: PKCS#11 state does not survive one.
 */
#ifndef VS_HSM_H
#define VS_HSM_H

#include <stddef.h>
#include <stdint.h>

#define HSM_WUR __attribute__((warn_unused_result))

/* Largest wrapped OPRF key blob we accept (SoftHSM makes about 80 bytes). */
#define HSM_BLOB_MAX 512
#define HSM_POINT_LEN 65
#define HSM_SECRET_LEN 32
#define HSM_MAC_LEN 32

struct hsm;

/*
 * Loads the PKCS#11 module (dlopen), finds the token whose label is
 * token_label, opens nsessions sessions and logs in as user with the PIN
 * read from pin_file (first line; the file must not be readable by group
 * or others). Errors: -ENOENT (module, token or PIN file missing), -EACCES
 * (PIN refused or pin_file mode too open), -EIO (other PKCS#11 failures).
 * The caller frees *ret with hsm_free().
 */
int hsm_open(const char *module, const char *token_label, const char *pin_file,
	     unsigned nsessions, struct hsm **ret) HSM_WUR;

/* Logs out, closes the sessions, finalizes and unloads. NULL is ignored. */
void hsm_free(struct hsm *h);

/*
 * Creates the master wrapping key and the token HMAC key as token objects.
 * -EEXIST if either already exists (never clobbers).
 */
int hsm_create_keys(struct hsm *h) HSM_WUR;

/* Finds both keys made by hsm_create_keys(); -ENOENT if either is missing. */
int hsm_load_keys(struct hsm *h) HSM_WUR;

/*
 * Generates a fresh per-user OPRF key (EC P-256) and writes it, wrapped
 * under the master key, into blob (HSM_BLOB_MAX bytes); *ret_len is its
 * length. Nothing of it stays in the token.
 */
int hsm_oprf_keygen(struct hsm *h, uint8_t *blob, size_t *ret_len) HSM_WUR;

/*
 * Evaluates the OPRF key in blob on point (SEC1 uncompressed, 65 bytes,
 * which the caller has validated): ret_x = x(k * point). Counts one
 * evaluation (and appends to the evaluation log, if set) before the HSM
 * derives. -EBADMSG if the token refuses the blob.
 */
int hsm_oprf_evaluate(struct hsm *h, const uint8_t *blob, size_t blob_len,
		      const uint8_t point[HSM_POINT_LEN],
		      uint8_t ret_x[HSM_SECRET_LEN]) HSM_WUR;

/*
 * hsm_oprf_evaluate() that names the evaluation in the evaluation log:
 * the line is "TIME evaluation KIND ACCOUNT" (either may be NULL: left
 * out). kind and account must be printable, without spaces or newlines.
 */
int hsm_oprf_evaluate_as(struct hsm *h, const char *kind, const char *account,
			 const uint8_t *blob, size_t blob_len,
			 const uint8_t point[HSM_POINT_LEN],
			 uint8_t ret_x[HSM_SECRET_LEN]) HSM_WUR;

/* HMAC-SHA-256 of msg with the token key, computed in the HSM. */
int hsm_mac(struct hsm *h, const void *msg, size_t len,
	    uint8_t ret_mac[HSM_MAC_LEN]) HSM_WUR;

/* Number of OPRF evaluations started since hsm_open(). */
uint64_t hsm_evaluations(const struct hsm *h);

/*
 * Appends one line per evaluation to the file at path (opened O_APPEND),
 * written before the HSM derives, so the file never undercounts.
 */
int hsm_set_evaluation_log(struct hsm *h, const char *path) HSM_WUR;

/* ---- master key epochs (vaultsrv/epoch.c; docs/decisions.md) ----
 * The master wrapping key of epoch n (>= 1) is the token object
 * "vaultsrv-master-<n>"; every blob names the epoch it is wrapped under.
 * Errors of every call that unwraps: -EKEYREVOKED (the blob's epoch is
 * below this process's floor: retired), -ENOKEY (the token does not hold
 * that epoch's key: destroyed, or not yet given to this HSM).
 */
#define HSM_EPOCH_MAX 0x7fffffffu

/* The epoch a blob is wrapped under; -EBADMSG if it is no blob of ours. */
int hsm_blob_epoch(const uint8_t *blob, size_t len, uint32_t *ret) HSM_WUR;

/* Raises the floor (never lowers it) and sets the epoch of new blobs
 * (hsm_oprf_keygen). Both start at 1. */
void hsm_epoch_set(struct hsm *h, uint32_t floor, uint32_t write);
uint32_t hsm_epoch_floor(const struct hsm *h);
uint32_t hsm_epoch_write(const struct hsm *h);

/* Generates epoch's master key (>= 2) in the token; -EEXIST if there. */
int hsm_epoch_create(struct hsm *h, uint32_t epoch) HSM_WUR;

/* 1 if the token holds epoch's master key, 0 if not, -errno. */
int hsm_epoch_present(struct hsm *h, uint32_t epoch) HSM_WUR;

/* Highest epoch whose master key the token holds (0: none). */
int hsm_epoch_highest(struct hsm *h, uint32_t *ret) HSM_WUR;

/*
 * Raises the floor to below, then destroys every master key of an epoch
 * below it in the token; *ret_n (may be NULL) counts those destroyed.
 */
int hsm_epoch_destroy_below(struct hsm *h, uint32_t below,
			    unsigned *ret_n) HSM_WUR;

/*
 * Re-wraps the OPRF key in blob under epoch to's master key, inside the
 * HSM (unwrapped into a sensitive session object, wrapped, destroyed):
 * the key never leaves the token in clear. No evaluation is counted.
 * out: HSM_BLOB_MAX bytes.
 */
int hsm_oprf_rewrap(struct hsm *h, const uint8_t *blob, size_t blob_len,
		    uint32_t to, uint8_t *out, size_t *ret_len) HSM_WUR;

/* ---- Key ceremony (vaultsrv/ceremony.c): copying the vault keys from
 * one token to another, never in clear outside a token. ----
 *
 * The joining token makes an RSA-3072 transport key pair (private half a
 * token object: sensitive, not extractable, unwrap only, labelled with
 * the request id). A token holding the vault keys wraps each of them with
 * CKM_RSA_PKCS_OAEP under that public key; the joining token unwraps them
 * into session objects, checks each against its key check value and only
 * then copies them to token objects with the labels vaultsrv loads.
 */
#define HSM_RSA_BITS 3072
#define HSM_RSA_MOD_LEN (HSM_RSA_BITS / 8)
#define HSM_RSA_EXP_MAX 8
#define HSM_REQ_ID_LEN 16
#define HSM_CKEYS_MAX 16 /* vault keys in one bundle */
#define HSM_CKEY_LABEL_MAX 32
#define HSM_KCV_LEN 16

/* What a vault key is for (from its label): master wrapping key (AES,
 * "vaultsrv-master-N") or the token HMAC key ("vaultsrv-token-mac"). */
enum hsm_key_kind { HSM_KEY_MASTER = 1, HSM_KEY_MAC = 2 };
/* OAEP hash (and MGF1 hash): SoftHSM 2.6 only implements SHA-1. */
enum hsm_oaep { HSM_OAEP_SHA1 = 1, HSM_OAEP_SHA256 = 2 };

struct hsm_vault_key {
	char label[HSM_CKEY_LABEL_MAX + 1];
	enum hsm_key_kind kind;
	uint32_t len; /* bytes of key material (32) */
	/* key check value: hsm_vault_keys_list() fills it */
	uint8_t kcv[HSM_KCV_LEN];
	uint8_t wrapped[HSM_RSA_MOD_LEN];
	size_t wrapped_len;
	int present; /* hsm_vault_keys_unwrap(): was in the token already */
};

/*
 * 1 if label names a vault key the ceremony copies, with its kind in
 * *ret_kind: "vaultsrv-token-mac" or "vaultsrv-master-" + 1..9 digits
 * (no leading zero). 0 otherwise.
 */
int hsm_vault_key_label(const char *label, enum hsm_key_kind *ret_kind);

/*
 * Generates the transport key pair for request id in the token. Writes
 * the modulus (HSM_RSA_MOD_LEN bytes) and the public exponent (*ret_exp_len
 * bytes, <= HSM_RSA_EXP_MAX). -EEXIST if a transport key with this id
 * exists.
 */
int hsm_transport_create(struct hsm *h, const uint8_t id[HSM_REQ_ID_LEN],
			 uint8_t mod[HSM_RSA_MOD_LEN],
			 uint8_t exp[HSM_RSA_EXP_MAX],
			 size_t *ret_exp_len) HSM_WUR;

/* Reads the public half of the pending transport key id; -ENOENT if the
 * token has none (never made here, or already used). */
int hsm_transport_public(struct hsm *h, const uint8_t id[HSM_REQ_ID_LEN],
			 uint8_t mod[HSM_RSA_MOD_LEN],
			 uint8_t exp[HSM_RSA_EXP_MAX],
			 size_t *ret_exp_len) HSM_WUR;

/* Destroys the transport key id; -ENOENT if there is none. */
int hsm_transport_destroy(struct hsm *h,
			  const uint8_t id[HSM_REQ_ID_LEN]) HSM_WUR;

/*
 * Lists the vault keys in the token (labels accepted by
 * hsm_vault_key_label(), sorted by label) with their key check values:
 * a 16-byte digest of the key wrapping (master) or MACing (token key) a
 * fixed value, which tells whether two tokens hold the same key and
 * nothing else. -ENOENT unless there is a token MAC key and at least one
 * master key; -E2BIG over max keys; -EIO if a key has the wrong type.
 */
int hsm_vault_keys_list(struct hsm *h, struct hsm_vault_key *keys,
			size_t max, size_t *ret_n) HSM_WUR;

/*
 * Wraps each listed key (by label) with RSA-OAEP under the public key
 * (mod, exp), filling keys[i].wrapped. Tries OAEP with SHA-256 and falls
 * back to SHA-1 if the token lacks it; *ret_oaep says which. Errors:
 * -EPERM if the token refuses to let a key out (not extractable, or
 * wrap-with-trusted set), -ENOENT if a key is gone.
 */
int hsm_vault_keys_wrap(struct hsm *h, const uint8_t mod[HSM_RSA_MOD_LEN],
			const uint8_t *exp, size_t exp_len,
			struct hsm_vault_key *keys, size_t n,
			enum hsm_oaep *ret_oaep) HSM_WUR;

/*
 * Unwraps keys[0..n) with the transport key id into session objects,
 * checks each against keys[i].kcv (the caller's expected value), then
 * makes them token objects with their labels: sensitive, extractable only
 * if extractable (so that this token can in turn be a ceremony source).
 * A key the token holds already under its label is checked against
 * keys[i].kcv and left alone (keys[i].present = 1): a later ceremony
 * brings a replica only what it lacks (a new master key epoch). All or
 * nothing. Errors: -EEXIST if the token holds a different key under one
 * of the labels; -ENOENT if there is no transport key id; -EBADMSG if a
 * wrapped key does not unwrap; -EKEYREJECTED if a check value differs
 * (keys[*ret_bad] names the key; *ret_bad is set on these three errors).
 * Does not destroy the transport key.
 */
int hsm_vault_keys_unwrap(struct hsm *h, const uint8_t id[HSM_REQ_ID_LEN],
			  enum hsm_oaep oaep, struct hsm_vault_key *keys,
			  size_t n, int extractable, size_t *ret_bad) HSM_WUR;

#endif
