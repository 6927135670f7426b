/*
 * fuzz.h - shared pieces of the libFuzzer harnesses (tests/fuzz/).
 *
 * Every harness defines LLVMFuzzerTestOneInput(); built with clang and
 * -fsanitize=fuzzer it is a fuzzer (tests/fuzz/run.sh), built by the
 * normal build with replay.c it is a program that replays the files it is
 * given (make check: tests/fuzz/replay.sh). Harnesses that need files
 * (the store reads objects from a folder) work in a private temporary
 * folder, on /dev/shm when there is one.
 */
#ifndef VFS_FUZZ_H
#define VFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The backup key every harness uses (0x00, 0x01, ... 0x1f); the seed
 * generator (mkseeds.c) makes its stores with it. */
extern const uint8_t fuzz_key[32];

/* A new private folder (removed at exit); aborts on failure. The result is
 * static memory. */
const char *fuzz_tmpdir(void);

/* Writes a file (creating it, replacing what was there); aborts on
 * failure. */
void fuzz_write(const char *path, const void *p, size_t n);

/* Removes everything below dir (not dir itself). */
void fuzz_empty_dir(const char *dir);

/* fuzz_store.c (harnesses that link the store) */
struct store;
struct objstore;
/* The fixed store id of the synthetic stores (fuzz_sealed). */
extern const uint8_t fuzz_store_id[16];
/* Writes a valid header for fuzz_store_id under fuzz_key into dir. */
void fuzz_store_header(const char *dir);
/* Opens the store in dir read-only with fuzz_key (state in state_dir,
 * emptied first), walks every directory, file and link, closes it.
 * Returns the result of the open. */
int fuzz_store_open_walk(const char *dir, const char *state_dir);

#endif
