/*
 * test_vs_epoch.c - master key epochs (vaultsrv/epoch.c, the epoch block
 * of vaultsrv/hsm.c, the epoch operations of the SQLite store): the state
 * and duration parsers, the blob header, meta CAS, the account cursor and
 * the blob CAS on a real SQLite file; and, when SoftHSMv2 is installed, a
 * whole rotation in a token made in a temp dir: a rewrapped key evaluates
 * to exactly what it did before, the old blob is refused without an
 * evaluation, a rotation resumes from "rotating", and a store older than
 * the token is refused.
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
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "vaultsrv/epoch.h"
#include "vaultsrv/hsm.h"
#include "vaultsrv/store.h"
#include "vaultsrv/vs_config.h"
#include "vfs_error.h"

/* ---- parsers ---- */

static void test_state_parse(void **state)
{
	struct epoch_state st;
	char buf[EPOCH_STATE_MAX];
	static const char *const bad[] = {
	    "",
	    "v1 current=1 next=0",
	    "v1 current=0 next=0 since=0",
	    "v1 current=1 next=3 since=0",  /* next must be current + 1 */
	    "v1 current=2 next=1 since=0",
	    "v1 current=01 next=0 since=0", /* one spelling */
	    "v1 current=1 next=0 since=0 ",
	    "v1  current=1 next=0 since=0",
	    "v2 current=1 next=0 since=0",
	    "v1 current=1 next=0 since=-1",
	    "v1 current=2147483648 next=0 since=0", /* > HSM_EPOCH_MAX */
	    "v1 current=99999999999999999999 next=0 since=0",
	    "v1 current=1 next=0 since=0\n",
	    "v1 current=+1 next=0 since=0",
	};
	int n;

	(void)state;
	const char *ok = "v1 current=7 next=8 since=1795900000";
	assert_int_equal(epoch_state_parse(ok, strlen(ok), &st), 0);
	assert_int_equal(st.current, 7);
	assert_int_equal(st.next, 8);
	assert_int_equal(st.since, 1795900000);
	n = epoch_state_format(&st, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(ok));
	assert_memory_equal(buf, ok, strlen(ok));
	ok = "v1 current=1 next=0 since=0";
	assert_int_equal(epoch_state_parse(ok, strlen(ok), &st), 0);
	assert_int_equal(st.current, 1);
	assert_int_equal(st.next, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (epoch_state_parse(bad[i], strlen(bad[i]), &st) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	}
	/* not NUL-terminated: only len bytes count */
	assert_int_equal(epoch_state_parse("v1 current=3 next=0 since=5xyz",
					   27, &st),
			 0);
	assert_int_equal(st.since, 5);
	st = (struct epoch_state){.current = 0};
	assert_int_equal(epoch_state_format(&st, buf, sizeof(buf)), -EINVAL);
	st = (struct epoch_state){.current = 3, .next = 5};
	assert_int_equal(epoch_state_format(&st, buf, sizeof(buf)), -EINVAL);
	st = (struct epoch_state){.current = 3, .next = 4, .since = 9};
	assert_int_equal(epoch_state_format(&st, buf, 8), -E2BIG);
}

static void test_duration_parse(void **state)
{
	static const struct {
		const char *s;
		int64_t v;
	} ok[] = {{"0", 0},	  {"1", 1},	   {"3600", 3600},
		  {"45s", 45},	  {"90m", 5400},   {"12h", 43200},
		  {"30d", 2592000}, {"2w", 1209600}, {"3660d", 316224000}};
	static const char *const bad[] = {"",	 "d",	"1x",  "-1",   "01d",
					  "1.5d", " 1d", "1d ", "1dd", "3661d",
					  "99999999999999999999", "1D"};
	int64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = -1;
		assert_int_equal(epoch_duration_parse(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (epoch_duration_parse(bad[i], &v) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
}

static void test_config_rotate_every(void **state)
{
	static const char req[] = "listen = 127.0.0.1:8443\n"
				  "token_label = vault\n"
				  "pin_file = /etc/vaultsrv/pin\n"
				  "db = /var/lib/vaultsrv/vault.db\n";
	struct vs_config *c = malloc(sizeof(*c));
	char text[512], why[256];

	(void)state;
	assert_non_null(c);
	config_defaults(c);
	assert_int_equal(config_parse(c, req, strlen(req), why, sizeof(why)),
			 0);
	assert_int_equal(c->rotate_every, 0); /* off by default */
	snprintf(text, sizeof(text), "%srotate_every = 30d\n", req);
	config_defaults(c);
	assert_int_equal(config_parse(c, text, strlen(text), why, sizeof(why)),
			 0);
	assert_int_equal(c->rotate_every, 30 * 86400);
	snprintf(text, sizeof(text), "%srotate_every = 30 days\n", req);
	config_defaults(c);
	assert_int_equal(config_parse(c, text, strlen(text), why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "line 5"));
	snprintf(text, sizeof(text), "%srotate_every = 1d\nrotate_every = 2d\n",
		 req);
	config_defaults(c);
	assert_int_equal(config_parse(c, text, strlen(text), why, sizeof(why)),
			 -EINVAL); /* repeated */
	free(c);
}

static void test_blob_epoch(void **state)
{
	uint8_t b[HSM_BLOB_MAX + 8];
	uint32_t e = 0;

	(void)state;
	memset(b, 0x5a, sizeof(b));
	assert_int_equal(hsm_blob_epoch(b, 40, &e), 0); /* bare: epoch 1 */
	assert_int_equal(e, 1);
	memcpy(b, "VE\x00\x00\x00\x02", 6);
	assert_int_equal(hsm_blob_epoch(b, 46, &e), 0);
	assert_int_equal(e, 2);
	memcpy(b, "VE\x7f\xff\xff\xff", 6);
	assert_int_equal(hsm_blob_epoch(b, 46, &e), 0);
	assert_int_equal(e, HSM_EPOCH_MAX);
	memcpy(b, "VE\x80\x00\x00\x00", 6); /* > HSM_EPOCH_MAX */
	assert_int_equal(hsm_blob_epoch(b, 46, &e), -EBADMSG);
	memcpy(b, "VE\x00\x00\x00\x01", 6); /* epoch 1 is always bare */
	assert_int_equal(hsm_blob_epoch(b, 46, &e), -EBADMSG);
	memcpy(b, "VE\x00\x00\x00\x00", 6);
	assert_int_equal(hsm_blob_epoch(b, 46, &e), -EBADMSG);
	memcpy(b, "VX\x00\x00\x00\x02", 6);
	assert_int_equal(hsm_blob_epoch(b, 46, &e), -EBADMSG);
	memcpy(b, "VE\x00\x00\x00\x02", 6);
	assert_int_equal(hsm_blob_epoch(b, 45, &e), -EBADMSG); /* 5 mod 8 */
	assert_int_equal(hsm_blob_epoch(b, 6, &e), -EBADMSG);  /* no key */
	assert_int_equal(hsm_blob_epoch(b, 14, &e), -EBADMSG);
	assert_int_equal(hsm_blob_epoch(b, 0, &e), -EBADMSG);
	assert_int_equal(hsm_blob_epoch(b, HSM_BLOB_MAX + 8, &e), -EBADMSG);
}

/* ---- the SQLite store's epoch operations ---- */

struct sfx {
	char dir[64];
	char path[96];
	struct store *s;
};

static int sqlite_setup(void **state)
{
	struct sfx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vs-epoch-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/vault.db", f->dir);
	assert_int_equal(store_open(f->path, 1, &f->s), 0);
	*state = f;
	return 0;
}

static int sqlite_teardown(void **state)
{
	struct sfx *f = *state;
	char p[128];

	store_free(f->s);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void make_record(struct store_record *r, const char *account,
			uint8_t fill)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->account, sizeof(r->account), "%s", account);
	r->blob_len = 40;
	memset(r->blob, fill, r->blob_len);
	memset(r->auth_pub, 0xa1, sizeof(r->auth_pub));
	r->argon_ops = 3;
	r->argon_mem = 64 << 20;
	r->nstores = 1;
	memset(r->stores[0].store_id, 1, 16);
	r->stores[0].enc_k_len = 72;
	memset(r->stores[0].enc_k, 0xe0, 72);
	memset(r->stores[0].k_pub, 0x70, 32);
}

static void test_meta_cas(void **state)
{
	struct sfx *f = *state;
	char v[16];
	size_t n = 0;

	assert_int_equal(store_meta_cas(f->s, "epoch", "x", 1, "a", 1),
			 -ESTALE); /* absent, old given */
	assert_int_equal(store_meta_cas(f->s, "epoch", NULL, 0, "a", 1), 0);
	assert_int_equal(store_meta_cas(f->s, "epoch", NULL, 0, "b", 1),
			 -ESTALE); /* present, "absent" expected */
	assert_int_equal(store_meta_cas(f->s, "epoch", "b", 1, "c", 1),
			 -ESTALE);
	assert_int_equal(store_meta_cas(f->s, "epoch", "a", 1, "bb", 2), 0);
	assert_int_equal(store_meta_cas(f->s, "epoch", "b", 1, "c", 1),
			 -ESTALE); /* a prefix is not equal */
	assert_int_equal(store_meta_get(f->s, "epoch", v, sizeof(v), &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(v, "bb", 2);
	/* other keys untouched, and put still refuses to overwrite */
	assert_int_equal(store_meta_put(f->s, "vault_id", "id", 2), 0);
	assert_int_equal(store_meta_cas(f->s, "vault_id", "id", 2, "id2", 3),
			 0);
	assert_int_equal(store_meta_get(f->s, "vault_id", v, sizeof(v), &n),
			 0);
	assert_int_equal(n, 3);
}

static void test_record_next(void **state)
{
	struct sfx *f = *state;
	static const char *const accts[] = {"b", "a", "a.b", "A", "zz", "a-"};
	static const char *const sorted[] = {"A", "a", "a-", "a.b", "b", "zz"};
	struct store_record *r = malloc(sizeof(*r));
	char cur[STORE_ACCOUNT_MAX + 1] = "", next[STORE_ACCOUNT_MAX + 1];
	unsigned n = 0;

	assert_non_null(r);
	assert_int_equal(store_record_next(f->s, "", next), -ENOENT);
	for (size_t i = 0; i < sizeof(accts) / sizeof(accts[0]); i++) {
		make_record(r, accts[i], 0xb1);
		assert_int_equal(store_record_put(f->s, r, STORE_PUT_NEW), 0);
	}
	while (store_record_next(f->s, cur, next) == 0) {
		assert_true(n < 6);
		assert_string_equal(next, sorted[n]);
		memcpy(cur, next, sizeof(cur));
		n++;
		if (n == 2) {
			/* deleting the cursor's account keeps it valid */
			assert_int_equal(store_record_delete(f->s, "a"), 0);
		}
	}
	assert_int_equal(n, 6);
	/* from the middle, past an account that is gone */
	assert_int_equal(store_record_next(f->s, "a", next), 0);
	assert_string_equal(next, "a-");
	assert_int_equal(store_record_next(f->s, "zz", next), -ENOENT);
	free(r);
}

static void test_record_rewrap(void **state)
{
	struct sfx *f = *state;
	struct store_record *r = malloc(sizeof(*r)), *g = malloc(sizeof(*g));
	struct store_challenge c;
	struct store_attempt at;
	uint8_t old[40], nb[46];

	assert_non_null(r);
	assert_non_null(g);
	memset(old, 0xb1, sizeof(old));
	memset(nb, 0xc2, sizeof(nb));
	assert_int_equal(store_record_rewrap(f->s, "nobody", old, 40, nb, 46),
			 -ENOENT);
	make_record(r, "carol", 0xb1);
	assert_int_equal(store_record_put(f->s, r, STORE_PUT_NEW), 0);
	/* a guess is counted; the rewrap keeps it */
	memset(&c, 0, sizeof(c));
	randombytes_buf(c.id, sizeof(c.id));
	snprintf(c.account, sizeof(c.account), "carol");
	c.kind = STORE_CHAL_PASSWORD;
	snprintf(c.action, sizeof(c.action), "recover");
	c.expires = 2000000000;
	assert_int_equal(store_attempt_begin(f->s, &c, 10, 1000, "t", &at), 0);
	assert_int_equal(at.attempts, 1);
	assert_int_equal(store_record_rewrap(f->s, "carol", nb, 46, old, 40),
			 -ESTALE); /* not the current blob */
	assert_int_equal(store_record_rewrap(f->s, "carol", old, 39, nb, 46),
			 -ESTALE);
	assert_int_equal(store_record_rewrap(f->s, "carol", old, 40, nb, 46),
			 0);
	assert_int_equal(store_record_get(f->s, "carol", g), 0);
	assert_int_equal(g->attempts, 1);
	assert_int_equal(g->blob_len, 46);
	assert_memory_equal(g->blob, nb, 46);
	assert_int_equal(g->nstores, 1);
	assert_memory_equal(g->auth_pub, r->auth_pub, 32);
	/* the open challenge survived: the attempt can still fail */
	assert_int_equal(store_attempt_fail(f->s, "carol", 10, 1001, &at), 0);
	assert_int_equal(at.attempts, 1);
	assert_int_equal(store_record_rewrap(f->s, "carol", old, 40, nb, 46),
			 -ESTALE); /* already moved */
	assert_int_equal(store_record_rewrap(f->s, "carol", old, 0, nb, 46),
			 -EINVAL);
	/* a tombstone has no blob to rewrap */
	c.expires = 3000; /* the first challenge (open) expired by then */
	for (int i = 0; i < 10; i++) {
		randombytes_buf(c.id, sizeof(c.id));
		if (store_attempt_begin(f->s, &c, 2, 2000000001, "t", &at) < 0)
			break;
		if (store_attempt_fail(f->s, "carol", 2, 2000000001, &at) < 0)
			break;
	}
	assert_int_equal(store_record_get(f->s, "carol", g), 0);
	assert_int_equal(g->state, STORE_LOCKED);
	assert_int_equal(store_record_rewrap(f->s, "carol", nb, 46, old, 40),
			 -VFS_E_LOCKED);
	free(r);
	free(g);
}

/* ---- a whole rotation in SoftHSM ---- */

#define PIN "11223344"

struct hfx {
	char dir[64];
	char conf[128];
	char pin[128];
	char db[128];
	int skip;
};

static struct hfx hx;

static int hsm_group_setup(void **state)
{
	char cmd[512];
	FILE *fp;

	(void)state;
	if (access(DEFAULT_PKCS11_MODULE, R_OK) != 0 ||
	    system("command -v softhsm2-util >/dev/null 2>&1") != 0) {
		hx.skip = 1;
		return 0;
	}
	snprintf(hx.dir, sizeof(hx.dir), "/tmp/vs-epoch-hsm-XXXXXX");
	assert_non_null(mkdtemp(hx.dir));
	snprintf(hx.conf, sizeof(hx.conf), "%s/softhsm2.conf", hx.dir);
	snprintf(hx.pin, sizeof(hx.pin), "%s/pin", hx.dir);
	snprintf(hx.db, sizeof(hx.db), "%s/vault.db", hx.dir);
	snprintf(cmd, sizeof(cmd), "%s/tokens", hx.dir);
	assert_int_equal(mkdir(cmd, 0700), 0);
	fp = fopen(hx.conf, "w");
	assert_non_null(fp);
	fprintf(fp,
		"directories.tokendir = %s/tokens\nobjectstore.backend = "
		"file\nlog.level = ERROR\n",
		hx.dir);
	fclose(fp);
	setenv("SOFTHSM2_CONF", hx.conf, 1);
	fp = fopen(hx.pin, "w");
	assert_non_null(fp);
	fprintf(fp, "%s\n", PIN);
	fclose(fp);
	assert_int_equal(chmod(hx.pin, 0600), 0);
	snprintf(cmd, sizeof(cmd),
		 "softhsm2-util --init-token --free --label vsepoch --pin %s "
		 "--so-pin 99887766 >/dev/null",
		 PIN);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int hsm_group_teardown(void **state)
{
	char cmd[160];

	(void)state;
	if (hx.skip)
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", hx.dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct hsm *hsm_up(int create)
{
	struct hsm *h = NULL;

	assert_int_equal(hsm_open(DEFAULT_PKCS11_MODULE, "vsepoch", hx.pin, 2,
				  &h),
			 0);
	if (create)
		assert_int_equal(hsm_create_keys(h), 0);
	assert_int_equal(hsm_load_keys(h), 0);
	return h;
}

/* The base point of P-256, SEC1 uncompressed: a valid input point. */
static const uint8_t p256_g[HSM_POINT_LEN] = {
    0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc,
    0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d,
    0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
    0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb,
    0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31,
    0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};

static void test_rotation(void **state)
{
	struct hsm *h;
	struct store *s = NULL;
	struct store_record *r = malloc(sizeof(*r)), *g = malloc(sizeof(*g));
	struct epoch_ctx c = {.grace_ms = 0};
	struct epoch_report rep;
	struct epoch_state st;
	uint8_t blob[3][HSM_BLOB_MAX], x0[3][32], x1[32];
	size_t blen[3];
	uint32_t e = 0, hi = 0;
	const char *names[3] = {"ann", "ben", "cid"};

	(void)state;
	if (hx.skip) {
		print_message("SoftHSMv2 not installed: rotation test skipped\n");
		free(r);
		free(g);
		skip();
	}
	assert_non_null(r);
	assert_non_null(g);
	h = hsm_up(1);
	assert_int_equal(store_open(hx.db, 1, &s), 0);
	c.hsm = h;
	c.store = s;
	assert_int_equal(epoch_sync(&c, &st), 0);
	assert_int_equal(st.current, 1);
	assert_int_equal(st.next, 0);
	assert_true(st.since > 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(hsm_oprf_keygen(h, blob[i], &blen[i]), 0);
		assert_int_equal(blen[i] % 8, 0); /* epoch 1: bare */
		assert_int_equal(hsm_oprf_evaluate(h, blob[i], blen[i], p256_g,
						   x0[i]),
				 0);
		make_record(r, names[i], 0);
		memcpy(r->blob, blob[i], blen[i]);
		r->blob_len = blen[i];
		assert_int_equal(store_record_put(s, r, STORE_PUT_NEW), 0);
	}
	/* A rotation killed after step 2: the state says rotating. */
	assert_int_equal(epoch_prepare(&c, 2), 0);
	assert_int_equal(epoch_prepare(&c, 2), 0); /* idempotent */
	assert_int_equal(store_meta_cas(s, EPOCH_META_KEY, NULL, 0, "x", 1),
			 -ESTALE);
	{
		char raw[EPOCH_STATE_MAX], nw[EPOCH_STATE_MAX];
		size_t rl = 0;
		struct epoch_state rs = {.current = 1, .next = 2, .since = 5};
		int n;

		assert_int_equal(epoch_state_get(s, &st, raw, &rl), 0);
		n = epoch_state_format(&rs, nw, sizeof(nw));
		assert_true(n > 0);
		assert_int_equal(
		    store_meta_cas(s, EPOCH_META_KEY, raw, rl, nw, (size_t)n),
		    0);
	}
	/* one record moved by hand, as a killed rotator would leave it */
	hsm_epoch_set(h, 1, 2);
	assert_int_equal(epoch_fresh_blob(h, s, blob[0], &blen[0]), 0);
	assert_int_equal(blen[0] % 8, 6);
	assert_int_equal(hsm_blob_epoch(blob[0], blen[0], &e), 0);
	assert_int_equal(e, 2);
	assert_int_equal(store_record_get(s, "ann", g), 0);
	assert_int_equal(store_record_rewrap(s, "ann", g->blob, g->blob_len,
					     blob[0], blen[0]),
			 0);
	/* both epochs evaluate meanwhile, to the same values */
	assert_int_equal(hsm_oprf_evaluate(h, blob[0], blen[0], p256_g, x1),
			 0);
	assert_memory_equal(x1, x0[0], 32);
	assert_int_equal(hsm_oprf_evaluate(h, blob[1], blen[1], p256_g, x1),
			 0);

	/* Resume. */
	assert_int_equal(epoch_rotate(&c, &rep), 0);
	assert_true(rep.resumed);
	assert_int_equal(rep.from, 1);
	assert_int_equal(rep.to, 2);
	assert_int_equal(rep.rewrapped, 2);
	assert_int_equal(rep.destroyed, 1);
	assert_int_equal(epoch_state_get(s, &st, NULL, NULL), 0);
	assert_int_equal(st.current, 2);
	assert_int_equal(st.next, 0);
	assert_int_equal(hsm_epoch_present(h, 1), 0);
	assert_int_equal(hsm_epoch_present(h, 2), 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_record_get(s, names[i], g), 0);
		assert_int_equal(hsm_blob_epoch(g->blob, g->blob_len, &e), 0);
		assert_int_equal(e, 2);
		/* the same OPRF key, under a new master key */
		assert_int_equal(hsm_oprf_evaluate(h, g->blob, g->blob_len,
						   p256_g, x1),
				 0);
		assert_memory_equal(x1, x0[i], 32);
	}
	/* the old blobs: refused, nothing evaluated */
	{
		uint64_t ev = hsm_evaluations(h);

		assert_int_equal(hsm_oprf_evaluate(h, blob[1], blen[1], p256_g,
						   x1),
				 -EKEYREVOKED);
		assert_int_equal(hsm_evaluations(h), ev);
		assert_int_equal(hsm_oprf_rewrap(h, blob[1], blen[1], 2,
						 blob[2], &blen[2]),
				 -EKEYREVOKED);
	}
	/* a new process (floor 1) finds the key gone */
	hsm_free(h);
	h = hsm_up(0);
	c.hsm = h;
	assert_int_equal(hsm_epoch_floor(h), 1);
	assert_int_equal(hsm_oprf_evaluate(h, blob[1], blen[1], p256_g, x1),
			 -ENOKEY);
	assert_int_equal(hsm_evaluations(h), 0);
	/* a second rotation, straight through */
	assert_int_equal(epoch_rotate(&c, &rep), 0);
	assert_false(rep.resumed);
	assert_int_equal(rep.to, 3);
	assert_int_equal(rep.rewrapped, 3);
	assert_int_equal(hsm_epoch_highest(h, &hi), 0);
	assert_int_equal(hi, 3);
	assert_int_equal(hsm_epoch_present(h, 2), 0);
	assert_int_equal(hsm_epoch_write(h), 3);
	assert_int_equal(hsm_oprf_keygen(h, blob[2], &blen[2]), 0);
	assert_int_equal(hsm_blob_epoch(blob[2], blen[2], &e), 0);
	assert_int_equal(e, 3);

	/* A store older than the token: refused, nothing changed. */
	{
		char raw[EPOCH_STATE_MAX], nw[EPOCH_STATE_MAX];
		size_t rl = 0;
		struct epoch_state old = {.current = 2, .next = 0, .since = 5};
		int n;

		assert_int_equal(epoch_state_get(s, &st, raw, &rl), 0);
		n = epoch_state_format(&old, nw, sizeof(nw));
		assert_int_equal(
		    store_meta_cas(s, EPOCH_META_KEY, raw, rl, nw, (size_t)n),
		    0);
		assert_int_equal(epoch_rotate(&c, &rep), -EKEYREVOKED);
		assert_int_equal(hsm_epoch_present(h, 4), 0);
		assert_int_equal(epoch_state_get(s, &st, NULL, NULL), 0);
		assert_int_equal(st.current, 2);
		assert_int_equal(st.next, 0);
		/* new keys still go under the newest epoch the token has */
		assert_int_equal(epoch_refresh(h, s), 0);
		assert_int_equal(hsm_epoch_write(h), 3);
	}
	store_free(s);
	hsm_free(h);
	free(r);
	free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_parse),
	    cmocka_unit_test(test_duration_parse),
	    cmocka_unit_test(test_config_rotate_every),
	    cmocka_unit_test(test_blob_epoch),
	    cmocka_unit_test_setup_teardown(test_meta_cas, sqlite_setup,
					    sqlite_teardown),
	    cmocka_unit_test_setup_teardown(test_record_next, sqlite_setup,
					    sqlite_teardown),
	    cmocka_unit_test_setup_teardown(test_record_rewrap, sqlite_setup,
					    sqlite_teardown),
	    cmocka_unit_test(test_rotation),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, hsm_group_setup,
				      hsm_group_teardown);
}
