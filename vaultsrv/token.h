/*
 * token.h - account tokens: v1.<account>.<expiry>.<vault_id>.<mac>
 * (docs/protocol.md). The MAC (HMAC-SHA-256) is computed by a callback so
 * that the key stays in the HSM (hsm_mac) and tests can use their own.
 */
#ifndef VS_TOKEN_H
#define VS_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_MAX 512
#define TOKEN_ACCOUNT_MAX 128
#define TOKEN_VAULT_ID_HEX 32

/* HMAC-SHA-256 of msg into out; 0 or -errno. */
struct token_mac {
	int (*mac)(void *ctx, const void *msg, size_t len, uint8_t out[32]);
	void *ctx;
};

/* 1 if account (len bytes) is 1..128 bytes of [A-Za-z0-9._-], else 0. */
int token_account_valid(const char *account, size_t len);

/*
 * Writes the token for account, valid until expiry (unix seconds), for the
 * vault vault_id (32 lower-case hex digits) into out (cap bytes, NUL
 * terminated). -EINVAL for a bad account or vault_id, -E2BIG if cap is
 * too small.
 */
int token_mint(const struct token_mac *m, const char *vault_id,
	       const char *account, int64_t expiry, char *out, size_t cap)
    __attribute__((warn_unused_result));

/*
 * Checks len bytes of token text against vault_id and the MAC key at time
 * now; on success writes the account (NUL terminated) into ret_account.
 * -EBADMSG: malformed or forged; -EXDEV: minted by another vault;
 * -ETIMEDOUT: expired.
 */
int token_verify(const struct token_mac *m, const char *vault_id,
		 const char *token, size_t len, int64_t now,
		 char ret_account[TOKEN_ACCOUNT_MAX + 1])
    __attribute__((warn_unused_result));

#endif
