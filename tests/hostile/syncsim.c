/*
 * syncsim.c - a hostile or clumsy sync client between two cloud folders
 * (test only, never installed; docs/testing.md "Hostile sync").
 *
 * One invocation is one sync pass from SRC (the writer's cloud folder) to
 * DST (another device's copy). It delivers every object of SRC that DST
 * lacks or holds with other bytes, in a chosen order, and optionally:
 *   - in two steps: a truncated prefix written in place under the final
 *     name, completed only after the rest of the pass (--partial PCT);
 *   - re-delivers stale copies: an older version of a replaced object
 *     (the lease, the header) or a segment the writer has deleted, kept in
 *     a stash folder from earlier passes (--stale PCT, --stash DIR);
 *   - creates conflict copies "x (1).seg", "x (conflicted copy ...)"
 *     next to delivered objects (--conflict PCT);
 *   - pauses between deliveries (--delay-ms MAX);
 *   - propagates deletions (unless --no-delete), before or after the new
 *     objects (--delete-first).
 * Temporary objects of the writer (".tmp-*") are never copied; the
 * lease is copied like any object (a sync client does not know better).
 *
 * Every action is printed on stdout, one line each ("deliver NAME SIZE",
 * "partial NAME LEN/SIZE", "complete NAME", "stale NAME", "resurrect NAME",
 * "conflict NAME", "delete NAME"), then a summary line. Exit 0, 1 on an
 * I/O error of its own, 2 on usage.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SIM_MAX_OBJ (64u << 20) /* larger than any object vaultfs writes */

struct obj {
	char name[PATH_MAX];	/* relative to the folder */
	uint8_t *data;
	size_t len;
	size_t part;		/* bytes delivered so far (partial) */
};

struct objv {
	struct obj *v;
	size_t n, cap;
};

static struct {
	const char *src, *dst, *stash;
	unsigned partial, stale, conflict, delay_ms;
	int no_delete, delete_first;
	enum { ORDER_RANDOM, ORDER_REVERSE, ORDER_FORWARD } order;
	uint64_t rng;
} opt = {.order = ORDER_RANDOM};

static unsigned long n_deliver, n_partial, n_stale, n_conflict, n_delete;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from --seed */
	opt.rng ^= opt.rng >> 12;
	opt.rng ^= opt.rng << 25;
	opt.rng ^= opt.rng >> 27;
	return opt.rng * 2685821657736338717ULL;
}

static int chance(unsigned pct)
{
	return pct && rnd() % 100 < pct;
}

static void pause_random(void)
{
	struct timespec ts;
	unsigned ms;

	if (!opt.delay_ms)
		return;
	ms = (unsigned)(rnd() % (opt.delay_ms + 1));
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

static void die(const char *what, const char *name)
{
	fprintf(stderr, "syncsim: %s '%s': %s\n", what, name, strerror(errno));
	exit(1);
}

static int read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > SIM_MAX_OBJ) {
		close(fd);
		return -EINVAL;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) /* shrank under us: take what is there */
			break;
		got += (size_t)n;
	}
	close(fd);
	*ret = buf;
	*ret_len = got;
	return 0;
}

static void objv_push(struct objv *a, const char *name, uint8_t *data,
		      size_t len)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = realloc(a->v, a->cap * sizeof(*a->v));
		if (!a->v)
			die("out of memory", name);
	}
	memset(&a->v[a->n], 0, sizeof(a->v[a->n]));
	snprintf(a->v[a->n].name, sizeof(a->v[a->n].name), "%s", name);
	a->v[a->n].data = data;
	a->v[a->n].len = len;
	a->n++;
}

/* Collects the regular files below root/rel (relative names). */
static void scan(const char *root, const char *rel, struct objv *out,
		 int with_data)
{
	char path[PATH_MAX * 2], sub[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s%s%s", root, *rel ? "/" : "", rel);
	d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			return;
		die("cannot list", path);
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* the writer's temporaries and our own */
		if (!strncmp(de->d_name, ".tmp-", 5) ||
		    !strncmp(de->d_name, ".syncsim-", 9))
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
			 de->d_name);
		snprintf(path, sizeof(path), "%s/%s", root, sub);
		if (lstat(path, &st) < 0)
			continue; /* removed meanwhile */
		if (S_ISDIR(st.st_mode)) {
			scan(root, sub, out, with_data);
		} else if (S_ISREG(st.st_mode)) {
			uint8_t *data = NULL;
			size_t len = 0;

			if (with_data && read_file(path, &data, &len) < 0)
				continue;
			objv_push(out, sub, data, len);
		}
	}
	closedir(d);
}

static struct obj *find(struct objv *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->v[i].name, name))
			return &a->v[i];
	return NULL;
}

static void make_parents(const char *root, const char *name)
{
	char path[PATH_MAX * 2];
	char *p;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			die("cannot create folder", path);
		*p = '/';
	}
}

static void write_at(int fd, const uint8_t *p, size_t len, const char *name)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("cannot write", name);
		p += n;
		len -= (size_t)n;
	}
}

/* Whole object under its final name, atomically (temp + rename). */
static void put_atomic(const char *root, const char *name, const uint8_t *p,
		       size_t len)
{
	char path[PATH_MAX * 2], tmp[PATH_MAX * 2];
	const char *slash = strrchr(name, '/');
	int fd;

	make_parents(root, name);
	snprintf(path, sizeof(path), "%s/%s", root, name);
	snprintf(tmp, sizeof(tmp), "%s/%.*s%s.syncsim-%d", root,
		 slash ? (int)(slash - name + 1) : 0, name, "", (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("cannot create", tmp);
	write_at(fd, p, len, tmp);
	close(fd);
	if (rename(tmp, path) < 0)
		die("cannot rename to", path);
}

/* The first part bytes under the final name, written in place. */
static void put_prefix(const char *root, const char *name, const uint8_t *p,
		       size_t part, int append_from)
{
	char path[PATH_MAX * 2];
	int fd;

	make_parents(root, name);
	snprintf(path, sizeof(path), "%s/%s", root, name);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC |
			    (append_from ? O_APPEND : O_TRUNC), 0600);
	if (fd < 0)
		die("cannot open", path);
	write_at(fd, p, part, path);
	close(fd);
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ *p++) * 1099511628211ULL;
	return h;
}

/* Stash names: the object name with '/' as '%', '@', size, hash. */
static void stash_put(const struct obj *o)
{
	char flat[PATH_MAX], sname[PATH_MAX + 64];
	char path[PATH_MAX * 2];
	struct stat st;

	if (!opt.stash)
		return;
	snprintf(flat, sizeof(flat), "%s", o->name);
	for (char *p = flat; *p; p++)
		if (*p == '/')
			*p = '%';
	snprintf(sname, sizeof(sname), "%s@%zu-%016" PRIx64, flat, o->len,
		 fnv(o->data, o->len));
	snprintf(path, sizeof(path), "%s/%s", opt.stash, sname);
	if (stat(path, &st) == 0)
		return;
	put_atomic(opt.stash, sname, o->data, o->len);
}

/*
 * Re-delivers one stash entry that is not SRC's current version of its
 * object: an older lease or header, or a segment the writer removed.
 */
static void stale_one(struct objv *src)
{
	struct objv st = {0};
	char name[PATH_MAX], *at;
	struct obj *cur;
	size_t i, k;

	scan(opt.stash, "", &st, 0);
	if (st.n == 0)
		goto out;
	k = (size_t)(rnd() % st.n);
	for (i = 0; i < st.n; i++) {
		struct obj *e = &st.v[(k + i) % st.n];
		char path[PATH_MAX * 2];
		uint8_t *data;
		size_t len;

		snprintf(name, sizeof(name), "%s", e->name);
		at = strrchr(name, '@');
		if (!at)
			continue;
		*at = '\0';
		for (char *p = name; *p; p++)
			if (*p == '%')
				*p = '/';
		snprintf(path, sizeof(path), "%s/%s", opt.stash, e->name);
		if (read_file(path, &data, &len) < 0)
			continue;
		cur = find(src, name);
		if (cur && cur->len == len && !memcmp(cur->data, data, len)) {
			free(data);
			continue;
		}
		put_atomic(opt.dst, name, data, len);
		printf("%s %s %zu\n", cur ? "stale" : "resurrect", name, len);
		n_stale++;
		free(data);
		break;
	}
out:
	for (i = 0; i < st.n; i++)
		free(st.v[i].data);
	free(st.v);
}

static void conflict_one(const struct obj *o)
{
	static const char *const forms[] = {
	    " (1)", " (conflicted copy 2026-11-29 laptop)", " (Case Conflict)",
	    "-conflict-20261129"};
	char name[PATH_MAX + 64];
	const char *dot = strrchr(o->name, '.');
	const char *slash = strrchr(o->name, '/');

	if (!dot || (slash && dot < slash))
		dot = o->name + strlen(o->name);
	snprintf(name, sizeof(name), "%.*s%s%s", (int)(dot - o->name),
		 o->name, forms[rnd() % 4], dot);
	put_atomic(opt.dst, name, o->data, o->len);
	printf("conflict %s\n", name);
	n_conflict++;
}

static void deletions(struct objv *src)
{
	struct objv dst = {0};
	char path[PATH_MAX * 2];

	scan(opt.dst, "", &dst, 0);
	for (size_t i = 0; i < dst.n; i++) {
		const char *n = dst.v[i].name;

		if (find(src, n))
			continue;
		/* only the writer's own kinds of names: debris stays */
		if (strstr(n, " (") || strstr(n, "-conflict-"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", opt.dst, n);
		if (unlink(path) == 0) {
			printf("delete %s\n", n);
			n_delete++;
		}
	}
	free(dst.v);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct obj *)a)->name,
		      ((const struct obj *)b)->name);
}

static void usage(void)
{
	fputs("usage: syncsim [--seed N] [--order random|reverse|forward]\n"
	      "               [--partial PCT] [--stale PCT --stash DIR]\n"
	      "               [--conflict PCT] [--delay-ms MAX]\n"
	      "               [--no-delete] [--delete-first] SRC DST\n",
	      stderr);
	exit(2);
}

static unsigned pct_arg(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end || v > 100000)
		usage();
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	struct objv src = {0}, todo = {0};
	int i;

	opt.rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--no-delete")) {
			opt.no_delete = 1;
			continue;
		}
		if (!strcmp(a, "--delete-first")) {
			opt.delete_first = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(a, "--seed"))
			opt.rng = strtoull(argv[++i], NULL, 10) * 0x9e3779b97f4a7c15ULL + 1;
		else if (!strcmp(a, "--order")) {
			const char *o = argv[++i];

			if (!strcmp(o, "random"))
				opt.order = ORDER_RANDOM;
			else if (!strcmp(o, "reverse"))
				opt.order = ORDER_REVERSE;
			else if (!strcmp(o, "forward"))
				opt.order = ORDER_FORWARD;
			else
				usage();
		} else if (!strcmp(a, "--partial"))
			opt.partial = pct_arg(argv[++i]);
		else if (!strcmp(a, "--stale"))
			opt.stale = pct_arg(argv[++i]);
		else if (!strcmp(a, "--conflict"))
			opt.conflict = pct_arg(argv[++i]);
		else if (!strcmp(a, "--delay-ms"))
			opt.delay_ms = pct_arg(argv[++i]);
		else if (!strcmp(a, "--stash"))
			opt.stash = argv[++i];
		else
			usage();
	}
	if (argc - i != 2 || (opt.stale && !opt.stash))
		usage();
	opt.src = argv[i];
	opt.dst = argv[i + 1];
	if (opt.rng == 0)
		opt.rng = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);

	scan(opt.src, "", &src, 1);
	if (opt.delete_first && !opt.no_delete)
		deletions(&src);
	for (size_t k = 0; k < src.n; k++) {
		struct obj *o = &src.v[k];
		char path[PATH_MAX * 2];
		uint8_t *have;
		size_t hlen;

		stash_put(o);
		snprintf(path, sizeof(path), "%s/%s", opt.dst, o->name);
		if (read_file(path, &have, &hlen) == 0) {
			int same = hlen == o->len &&
				   (o->len == 0 ||
				    !memcmp(have, o->data, o->len));

			free(have);
			if (same)
				continue;
		}
		objv_push(&todo, o->name, o->data, o->len);
	}
	if (todo.n > 1) /* (qsort of NULL, 0 is undefined) */
		qsort(todo.v, todo.n, sizeof(*todo.v), cmp_name);
	if (opt.order == ORDER_REVERSE) {
		/* the newest segment (a commit: the root) before what it
		 * refers to; the header and lease last */
		for (size_t a = 0, b = todo.n ? todo.n - 1 : 0; a < b; a++, b--) {
			struct obj t = todo.v[a];

			todo.v[a] = todo.v[b];
			todo.v[b] = t;
		}
	} else if (opt.order == ORDER_RANDOM) {
		for (size_t k = todo.n; k > 1; k--) {
			size_t j = (size_t)(rnd() % k);
			struct obj t = todo.v[k - 1];

			todo.v[k - 1] = todo.v[j];
			todo.v[j] = t;
		}
	}
	for (size_t k = 0; k < todo.n; k++) {
		struct obj *o = &todo.v[k];

		if (o->len > 1 && chance(opt.partial)) {
			o->part = 1 + (size_t)(rnd() % (o->len - 1));
			put_prefix(opt.dst, o->name, o->data, o->part, 0);
			printf("partial %s %zu/%zu\n", o->name, o->part, o->len);
			n_partial++;
		} else {
			put_atomic(opt.dst, o->name, o->data, o->len);
			o->part = o->len;
			printf("deliver %s %zu\n", o->name, o->len);
		}
		n_deliver++;
		if (chance(opt.conflict))
			conflict_one(o);
		if (chance(opt.stale))
			stale_one(&src);
		pause_random();
	}
	/* complete the partial objects, in another random order */
	for (size_t k = todo.n; k > 1; k--) {
		size_t j = (size_t)(rnd() % k);
		struct obj t = todo.v[k - 1];

		todo.v[k - 1] = todo.v[j];
		todo.v[j] = t;
	}
	for (size_t k = 0; k < todo.n; k++) {
		struct obj *o = &todo.v[k];

		if (o->part == o->len)
			continue;
		put_prefix(opt.dst, o->name, o->data + o->part,
			   o->len - o->part, 1);
		printf("complete %s %zu\n", o->name, o->len);
		pause_random();
	}
	if (!opt.delete_first && !opt.no_delete)
		deletions(&src);
	printf("syncsim: %lu delivered (%lu in two steps), %lu stale, "
	       "%lu conflict copies, %lu deleted\n",
	       n_deliver, n_partial, n_stale, n_conflict, n_delete);
	for (size_t k = 0; k < src.n; k++)
		free(src.v[k].data);
	free(src.v);
	free(todo.v);
	return 0;
}
