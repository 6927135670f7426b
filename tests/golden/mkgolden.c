/*
 * mkgolden.c - writes the golden store of the current format into an
 * empty folder: `mkgolden DIR`. Run once per released format version; the
 * result is committed under tests/golden/v<N>/cloud and must keep opening
 * (tests/unit/test_golden.c). Layout of the tree: see check_tree() there.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "fsutil.h"
#include "golden.h"
#include "store.h"

static void check(int r, const char *what)
{
	if (r < 0) {
		fprintf(stderr, "mkgolden: %s: %s\n", what, vfs_strerror(r));
		exit(1);
	}
}

static void fix_times(struct store *s, uint64_t ino)
{
	struct store_attr a = {0}, out;

	a.atime.tv_sec = a.mtime.tv_sec = a.ctime.tv_sec = GOLDEN_MTIME_SEC;
	a.atime.tv_nsec = a.mtime.tv_nsec = a.ctime.tv_nsec = GOLDEN_MTIME_NSEC;
	check(store_setattr(s, ino, &a,
			    STORE_SET_ATIME | STORE_SET_MTIME | STORE_SET_CTIME,
			    &out),
	      "setattr");
}

int main(int argc, char **argv)
{
	struct store_create_opts o = {.vault_url = GOLDEN_VAULT_URL,
				      .account = GOLDEN_ACCOUNT};
	struct store_attr chats, y2024, big, empty, sparse, gone, a;
	uint8_t key[32], *buf;
	struct store *s = NULL;
	char *state;
	size_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: mkgolden EMPTY-DIR\n");
		return 2;
	}
	if (sodium_init() < 0 ||
	    sodium_hex2bin(key, sizeof(key), GOLDEN_KEY_HEX,
			   strlen(GOLDEN_KEY_HEX), NULL, &n, NULL) != 0 ||
	    n != 32)
		return 1;
	state = tu_mkdtemp();
	check(store_create(argv[1], key, &o), "create");
	/* generation 2: folders, a file of three chunks, a symlink */
	check(store_open(argv[1], key, state, 0, &s), "open");
	check(store_mkdir(s, 1, "chats", 0750, 1000, 1000, &chats), "mkdir");
	check(store_mkdir(s, chats.ino, "2024", 0700, 1000, 1000, &y2024),
	      "mkdir");
	check(store_mknod(s, y2024.ino, "big.bin", S_IFREG | 0640, 0, 1000,
			  1000, &big),
	      "mknod");
	buf = malloc(GOLDEN_BIG_SIZE);
	tu_fill(buf, GOLDEN_BIG_SIZE, GOLDEN_BIG_SEED);
	check(store_write(s, big.ino, buf, GOLDEN_BIG_SIZE, 0), "write");
	check(store_symlink(s, 1, "latest", GOLDEN_SYMLINK_TARGET, 1000, 1000,
			    &a),
	      "symlink");
	check(store_commit(s), "commit");
	/* generation 3: a hard link, an empty file, a sparse file, a file
	 * that is removed again */
	check(store_link(s, big.ino, 1, "big-link", &a), "link");
	check(store_mknod(s, chats.ino, "empty", S_IFREG | 0600, 0, 0, 0,
			  &empty),
	      "mknod");
	check(store_mknod(s, 1, "sparse", S_IFREG | 0600, 0, 0, 0, &sparse),
	      "mknod");
	check(store_write(s, sparse.ino, "middle", 6, GOLDEN_SPARSE_AT),
	      "write");
	{
		struct store_attr sz = {.size = GOLDEN_SPARSE_SIZE};

		check(store_setattr(s, sparse.ino, &sz, STORE_SET_SIZE, &a),
		      "truncate");
	}
	check(store_mknod(s, 1, "gone", S_IFREG | 0600, 0, 0, 0, &gone),
	      "mknod");
	check(store_write(s, gone.ino, "bye", 3, 0), "write");
	check(store_commit(s), "commit");
	/* generation 4: overwrite 4 KiB in the middle, remove, rename */
	tu_fill(buf, 4096, GOLDEN_BIG_SEED + 1);
	check(store_write(s, big.ino, buf, 4096, 70000), "write");
	check(store_unlink(s, 1, "gone"), "unlink");
	check(store_rename(s, chats.ino, "empty", y2024.ino, "empty.txt", 0),
	      "rename");
	check(store_commit(s), "commit");
	/* generation 5: fixed times on everything */
	fix_times(s, 1);
	fix_times(s, chats.ino);
	fix_times(s, y2024.ino);
	fix_times(s, big.ino);
	fix_times(s, empty.ino);
	fix_times(s, sparse.ino);
	check(store_close(s), "close");
	tu_rmrf(state);
	free(state);
	free(buf);
	return 0;
}
