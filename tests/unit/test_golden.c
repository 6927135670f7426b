/*
 * test_golden.c - the golden stores of every released format version
 * (tests/golden/v<N>/) keep opening, with exactly their contents.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sodium.h>

#include "fsutil.h"
#include "golden.h"
#include "keytext.h"
#include "store.h"

static char *golden_dir(const char *sub)
{
	const char *src = getenv("top_srcdir");
	char *p;

	if (!src)
		src = TOP_SRCDIR;
	if (asprintf(&p, "%s/tests/golden/%s", src, sub) < 0)
		abort();
	return p;
}

static void read_key(uint8_t key[32])
{
	char *path = golden_dir("v1/key.txt"), text[256];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(text, 1, sizeof(text), f);
	fclose(f);
	free(path);
	assert_int_equal(keytext_parse(text, n, key, NULL, 0), 0);
}

static void expect_times(const struct store_attr *a)
{
	assert_int_equal(a->mtime.tv_sec, GOLDEN_MTIME_SEC);
	assert_int_equal(a->mtime.tv_nsec, GOLDEN_MTIME_NSEC);
	assert_int_equal(a->ctime.tv_sec, GOLDEN_MTIME_SEC);
}

static void test_v1(void **state)
{
	char *cloud = golden_dir("v1/cloud"), *tmp = tu_mkdtemp();
	struct store_attr chats, y2024, big, a;
	struct store_info info;
	struct store *s = NULL;
	uint8_t key[32], *want, *got;
	char link[64];
	int n;

	(void)state;
	read_key(key);
	assert_int_equal(store_read_info(cloud, &info), 0);
	assert_int_equal(info.format_version, 1);
	assert_string_equal(info.aead, "xchacha20poly1305");
	assert_string_equal(info.vault_url, GOLDEN_VAULT_URL);
	assert_string_equal(info.account, GOLDEN_ACCOUNT);
	assert_int_equal(store_open(cloud, key, tmp, STORE_READ_ONLY, &s), 0);
	assert_int_equal(store_generation(s), GOLDEN_GENERATION);

	assert_int_equal(store_getattr(s, 1, &a), 0);
	assert_int_equal(a.nlink, 3);
	expect_times(&a);
	assert_int_equal(store_lookup(s, 1, "chats", &chats), 0);
	assert_int_equal(chats.mode, S_IFDIR | 0750);
	assert_int_equal(chats.uid, 1000);
	assert_int_equal(chats.nlink, 3);
	expect_times(&chats);
	assert_int_equal(store_lookup(s, chats.ino, "2024", &y2024), 0);
	assert_int_equal(store_lookup(s, y2024.ino, "big.bin", &big), 0);
	assert_int_equal(big.mode, S_IFREG | 0640);
	assert_int_equal(big.nlink, 2);
	assert_int_equal(big.size, GOLDEN_BIG_SIZE);
	expect_times(&big);
	want = malloc(GOLDEN_BIG_SIZE);
	got = malloc(GOLDEN_BIG_SIZE + 1);
	tu_fill(want, GOLDEN_BIG_SIZE, GOLDEN_BIG_SEED);
	tu_fill(want + 70000, 4096, GOLDEN_BIG_SEED + 1);
	assert_int_equal(store_read(s, big.ino, got, GOLDEN_BIG_SIZE + 1, 0),
			 GOLDEN_BIG_SIZE);
	assert_memory_equal(got, want, GOLDEN_BIG_SIZE);
	assert_int_equal(store_lookup(s, 1, "big-link", &a), 0);
	assert_int_equal(a.ino, big.ino);
	assert_int_equal(store_lookup(s, y2024.ino, "empty.txt", &a), 0);
	assert_int_equal(a.size, 0);
	assert_int_equal(store_lookup(s, chats.ino, "empty", &a), -ENOENT);
	assert_int_equal(store_lookup(s, 1, "gone", &a), -ENOENT);
	assert_int_equal(store_lookup(s, 1, "latest", &a), 0);
	assert_true(S_ISLNK(a.mode));
	n = store_readlink(s, a.ino, link, sizeof(link));
	assert_int_equal(n, (int)strlen(GOLDEN_SYMLINK_TARGET));
	assert_memory_equal(link, GOLDEN_SYMLINK_TARGET, (size_t)n);
	assert_int_equal(store_lookup(s, 1, "sparse", &a), 0);
	assert_int_equal(a.size, GOLDEN_SPARSE_SIZE);
	assert_int_equal(store_read(s, a.ino, got, 16, GOLDEN_SPARSE_AT - 5),
			 16);
	assert_memory_equal(got, "\0\0\0\0\0middle\0\0\0\0\0", 16);
	assert_int_equal(store_close(s), 0);
	tu_rmrf(tmp);
	free(tmp);
	free(cloud);
	free(want);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
