/*
 * token.c - mint and verify account tokens.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "token.h"

#define TOKEN_MAC_B64 43 /* 32 bytes, base64url without padding */

int token_account_valid(const char *account, size_t len)
{
	if (len == 0 || len > TOKEN_ACCOUNT_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = account[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return 0;
	}
	return 1;
}

static int token_vault_id_valid(const char *v, size_t len)
{
	if (len != TOKEN_VAULT_ID_HEX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((v[i] >= '0' && v[i] <= '9') ||
		      (v[i] >= 'a' && v[i] <= 'f')))
			return 0;
	return 1;
}

int token_mint(const struct token_mac *m, const char *vault_id,
	       const char *account, int64_t expiry, char *out, size_t cap)
{
	char buf[TOKEN_MAX + 1];
	char acc64[sodium_base64_ENCODED_LEN(
	    TOKEN_ACCOUNT_MAX, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	char mac64[sodium_base64_ENCODED_LEN(
	    32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	uint8_t mac[32];
	size_t alen = strlen(account);
	int n, r;

	if (!token_account_valid(account, alen) || expiry < 0 ||
	    !token_vault_id_valid(vault_id, strlen(vault_id)))
		return -EINVAL;
	sodium_bin2base64(acc64, sizeof(acc64), (const uint8_t *)account, alen,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n = snprintf(buf, sizeof(buf), "v1.%s.%" PRId64 ".%s", acc64, expiry,
		     vault_id);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -E2BIG;
	r = m->mac(m->ctx, buf, (size_t)n, mac);
	if (r < 0)
		return r;
	sodium_bin2base64(mac64, sizeof(mac64), mac, sizeof(mac),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if ((size_t)n + 1 + strlen(mac64) + 1 > cap)
		return -E2BIG;
	snprintf(out, cap, "%s.%s", buf, mac64);
	return 0;
}

int token_verify(const struct token_mac *m, const char *vault_id,
		 const char *token, size_t len, int64_t now,
		 char ret_account[TOKEN_ACCOUNT_MAX + 1])
{
	const char *part[5];
	size_t plen[5];
	char account[TOKEN_ACCOUNT_MAX + 1];
	uint8_t mac[32], want[32];
	size_t alen = 0, mlen = 0, np = 0, start = 0;
	const char *end;
	int64_t expiry = 0;
	int r;

	if (len < 3 || len > TOKEN_MAX || memchr(token, '\0', len))
		return -EBADMSG;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || token[i] == '.') {
			if (np == 5)
				return -EBADMSG;
			part[np] = token + start;
			plen[np] = i - start;
			np++;
			start = i + 1;
		}
	}
	if (np != 5 || plen[0] != 2 || memcmp(part[0], "v1", 2) != 0)
		return -EBADMSG;
	if (!token_vault_id_valid(part[3], plen[3]))
		return -EBADMSG;
	if (plen[1] == 0 || plen[1] > 172 || plen[4] != TOKEN_MAC_B64)
		return -EBADMSG;
	if (sodium_base642bin((uint8_t *)account, TOKEN_ACCOUNT_MAX, part[1],
			      plen[1], NULL, &alen, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != part[1] + plen[1])
		return -EBADMSG;
	if (!token_account_valid(account, alen))
		return -EBADMSG;
	account[alen] = '\0';
	if (plen[2] == 0 || plen[2] > 18)
		return -EBADMSG;
	for (size_t i = 0; i < plen[2]; i++) {
		if (part[2][i] < '0' || part[2][i] > '9')
			return -EBADMSG;
		expiry = expiry * 10 + (part[2][i] - '0');
	}
	if (sodium_base642bin(mac, sizeof(mac), part[4], plen[4], NULL, &mlen,
			      &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != part[4] + plen[4] || mlen != sizeof(mac))
		return -EBADMSG;
	if (memcmp(part[3], vault_id, TOKEN_VAULT_ID_HEX) != 0)
		return -EXDEV;
	r = m->mac(m->ctx, token, (size_t)(part[4] - 1 - token), want);
	if (r < 0)
		return r;
	if (sodium_memcmp(mac, want, sizeof(mac)) != 0)
		return -EBADMSG;
	if (expiry < now)
		return -ETIMEDOUT;
	memcpy(ret_account, account, alen + 1);
	return 0;
}
