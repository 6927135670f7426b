/*
 * vault_bench.c - throughput and latency of the vault password recovery,
 * measured in one run on this machine (contrib/bench/vault-bench.sh sets up
 * the SoftHSM token and the vaultsrv and calls this program).
 *
 * Three parts, run in this order so that none competes with another:
 *  (c) the client-side cost alone, one thread: RFC 9380 hash-to-curve, the
 *      OPRF blind + unblind, and the Argon2id step (vcrypto_pwkeys) at the
 *      default parameters;
 *  (b) the bare HSM work of one evaluation (unwrap the OPRF key blob,
 *      CKM_ECDH1_DERIVE, read x, destroy both objects) through vaultsrv's
 *      own hsm module (libvaultsrv.a, hsm_oprf_evaluate), 1 and 2 threads;
 *  (a) vc_recover (recover/start + recover/finish over HTTP) against the
 *      running vaultsrv, with N client threads, each with its own vc_client
 *      and account (registered before the clock starts).
 *
 * The time a client spends inside HTTP round trips is measured by wrapping
 * http_request at link time (-Wl,--wrap=http_request), so the server's part
 * of a recovery can be read apart from the client's Argon2id cost; the
 * server's CPU time per recovery is read from /proc/PID/stat.
 *
 * Tokens are secrets: they come from a file (lines "account token"), never
 * from argv. Every recovered K is compared with the registered one and
 * every HSM result with the first: a wrong answer is an error, not a
 * figure.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "vaultclient/http.h"
#include "vaultclient/oprf.h"
#include "vaultclient/vaultclient.h"
#include "vaultclient/vcrypto.h"
#include "vaultsrv/hsm.h"
#include "vfs_error.h"

#define BENCH_CLIENTS_MAX 256
#define BENCH_TOKEN_MAX 2048
#define BENCH_HSM_THREADS_MAX 2

struct bench_opts {
	const char *url;
	const char *tokens_file;
	const char *module;
	const char *label;
	const char *pin_file;
	unsigned clients;
	unsigned recoveries;
	unsigned max_seconds;
	unsigned hsm_evals;
	unsigned oprf_iters;
	unsigned argon_iters;
	uint32_t reg_ops;
	uint64_t reg_mem;
	long server_pid;
};

struct bench_run;

/* One client of part (a). */
struct bench_client {
	pthread_t tid;
	struct bench_run *run;
	char account[VC_ACCOUNT_MAX + 1];
	char *token;  /* sodium_malloc */
	uint8_t *key; /* K, sodium_malloc */
	uint8_t store_id[VC_STORE_ID_LEN];
	char pw[32];
	int err; /* first error, negative */
	unsigned done;
	uint64_t http_calls;
};

struct bench_run {
	const struct bench_opts *o;
	/* Start gate: the clock starts when every client has registered. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned ready;
	int go;
	atomic_uint next;
	atomic_int stop;
	uint64_t deadline_ns;
	double *e2e_ms;	 /* per completed recovery */
	double *http_ms; /* time inside http_request during it */
	atomic_uint completed;
};

/* ---- time inside HTTP round trips (link-time wrapper) ---------------- */

static __thread uint64_t bench_http_ns;
static __thread uint64_t bench_http_calls;

int __real_http_request(struct http_client *h, const char *path,
			const char *body, size_t len, struct http_reply *ret);
int __wrap_http_request(struct http_client *h, const char *path,
			const char *body, size_t len, struct http_reply *ret);

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* CPU time of the calling thread: what a step costs, whatever else the
 * (shared) machine is doing meanwhile. */
static uint64_t cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

int __wrap_http_request(struct http_client *h, const char *path,
			const char *body, size_t len, struct http_reply *ret)
{
	uint64_t t0 = now_ns();
	int r = __real_http_request(h, path, body, len, ret);

	bench_http_ns += now_ns() - t0;
	bench_http_calls++;
	return r;
}

/* ---- statistics ------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile p (0..100) of v[0..n) (sorts v). */
static double pctl(double *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0.0;
	qsort(v, n, sizeof(*v), cmp_double);
	rank = (size_t)((p / 100.0) * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

static double mean(const double *v, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return n ? s / (double)n : 0.0;
}

/* utime + stime of process pid in seconds, or -1. */
static double proc_cpu_s(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1.0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and ')': fields follow the last. */
	p = strrchr(buf, ')');
	if (!p)
		return -1.0;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	if (sscanf(p + 1,
		   " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &ut, &st) != 2)
		return -1.0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return -1.0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ---- (c) client-side cost ---------------------------------------------- */

static int bench_client_cost(const struct bench_opts *o)
{
	static const uint8_t pw[] = "correct horse battery staple";
	const size_t pwlen = sizeof(pw) - 1;
	size_t n = o->oprf_iters, na = o->argon_iters;
	double *h2c = calloc(n, sizeof(double));
	double *oprf = calloc(n, sizeof(double));
	double *argon = calloc(na, sizeof(double));
	struct vcrypto_pwkeys *keys = sodium_malloc(sizeof(*keys));
	uint8_t point[OPRF_POINT_LEN], blinded[OPRF_POINT_LEN];
	uint8_t out[OPRF_OUT_LEN];
	uint64_t c0, cpu_h2c, cpu_oprf, cpu_argon;
	int r;

	if (!h2c || !oprf || !argon || !keys) {
		r = -ENOMEM;
		goto out;
	}
	c0 = cpu_ns();
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		r = oprf_hash_to_curve(pw, pwlen, (const uint8_t *)OPRF_DST,
				       strlen(OPRF_DST), point);
		if (r < 0)
			goto out;
		h2c[i] = (double)(now_ns() - t0) / 1e3;
	}
	cpu_h2c = cpu_ns() - c0;
	c0 = cpu_ns();
	for (size_t i = 0; i < n; i++) {
		struct oprf_blind *b = NULL;
		uint64_t t0 = now_ns();

		/* What the client does per recovery around the vault's
		 * answer: H1(pw), r*H1(pw), then lift, r^-1*Z and the output
		 * hash. The "server" here is k = 1 (evaluated = x(blinded)),
		 * which costs the client the same as any other k. */
		r = oprf_blind_new(pw, pwlen, &b, blinded);
		if (r < 0)
			goto out;
		r = oprf_finalize(b, pw, pwlen, blinded + 1, out);
		oprf_blind_free(b);
		if (r < 0)
			goto out;
		oprf[i] = (double)(now_ns() - t0) / 1e3;
	}
	cpu_oprf = cpu_ns() - c0;
	c0 = cpu_ns();
	for (size_t i = 0; i < na; i++) {
		uint64_t t0 = now_ns();

		r = vcrypto_pwkeys(out, pw, pwlen, VCRYPTO_ARGON_OPS_DEFAULT,
				   VCRYPTO_ARGON_MEM_DEFAULT, keys);
		if (r < 0)
			goto out;
		argon[i] = (double)(now_ns() - t0) / 1e6;
	}
	cpu_argon = cpu_ns() - c0;
	printf("(c) client-side cost, 1 thread (wall clock; cpu = CPU time "
	       "of the thread, mean)\n");
	printf("  %-44s %5s %10s %10s %10s\n", "step", "runs", "p50", "p99",
	       "cpu");
	printf("  %-44s %5zu %7.1f us %7.1f us %7.1f us\n",
	       "hash-to-curve (RFC 9380)", n, pctl(h2c, n, 50),
	       pctl(h2c, n, 99), (double)cpu_h2c / 1e3 / (double)n);
	printf("  %-44s %5zu %7.1f us %7.1f us %7.1f us\n",
	       "hash-to-curve + blind + unblind + out hash", n,
	       pctl(oprf, n, 50), pctl(oprf, n, 99),
	       (double)cpu_oprf / 1e3 / (double)n);
	printf("  %-44s %5zu %7.1f ms %7.1f ms %7.1f ms\n",
	       "Argon2id ops=3 mem=64MiB (+ key derivation)", na,
	       pctl(argon, na, 50), pctl(argon, na, 99),
	       (double)cpu_argon / 1e6 / (double)na);
	printf("\n");
	r = 0;
out:
	sodium_memzero(out, sizeof(out));
	sodium_free(keys);
	free(h2c);
	free(oprf);
	free(argon);
	return r;
}

/* ---- (b) bare HSM evaluations ------------------------------------------ */

struct hsm_worker {
	pthread_t tid;
	struct hsm *h;
	const uint8_t *blob;
	size_t blob_len;
	const uint8_t *point;
	const uint8_t *expect;
	unsigned n;
	double *lat_us;
	uint64_t cpu_ns;
	int err;
};

static void *hsm_worker_run(void *arg)
{
	struct hsm_worker *w = arg;
	uint8_t x[HSM_SECRET_LEN];
	uint64_t c0 = cpu_ns();

	for (unsigned i = 0; i < w->n; i++) {
		uint64_t t0 = now_ns();
		int r =
		    hsm_oprf_evaluate(w->h, w->blob, w->blob_len, w->point, x);

		w->lat_us[i] = (double)(now_ns() - t0) / 1e3;
		if (r < 0) {
			w->err = r;
			break;
		}
		if (sodium_memcmp(x, w->expect, sizeof(x)) != 0) {
			w->err = -EIO;
			break;
		}
	}
	w->cpu_ns = cpu_ns() - c0;
	return NULL;
}

static int bench_hsm_round(struct hsm *h, const uint8_t *blob, size_t blob_len,
			   const uint8_t *point, const uint8_t *expect,
			   unsigned nthreads, unsigned per_thread)
{
	struct hsm_worker w[BENCH_HSM_THREADS_MAX];
	double *lat = calloc((size_t)nthreads * per_thread, sizeof(double));
	unsigned started = 0;
	uint64_t t0, wall, cpu = 0;
	size_t total = (size_t)nthreads * per_thread;
	int r = 0;

	if (!lat)
		return -ENOMEM;
	t0 = now_ns();
	for (unsigned i = 0; i < nthreads; i++) {
		w[i] =
		    (struct hsm_worker){.h = h,
					.blob = blob,
					.blob_len = blob_len,
					.point = point,
					.expect = expect,
					.n = per_thread,
					.lat_us = lat + (size_t)i * per_thread};
		if (pthread_create(&w[i].tid, NULL, hsm_worker_run, &w[i])) {
			r = -EAGAIN;
			break;
		}
		started++;
	}
	for (unsigned i = 0; i < started; i++) {
		pthread_join(w[i].tid, NULL);
		cpu += w[i].cpu_ns;
		if (w[i].err < 0 && r == 0)
			r = w[i].err;
	}
	wall = now_ns() - t0;
	if (r == 0)
		printf("  %7u %7zu %10.0f %9.1f us %9.1f us %9.1f us\n",
		       nthreads, total, (double)total / ((double)wall / 1e9),
		       pctl(lat, total, 50), pctl(lat, total, 99),
		       (double)cpu / 1e3 / (double)total);
	free(lat);
	return r;
}

static int bench_hsm(const struct bench_opts *o)
{
	static const uint8_t msg[] = "vault_bench point";
	struct hsm *h = NULL;
	uint8_t blob[HSM_BLOB_MAX], point[HSM_POINT_LEN];
	uint8_t expect[HSM_SECRET_LEN];
	size_t blob_len = 0;
	int r;

	r = hsm_open(o->module, o->label, o->pin_file, BENCH_HSM_THREADS_MAX,
		     &h);
	if (r < 0) {
		fprintf(stderr, "vault_bench: hsm_open '%s': %s\n", o->label,
			strerror(-r));
		goto out;
	}
	r = hsm_load_keys(h);
	if (r < 0) {
		fprintf(stderr,
			"vault_bench: hsm keys (run vaultsrv init "
			"first): %s\n",
			strerror(-r));
		goto out;
	}
	r = hsm_oprf_keygen(h, blob, &blob_len);
	if (r < 0)
		goto out;
	r = oprf_hash_to_curve(msg, sizeof(msg) - 1, (const uint8_t *)OPRF_DST,
			       strlen(OPRF_DST), point);
	if (r < 0)
		goto out;
	r = hsm_oprf_evaluate(h, blob, blob_len, point, expect);
	if (r < 0)
		goto out;
	printf("(b) HSM per evaluation: unwrap (AES-KWP) + ECDH1_DERIVE + "
	       "read x + destroy\n    (vaultsrv hsm_oprf_evaluate, SoftHSM, "
	       "%zu-byte blob)\n",
	       blob_len);
	printf("  %7s %7s %10s %12s %12s %12s\n", "threads", "evals", "evals/s",
	       "p50", "p99", "cpu/eval");
	r = bench_hsm_round(h, blob, blob_len, point, expect, 1, o->hsm_evals);
	if (r < 0)
		goto out;
	r = bench_hsm_round(h, blob, blob_len, point, expect, 2,
			    o->hsm_evals / 2);
	if (r < 0)
		goto out;
	printf("\n");
	r = 0;
out:
	if (r < 0)
		fprintf(stderr, "vault_bench: HSM part failed: %s\n",
			strerror(-r));
	sodium_memzero(expect, sizeof(expect));
	hsm_free(h);
	return r;
}

/* ---- (a) recover over HTTP ---------------------------------------------- */

static void *client_run(void *arg)
{
	struct bench_client *c = arg;
	struct bench_run *run = c->run;
	const struct bench_opts *o = run->o;
	struct vc_client *vc = NULL;
	struct vc_store_key sk;
	uint8_t *got = sodium_malloc(VC_KEY_LEN);
	int r, left;

	if (!got) {
		r = -ENOMEM;
		goto ready;
	}
	r = vc_client_new(&o->url, 1, NULL, &vc);
	if (r < 0)
		goto ready;
	r = vc_set_token(vc, c->token);
	if (r < 0)
		goto ready;
	r = vc_set_argon(vc, o->reg_ops, o->reg_mem);
	if (r < 0)
		goto ready;
	memcpy(sk.store_id, c->store_id, sizeof(sk.store_id));
	sk.key = c->key;
	r = vc_register(vc, c->account, (const uint8_t *)c->pw, strlen(c->pw),
			&sk, 1);
ready:
	if (r < 0) {
		c->err = r;
		atomic_store(&run->stop, 1);
	}
	/* Everybody registered (or failed): the clock starts for all. */
	pthread_mutex_lock(&run->lock);
	run->ready++;
	pthread_cond_broadcast(&run->cond);
	while (!run->go)
		pthread_cond_wait(&run->cond, &run->lock);
	pthread_mutex_unlock(&run->lock);
	if (c->err < 0)
		goto out;
	for (;;) {
		unsigned t, slot;
		uint64_t t0, h0, c0;
		double e2e, http;

		if (atomic_load(&run->stop))
			break;
		t = atomic_fetch_add(&run->next, 1);
		if (t >= o->recoveries)
			break;
		if (now_ns() > run->deadline_ns) {
			atomic_store(&run->stop, 1);
			break;
		}
		h0 = bench_http_ns;
		c0 = bench_http_calls;
		t0 = now_ns();
		r = vc_recover(vc, c->account, c->store_id,
			       (const uint8_t *)c->pw, strlen(c->pw), got,
			       &left);
		e2e = (double)(now_ns() - t0) / 1e6;
		http = (double)(bench_http_ns - h0) / 1e6;
		c->http_calls += bench_http_calls - c0;
		if (r < 0) {
			c->err = r;
			atomic_store(&run->stop, 1);
			break;
		}
		if (sodium_memcmp(got, c->key, VC_KEY_LEN) != 0) {
			c->err = -EIO;
			atomic_store(&run->stop, 1);
			break;
		}
		/* Slots [0, completed) are dense, whichever tickets a
		 * deadline left unused; completed <= tickets taken. */
		slot = atomic_fetch_add(&run->completed, 1);
		run->e2e_ms[slot] = e2e;
		run->http_ms[slot] = http;
		c->done++;
	}
out:
	if (got)
		sodium_free(got);
	vc_client_free(vc);
	return NULL;
}

/* Reads "account token" lines into c[0..o->clients). */
static int load_tokens(const struct bench_opts *o, struct bench_client *c)
{
	FILE *f = fopen(o->tokens_file, "re");
	char *line = NULL;
	unsigned n = 0;
	int r;

	if (!f) {
		r = -errno;
		goto out;
	}
	line = sodium_malloc(BENCH_TOKEN_MAX + VC_ACCOUNT_MAX + 4);
	if (!line) {
		r = -ENOMEM;
		goto out;
	}
	while (n < o->clients &&
	       fgets(line, BENCH_TOKEN_MAX + VC_ACCOUNT_MAX + 4, f)) {
		char *sp = strchr(line, ' '), *nl;
		size_t alen, tlen;

		nl = strchr(line, '\n');
		if (!nl || !sp || sp == line) {
			r = -EINVAL;
			goto out;
		}
		*nl = '\0';
		alen = (size_t)(sp - line);
		tlen = strlen(sp + 1);
		if (alen > VC_ACCOUNT_MAX || tlen == 0 ||
		    tlen >= BENCH_TOKEN_MAX) {
			r = -EINVAL;
			goto out;
		}
		memcpy(c[n].account, line, alen);
		c[n].account[alen] = '\0';
		c[n].token = sodium_malloc(tlen + 1);
		if (!c[n].token) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(c[n].token, sp + 1, tlen + 1);
		n++;
	}
	r = n == o->clients ? 0 : -ENODATA;
out:
	if (line)
		sodium_free(line); /* wipes */
	if (f)
		fclose(f);
	return r;
}

static int bench_recover(const struct bench_opts *o)
{
	struct bench_client *c = calloc(o->clients, sizeof(*c));
	struct bench_run run = {.o = o};
	double *client_ms = NULL;
	double cpu_srv0 = -1, cpu_srv1 = -1, cpu_self0, cpu_self1;
	unsigned started = 0, n;
	uint64_t t0 = 0, wall, calls = 0;
	int r, gate = 0;

	run.e2e_ms = calloc(o->recoveries, sizeof(double));
	run.http_ms = calloc(o->recoveries, sizeof(double));
	client_ms = calloc(o->recoveries, sizeof(double));
	if (!c || !run.e2e_ms || !run.http_ms || !client_ms) {
		r = -ENOMEM;
		goto out;
	}
	r = load_tokens(o, c);
	if (r < 0) {
		fprintf(stderr,
			"vault_bench: %s: need %u lines 'account "
			"token': %s\n",
			o->tokens_file, o->clients, strerror(-r));
		goto out;
	}
	for (unsigned i = 0; i < o->clients; i++) {
		c[i].run = &run;
		c[i].key = sodium_malloc(VC_KEY_LEN);
		if (!c[i].key) {
			r = -ENOMEM;
			goto out;
		}
		randombytes_buf(c[i].key, VC_KEY_LEN);
		randombytes_buf(c[i].store_id, sizeof(c[i].store_id));
		snprintf(c[i].pw, sizeof(c[i].pw), "bench password %u", i);
	}
	pthread_mutex_init(&run.lock, NULL);
	pthread_cond_init(&run.cond, NULL);
	gate = 1;
	atomic_init(&run.next, 0);
	atomic_init(&run.stop, 0);
	atomic_init(&run.completed, 0);
	for (unsigned i = 0; i < o->clients; i++) {
		if (pthread_create(&c[i].tid, NULL, client_run, &c[i])) {
			fprintf(stderr,
				"vault_bench: could not start client "
				"thread %u\n",
				i);
			c[i].err = -EAGAIN;
			atomic_store(&run.stop, 1);
			break;
		}
		started++;
	}
	/* Open the gate once every started client has registered. */
	pthread_mutex_lock(&run.lock);
	while (run.ready < started)
		pthread_cond_wait(&run.cond, &run.lock);
	t0 = now_ns();
	run.deadline_ns = t0 + (uint64_t)o->max_seconds * 1000000000ULL;
	run.go = 1;
	pthread_cond_broadcast(&run.cond);
	pthread_mutex_unlock(&run.lock);
	cpu_self0 = self_cpu_s();
	if (o->server_pid > 0)
		cpu_srv0 = proc_cpu_s(o->server_pid);
	for (unsigned i = 0; i < started; i++)
		pthread_join(c[i].tid, NULL);
	wall = now_ns() - t0;
	cpu_self1 = self_cpu_s();
	if (o->server_pid > 0)
		cpu_srv1 = proc_cpu_s(o->server_pid);

	r = 0;
	for (unsigned i = 0; i < o->clients; i++) {
		calls += c[i].http_calls;
		if (c[i].err < 0) {
			fprintf(stderr, "vault_bench: client %u (%s): %s\n", i,
				c[i].account, vfs_strerror(c[i].err));
			if (r == 0)
				r = c[i].err;
		}
	}
	if (r < 0)
		goto out;
	n = atomic_load(&run.completed);
	if (n < o->recoveries)
		fprintf(stderr,
			"vault_bench: stopped after %u s: %u of %u "
			"recoveries\n",
			o->max_seconds, n, o->recoveries);
	for (unsigned i = 0; i < n; i++)
		client_ms[i] = run.e2e_ms[i] - run.http_ms[i];

	printf("(a) vc_recover over HTTP (recover/start + recover/finish), "
	       "%u clients\n    (own vc_client and account each; Argon2id "
	       "ops=%" PRIu32 " mem=%" PRIu64 " MiB)\n",
	       o->clients, o->reg_ops, o->reg_mem >> 20);
	printf("  %-40s %u in %.2f s = %.2f /s\n", "recoveries", n,
	       (double)wall / 1e9, (double)n / ((double)wall / 1e9));
	printf("  %-40s %.2f per recovery\n", "HTTP requests",
	       n ? (double)calls / n : 0.0);
	printf("  %-40s %10s %10s %10s\n", "latency per recovery", "p50", "p99",
	       "mean");
	printf("  %-40s %7.1f ms %7.1f ms %7.1f ms\n",
	       "end to end (vc_recover)", pctl(run.e2e_ms, n, 50),
	       pctl(run.e2e_ms, n, 99), mean(run.e2e_ms, n));
	printf("  %-40s %7.1f ms %7.1f ms %7.1f ms\n",
	       "inside HTTP round trips (server part)",
	       pctl(run.http_ms, n, 50), pctl(run.http_ms, n, 99),
	       mean(run.http_ms, n));
	printf("  %-40s %7.1f ms %7.1f ms %7.1f ms\n",
	       "outside them (client: OPRF, Argon2id)", pctl(client_ms, n, 50),
	       pctl(client_ms, n, 99), mean(client_ms, n));
	if (n && cpu_srv0 >= 0 && cpu_srv1 > cpu_srv0) {
		double per = (cpu_srv1 - cpu_srv0) / n;
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		printf("  %-40s %7.2f ms per recovery (%.0f%% of one core)\n",
		       "vaultsrv CPU time (/proc)", per * 1e3,
		       100.0 * (cpu_srv1 - cpu_srv0) / ((double)wall / 1e9));
		printf("  %-40s %7.0f recoveries/s (%ld CPUs / CPU per "
		       "recovery)\n",
		       "=> ceiling if vaultsrv had all CPUs",
		       (double)(ncpu > 0 ? ncpu : 1) / per,
		       ncpu > 0 ? ncpu : 1);
	}
	if (n && cpu_self0 >= 0 && cpu_self1 >= 0)
		printf("  %-40s %7.2f ms per recovery (%.0f%% of one core)\n",
		       "client CPU time (this process)",
		       (cpu_self1 - cpu_self0) * 1e3 / n,
		       100.0 * (cpu_self1 - cpu_self0) / ((double)wall / 1e9));
	printf("\n");
	r = n > 0 ? 0 : -EIO;
out:
	if (gate) {
		pthread_mutex_destroy(&run.lock);
		pthread_cond_destroy(&run.cond);
	}
	if (c) {
		for (unsigned i = 0; i < o->clients; i++) {
			if (c[i].token)
				sodium_free(c[i].token);
			if (c[i].key)
				sodium_free(c[i].key);
			sodium_memzero(c[i].pw, sizeof(c[i].pw));
		}
		free(c);
	}
	free(run.e2e_ms);
	free(run.http_ms);
	free(client_ms);
	return r;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vault_bench --url URL --tokens FILE --pkcs11-module SO\n"
	    "         --token-label LABEL --pin-file FILE [--server-pid PID]\n"
	    "         [--clients N] [--recoveries N] [--max-seconds S]\n"
	    "         [--hsm-evals N] [--oprf-iters N] [--argon-iters N]\n"
	    "         [--argon-ops N] [--argon-mem BYTES] [--skip PARTS]\n"
	    "FILE holds N lines 'account token' (tokens of that vault).\n"
	    "PARTS: any of a, b, c (parts to leave out).\n"
	    "Normally run through contrib/bench/vault-bench.sh.\n");
}

static int parse_uint(const char *s, unsigned long long max,
		      unsigned long long *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"tokens", required_argument, NULL, 't'},
	    {"pkcs11-module", required_argument, NULL, 'm'},
	    {"token-label", required_argument, NULL, 'l'},
	    {"pin-file", required_argument, NULL, 'p'},
	    {"server-pid", required_argument, NULL, 'P'},
	    {"clients", required_argument, NULL, 'c'},
	    {"recoveries", required_argument, NULL, 'n'},
	    {"max-seconds", required_argument, NULL, 's'},
	    {"hsm-evals", required_argument, NULL, 'e'},
	    {"oprf-iters", required_argument, NULL, 'o'},
	    {"argon-iters", required_argument, NULL, 'a'},
	    {"argon-ops", required_argument, NULL, 'O'},
	    {"argon-mem", required_argument, NULL, 'M'},
	    {"skip", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct bench_opts o = {
	    .clients = 16,
	    .recoveries = 320,
	    .max_seconds = 300,
	    .hsm_evals = 4000,
	    .oprf_iters = 500,
	    .argon_iters = 10,
	    .reg_ops = VCRYPTO_ARGON_OPS_DEFAULT,
	    .reg_mem = VCRYPTO_ARGON_MEM_DEFAULT,
	};
	const char *skip = "";
	int ch, r;

	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		unsigned long long v = 0;

		switch (ch) {
		case 'u':
			o.url = optarg;
			continue;
		case 't':
			o.tokens_file = optarg;
			continue;
		case 'm':
			o.module = optarg;
			continue;
		case 'l':
			o.label = optarg;
			continue;
		case 'p':
			o.pin_file = optarg;
			continue;
		case 'S':
			skip = optarg;
			continue;
		case 'h':
			usage(stdout);
			return 0;
		case 'P':
		case 'c':
		case 'n':
		case 's':
		case 'e':
		case 'o':
		case 'a':
		case 'O':
		case 'M':
			if (parse_uint(optarg, 1ULL << 30, &v) < 0 ||
			    (v == 0 && ch != 'P')) {
				fprintf(stderr,
					"vault_bench: bad number "
					"'%s'\n",
					optarg);
				return 2;
			}
			break;
		default:
			usage(stderr);
			return 2;
		}
		switch (ch) {
		case 'P':
			o.server_pid = (long)v;
			break;
		case 'c':
			o.clients = (unsigned)v;
			break;
		case 'n':
			o.recoveries = (unsigned)v;
			break;
		case 's':
			o.max_seconds = (unsigned)v;
			break;
		case 'e':
			o.hsm_evals = (unsigned)v < 2 ? 2 : (unsigned)v;
			break;
		case 'o':
			o.oprf_iters = (unsigned)v;
			break;
		case 'a':
			o.argon_iters = (unsigned)v;
			break;
		case 'O':
			o.reg_ops = (uint32_t)v;
			break;
		case 'M':
			o.reg_mem = v;
			break;
		}
	}
	if (optind != argc || o.clients > BENCH_CLIENTS_MAX ||
	    (!strchr(skip, 'a') && (!o.url || !o.tokens_file)) ||
	    (!strchr(skip, 'b') && (!o.module || !o.label || !o.pin_file))) {
		usage(stderr);
		return 2;
	}
	if (vcrypto_argon_check(o.reg_ops, o.reg_mem) < 0) {
		fprintf(stderr, "vault_bench: Argon2id parameters out of "
				"bounds (ops 2..10, mem 32 MiB..1 GiB)\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "vault_bench: sodium_init failed\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	r = 0;
	if (!strchr(skip, 'c') && r == 0)
		r = bench_client_cost(&o);
	if (!strchr(skip, 'b') && r == 0)
		r = bench_hsm(&o);
	if (!strchr(skip, 'a') && r == 0)
		r = bench_recover(&o);
	if (r < 0) {
		fprintf(stderr, "vault_bench: failed: %s\n", vfs_strerror(r));
		return 1;
	}
	return 0;
}
