/*
 * scan.c - what lies in a cloud folder, read without the key (store.h:
 * store_scan_folder, store_debris_classify).
 *
 * Sync clients leave debris next to our objects: conflict copies ("x (1)",
 * "x (conflicted copy 2024-...)", "x.sync-conflict-...", "x.conflict", a
 * case variant on a case-insensitive mirror), their own files, or whatever
 * a user dropped there. The store never reads, merges or deletes them; this
 * file only lists and stat-s the folder (objstore.h names the layout) so the
 * mount and 'vaultfs status' can report them. It opens no file and follows
 * no symlink (fstatat with AT_SYMLINK_NOFOLLOW on names from readdir).
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commit.h"
#include "objstore.h"
#include "store.h"

#define SCAN_SEG_HEX 16
#define SCAN_SEG_SUFFIX ".seg"

static int scan_is_hex(const char *s, size_t n, int lower_only)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			continue;
		if (c >= 'a' && c <= 'f')
			continue;
		if (!lower_only && c >= 'A' && c <= 'F')
			continue;
		return 0;
	}
	return 1;
}

/* A separator sync clients put between a name and what they add to it. */
static int scan_is_sep(char c)
{
	return c == ' ' || c == '.' || c == '-' || c == '_' || c == '~' ||
	       c == '(' || c == '[';
}

/*
 * 1 if name looks like a sync client's copy of expected: the same name in
 * another case, expected with something appended ("x.conflict", "x (1)",
 * "x~"), or stem + something + extension ("x (1).hdr", "x 2.hdr",
 * "x.sync-conflict-20240101-120000-ABC.hdr", "x-HOSTNAME.hdr"). Case is
 * ignored: a case-insensitive mirror may change it.
 */
static int scan_copy_of(const char *name, const char *expected)
{
	size_t nl = strlen(name), el = strlen(expected);
	const char *dot = strrchr(expected, '.');
	size_t sl = dot ? (size_t)(dot - expected) : el;
	size_t xl = el - sl; /* extension with its dot, or 0 */

	if (nl == el)
		return strcasecmp(name, expected) == 0 &&
		       strcmp(name, expected) != 0;
	if (nl > el && strncasecmp(name, expected, el) == 0 &&
	    scan_is_sep(name[el]))
		return 1;
	if (xl > 0 && nl > sl + xl && strncasecmp(name, expected, sl) == 0 &&
	    strcasecmp(name + nl - xl, expected + sl) == 0 &&
	    scan_is_sep(name[sl]))
		return 1;
	return 0;
}

static void scan_set_of(char *of, size_t of_len, const char *where,
			const char *obj)
{
	if (!of || !of_len)
		return;
	if (where[0])
		snprintf(of, of_len, "%s/%s", where, obj);
	else
		snprintf(of, of_len, "%s", obj);
}

int store_debris_classify(const char *where, const char *name, int is_dir,
			  char *of, size_t of_len)
{
	size_t nl = strlen(name);

	if (of && of_len)
		of[0] = '\0';
	if (strncmp(name, ".tmp-", 5) == 0 && !is_dir)
		return 0; /* ours, being written (or left by a crash) */
	if (where[0] == '\0') {
		static const char *const top[] = {
		    OBJSTORE_HEADER_NAME, OBJSTORE_LEASE_NAME,
		    OBJSTORE_REKEY_NAME, "log"};

		if (is_dir && strcmp(name, "log") == 0)
			return 0;
		if (!is_dir && (strcmp(name, OBJSTORE_HEADER_NAME) == 0 ||
				strcmp(name, OBJSTORE_LEASE_NAME) == 0 ||
				strcmp(name, OBJSTORE_REKEY_NAME) == 0))
			return 0;
		for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
			if (scan_copy_of(name, top[i])) {
				scan_set_of(of, of_len, where, top[i]);
				return STORE_DEBRIS_CONFLICT;
			}
		}
		return STORE_DEBRIS_UNKNOWN;
	}
	if (strcmp(where, "log") == 0) {
		char sub[3];

		if (is_dir && nl == 2 && scan_is_hex(name, 2, 1))
			return 0;
		if (nl > 2 && scan_is_hex(name, 2, 0)) {
			sub[0] = (char)tolower((unsigned char)name[0]);
			sub[1] = (char)tolower((unsigned char)name[1]);
			sub[2] = '\0';
			if (scan_copy_of(name, sub)) {
				scan_set_of(of, of_len, where, sub);
				return STORE_DEBRIS_CONFLICT;
			}
		}
		return STORE_DEBRIS_UNKNOWN;
	}
	/* log/xx: segments "<16 hex>.seg" */
	if (!is_dir && nl == SCAN_SEG_HEX + 4 &&
	    scan_is_hex(name, SCAN_SEG_HEX, 1) &&
	    strcmp(name + SCAN_SEG_HEX, SCAN_SEG_SUFFIX) == 0) {
		uint64_t no = strtoull(name, NULL, 16);
		unsigned long sub = strtoul(where + 4, NULL, 16);

		/* In the subfolder objstore_seg_name puts it in, or not
		 * ours (the store ignores it too). */
		if (no != 0 && strlen(where) == 6 &&
		    ((no / OBJSTORE_SEGS_PER_DIR) & 0xff) == sub)
			return 0;
		return STORE_DEBRIS_UNKNOWN;
	}
	if (nl > SCAN_SEG_HEX && scan_is_hex(name, SCAN_SEG_HEX, 0)) {
		char seg[SCAN_SEG_HEX + 5];

		for (size_t i = 0; i < SCAN_SEG_HEX; i++)
			seg[i] = (char)tolower((unsigned char)name[i]);
		memcpy(seg + SCAN_SEG_HEX, SCAN_SEG_SUFFIX, 5);
		if (scan_copy_of(name, seg)) {
			scan_set_of(of, of_len, where, seg);
			return STORE_DEBRIS_CONFLICT;
		}
	}
	return STORE_DEBRIS_UNKNOWN;
}

static int scan_newer(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

struct scan {
	unsigned flags;
	struct store_folder *f;
	store_debris_fn fn;
	void *ctx;
};

/* Lists folder where (fd dfd, owned) and recurses into log and log/xx. */
static int scan_dir(struct scan *sc, int dfd, const char *where, int depth)
{
	char of[OBJSTORE_NAME_MAX + 8], rel[300];
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		struct store_debris db;
		struct stat st;
		int is_dir, kind, need_stat;

		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		is_dir = de->d_type == DT_DIR;
		need_stat = de->d_type == DT_UNKNOWN;
		if (need_stat) {
			if (fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno == ENOENT)
					continue; /* gone meanwhile */
				r = -errno;
				break;
			}
			is_dir = S_ISDIR(st.st_mode);
		}
		kind = store_debris_classify(where, n, is_dir, of, sizeof(of));
		if (kind == 0 && strncmp(n, ".tmp-", 5) == 0) {
			sc->f->temporaries++;
			continue;
		}
		if (kind == 0 && is_dir && depth < 2) {
			int sub = openat(dfd, n,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);

			if (sub < 0) {
				if (errno == ENOENT)
					continue;
				r = -errno;
				break;
			}
			if (where[0])
				snprintf(rel, sizeof(rel), "%s/%s", where, n);
			else
				snprintf(rel, sizeof(rel), "%s", n);
			r = scan_dir(sc, sub, rel, depth + 1);
			if (r != 0)
				break;
			continue;
		}
		if (kind == 0 && depth == 2 && (sc->flags & STORE_SCAN_NO_SIZES)) {
			sc->f->segments++;
			continue;
		}
		if (!need_stat &&
		    fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			r = -errno;
			break;
		}
		if (!S_ISDIR(st.st_mode))
			sc->f->total_bytes += (uint64_t)st.st_size;
		if (kind == 0) {
			if (depth == 2) {
				sc->f->segments++;
				sc->f->segment_bytes += (uint64_t)st.st_size;
				if (scan_newer(&st.st_mtim,
					       &sc->f->newest_seg_mtime))
					sc->f->newest_seg_mtime = st.st_mtim;
				{
					uint64_t no = strtoull(n, NULL, 16);

					if (no > sc->f->highest_seg)
						sc->f->highest_seg = no;
				}
			} else if (strcmp(n, OBJSTORE_HEADER_NAME) == 0) {
				sc->f->has_header = 1;
			} else if (strcmp(n, OBJSTORE_LEASE_NAME) == 0) {
				sc->f->has_lease = 1;
				sc->f->lease_mtime = st.st_mtim;
			}
			continue;
		}
		if (where[0])
			snprintf(rel, sizeof(rel), "%s/%s", where, n);
		else
			snprintf(rel, sizeof(rel), "%s", n);
		memset(&db, 0, sizeof(db));
		db.name = rel;
		db.of = of;
		db.kind = (enum store_debris_kind)kind;
		db.is_dir = S_ISDIR(st.st_mode);
		db.size = db.is_dir ? 0 : (uint64_t)st.st_size;
		db.mtime = st.st_mtim;
		sc->f->debris++;
		sc->f->debris_bytes += db.size;
		if (sc->fn) {
			r = sc->fn(sc->ctx, &db);
			if (r != 0)
				break;
		}
	}
	closedir(d);
	return r;
}

int store_scan_folder(const char *cloud_dir, unsigned flags,
		      struct store_folder *ret, store_debris_fn fn, void *ctx)
{
	struct store_folder f;
	struct scan sc;
	int dfd, r;

	memset(&f, 0, sizeof(f));
	dfd = open(cloud_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	sc.flags = flags;
	sc.f = &f;
	sc.fn = fn;
	sc.ctx = ctx;
	r = scan_dir(&sc, dfd, "", 0);
	if (r == 0)
		*ret = f;
	return r;
}

int store_seen_generation(const char *state_dir,
			  const uint8_t store_id[STORE_ID_BYTES], uint64_t *ret)
{
	struct hwm h;
	int r;

	r = hwm_read(state_dir, store_id, &h);
	if (r < 0)
		return r;
	*ret = h.gen;
	return 0;
}
