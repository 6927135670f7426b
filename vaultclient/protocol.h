/*
 * protocol.h - internals of the vault protocol client (the vc_* calls of
 * vaultclient.h are implemented in protocol.c), exposed for unit tests.
 */
#ifndef VC_PROTOCOL_H
#define VC_PROTOCOL_H

#include <stddef.h>

/* Sizes accepted from the vault. */
#define PROTO_ID_MAX 128       /* chal_id, reg_id: printable ASCII */
#define PROTO_REG_ID_MAX 64    /* reg_id bytes (base64 on the wire) */
#define PROTO_CHAL_MIN 16      /* challenge bytes */
#define PROTO_CHAL_MAX 128
#define PROTO_ATTEMPTS_MAX 1000000

/* The endpoint paths of docs/protocol.md. */
#define PROTO_PATH_REG_START "/v1/register/start"
#define PROTO_PATH_REG_FINISH "/v1/register/finish"
#define PROTO_PATH_REC_START "/v1/recover/start"
#define PROTO_PATH_REC_FINISH "/v1/recover/finish"
#define PROTO_PATH_PASSWD "/v1/passwd"
#define PROTO_PATH_STORE_ADD "/v1/store/add"
#define PROTO_PATH_DELETE "/v1/delete"
#define PROTO_PATH_KCHAL "/v1/kchallenge"
#define PROTO_PATH_REARM "/v1/rearm"
#define PROTO_PATH_GEN "/v1/generation"
#define PROTO_PATH_GEN_GET "/v1/generation/get"
#define PROTO_PATH_AUDIT "/v1/audit"
#define PROTO_PATH_HEALTH "/healthz"

/*
 * Turns an error reply (status >= 300) into the error of vaultclient.h.
 * body must be {"error": code, ...} (else -VFS_E_PROTOCOL, or
 * -VFS_E_VAULT for a 5xx); *ret_attempts_left gets "attempts_left" if
 * the reply has a valid one, else is left alone.
 */
int proto_reply_error(long status, const char *body, size_t len,
		      int *ret_attempts_left);

/* 0 if account is 1..128 bytes of [A-Za-z0-9._-], else -EINVAL. */
int proto_account_check(const char *account)
	__attribute__((warn_unused_result));

#endif
