/*
 * crashtool.c - builds the crash states of a recorded run and fingerprints
 * file trees (test only; docs/testing.md, "Crash-state enumeration").
 *
 *   crashtool manifest DIR
 *	One line per entry below DIR, sorted: type, mode, owner, size, links
 *	and SHA-256 of files, link targets. A file whose name ends in ".db"
 *	is opened with SQLite (which rolls back a hot journal, as the next
 *	user of the database would) and fingerprinted by its integrity check
 *	and its rows; "-journal", "-wal" and "-shm" files are left out. Two
 *	trees hold the same data iff their manifests are equal.
 *
 *   crashtool gen LOG INIT [--variants N] [--seed S] [--max M]
 *	Reads the log written by crashrec.so (and the test's marks) and the
 *	folders as they were when recording began (INIT/0, INIT/1, ...), and
 *	prints one line per distinct crash state: "C V L U", where C is the
 *	number of operations issued before the power cut, V the variant (0:
 *	everything issued reached the disk; 1: only what a completed fsync
 *	forced; 2..: seeded random drops, reorders and torn writes of what
 *	was not forced), and L..U the workload steps whose states the crash
 *	state may show (L: the last step whose fsync on the mount returned;
 *	U: the last step begun). A summary goes to stderr.
 *
 *   crashtool dump LOG INIT
 *	Lists the operations of the log, when each became durable, and the
 *	marks.
 *
 *   crashtool make LOG INIT C V SEED DEST
 *	Writes that crash state into DEST/0, DEST/1, ... (DEST must not
 *	exist).
 *
 * The persistence model (strict POSIX, no file-system specific ordering):
 * a write or truncate is durable once the file was fsync-ed after it; a
 * create, mkdir, rename, link, unlink or rmdir once the folder it changes
 * was fsync-ed after it (sync/syncfs: everything). Anything else issued
 * before the cut may or may not have reached the disk, in any order, and
 * a write may be torn into 512-byte sectors. A name change that survives
 * implies the one that created its source survived (journalled metadata).
 * Entries whose folder's own entry did not survive are unreachable.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#define SECTOR 512

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "crashtool: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(99);
}

static void *xcalloc(size_t n, size_t s)
{
	void *p = calloc(n ? n : 1, s ? s : 1);

	if (!p)
		die("%s", "out of memory");
	return p;
}

static void *xrealloc(void *p, size_t s)
{
	p = realloc(p, s ? s : 1);
	if (!p)
		die("%s", "out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("%s", "out of memory");
	return p;
}

/* ---------------------------------------------------------------- manifest */

struct strv {
	char **v;
	size_t n, cap;
};

static void strv_push(struct strv *a, char *s)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && !strcmp(s + n - m, suf);
}

static void walk(const char *top, const char *rel, struct strv *out)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s%s%s", top, rel[0] ? "/" : "", rel);
	d = opendir(path);
	if (!d)
		die("cannot list '%s'", path);
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s%s%s", rel,
			     rel[0] ? "/" : "", de->d_name) >= (int)sizeof(sub) ||
		    snprintf(path, sizeof(path), "%s/%s", top, sub) >=
			(int)sizeof(path))
			die("path too long below '%s'", top);
		strv_push(out, xstrdup(sub));
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			walk(top, sub, out);
	}
	closedir(d);
}

static void sha256_file(const char *path, char hex[65])
{
	crypto_hash_sha256_state st;
	unsigned char h[32], buf[65536];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(hex, 65, "unreadable:%d", errno);
		return;
	}
	crypto_hash_sha256_init(&st);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crypto_hash_sha256_update(&st, buf, (size_t)n);
	if (n < 0) {
		snprintf(hex, 65, "readerror:%d", errno);
		close(fd);
		return;
	}
	close(fd);
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

/*
 * "sqlite ok tables=T rows=N HASH" or "sqlite error MSG" for a database
 * file, into out. Returns 1 for a database without tables: SQLite makes
 * one of those when it creates the file, before its first transaction
 * commits, and treats it as no database at all, so the manifest does too.
 */
static int sqlite_print(const char *path, char *out, size_t size)
{
	crypto_hash_sha256_state st;
	sqlite3_stmt *q = NULL, *t = NULL;
	struct strv tables = {0};
	unsigned char h[32];
	char hex[65], check[256] = "";
	uint64_t rows = 0;
	sqlite3 *db = NULL;
	int r, ret = 0;

	r = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (r != SQLITE_OK)
		goto bad;
	sqlite3_busy_timeout(db, 5000);
	r = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL);
	if (r != SQLITE_OK)
		goto bad;
	while ((r = sqlite3_step(q)) == SQLITE_ROW)
		snprintf(check + strlen(check), sizeof(check) - strlen(check),
			 "%s%s", check[0] ? "," : "",
			 (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	q = NULL;
	if (r != SQLITE_DONE)
		goto bad;
	r = sqlite3_prepare_v2(db,
			       "SELECT name FROM sqlite_master WHERE "
			       "type = 'table' ORDER BY name",
			       -1, &q, NULL);
	if (r != SQLITE_OK)
		goto bad;
	while ((r = sqlite3_step(q)) == SQLITE_ROW)
		strv_push(&tables,
			  xstrdup((const char *)sqlite3_column_text(q, 0)));
	if (r != SQLITE_DONE)
		goto bad;
	crypto_hash_sha256_init(&st);
	for (size_t i = 0; i < tables.n; i++) {
		char *sql = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY "
					    "rowid",
					    tables.v[i]);

		crypto_hash_sha256_update(&st, (const unsigned char *)tables.v[i],
					  strlen(tables.v[i]) + 1);
		r = sqlite3_prepare_v2(db, sql, -1, &t, NULL);
		sqlite3_free(sql);
		if (r != SQLITE_OK)
			goto bad;
		while ((r = sqlite3_step(t)) == SQLITE_ROW) {
			rows++;
			for (int c = 0; c < sqlite3_column_count(t); c++) {
				const unsigned char *v =
				    sqlite3_column_text(t, c);

				crypto_hash_sha256_update(
				    &st, v ? v : (const unsigned char *)"",
				    v ? strlen((const char *)v) + 1 : 0);
			}
			crypto_hash_sha256_update(
			    &st, (const unsigned char *)"\n", 1);
		}
		sqlite3_finalize(t);
		t = NULL;
		if (r != SQLITE_DONE)
			goto bad;
	}
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(out, size, "sqlite %s tables=%zu rows=%" PRIu64 " %s", check,
		 tables.n, rows, hex);
	ret = tables.n == 0 && !strcmp(check, "ok");
	goto out;
bad:
	snprintf(out, size, "sqlite error '%s'",
		 db ? sqlite3_errmsg(db) : "open");
out:
	sqlite3_finalize(q);
	sqlite3_finalize(t);
	sqlite3_close(db);
	for (size_t i = 0; i < tables.n; i++)
		free(tables.v[i]);
	free(tables.v);
	return ret;
}

static int cmd_manifest(const char *top)
{
	struct strv all = {0};

	walk(top, "", &all);
	if (all.n)
		qsort(all.v, all.n, sizeof(*all.v), cmp_str);
	for (size_t i = 0; i < all.n; i++) {
		const char *rel = all.v[i];
		char path[PATH_MAX], hex[65], lnk[PATH_MAX], sq[512];
		struct stat st;
		ssize_t n;

		if (ends_with(rel, "-journal") || ends_with(rel, "-wal") ||
		    ends_with(rel, "-shm"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", top, rel);
		if (lstat(path, &st) < 0) {
			printf("%s gone\n", rel);
			continue;
		}
		if (S_ISREG(st.st_mode) && ends_with(rel, ".db") &&
		    sqlite_print(path, sq, sizeof(sq)) == 1)
			continue;
		printf("%s %o %u:%u ", rel, (unsigned)st.st_mode,
		       (unsigned)st.st_uid, (unsigned)st.st_gid);
		if (S_ISDIR(st.st_mode)) {
			printf("dir\n");
		} else if (S_ISLNK(st.st_mode)) {
			n = readlink(path, lnk, sizeof(lnk) - 1);
			lnk[n < 0 ? 0 : n] = '\0';
			printf("-> %s\n", lnk);
		} else if (S_ISREG(st.st_mode) && ends_with(rel, ".db")) {
			printf("links=%ju %s\n", (uintmax_t)st.st_nlink, sq);
		} else if (S_ISREG(st.st_mode)) {
			sha256_file(path, hex);
			printf("size=%jd links=%ju %s\n", (intmax_t)st.st_size,
			       (uintmax_t)st.st_nlink, hex);
		} else {
			printf("special\n");
		}
	}
	for (size_t i = 0; i < all.n; i++)
		free(all.v[i]);
	free(all.v);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------- the log */

enum kind { K_CREATE, K_MKDIR, K_WRITE, K_TRUNC, K_FSYNC, K_RENAME, K_LINK,
	    K_UNLINK, K_RMDIR, K_SYNC };

struct op {
	enum kind kind;
	char *p1, *p2;
	uint64_t off, len;    /* WRITE: where, how much; TRUNC: size */
	const uint8_t *data;  /* WRITE: into the mapped log */
	int ino;	      /* the inode written, fsync-ed, created, moved */
	int dir1, dir2;	      /* entry ops: folders changed (inodes) */
	int dep;	      /* entry op that made p1 (-1: none / initial) */
	size_t forced_at;     /* first barrier covering it, or SIZE_MAX */
};

struct mark {
	size_t pos; /* operations before it */
	char type;  /* B, F, S */
	long step;
};

struct inode {
	int is_dir;
	char *init_path;  /* file in INIT holding its first content */
	uint64_t init_size;
};

struct entry {
	char *path;
	int ino;
	int creator; /* op index, -1 if initial */
};

struct model {
	struct entry *e;
	size_t n, cap;
};

struct rec {
	struct op *ops;
	size_t nops, cap;
	struct mark *marks;
	size_t nmarks, mcap;
	struct inode *inodes;
	size_t ninodes, icap;
	struct model init; /* entries when recording began */
	const char *initdir;
};

static int new_inode(struct rec *r, int is_dir, char *init_path,
		     uint64_t size)
{
	if (r->ninodes == r->icap) {
		r->icap = r->icap ? r->icap * 2 : 64;
		r->inodes = xrealloc(r->inodes, r->icap * sizeof(*r->inodes));
	}
	r->inodes[r->ninodes].is_dir = is_dir;
	r->inodes[r->ninodes].init_path = init_path;
	r->inodes[r->ninodes].init_size = size;
	return (int)r->ninodes++;
}

static ssize_t model_find(const struct model *m, const char *path)
{
	for (size_t i = m->n; i-- > 0;)
		if (!strcmp(m->e[i].path, path))
			return (ssize_t)i;
	return -1;
}

static void model_add(struct model *m, const char *path, int ino, int creator)
{
	ssize_t i = model_find(m, path);

	if (i >= 0) {
		m->e[i].ino = ino;
		m->e[i].creator = creator;
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->e = xrealloc(m->e, m->cap * sizeof(*m->e));
	}
	m->e[m->n].path = xstrdup(path);
	m->e[m->n].ino = ino;
	m->e[m->n].creator = creator;
	m->n++;
}

static void model_del_at(struct model *m, size_t i)
{
	free(m->e[i].path);
	m->e[i] = m->e[--m->n];
}

/* Removes path and everything below it. */
static void model_del(struct model *m, const char *path)
{
	size_t l = strlen(path);

	for (size_t i = m->n; i-- > 0;)
		if (!strncmp(m->e[i].path, path, l) &&
		    (m->e[i].path[l] == '\0' || m->e[i].path[l] == '/'))
			model_del_at(m, i);
}

/* Moves path (and what is below it) to dst, replacing dst. */
static void model_move(struct model *m, const char *src, const char *dst,
		       int creator)
{
	size_t l = strlen(src);

	model_del(m, dst);
	for (size_t i = 0; i < m->n; i++) {
		const char *p = m->e[i].path;
		char *np;

		if (strncmp(p, src, l) || (p[l] != '\0' && p[l] != '/'))
			continue;
		np = xcalloc(1, strlen(dst) + strlen(p + l) + 1);
		sprintf(np, "%s%s", dst, p + l);
		if (p[l] == '\0')
			m->e[i].creator = creator;
		free(m->e[i].path);
		m->e[i].path = np;
	}
}

static void model_copy(struct model *dst, const struct model *src)
{
	for (size_t i = 0; i < dst->n; i++)
		free(dst->e[i].path);
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		model_add(dst, src->e[i].path, src->e[i].ino,
			  src->e[i].creator);
}

static void model_release(struct model *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->e[i].path);
	free(m->e);
	memset(m, 0, sizeof(*m));
}

/* The folder holding path ("0/log/00/x" -> "0/log/00"); "" for a root. */
static void parent_of(const char *path, char *buf, size_t size)
{
	const char *s = strrchr(path, '/');

	if (!s) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, size, "%.*s", (int)(s - path), path);
}

static int vol_ino(struct model *vol, const char *path, const char *what)
{
	ssize_t i = model_find(vol, path);

	if (i < 0)
		die("the log names '%s', which the model does not have "
		    "(recording incomplete?)",
		    path);
	(void)what;
	return vol->e[i].ino;
}

static int vol_dir(struct model *vol, const char *path)
{
	char par[PATH_MAX];
	ssize_t i;

	parent_of(path, par, sizeof(par));
	if (!par[0])
		return -1;
	i = model_find(vol, par);
	if (i < 0)
		die("no folder for '%s' in the model", path);
	return vol->e[i].ino;
}

static void load_init(struct rec *r, const char *top, const char *rel)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	d = opendir(path);
	if (!d)
		die("cannot list '%s'", path);
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;
		int ino;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name) >=
			(int)sizeof(sub) ||
		    snprintf(path, sizeof(path), "%s/%s", top, sub) >=
			(int)sizeof(path))
			die("path too long below '%s'", top);
		if (lstat(path, &st) < 0)
			die("cannot stat '%s'", path);
		if (S_ISDIR(st.st_mode)) {
			ino = new_inode(r, 1, NULL, 0);
			model_add(&r->init, sub, ino, -1);
			load_init(r, top, sub);
		} else if (S_ISREG(st.st_mode)) {
			ino = new_inode(r, 0, xstrdup(path),
					(uint64_t)st.st_size);
			model_add(&r->init, sub, ino, -1);
		}
	}
	closedir(d);
}

static struct op *new_op(struct rec *r, enum kind k, const char *p1,
			 const char *p2)
{
	struct op *o;

	if (r->nops == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->ops = xrealloc(r->ops, r->cap * sizeof(*r->ops));
	}
	o = &r->ops[r->nops++];
	memset(o, 0, sizeof(*o));
	o->kind = k;
	o->p1 = xstrdup(p1);
	o->p2 = p2 ? xstrdup(p2) : NULL;
	o->ino = o->dir1 = o->dir2 = o->dep = -1;
	o->forced_at = SIZE_MAX;
	return o;
}

static int is_entry(enum kind k)
{
	return k == K_CREATE || k == K_MKDIR || k == K_RENAME ||
	       k == K_LINK || k == K_UNLINK || k == K_RMDIR;
}

static int is_data(enum kind k)
{
	return k == K_WRITE || k == K_TRUNC;
}

static int creator_of(struct model *vol, const char *path)
{
	ssize_t i = model_find(vol, path);

	return i < 0 ? -1 : vol->e[i].creator;
}

/* Parses the log, replaying it on the "volatile" model (what the running
 * system saw) to learn which inode every operation touched. */
static void load_log(struct rec *r, const char *logpath)
{
	struct model vol = {0};
	const uint8_t *p, *end;
	struct stat st;
	size_t nroots = 0;
	int fd;

	{
		char rp[PATH_MAX];

		for (;; nroots++) {
			struct stat rs;
			int ino;

			snprintf(rp, sizeof(rp), "%s/%zu", r->initdir, nroots);
			if (stat(rp, &rs) < 0)
				break;
			snprintf(rp, sizeof(rp), "%zu", nroots);
			ino = new_inode(r, 1, NULL, 0);
			model_add(&r->init, rp, ino, -1);
			load_init(r, r->initdir, rp);
		}
		if (nroots == 0)
			die("no INIT/0 in '%s'", r->initdir);
	}
	model_copy(&vol, &r->init);

	fd = open(logpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		die("cannot read the log '%s'", logpath);
	p = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
			      fd, 0)
		       : (const uint8_t *)"";
	if (p == MAP_FAILED)
		die("cannot map '%s'", logpath);
	close(fd);
	end = p + st.st_size;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		char line[2 * PATH_MAX + 128], a[PATH_MAX], b[PATH_MAX];
		unsigned long long x = 0, y = 0;
		char k;
		struct op *o;

		if (!nl || (size_t)(nl - p) >= sizeof(line))
			die("%s", "malformed log line");
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		p = nl + 1;
		k = line[0];
		if (k == 'M') {
			struct mark *m;
			char t;
			long step;

			if (sscanf(line, "M %c %ld", &t, &step) != 2)
				die("bad mark '%s'", line);
			if (r->nmarks == r->mcap) {
				r->mcap = r->mcap ? r->mcap * 2 : 64;
				r->marks = xrealloc(r->marks, r->mcap *
						    sizeof(*r->marks));
			}
			m = &r->marks[r->nmarks++];
			m->pos = r->nops;
			m->type = t;
			m->step = step;
			continue;
		}
		if (sscanf(line + 2, "%4095s %4095s", a, b) != 2)
			die("bad record '%s'", line);
		switch (k) {
		case 'O': {
			int flags = (int)strtol(b, NULL, 10);

			if (model_find(&vol, a) < 0) {
				if (!(flags & O_CREAT))
					die("open of unknown '%s'", a);
				o = new_op(r, K_CREATE, a, NULL);
				o->ino = new_inode(r, 0, NULL, 0);
				o->dir1 = vol_dir(&vol, a);
				model_add(&vol, a, o->ino, (int)(o - r->ops));
			} else if (flags & O_TRUNC) {
				o = new_op(r, K_TRUNC, a, NULL);
				o->ino = vol_ino(&vol, a, "trunc");
				o->len = 0;
			}
			break;
		}
		case 'W':
			if (sscanf(line + 2, "%4095s %llu %llu", a, &x, &y) != 3 ||
			    y > (unsigned long long)(end - p))
				die("bad write record '%s'", line);
			o = new_op(r, K_WRITE, a, NULL);
			o->ino = vol_ino(&vol, a, "write");
			o->off = x;
			o->len = y;
			o->data = p;
			p += y;
			break;
		case 'T':
			o = new_op(r, K_TRUNC, a, NULL);
			o->ino = vol_ino(&vol, a, "trunc");
			o->len = strtoull(b, NULL, 10);
			break;
		case 'S':
			o = new_op(r, K_FSYNC, a, NULL);
			o->ino = vol_ino(&vol, a, "fsync");
			break;
		case 'Y':
			new_op(r, K_SYNC, "-", NULL);
			break;
		case 'D':
			o = new_op(r, K_MKDIR, a, NULL);
			o->ino = new_inode(r, 1, NULL, 0);
			o->dir1 = vol_dir(&vol, a);
			model_add(&vol, a, o->ino, (int)(o - r->ops));
			break;
		case 'R':
			o = new_op(r, K_RENAME, a, b);
			o->ino = vol_ino(&vol, a, "rename");
			o->dir1 = vol_dir(&vol, a);
			o->dir2 = vol_dir(&vol, b);
			o->dep = creator_of(&vol, a);
			model_move(&vol, a, b, (int)(o - r->ops));
			break;
		case 'L':
			o = new_op(r, K_LINK, a, b);
			o->ino = vol_ino(&vol, a, "link");
			o->dir1 = vol_dir(&vol, b);
			o->dep = creator_of(&vol, a);
			model_add(&vol, b, o->ino, (int)(o - r->ops));
			break;
		case 'U':
		case 'X':
			o = new_op(r, k == 'U' ? K_UNLINK : K_RMDIR, a, NULL);
			o->ino = vol_ino(&vol, a, "unlink");
			o->dir1 = vol_dir(&vol, a);
			o->dep = creator_of(&vol, a);
			model_del(&vol, a);
			break;
		default:
			die("unknown record '%s'", line);
		}
	}
	model_release(&vol);

	/* When each operation became durable: the first later fsync of its
	 * file (data) or of a folder it changed (entries), or a sync. */
	for (size_t b = 0; b < r->nops; b++) {
		const struct op *bar = &r->ops[b];

		if (bar->kind != K_FSYNC && bar->kind != K_SYNC)
			continue;
		for (size_t i = 0; i < b; i++) {
			struct op *o = &r->ops[i];
			int hit;

			if (o->forced_at != SIZE_MAX)
				continue;
			if (bar->kind == K_SYNC)
				hit = o->kind != K_FSYNC;
			else if (r->inodes[bar->ino].is_dir)
				hit = is_entry(o->kind) &&
				      (o->dir1 == bar->ino ||
				       o->dir2 == bar->ino);
			else
				hit = is_data(o->kind) && o->ino == bar->ino;
			if (hit)
				o->forced_at = b;
		}
	}
}

/* ---------------------------------------------------------- crash states */

struct pick {
	uint8_t *keep;	  /* per op below C: applied after the crash */
	uint8_t **sectors; /* per kept write: NULL (whole) or a sector mask */
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* splitmix64: deterministic from the seed, good enough here */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void pick_release(struct pick *pk, size_t c)
{
	if (pk->sectors)
		for (size_t i = 0; i < c; i++)
			free(pk->sectors[i]);
	free(pk->sectors);
	free(pk->keep);
}

/* Chooses which of the first c operations survive in variant v. */
static void pick_make(const struct rec *r, size_t c, unsigned v, uint64_t seed,
		      struct pick *pk)
{
	size_t prefix = c;

	pk->keep = xcalloc(c, 1);
	pk->sectors = xcalloc(c, sizeof(*pk->sectors));
	rng_state = seed ^ ((uint64_t)c << 20) ^ (uint64_t)v;
	for (int i = 0; i < 4; i++)
		(void)rng();
	if (v >= 2 && v % 2 == 0 && c > 0)
		prefix = (size_t)(rng() % (c + 1));
	for (size_t i = 0; i < c; i++) {
		const struct op *o = &r->ops[i];
		int keep;

		if (o->forced_at < c)
			keep = 1;
		else if (v == 0)
			keep = 1;
		else if (v == 1)
			keep = 0;
		else if (v % 2 == 0)
			keep = i < prefix;
		else
			keep = (int)(rng() & 1);
		pk->keep[i] = (uint8_t)keep;
		/* torn: an unforced write may reach the disk in part, any
		 * subset of its sectors */
		if (keep && v >= 2 && o->kind == K_WRITE && o->forced_at >= c &&
		    o->len > 0 && rng() % 3 == 0) {
			uint64_t first = o->off / SECTOR;
			uint64_t last = (o->off + o->len - 1) / SECTOR;
			size_t ns = (size_t)(last - first + 1);

			pk->sectors[i] = xcalloc(ns, 1);
			for (size_t s = 0; s < ns; s++)
				pk->sectors[i][s] = (uint8_t)(rng() & 1);
		}
	}
	/* A surviving name change implies the creation of its source. */
	for (size_t i = c; i-- > 0;) {
		const struct op *o = &r->ops[i];

		if (pk->keep[i] && is_entry(o->kind) && o->dep >= 0 &&
		    (size_t)o->dep < c && !pk->keep[o->dep])
			pk->keep[o->dep] = 1;
	}
}

/* Replays the kept operations on the initial names; m gets the result. */
static void replay(const struct rec *r, size_t c, const struct pick *pk,
		   struct model *m)
{
	char par[PATH_MAX];

	model_copy(m, &r->init);
	for (size_t i = 0; i < c; i++) {
		const struct op *o = &r->ops[i];
		ssize_t at;

		if (!pk->keep[i] || !is_entry(o->kind))
			continue;
		switch (o->kind) {
		case K_CREATE:
		case K_MKDIR:
		case K_LINK: {
			const char *dst = o->kind == K_LINK ? o->p2 : o->p1;

			parent_of(dst, par, sizeof(par));
			if (par[0] && model_find(m, par) < 0)
				break; /* its folder did not survive */
			model_add(m, dst, o->ino, (int)i);
			break;
		}
		case K_RENAME:
			at = model_find(m, o->p1);
			if (at < 0)
				break;
			parent_of(o->p2, par, sizeof(par));
			if (par[0] && model_find(m, par) < 0) {
				model_del(m, o->p1);
				break;
			}
			model_move(m, o->p1, o->p2, (int)i);
			break;
		case K_UNLINK:
		case K_RMDIR:
			model_del(m, o->p1);
			break;
		default:
			break;
		}
	}
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path,
		      ((const struct entry *)b)->path);
}

/* A fingerprint of the crash state: names, and for each file the list of
 * data operations that built its content. */
static void state_hash(const struct rec *r, size_t c, const struct pick *pk,
		       struct model *m, uint8_t out[32])
{
	crypto_generichash_state st;

	if (m->n)
		qsort(m->e, m->n, sizeof(*m->e), cmp_entry);
	crypto_generichash_init(&st, NULL, 0, 32);
	for (size_t i = 0; i < m->n; i++) {
		int ino = m->e[i].ino;
		uint32_t x = (uint32_t)ino;

		crypto_generichash_update(&st, (const uint8_t *)m->e[i].path,
					  strlen(m->e[i].path) + 1);
		crypto_generichash_update(&st, (const uint8_t *)&x, sizeof(x));
		if (r->inodes[ino].is_dir)
			continue;
		for (size_t j = 0; j < c; j++) {
			const struct op *o = &r->ops[j];

			if (!pk->keep[j] || !is_data(o->kind) || o->ino != ino)
				continue;
			x = (uint32_t)j;
			crypto_generichash_update(&st, (const uint8_t *)&x,
						  sizeof(x));
			if (pk->sectors[j]) {
				uint64_t ns = (o->off + o->len - 1) / SECTOR -
					      o->off / SECTOR + 1;

				crypto_generichash_update(&st, pk->sectors[j],
							  (size_t)ns);
			}
		}
	}
	crypto_generichash_final(&st, out, 32);
}

static void steps_at(const struct rec *r, size_t c, long *lo, long *hi)
{
	*lo = 0;
	*hi = 0;
	for (size_t i = 0; i < r->nmarks; i++) {
		const struct mark *mk = &r->marks[i];

		if (mk->type == 'F' && mk->pos <= c && mk->step > *lo)
			*lo = mk->step;
		if (mk->type == 'B' && mk->pos < c && mk->step > *hi)
			*hi = mk->step;
	}
	if (*hi < *lo)
		*hi = *lo;
}

struct seen {
	uint8_t (*h)[40];
	size_t n, cap;
};

static int seen_add(struct seen *s, const uint8_t h[32], long lo, long hi)
{
	uint8_t k[40];
	uint32_t a = (uint32_t)lo, b = (uint32_t)hi;

	memcpy(k, h, 32);
	memcpy(k + 32, &a, 4);
	memcpy(k + 36, &b, 4);
	for (size_t i = 0; i < s->n; i++)
		if (!memcmp(s->h[i], k, 40))
			return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->h = xrealloc(s->h, s->cap * sizeof(*s->h));
	}
	memcpy(s->h[s->n++], k, 40);
	return 1;
}

static int cmd_gen(struct rec *r, unsigned variants, uint64_t seed,
		   size_t max)
{
	struct seen seen = {0};
	struct model m = {0};
	size_t tried = 0, emitted = 0, unforced = 0, barriers = 0;

	for (size_t i = 0; i < r->nops; i++) {
		if (r->ops[i].kind == K_FSYNC || r->ops[i].kind == K_SYNC)
			barriers++;
		if (r->ops[i].forced_at == SIZE_MAX)
			unforced++;
	}
	for (unsigned v = 0; v < variants; v++) {
		for (size_t c = 0; c <= r->nops; c++) {
			struct pick pk;
			uint8_t h[32];
			long lo, hi;

			if (max && emitted >= max)
				break;
			pick_make(r, c, v, seed, &pk);
			replay(r, c, &pk, &m);
			state_hash(r, c, &pk, &m, h);
			pick_release(&pk, c);
			steps_at(r, c, &lo, &hi);
			tried++;
			if (!seen_add(&seen, h, lo, hi))
				continue;
			printf("%zu %u %ld %ld\n", c, v, lo, hi);
			emitted++;
		}
	}
	fprintf(stderr,
		"crashtool: %zu operations (%zu barriers, %zu never forced), "
		"%zu marks; %zu crash states built, %zu distinct\n",
		r->nops, barriers, unforced, r->nmarks, tried, emitted);
	model_release(&m);
	free(seen.h);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Content of inode ino after the kept data operations, written to fd. */
static void write_content(const struct rec *r, size_t c, const struct pick *pk,
			  int ino, int fd)
{
	const struct inode *in = &r->inodes[ino];
	uint8_t *buf = NULL;
	uint64_t size = 0, cap = 0;

	if (in->init_path) {
		int ifd = open(in->init_path, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		cap = in->init_size;
		buf = xcalloc(1, cap);
		if (ifd < 0)
			die("cannot read '%s'", in->init_path);
		n = read(ifd, buf, cap);
		if (n < 0 || (uint64_t)n != cap)
			die("short read of '%s'", in->init_path);
		close(ifd);
		size = cap;
	}
	for (size_t j = 0; j < c; j++) {
		const struct op *o = &r->ops[j];

		if (!pk->keep[j] || !is_data(o->kind) || o->ino != ino)
			continue;
		if (o->kind == K_TRUNC) {
			if (o->len > cap) {
				buf = xrealloc(buf, o->len);
				memset(buf + cap, 0, o->len - cap);
				cap = o->len;
			}
			if (o->len > size)
				memset(buf + size, 0, o->len - size);
			size = o->len;
			continue;
		}
		if (o->off + o->len > cap) {
			buf = xrealloc(buf, o->off + o->len);
			memset(buf + cap, 0, o->off + o->len - cap);
			cap = o->off + o->len;
		}
		if (o->off > size)
			memset(buf + size, 0, o->off - size);
		if (!pk->sectors[j]) {
			memcpy(buf + o->off, o->data, o->len);
			if (o->off + o->len > size)
				size = o->off + o->len;
			continue;
		}
		/* torn: only the chosen sectors; the file grows to the end
		 * of the last one written */
		for (uint64_t a = o->off; a < o->off + o->len;) {
			uint64_t s = a / SECTOR;
			uint64_t e = (s + 1) * SECTOR;

			if (e > o->off + o->len)
				e = o->off + o->len;
			if (pk->sectors[j][s - o->off / SECTOR]) {
				memcpy(buf + a, o->data + (a - o->off), e - a);
				if (e > size)
					size = e;
			}
			a = e;
		}
	}
	for (uint64_t done = 0; done < size;) {
		ssize_t n = write(fd, buf + done, size - done);

		if (n <= 0)
			die("%s", "cannot write a state file");
		done += (uint64_t)n;
	}
	free(buf);
}

static int cmd_make(struct rec *r, size_t c, unsigned v, uint64_t seed,
		    const char *dest)
{
	struct model m = {0};
	struct pick pk;

	if (c > r->nops)
		die("%s", "crash point beyond the log");
	if (mkdir(dest, 0700) < 0)
		die("cannot create '%s'", dest);
	pick_make(r, c, v, seed, &pk);
	replay(r, c, &pk, &m);
	if (m.n)
		qsort(m.e, m.n, sizeof(*m.e), cmp_entry);
	/* sorted: a folder comes before what it holds */
	for (size_t i = 0; i < m.n; i++) {
		char path[PATH_MAX];
		int ino = m.e[i].ino, fd;

		snprintf(path, sizeof(path), "%s/%s", dest, m.e[i].path);
		if (r->inodes[ino].is_dir) {
			if (mkdir(path, 0700) < 0)
				die("cannot create '%s'", path);
			continue;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			die("cannot create '%s'", path);
		write_content(r, c, &pk, ino, fd);
		close(fd);
	}
	pick_release(&pk, c);
	model_release(&m);
	return 0;
}

/* Lists the operations (0-based; crash point C = after the first C) with
 * the barrier that forced each, and the marks. */
static int cmd_dump(const struct rec *r)
{
	static const char kc[] = "CDWTSRLUXY";
	size_t k = 0;

	for (size_t i = 0; i <= r->nops; i++) {
		for (; k < r->nmarks && r->marks[k].pos == i; k++)
			printf("      mark %c %ld\n", r->marks[k].type,
			       r->marks[k].step);
		if (i == r->nops)
			break;
		printf("%5zu %c %s%s%s", i, kc[r->ops[i].kind], r->ops[i].p1,
		       r->ops[i].p2 ? " " : "", r->ops[i].p2 ? r->ops[i].p2 : "");
		if (r->ops[i].kind == K_WRITE || r->ops[i].kind == K_TRUNC)
			printf(" off=%" PRIu64 " len=%" PRIu64, r->ops[i].off,
			       r->ops[i].len);
		if (r->ops[i].forced_at != SIZE_MAX)
			printf(" (durable at %zu)", r->ops[i].forced_at);
		printf("\n");
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static void rec_release(struct rec *r)
{
	for (size_t i = 0; i < r->nops; i++) {
		free(r->ops[i].p1);
		free(r->ops[i].p2);
	}
	for (size_t i = 0; i < r->ninodes; i++)
		free(r->inodes[i].init_path);
	free(r->ops);
	free(r->marks);
	free(r->inodes);
	model_release(&r->init);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: crashtool manifest DIR\n"
		"       crashtool gen LOG INIT [--variants N] [--seed S] "
		"[--max M]\n"
		"       crashtool make LOG INIT C V SEED DEST\n"
		"       crashtool dump LOG INIT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct rec r = {0};
	int ret;

	if (sodium_init() < 0)
		die("%s", "sodium_init failed");
	if (argc == 3 && !strcmp(argv[1], "manifest"))
		return cmd_manifest(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "gen")) {
		unsigned variants = 2;
		uint64_t seed = 1;
		size_t max = 0;

		for (int i = 4; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "--variants"))
				variants = (unsigned)strtoul(argv[i + 1], NULL,
							     10);
			else if (!strcmp(argv[i], "--seed"))
				seed = strtoull(argv[i + 1], NULL, 10);
			else if (!strcmp(argv[i], "--max"))
				max = strtoul(argv[i + 1], NULL, 10);
			else
				usage();
		}
		r.initdir = argv[3];
		load_log(&r, argv[2]);
		ret = cmd_gen(&r, variants, seed, max);
		rec_release(&r);
		return ret;
	}
	if (argc == 4 && !strcmp(argv[1], "dump")) {
		r.initdir = argv[3];
		load_log(&r, argv[2]);
		ret = cmd_dump(&r);
		rec_release(&r);
		return ret;
	}
	if (argc == 8 && !strcmp(argv[1], "make")) {
		r.initdir = argv[3];
		load_log(&r, argv[2]);
		ret = cmd_make(&r, strtoul(argv[4], NULL, 10),
			       (unsigned)strtoul(argv[5], NULL, 10),
			       strtoull(argv[6], NULL, 10), argv[7]);
		rec_release(&r);
		return ret;
	}
	usage();
	return 2;
}
