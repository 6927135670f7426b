/*
 * test_scan.c - sync debris in the cloud folder (fs/scan.c) and the
 * store's status figures: names classified as ours, conflict copies (with
 * the object they copy) or unknown; a scan reports every debris entry and
 * counts the objects; the store never touches debris (bytes and mtime
 * unchanged after writes, commits, the cleaner's compaction and removal,
 * a reopen); store_get_status and store_seen_generation agree with the
 * store.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "fsutil.h"
#include "store.h"
#include "store_priv.h"

static void classify(const char *where, const char *name, int is_dir,
		     int want, const char *want_of)
{
	char of[64];
	int k = store_debris_classify(where, name, is_dir, of, sizeof(of));

	if (k != want)
		fail_msg("'%s' in '%s': kind %d, expected %d", name, where, k,
			 want);
	if (want_of)
		assert_string_equal(of, want_of);
}

#define OURS 0
#define CONFLICT STORE_DEBRIS_CONFLICT
#define UNKNOWN STORE_DEBRIS_UNKNOWN

static void test_classify(void **state)
{
	(void)state;
	/* ours */
	classify("", "vaultfs.hdr", 0, OURS, "");
	classify("", "vaultfs.lease", 0, OURS, "");
	classify("", "log", 1, OURS, "");
	classify("", ".tmp-abc123", 0, OURS, "");
	classify("log", "00", 1, OURS, "");
	classify("log", "ff", 1, OURS, "");
	classify("log/00", "0000000000000001.seg", 0, OURS, "");
	classify("log/00", "00000000000003ff.seg", 0, OURS, "");
	classify("log/01", "0000000000000400.seg", 0, OURS, "");
	classify("log/00", ".tmp-x", 0, OURS, "");
	/* conflict copies, as the common sync clients name them */
	classify("", "vaultfs (1).hdr", 0, CONFLICT, "vaultfs.hdr");
	classify("", "vaultfs (conflicted copy 2024-01-02).hdr", 0, CONFLICT,
		 "vaultfs.hdr");
	classify("", "vaultfs (Bob's conflicted copy 2024-01-02).hdr", 0,
		 CONFLICT, "vaultfs.hdr");
	classify("", "vaultfs.sync-conflict-20240101-120000-ABCDEFG.hdr", 0,
		 CONFLICT, "vaultfs.hdr");
	classify("", "vaultfs.hdr.conflict", 0, CONFLICT, "vaultfs.hdr");
	classify("", "vaultfs.hdr (1)", 0, CONFLICT, "vaultfs.hdr");
	classify("", "vaultfs.hdr~", 0, CONFLICT, "vaultfs.hdr");
	classify("", "vaultfs 2.hdr", 0, CONFLICT, "vaultfs.hdr");
	classify("", "vaultfs-DESKTOP-4AB.hdr", 0, CONFLICT, "vaultfs.hdr");
	classify("", "vaultfs_conflict-20240101-120000.hdr", 0, CONFLICT,
		 "vaultfs.hdr");
	classify("", "VAULTFS.HDR", 0, CONFLICT, "vaultfs.hdr");
	classify("", "vaultfs (Case Conflict).hdr", 0, CONFLICT,
		 "vaultfs.hdr");
	classify("", "vaultfs (1).lease", 0, CONFLICT, "vaultfs.lease");
	classify("", "log (1)", 1, CONFLICT, "log");
	classify("", "Log", 1, CONFLICT, "log");
	classify("log", "00 (1)", 1, CONFLICT, "log/00");
	classify("log/00", "0000000000000005 (1).seg", 0, CONFLICT,
		 "log/00/0000000000000005.seg");
	classify("log/00", "0000000000000005 (conflicted copy).seg", 0,
		 CONFLICT, "log/00/0000000000000005.seg");
	classify("log/00", "0000000000000005.seg.conflict", 0, CONFLICT,
		 "log/00/0000000000000005.seg");
	classify("log/00",
		 "0000000000000005.sync-conflict-20240101-1-XYZ.seg", 0,
		 CONFLICT, "log/00/0000000000000005.seg");
	classify("log/00", "000000000000000A.SEG", 0, CONFLICT,
		 "log/00/000000000000000a.seg");
	/* unknown: not ours, not a copy of ours */
	classify("", "notes.txt", 0, UNKNOWN, "");
	classify("", ".DS_Store", 0, UNKNOWN, "");
	classify("", "desktop.ini", 0, UNKNOWN, "");
	classify("", "vaultfs", 0, UNKNOWN, "");
	classify("", "vaultfsX.hdr", 0, UNKNOWN, "");
	classify("", "log", 0, UNKNOWN, "");	       /* a file, not a folder */
	classify("", "vaultfs.hdr", 1, UNKNOWN, ""); /* a folder */
	classify("log", "0g", 1, UNKNOWN, "");
	classify("log", "000", 1, UNKNOWN, "");
	classify("log", "00", 0, UNKNOWN, "");
	classify("log/00", "0000000000000000.seg", 0, UNKNOWN, ""); /* no 0 */
	classify("log/00", "0000000000000400.seg", 0, UNKNOWN, ""); /* wrong dir */
	classify("log/01", "0000000000000001.seg", 0, UNKNOWN, "");
	classify("log/00", "000000000000001.seg", 0, UNKNOWN, "");
	classify("log/00", "x.seg", 0, UNKNOWN, "");
	classify("log/00", "0000000000000001.seg", 1, UNKNOWN, "");
}

struct env {
	char *top, *cloud, *state;
	uint8_t key[32];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	e->top = tu_mkdtemp();
	e->cloud = tu_join(e->top, "cloud");
	e->state = tu_join(e->top, "state");
	mkdir(e->cloud, 0700);
	tu_key(e->key, 7);
	assert_int_equal(store_create(e->cloud, e->key, NULL), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	tu_rmrf(e->top);
	free(e->top);
	free(e->cloud);
	free(e->state);
	free(e);
	return 0;
}

struct seen {
	char names[16][300];
	char ofs[16][64];
	int kinds[16];
	int n;
};

static int collect(void *ctx, const struct store_debris *d)
{
	struct seen *s = ctx;

	assert_true(s->n < 16);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", d->name);
	snprintf(s->ofs[s->n], sizeof(s->ofs[0]), "%s", d->of);
	s->kinds[s->n] = d->kind;
	s->n++;
	return 0;
}

static int seen_find(const struct seen *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return i;
	return -1;
}

/* Debris planted by the "sync client". */
static const char *const debris[] = {
    "vaultfs (1).hdr",
    "notes.txt",
    "log/00/0000000000000001 (conflicted copy 2024-01-01).seg",
    "log/00/stray",
};

struct snap {
	uint8_t hash[32];
	struct timespec mtime;
	off_t size;
};

static void snap_take(const char *cloud, const char *name, struct snap *ret)
{
	char *p = tu_join(cloud, name);
	uint8_t buf[65536];
	crypto_generichash_state h;
	struct stat st;
	ssize_t n;
	int fd = open(p, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	crypto_generichash_init(&h, NULL, 0, 32);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crypto_generichash_update(&h, buf, (size_t)n);
	close(fd);
	crypto_generichash_final(&h, ret->hash, 32);
	ret->mtime = st.st_mtim;
	ret->size = st.st_size;
	free(p);
}

static void plant(struct env *e)
{
	char *p;
	int fd;

	for (size_t i = 0; i < sizeof(debris) / sizeof(debris[0]); i++) {
		struct timespec ts[2] = {{1000000000, 123}, {1000000000, 456}};

		p = tu_join(e->cloud, debris[i]);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, debris[i], strlen(debris[i])),
				 (ssize_t)strlen(debris[i]));
		assert_int_equal(futimens(fd, ts), 0);
		close(fd);
		free(p);
	}
}

static void check_scan(struct env *e, uint64_t want_segments)
{
	struct store_folder f;
	struct seen s;
	int i;

	memset(&s, 0, sizeof(s));
	assert_int_equal(store_scan_folder(e->cloud, 0, &f, collect, &s), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(f.debris, 4);
	assert_true(f.has_header);
	i = seen_find(&s, "vaultfs (1).hdr");
	assert_true(i >= 0);
	assert_int_equal(s.kinds[i], STORE_DEBRIS_CONFLICT);
	assert_string_equal(s.ofs[i], "vaultfs.hdr");
	i = seen_find(&s, "notes.txt");
	assert_true(i >= 0);
	assert_int_equal(s.kinds[i], STORE_DEBRIS_UNKNOWN);
	i = seen_find(&s,
		      "log/00/0000000000000001 (conflicted copy 2024-01-01).seg");
	assert_true(i >= 0);
	assert_int_equal(s.kinds[i], STORE_DEBRIS_CONFLICT);
	assert_string_equal(s.ofs[i], "log/00/0000000000000001.seg");
	i = seen_find(&s, "log/00/stray");
	assert_true(i >= 0);
	assert_int_equal(s.kinds[i], STORE_DEBRIS_UNKNOWN);
	if (want_segments)
		assert_int_equal(f.segments, want_segments);
}

static uint64_t count_segs(struct env *e, uint64_t *bytes)
{
	struct store_folder f;

	assert_int_equal(store_scan_folder(e->cloud, 0, &f, NULL, NULL), 0);
	if (bytes)
		*bytes = f.segment_bytes;
	return f.segments;
}

/* Debris is reported and never touched: writes, commits, compaction,
 * removal of dead segments, reopen. */
static void test_debris_untouched(void **state)
{
	struct env *e = *state;
	struct snap before[4], after;
	struct store_attr f;
	struct store_status ss;
	struct store_stats st;
	struct store *s = NULL;
	uint8_t *buf = malloc(262144);
	uint64_t segs, gen;

	plant(e);
	for (size_t i = 0; i < 4; i++)
		snap_take(e->cloud, debris[i], &before[i]);
	check_scan(e, 1);

	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s), 0);
	store_get_stats(s, &st);
	/* objstore counts the two names in log/00 */
	assert_int_equal(st.foreign, 2);
	assert_int_equal(store_mknod(s, 1, "f", S_IFREG | 0600, 0, 0, 0, &f),
			 0);
	for (int round = 0; round < 20; round++) {
		tu_fill(buf, 262144, (uint64_t)round);
		assert_int_equal(store_write(s, f.ino, buf, 262144, 0), 262144);
		assert_int_equal(store_commit(s), 0);
	}
	store_get_status(s, &ss);
	assert_int_equal(ss.generation, store_generation(s));
	assert_true(ss.commit_time > 0);
	assert_int_equal(ss.dirty_bytes, 0);
	assert_int_equal(ss.inodes, 2);
	assert_true(ss.live_bytes >= 262144);
	assert_true(ss.segment_bytes >= ss.live_bytes);
	assert_int_equal(ss.foreign, 2);
	assert_false(ss.read_only);
	/* dirty bytes show before a commit */
	assert_int_equal(store_write(s, f.ino, "x", 1, 0), 1);
	store_get_status(s, &ss);
	assert_true(ss.dirty_bytes > 0);
	assert_int_equal(store_commit(s), 0);

	segs = count_segs(e, NULL);
	assert_true(segs >= 21);
	store_set_clean(s, 0, 0);
	assert_true(store_clean(s) >= 0);
	assert_true(store_clean(s) >= 0);
	store_get_stats(s, &st);
	print_message("cleaner: %llu compactions, %llu segments removed\n",
		      (unsigned long long)st.compactions,
		      (unsigned long long)st.removed);
	assert_true(st.removed >= 10);
	assert_true(count_segs(e, NULL) < segs);
	gen = store_generation(s);
	assert_int_equal(store_close(s), 0);

	/* the conflict copy of segment 1 survives segment 1's removal */
	check_scan(e, 0);
	for (size_t i = 0; i < 4; i++) {
		snap_take(e->cloud, debris[i], &after);
		assert_memory_equal(after.hash, before[i].hash, 32);
		assert_int_equal(after.size, before[i].size);
		assert_int_equal(after.mtime.tv_sec, before[i].mtime.tv_sec);
		assert_int_equal(after.mtime.tv_nsec, before[i].mtime.tv_nsec);
	}
	/* and the store reopens with the debris still there */
	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s), 0);
	assert_int_equal(store_generation(s), gen);
	assert_int_equal(store_close(s), 0);
	check_scan(e, 0);
	free(buf);
}

/* store_seen_generation: none before an open, the head after. */
static void test_seen_generation(void **state)
{
	struct env *e = *state;
	struct store_info info;
	struct store *s = NULL;
	uint64_t g = 0;

	assert_int_equal(store_read_info(e->cloud, &info), 0);
	assert_int_equal(store_seen_generation(e->state, info.store_id, &g),
			 -ENOENT);
	assert_int_equal(store_open(e->cloud, e->key, e->state, 0, &s), 0);
	assert_int_equal(store_seen_generation(e->state, info.store_id, &g),
			 0);
	assert_int_equal(g, store_generation(s));
	assert_int_equal(store_close(s), 0);
}

/* A folder that is not there, and the read-only flag of the status. */
static void test_scan_errors(void **state)
{
	struct env *e = *state;
	struct store_folder f;
	struct store_status ss;
	struct store *s = NULL;
	char *p = tu_join(e->top, "nope");

	assert_int_equal(store_scan_folder(p, 0, &f, NULL, NULL), -ENOENT);
	free(p);
	assert_int_equal(store_open(e->cloud, e->key, e->state,
				    STORE_READ_ONLY, &s),
			 0);
	store_get_status(s, &ss);
	assert_true(ss.read_only);
	assert_int_equal(ss.foreign, 0);
	assert_int_equal(store_close(s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test_setup_teardown(test_debris_untouched, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_seen_generation, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_scan_errors, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
