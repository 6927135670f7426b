/*
 * test_lease.c - the single-writer lease: a second writer is refused,
 * readers are not; stale leases of this machine are reclaimed; another
 * machine's lease only once expired and when asked to break it.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "buf.h"
#include "chunk.h"
#include "fsutil.h"
#include "lease.h"
#include "objstore.h"
#include "store.h"
#include "store_priv.h"

struct env {
	char *top, *cloud, *state, *lease;
	uint8_t key[32];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	e->top = tu_mkdtemp();
	e->cloud = tu_join(e->top, "cloud");
	e->state = tu_join(e->top, "state");
	e->lease = tu_join(e->cloud, OBJSTORE_LEASE_NAME);
	mkdir(e->cloud, 0700);
	tu_key(e->key, 4);
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
	free(e->lease);
	free(e);
	return 0;
}

static int xopen(struct env *e, unsigned flags, struct store **ret)
{
	return store_open(e->cloud, e->key, e->state, flags, ret);
}

static void test_second_writer(void **state)
{
	struct env *e = *state;
	struct store *a = NULL, *b = NULL;

	assert_int_equal(access(e->lease, F_OK), -1);
	assert_int_equal(xopen(e, 0, &a), 0);
	assert_int_equal(access(e->lease, F_OK), 0);
	assert_int_equal(xopen(e, 0, &b), -VFS_E_LEASE);
	assert_int_equal(xopen(e, STORE_BREAK_LEASE, &b), -VFS_E_LEASE);
	assert_int_equal(xopen(e, STORE_READ_ONLY, &b), 0);
	assert_int_equal(store_close(b), 0);
	assert_int_equal(store_close(a), 0);
	assert_int_equal(access(e->lease, F_OK), -1);
	assert_int_equal(xopen(e, 0, &a), 0);
	assert_int_equal(store_close(a), 0);
}

/* A store of this process freed without removing its lease (a crash of
 * the objstore) leaves a lease this process may take back. */
static int fail_all(void *ctx, enum objstore_step step, const char *name)
{
	(void)ctx;
	(void)step;
	(void)name;
	return -EIO;
}

static void test_own_stale(void **state)
{
	struct env *e = *state;
	struct objstore *os = NULL;
	struct store *s = NULL;

	assert_int_equal(objstore_new(e->cloud, &os), 0);
	assert_int_equal(store_open_os(os, e->key, e->state, 0, &s), 0);
	objstore_set_fault(os, fail_all, NULL);
	(void)store_close(s);
	objstore_free(os);
	assert_int_equal(access(e->lease, F_OK), 0);
	assert_int_equal(xopen(e, 0, &s), 0);
	assert_int_equal(store_close(s), 0);
}

/* Another process on this machine: refused while it lives, reclaimed
 * once it is gone. */
static void test_other_process(void **state)
{
	struct env *e = *state;
	struct store *s = NULL;
	int p[2], st;
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *cs = NULL;

		close(p[0]);
		c = xopen(e, 0, &cs) == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(2);
		pause(); /* hold the lease until killed */
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	assert_int_equal(xopen(e, 0, &s), -VFS_E_LEASE);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(p[0]);
	assert_int_equal(access(e->lease, F_OK), 0);
	assert_int_equal(xopen(e, 0, &s), 0);
	assert_int_equal(store_close(s), 0);
}

/* A holder that died but was not reaped yet (a zombie) holds nothing. */
static void test_zombie_holder(void **state)
{
	struct env *e = *state;
	struct store *s = NULL;
	siginfo_t si;
	int st;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *cs = NULL;

		_exit(xopen(e, 0, &cs) == 0 ? 0 : 1);
	}
	/* wait for the exit without reaping */
	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(si.si_pid, pid);
	assert_int_equal(access(e->lease, F_OK), 0);
	assert_int_equal(xopen(e, 0, &s), 0);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Writes a lease of "another machine" expiring at expires, MAC-ed with
 * the real lease key (the layout of docs/format.md). */
static void foreign_lease(struct env *e, uint64_t expires, int good_mac)
{
	struct keys *k = NULL;
	uint8_t b[8 + 4 + 16 + 16 + 4 + 8 + 8 + 8 + 32];
	FILE *f;

	assert_int_equal(keys_new(e->key, &k), 0);
	memcpy(b, "VFSLEASE", 8);
	put_le32(b + 8, 1);
	memset(b + 12, 0xa1, 16); /* holder: not this machine */
	memset(b + 28, 0xb2, 16); /* boot */
	put_le32(b + 44, 1);	  /* pid */
	put_le64(b + 48, 1);	  /* process start time */
	put_le64(b + 56, expires);
	put_le64(b + 64, 12345);
	crypto_generichash(b + 72, 32, b, 72, k->lease, 32);
	if (!good_mac)
		b[80] ^= 1;
	keys_free(k);
	f = fopen(e->lease, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, sizeof(b), f), sizeof(b));
	fclose(f);
}

static void test_other_machine(void **state)
{
	struct env *e = *state;
	struct store *s = NULL;

	foreign_lease(e, (uint64_t)time(NULL) + 600, 1);
	assert_int_equal(xopen(e, 0, &s), -VFS_E_LEASE);
	assert_int_equal(xopen(e, STORE_BREAK_LEASE, &s), -VFS_E_LEASE);
	assert_int_equal(xopen(e, STORE_READ_ONLY, &s), 0);
	assert_int_equal(store_close(s), 0);
	foreign_lease(e, (uint64_t)time(NULL) - 1, 1);
	assert_int_equal(xopen(e, 0, &s), -VFS_E_LEASE);
	assert_int_equal(xopen(e, STORE_BREAK_LEASE, &s), 0);
	assert_int_equal(store_close(s), 0);
	/* a lease that does not verify under K is no lease */
	foreign_lease(e, (uint64_t)time(NULL) + 600, 0);
	assert_int_equal(xopen(e, 0, &s), 0);
	assert_int_equal(store_close(s), 0);
}

/* Version 2 names the holder: host name (encrypted), process, since. */
static void test_holder_named(void **state)
{
	struct env *e = *state;
	struct store *s = NULL;
	struct store_lease l;
	char host[LEASE_HOST_MAX + 1] = "";
	uint64_t before = (uint64_t)time(NULL);

	assert_int_equal(store_lease_info(e->cloud, e->key, &l), 0);
	assert_int_equal(xopen(e, 0, &s), 0);
	assert_int_equal(store_lease_info(e->cloud, e->key, &l), 1);
	assert_int_equal(gethostname(host, LEASE_HOST_MAX), 0);
	assert_string_equal(l.host, host);
	assert_int_equal(l.pid, (uint32_t)getpid());
	assert_true(l.this_machine && l.alive && !l.expired);
	assert_true(l.since >= before && l.since <= (uint64_t)time(NULL));
	assert_true(l.expires >= l.since + LEASE_SECONDS);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(store_lease_info(e->cloud, e->key, &l), 0);
}

/* Another machine's version 2 lease: named, refused, and its name is not
 * in the object in clear text; a wrong key reads nothing. */
static void test_foreign_v2(void **state)
{
	struct env *e = *state;
	struct lease_ident id = {"other-machine", "other-boot", "phone-seven",
				 4242, 7};
	struct store_info info;
	struct objstore *os = NULL;
	struct keys *k = NULL;
	struct store_lease l;
	struct store *s = NULL;
	uint8_t bad[32];
	uint64_t now = (uint64_t)time(NULL);
	char buf[512];
	size_t n;
	FILE *f;

	assert_int_equal(store_read_info(e->cloud, &info), 0);
	assert_int_equal(objstore_new(e->cloud, &os), 0);
	assert_int_equal(keys_new(e->key, &k), 0);
	assert_int_equal(lease_write_as(os, k->lease, info.store_id, &id,
					now - 50, now + 600),
			 0);
	f = fopen(e->lease, "rb");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(n, 200);
	assert_null(memmem(buf, n, "phone-seven", 11));
	assert_int_equal(store_lease_info(e->cloud, e->key, &l), 1);
	assert_string_equal(l.host, "phone-seven");
	assert_int_equal(l.pid, 4242);
	assert_int_equal(l.since, now - 50);
	assert_int_equal(l.expires, now + 600);
	assert_true(!l.this_machine && l.alive && !l.expired);
	assert_int_equal(xopen(e, 0, &s), -VFS_E_LEASE);
	assert_int_equal(xopen(e, STORE_BREAK_LEASE, &s), -VFS_E_LEASE);
	memcpy(bad, e->key, 32);
	bad[0] ^= 1;
	assert_int_equal(store_lease_info(e->cloud, bad, &l), -VFS_E_WRONGKEY);

	/* expired: taken only when asked */
	assert_int_equal(lease_write_as(os, k->lease, info.store_id, &id,
					now - 5000, now - 1),
			 0);
	assert_int_equal(store_lease_info(e->cloud, e->key, &l), 1);
	assert_true(l.expired);
	assert_int_equal(xopen(e, 0, &s), -VFS_E_LEASE);
	assert_int_equal(xopen(e, STORE_BREAK_LEASE, &s), 0);
	assert_int_equal(store_lease_info(e->cloud, e->key, &l), 1);
	assert_int_equal(l.pid, (uint32_t)getpid());
	assert_int_equal(store_close(s), 0);

	/* the same machine id is this machine, whatever the host name */
	{
		char mid[128] = "";
		FILE *m = fopen("/etc/machine-id", "r");

		if (m) {
			n = fread(mid, 1, sizeof(mid) - 1, m);
			fclose(m);
			mid[n] = '\0';
			id.machine_id = mid;
			id.boot_id = "another boot";
			assert_int_equal(lease_write_as(os, k->lease,
							info.store_id, &id,
							now, now + 600),
					 0);
			assert_int_equal(store_lease_info(e->cloud, e->key, &l),
					 1);
			assert_true(l.this_machine && !l.alive);
			/* rebooted since: reclaimed without asking */
			assert_int_equal(xopen(e, 0, &s), 0);
			assert_int_equal(store_close(s), 0);
		}
	}
	keys_free(k);
	objstore_free(os);
}

/* A version 1 lease (no name, no start) is still understood. */
static void test_v1_info(void **state)
{
	struct env *e = *state;
	struct store_lease l;

	foreign_lease(e, (uint64_t)time(NULL) + 600, 1);
	assert_int_equal(store_lease_info(e->cloud, e->key, &l), 1);
	assert_string_equal(l.host, "");
	assert_int_equal(l.since, 0);
	assert_int_equal(l.pid, 1);
	assert_true(!l.this_machine && !l.expired);
	foreign_lease(e, (uint64_t)time(NULL) + 600, 0);
	assert_int_equal(store_lease_info(e->cloud, e->key, &l), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_second_writer, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_own_stale, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_process, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_zombie_holder, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_other_machine, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_holder_named, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_v2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v1_info, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
