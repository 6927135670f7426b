/*
 * proto.h - the signed transcripts of docs/protocol.md and their Ed25519
 * checks. T(f...) = le32(len f) || f for each field. Identifiers (reg_id,
 * chal_id: 16 bytes; challenge: 32 bytes; store_id: 16 bytes) enter the
 * transcripts as raw bytes, strings (action, account) as their bytes.
 * Every check returns 0 or -EBADMSG.
 */
#ifndef VS_PROTO_H
#define VS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_WUR __attribute__((warn_unused_result))

/* store_id may be NULL (the action names no store: empty field). */
int proto_check_proof(const uint8_t auth_pub[32], const uint8_t sig[64],
		      const char *action, const char *account,
		      const uint8_t *store_id, const uint8_t challenge[32],
		      const uint8_t blinded[65],
		      const uint8_t evaluated[32]) PROTO_WUR;
int proto_check_kproof(const uint8_t k_pub[32], const uint8_t sig[64],
		       const char *action, const char *account,
		       const uint8_t *store_id,
		       const uint8_t challenge[32]) PROTO_WUR;
int proto_check_register(const uint8_t auth_pub[32], const uint8_t sig[64],
			 const char *account, const uint8_t reg_id[16],
			 uint32_t ops, uint64_t mem,
			 const uint8_t env_tag[32]) PROTO_WUR;
int proto_check_kreg(const uint8_t k_pub[32], const uint8_t sig[64],
		     const char *account, const uint8_t store_id[16],
		     const uint8_t auth_pub[32]) PROTO_WUR;
int proto_check_gen(const uint8_t k_pub[32], const uint8_t sig[64],
		    const char *account, const uint8_t store_id[16],
		    uint64_t generation) PROTO_WUR;

#endif
