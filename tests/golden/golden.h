/*
 * golden.h - what the golden stores under tests/golden/ hold. Shared by
 * the generator (mkgolden.c) and the test that opens them
 * (tests/unit/test_golden.c), so both agree on every byte.
 */
#ifndef VFS_GOLDEN_H
#define VFS_GOLDEN_H

#include <stdint.h>

/* The key, as the 64-digit key text in tests/golden/v1/key.txt. */
#define GOLDEN_KEY_HEX \
	"6f1d0c9a3b2e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8"
#define GOLDEN_VAULT_URL "https://vault.example.org"
#define GOLDEN_ACCOUNT "golden-account"

/* Fixed times so the contents compare exactly. */
#define GOLDEN_MTIME_SEC 1700000000
#define GOLDEN_MTIME_NSEC 123456789

/* Sizes and seeds of the files (contents from tu_fill(seed)). */
#define GOLDEN_BIG_SIZE 150000	/* three chunks */
#define GOLDEN_BIG_SEED 11
#define GOLDEN_SPARSE_SIZE (5u << 20)
#define GOLDEN_SPARSE_AT (3u << 20)
#define GOLDEN_SYMLINK_TARGET "chats/2024/big.bin"
#define GOLDEN_GENERATION 5

#endif
