/*
 * vaultclient.h - libvaultclient, the client half of the vault password
 * protocol (docs/protocol.md). The one public header of vaultclient/.
 *
 * A client talks to a list of trusted vault URLs (https://, or http:// to
 * a loopback address only) with an account token. Passwords and keys are
 * read from the caller's memory, never copied outside sodium_malloc
 * memory, and every derived secret is wiped on every path out.
 *
 * Errors (negative): -VFS_E_PASSWORD wrong password (attempts left are
 * reported), -VFS_E_LOCKED the account is locked, -VFS_E_VAULT no vault
 * reachable or the vault failed (5xx), -VFS_E_TOKEN token refused,
 * -VFS_E_PROTOCOL the vault answered something malformed or dishonest
 * (bad JSON, wrong sizes, off-curve points, Argon2 parameters out of
 * bounds, bad signatures), -VFS_E_WRONGKEY the vault refused a proof
 * made with a store key K, -ENOENT unknown account, -EEXIST account
 * exists, -ESTALE challenge expired (start again), -EAGAIN rate limited,
 * -ENOSPC the account holds VC_MAX_STORES stores already,
 * -EINVAL bad arguments, -ENOMEM.
 *
 * A struct vc_client is not thread-safe; use one per thread.
 */
#ifndef VAULTCLIENT_H
#define VAULTCLIENT_H

#include <stddef.h>
#include <stdint.h>

#define VC_KEY_LEN 32
#define VC_STORE_ID_LEN 16
#define VC_ACCOUNT_MAX 128
#define VC_MAX_STORES 16
#define VC_PASSWORD_MAX 4096

struct vc_client;

/* One protected store: its id and its 256-bit key K (caller's memory,
 * ideally sodium_malloc). */
struct vc_store_key {
	uint8_t store_id[VC_STORE_ID_LEN];
	const uint8_t *key;
};

/* One entry of an account's audit trail. Strings are printable ASCII. */
struct vc_audit_event {
	uint64_t time; /* unix seconds */
	char action[32];
	char outcome[32];
	char source[64];
};

/*
 * A client for n (1..16) vault base URLs, tried in order on connection
 * failure. ca_file: PEM bundle to verify the vault's TLS certificate with,
 * or NULL for the system store. -EINVAL for a malformed URL, -EPERM for
 * http:// to a host that is not loopback.
 */
int vc_client_new(const char *const *urls, size_t n, const char *ca_file,
		  struct vc_client **ret) __attribute__((warn_unused_result));

/* Frees the client and wipes its token. NULL does nothing. */
void vc_client_free(struct vc_client *c);

/* Sets the account token sent with every call (copied to secure memory). */
int vc_set_token(struct vc_client *c, const char *token)
	__attribute__((warn_unused_result));

/* Argon2id parameters for the next registrations (default ops 3, 64 MiB);
 * -EINVAL outside 2..10 and 32 MiB..1 GiB. */
int vc_set_argon(struct vc_client *c, uint32_t ops, uint64_t mem)
	__attribute__((warn_unused_result));

/* Connect and total timeouts per request, in ms (<= 0 keeps default). */
void vc_set_timeouts(struct vc_client *c, long connect_ms, long total_ms);

/* GET /healthz: 0 if a vault answers {"status":"ok"}. */
int vc_health(struct vc_client *c) __attribute__((warn_unused_result));

/*
 * Registers a new account protected by password pw (pwlen bytes, 1..
 * VC_PASSWORD_MAX) for n (1..16) stores. -EEXIST if it exists.
 */
int vc_register(struct vc_client *c, const char *account, const uint8_t *pw,
		size_t pwlen, const struct vc_store_key *stores, size_t n)
	__attribute__((warn_unused_result));

/*
 * Recovers K of store_id with the password into ret_key (written only on
 * success; the caller's secure memory). *ret_attempts_left (may be NULL)
 * is set on every return: the number the vault reported, or -1 if none.
 * The key is checked against the K-derived public key the vault holds.
 */
int vc_recover(struct vc_client *c, const char *account,
	       const uint8_t store_id[VC_STORE_ID_LEN], const uint8_t *pw,
	       size_t pwlen, uint8_t ret_key[VC_KEY_LEN],
	       int *ret_attempts_left) __attribute__((warn_unused_result));

/*
 * Changes the password: proves old_pw, re-wraps every store's K under
 * new_pw (new OPRF key at the vault). The old password works until the
 * last step. ret_attempts_left as for vc_recover.
 */
int vc_passwd(struct vc_client *c, const char *account, const uint8_t *old_pw,
	      size_t oldlen, const uint8_t *new_pw, size_t newlen,
	      int *ret_attempts_left) __attribute__((warn_unused_result));

/* Adds a store to the account, proven with the password. */
int vc_add_store(struct vc_client *c, const char *account, const uint8_t *pw,
		 size_t pwlen, const struct vc_store_key *store,
		 int *ret_attempts_left) __attribute__((warn_unused_result));

/* Deletes the account record, proven with the password. */
int vc_delete(struct vc_client *c, const char *account, const uint8_t *pw,
	      size_t pwlen, int *ret_attempts_left)
	__attribute__((warn_unused_result));

/*
 * Sets a new password with the 64-digit key instead of the old password
 * (also on a locked account): stores[0] proves, and the new record holds
 * exactly the n (1..16) stores given (stores not listed are dropped).
 */
int vc_rearm(struct vc_client *c, const char *account,
	     const struct vc_store_key *stores, size_t n, const uint8_t *new_pw,
	     size_t newlen) __attribute__((warn_unused_result));

/*
 * As vc_rearm, but proven with prove (a store the vault holds, with the
 * key K the vault knows for it) while the new record holds exactly
 * stores: replaces a store's key after `vaultfs rekey` (prove = the old
 * K, stores = the same store id with the new K). Stores not listed are
 * dropped, as with vc_rearm.
 */
int vc_rearm_rekey(struct vc_client *c, const char *account,
		   const struct vc_store_key *prove,
		   const struct vc_store_key *stores, size_t n,
		   const uint8_t *new_pw, size_t newlen)
	__attribute__((warn_unused_result));

/* Reports generation gen of a store, signed with its K key; *ret_max (may
 * be NULL) gets the highest generation the vault holds. */
int vc_report_generation(struct vc_client *c, const char *account,
			 const struct vc_store_key *store, uint64_t gen,
			 uint64_t *ret_max) __attribute__((warn_unused_result));

/* The highest signed generation of a store (0 when none); the signature
 * is checked with the store's K key (-VFS_E_PROTOCOL if it fails). */
int vc_get_generation(struct vc_client *c, const char *account,
		      const struct vc_store_key *store, uint64_t *ret)
	__attribute__((warn_unused_result));

/* The account's audit trail (at most 1000 events, oldest first); free
 * *ret with vc_audit_free. */
int vc_audit(struct vc_client *c, const char *account,
	     struct vc_audit_event **ret, size_t *ret_n)
	__attribute__((warn_unused_result));
void vc_audit_free(struct vc_audit_event *events);

#endif
