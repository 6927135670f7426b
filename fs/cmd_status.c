/*
 * cmd_status.c - 'vaultfs status' and the daemon's status file and sync
 * debris reports (cmd_status.h).
 *
 * A mount point: the figures come from the daemon that serves it, through
 * STATE_DIR/mounts/<hash>.status (found with cli_mount_lockfile; the daemon
 * is alive while it holds the flock on <hash>.pid). A store folder: what
 * the header and a listing tell without the key (store_read_info,
 * store_scan_folder) and what this machine remembers; with a key option,
 * the store opened read-only (no lease) adds generation, commit time, file
 * count and live bytes.
 *
 * JSON is built and read with cJSON (the status file is ours, but it is
 * read with the same bounds as anything else: at most STATUS_FILE_MAX
 * bytes). File names are not necessarily UTF-8: they are made valid
 * (bytes that are not become U+FFFD) before they go into JSON.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cli.h"
#include "cmd_status.h"
#include "cmdutil.h"
#include "log.h"
#include "store.h"
#include "vfs_error.h"

#define STATUS_VERSION 1
/* Debris entries kept with their details (more are only counted). */
#define STATUS_DEBRIS_MAX 200
/* Largest status file we read. */
#define STATUS_FILE_MAX (1u << 20)
/* Longest "object it copies" name ("log/xx/<16 hex>.seg"). */
#define STATUS_OF_MAX 64
/* Debris names printed on stderr at mount. */
#define STATUS_DEBRIS_SHOWN 10

/* ---- small helpers ---- */

/* "2026-11-29T10:05:12Z" */
static void st_iso(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || !gmtime_r(&tt, &tm) ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "unknown");
}

/* "12.3 MiB" */
static void st_size(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = {"bytes", "KiB", "MiB", "GiB",
					    "TiB", "PiB"};
	double d = (double)v;
	unsigned u = 0;

	while (d >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		d /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " bytes", v);
	else
		snprintf(buf, len, "%.1f %s", d, units[u]);
}

/* "3 min ago" */
static void st_ago(int64_t t, char *buf, size_t len)
{
	int64_t d = (int64_t)time(NULL) - t;

	if (t <= 0)
		snprintf(buf, len, "unknown");
	else if (d < 0)
		snprintf(buf, len, "in the future: check the clocks");
	else if (d < 120)
		snprintf(buf, len, "%" PRId64 " s ago", d);
	else if (d < 7200)
		snprintf(buf, len, "%" PRId64 " min ago", d / 60);
	else if (d < 172800)
		snprintf(buf, len, "%" PRId64 " h ago", d / 3600);
	else
		snprintf(buf, len, "%" PRId64 " days ago", d / 86400);
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t st_utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* A malloc'd copy of s that is valid UTF-8 (invalid bytes: U+FFFD). */
static char *st_utf8(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *out = malloc(n * 3 + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t l = st_utf8_len((const unsigned char *)s + i, n - i);

		if (l == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, l);
		o += l;
		i += l;
	}
	out[o] = '\0';
	return out;
}

/* For messages on a terminal or in the log: control characters shown as
 * '?', so a file name cannot move the cursor or forge a log line. */
static void st_printable(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 1 < len; s++)
		buf[o++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
	buf[o] = '\0';
}

static int st_add_str(cJSON *o, const char *key, const char *v)
{
	char *u = st_utf8(v ? v : "");
	cJSON *r;

	if (!u)
		return -ENOMEM;
	r = cJSON_AddStringToObject(o, key, u);
	free(u);
	return r ? 0 : -ENOMEM;
}

/* Integers are below 2^53 here (counts, bytes, seconds): exact in a
 * double. */
static int st_add_num(cJSON *o, const char *key, uint64_t v)
{
	return cJSON_AddNumberToObject(o, key, (double)v) ? 0 : -ENOMEM;
}

static int st_add_bool(cJSON *o, const char *key, int v)
{
	return cJSON_AddBoolToObject(o, key, v ? 1 : 0) ? 0 : -ENOMEM;
}

static int st_add_time(cJSON *o, const char *key, int64_t t)
{
	char iso[32], ukey[64];

	if (t <= 0)
		return cJSON_AddNullToObject(o, key) ? 0 : -ENOMEM;
	st_iso(t, iso, sizeof(iso));
	snprintf(ukey, sizeof(ukey), "%s_unix", key);
	if (st_add_str(o, key, iso) < 0 || st_add_num(o, ukey, (uint64_t)t) < 0)
		return -ENOMEM;
	return 0;
}

/* ---- debris lists ---- */

struct st_debris {
	char *name;
	char of[STATUS_OF_MAX];
	enum store_debris_kind kind;
	int is_dir;
	uint64_t size;
	int64_t mtime;
};

struct st_debris_list {
	struct st_debris *v;
	size_t n;
	uint64_t total; /* all of them, also those beyond STATUS_DEBRIS_MAX */
	int err;
};

static int st_debris_fn(void *ctx, const struct store_debris *d)
{
	struct st_debris_list *l = ctx;
	struct st_debris *e;

	l->total++;
	if (l->n >= STATUS_DEBRIS_MAX)
		return 0;
	if (!l->v) {
		l->v = calloc(STATUS_DEBRIS_MAX, sizeof(*l->v));
		if (!l->v) {
			l->err = -ENOMEM;
			return 1;
		}
	}
	e = &l->v[l->n];
	e->name = strdup(d->name);
	if (!e->name) {
		l->err = -ENOMEM;
		return 1;
	}
	snprintf(e->of, sizeof(e->of), "%s", d->of ? d->of : "");
	e->kind = d->kind;
	e->is_dir = d->is_dir;
	e->size = d->size;
	e->mtime = (int64_t)d->mtime.tv_sec;
	l->n++;
	return 0;
}

static void st_debris_release(struct st_debris_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int st_debris_has(const struct st_debris_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return 1;
	return 0;
}

/* Scans cloud_dir: *f and the debris list. */
static int st_scan(const char *cloud_dir, unsigned flags,
		   struct store_folder *f, struct st_debris_list *l)
{
	int r;

	memset(l, 0, sizeof(*l));
	r = store_scan_folder(cloud_dir, flags, f, st_debris_fn, l);
	if (r > 0)
		r = l->err;
	if (r < 0)
		st_debris_release(l);
	return r;
}

/* "conflict copy of 'vaultfs.hdr'" / "unknown file" */
static void st_debris_what(const struct st_debris *d, char *buf, size_t len)
{
	char of[STATUS_OF_MAX];

	if (d->kind == STORE_DEBRIS_CONFLICT) {
		st_printable(d->of, of, sizeof(of));
		snprintf(buf, len, "sync conflict copy of '%s'%s", of,
			 strncmp(d->of, "log/", 4) == 0 && strlen(d->of) > 7
			     ? " (maybe a forked history's commit)"
			     : "");
	} else {
		snprintf(buf, len, "unknown %s, not ours",
			 d->is_dir ? "folder" : "file");
	}
}

static int st_debris_json(cJSON *o, const struct st_debris_list *l)
{
	cJSON *arr;

	if (st_add_num(o, "debris_count", l->total) < 0)
		return -ENOMEM;
	arr = cJSON_AddArrayToObject(o, "debris");
	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		const struct st_debris *d = &l->v[i];
		cJSON *e = cJSON_CreateObject();

		if (!e || !cJSON_AddItemToArray(arr, e)) {
			cJSON_Delete(e);
			return -ENOMEM;
		}
		if (st_add_str(e, "name", d->name) < 0 ||
		    st_add_str(e, "kind",
			       d->kind == STORE_DEBRIS_CONFLICT
				   ? "conflict-copy"
				   : "unknown") < 0 ||
		    (d->kind == STORE_DEBRIS_CONFLICT &&
		     st_add_str(e, "of", d->of) < 0) ||
		    st_add_bool(e, "folder", d->is_dir) < 0 ||
		    st_add_num(e, "size", d->size) < 0 ||
		    st_add_time(e, "mtime", d->mtime) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* ---- the daemon's side ---- */

struct status_pub {
	char *status_path;
	char *cloud_dir;
	char *mountpoint;
	struct store_info info;
	char vault_url[512];
	char account[256];
	int read_only;
	int64_t since;
	char host[256];

	struct st_debris_list debris;
	struct store_folder folder;
	int scan_err;
	struct timespec last_scan; /* CLOCK_MONOTONIC */
	uint64_t scanned_gen;	   /* generation at the last scan */

	char *last_text; /* last status file written */
};

static void st_warn_debris(const struct st_debris_list *l, const char *cloud)
{
	char name[600], what[700];

	if (l->total == 0)
		return;
	fprintf(stderr,
		"vaultfs: warning: %" PRIu64 " file%s in the cloud folder "
		"'%s' %s not vaultfs objects (sync debris); they are left "
		"untouched, see 'vaultfs status':\n",
		l->total, l->total == 1 ? "" : "s", cloud,
		l->total == 1 ? "is" : "are");
	for (size_t i = 0; i < l->n && i < STATUS_DEBRIS_SHOWN; i++) {
		st_printable(l->v[i].name, name, sizeof(name));
		st_debris_what(&l->v[i], what, sizeof(what));
		fprintf(stderr, "vaultfs:   '%s': %s\n", name, what);
	}
	if (l->total > STATUS_DEBRIS_SHOWN)
		fprintf(stderr, "vaultfs:   ... and %" PRIu64 " more\n",
			l->total - STATUS_DEBRIS_SHOWN);
}

static void st_log_debris(const struct st_debris *d, const char *how)
{
	char name[600], what[700];

	st_printable(d->name, name, sizeof(name));
	st_debris_what(d, what, sizeof(what));
	if (d->is_dir)
		log_warn("sync debris %s the cloud folder: '%s' (%s); left "
			 "untouched",
			 how, name, what);
	else
		log_warn("sync debris %s the cloud folder: '%s' (%s, %" PRIu64
			 " bytes); left untouched",
			 how, name, what, d->size);
}

static void st_pub_publish(struct status_pub *p, struct store *s,
			   int commit_err, uint64_t vault_gen);

void status_pub_new(const struct status_pub_info *pi, struct store *s,
		    struct status_pub **ret)
{
	struct status_pub *p;
	size_t n = strlen(pi->lock_path);
	int r;

	*ret = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		goto fail;
	p->cloud_dir = strdup(pi->cloud_dir);
	p->mountpoint = strdup(pi->mountpoint);
	p->status_path = malloc(n + 8);
	if (!p->cloud_dir || !p->mountpoint || !p->status_path)
		goto fail;
	memcpy(p->status_path, pi->lock_path, n + 1);
	if (n > 4 && strcmp(p->status_path + n - 4, ".pid") == 0)
		n -= 4;
	memcpy(p->status_path + n, ".status", 8);
	p->info = *pi->info;
	snprintf(p->vault_url, sizeof(p->vault_url), "%s",
		 pi->vault_url ? pi->vault_url : "");
	snprintf(p->account, sizeof(p->account), "%s",
		 pi->account ? pi->account : "");
	p->read_only = pi->read_only;
	p->since = (int64_t)time(NULL);
	if (gethostname(p->host, sizeof(p->host) - 1) < 0)
		p->host[0] = '\0';

	r = st_scan(p->cloud_dir, 0, &p->folder, &p->debris);
	if (r < 0) {
		fprintf(stderr,
			"vaultfs: warning: cannot look for sync debris in "
			"'%s': %s\n",
			p->cloud_dir, vfs_strerror(r));
		p->scan_err = r;
	}
	clock_gettime(CLOCK_MONOTONIC, &p->last_scan);
	p->scanned_gen = pi->generation;
	st_warn_debris(&p->debris, p->cloud_dir);
	/* Before the mount is reported ready: a 'vaultfs status' right
	 * after 'vaultfs mount' finds it. */
	st_pub_publish(p, s, 0, 0);
	*ret = p;
	return;
fail:
	fprintf(stderr, "vaultfs: warning: out of memory: no status file "
			"for this mount\n");
	status_pub_free(p);
}

static char *st_pub_text(struct status_pub *p, struct store *s,
			 int commit_err, uint64_t vault_gen)
{
	struct store_status ss;
	char idhex[2 * STORE_ID_BYTES + 1];
	cJSON *o, *lease, *vault;
	char *text = NULL;

	store_get_status(s, &ss);
	sodium_bin2hex(idhex, sizeof(idhex), p->info.store_id,
		       sizeof(p->info.store_id));
	o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (st_add_num(o, "status_version", STATUS_VERSION) < 0 ||
	    st_add_num(o, "pid", (uint64_t)getpid()) < 0 ||
	    st_add_str(o, "mountpoint", p->mountpoint) < 0 ||
	    st_add_str(o, "cloud_dir", p->cloud_dir) < 0 ||
	    st_add_bool(o, "read_only", p->read_only) < 0 ||
	    st_add_time(o, "mounted_since", p->since) < 0 ||
	    st_add_str(o, "store_id", idhex) < 0 ||
	    st_add_num(o, "format_version", p->info.format_version) < 0 ||
	    st_add_str(o, "aead", p->info.aead) < 0 ||
	    st_add_num(o, "generation", ss.generation) < 0 ||
	    st_add_time(o, "last_commit", ss.commit_time) < 0 ||
	    st_add_num(o, "uncommitted_bytes", ss.dirty_bytes) < 0 ||
	    st_add_num(o, "inodes", ss.inodes) < 0 ||
	    st_add_num(o, "objects", p->folder.segments) < 0 ||
	    st_add_num(o, "cloud_bytes", p->folder.total_bytes) < 0 ||
	    st_add_num(o, "referenced_objects", ss.segments) < 0 ||
	    st_add_num(o, "referenced_bytes", ss.segment_bytes) < 0 ||
	    st_add_num(o, "live_bytes", ss.live_bytes) < 0)
		goto out;
	if (commit_err < 0 &&
	    st_add_str(o, "commit_error", vfs_strerror(commit_err)) < 0)
		goto out;
	lease = cJSON_AddObjectToObject(o, "lease");
	if (!lease)
		goto out;
	if (p->read_only) {
		if (st_add_str(lease, "holder", "another writer, if any "
						"(this mount is read-only)") <
			0 ||
		    st_add_bool(lease, "present", p->folder.has_lease) < 0)
			goto out;
	} else if (st_add_str(lease, "holder",
			      ss.lease_lost ? "taken over by another writer"
					    : "this mount") < 0 ||
		   st_add_str(lease, "host", p->host) < 0 ||
		   st_add_num(lease, "pid", (uint64_t)getpid()) < 0 ||
		   st_add_bool(lease, "lost", ss.lease_lost) < 0) {
		goto out;
	}
	if (p->vault_url[0]) {
		vault = cJSON_AddObjectToObject(o, "vault");
		if (!vault || st_add_str(vault, "url", p->vault_url) < 0 ||
		    st_add_str(vault, "account", p->account) < 0 ||
		    st_add_num(vault, "generation", vault_gen) < 0)
			goto out;
	} else if (!cJSON_AddNullToObject(o, "vault")) {
		goto out;
	}
	if (p->scan_err < 0 &&
	    st_add_str(o, "scan_error", vfs_strerror(p->scan_err)) < 0)
		goto out;
	if (st_debris_json(o, &p->debris) < 0)
		goto out;
	text = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	return text;
}

/* Temp file + rename, 0600. No fsync: it describes a running process. */
static void st_pub_write(struct status_pub *p, const char *text)
{
	char *tmp = NULL;
	int fd, r = 0;

	if (asprintf(&tmp, "%s.tmp", p->status_path) < 0)
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		r = -errno;
	if (r == 0)
		r = main_write_all(fd, text, strlen(text));
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, p->status_path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		log_warn("cannot write the status file '%s': %s",
			 p->status_path, vfs_strerror(r));
	}
	free(tmp);
}

static void st_pub_publish(struct status_pub *p, struct store *s,
			   int commit_err, uint64_t vault_gen)
{
	char *text = st_pub_text(p, s, commit_err, vault_gen);

	if (!text)
		return;
	if (p->last_text && strcmp(p->last_text, text) == 0) {
		cJSON_free(text);
		return;
	}
	st_pub_write(p, text);
	cJSON_free(p->last_text);
	p->last_text = text;
}

void status_pub_started(struct status_pub *p, struct store *s)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->debris.n; i++)
		st_log_debris(&p->debris.v[i], "in");
	if (p->debris.total > p->debris.n)
		log_warn("... and %" PRIu64 " more debris entries",
			 p->debris.total - p->debris.n);
	st_pub_publish(p, s, 0, 0);
}

/* Looks at the folder again; logs what appeared and what went. */
static void st_pub_rescan(struct status_pub *p)
{
	struct st_debris_list l;
	struct store_folder f;
	char name[600];
	uint64_t shown = 0;
	int r;

	r = st_scan(p->cloud_dir, 0, &f, &l);
	if (r < 0) {
		if (r != p->scan_err)
			log_warn("cannot look for sync debris in '%s': %s",
				 p->cloud_dir, vfs_strerror(r));
		p->scan_err = r;
		return;
	}
	if (p->scan_err < 0)
		log_info("the cloud folder can be listed again");
	p->scan_err = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (st_debris_has(&p->debris, l.v[i].name))
			continue;
		if (shown++ < 50)
			st_log_debris(&l.v[i], "appeared in");
	}
	for (size_t i = 0; i < p->debris.n; i++) {
		if (st_debris_has(&l, p->debris.v[i].name))
			continue;
		st_printable(p->debris.v[i].name, name, sizeof(name));
		log_info("sync debris '%s' is gone from the cloud folder",
			 name);
	}
	if (l.total != p->debris.total && l.total > l.n)
		log_warn("%" PRIu64 " debris entries in the cloud folder in "
			 "all",
			 l.total);
	st_debris_release(&p->debris);
	p->debris = l;
	p->folder = f;
}

void status_pub_tick(struct status_pub *p, struct store *s, int commit_err,
		     uint64_t vault_gen)
{
	struct timespec now;
	uint64_t gen;

	if (!p)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	gen = store_generation(s);
	/* Every interval, and after commits (object count and bytes),
	 * but not more often than every STATUS_SCAN_MIN_S. */
	if (now.tv_sec - p->last_scan.tv_sec >= STATUS_SCAN_INTERVAL_S ||
	    (gen != p->scanned_gen &&
	     now.tv_sec - p->last_scan.tv_sec >= STATUS_SCAN_MIN_S)) {
		p->last_scan = now;
		p->scanned_gen = gen;
		st_pub_rescan(p);
	}
	st_pub_publish(p, s, commit_err, vault_gen);
}

void status_pub_free(struct status_pub *p)
{
	if (!p)
		return;
	if (p->last_text)
		unlink(p->status_path);
	cJSON_free(p->last_text);
	st_debris_release(&p->debris);
	free(p->status_path);
	free(p->cloud_dir);
	free(p->mountpoint);
	free(p);
}

/* ---- status of a mount point ---- */

/* The status file of the daemon serving abs_mnt, parsed. Exit code. */
static int st_read_mount(const char *abs_mnt, cJSON **ret)
{
	char *state = NULL, *lockp = NULL, *path = NULL, *buf = NULL;
	size_t n;
	ssize_t k;
	int fd = -1, code, r;

	*ret = NULL;
	r = cli_state_dir(&state);
	if (r == 0)
		r = cli_mount_lockfile(state, abs_mnt, &lockp);
	if (r < 0) {
		code = main_fail(r, "cannot find the state folder");
		goto out;
	}
	fd = open(lockp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fprintf(stderr,
			"vaultfs: '%s' is a vaultfs mount, but no daemon for "
			"it is known in '%s' (mounted with another "
			"XDG_STATE_HOME, or by another user?)\n",
			abs_mnt, state);
		code = CLI_EXIT_MOUNTPOINT;
		goto out;
	}
	if (fd < 0) {
		code = main_fail(-errno, "cannot open '%s'", lockp);
		goto out;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		fprintf(stderr,
			"vaultfs: '%s' is a dead vaultfs mount: its daemon is "
			"gone; run 'vaultfs umount %s'\n",
			abs_mnt, abs_mnt);
		code = CLI_EXIT_MOUNTPOINT;
		goto out;
	}
	close(fd);
	n = strlen(lockp);
	path = malloc(n + 8);
	if (!path) {
		code = main_fail(-ENOMEM, "out of memory");
		goto out;
	}
	memcpy(path, lockp, n + 1);
	if (n > 4 && strcmp(path + n - 4, ".pid") == 0)
		n -= 4;
	memcpy(path + n, ".status", 8);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fprintf(stderr,
			"vaultfs: the daemon of '%s' has not published its "
			"status yet (starting?); try again in a second\n",
			abs_mnt);
		code = CLI_EXIT_FAILURE;
		goto out;
	}
	if (fd < 0) {
		code = main_fail(-errno, "cannot open '%s'", path);
		goto out;
	}
	buf = malloc(STATUS_FILE_MAX + 1);
	if (!buf) {
		code = main_fail(-ENOMEM, "out of memory");
		goto out;
	}
	n = 0;
	while (n <= STATUS_FILE_MAX) {
		k = read(fd, buf + n, STATUS_FILE_MAX + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			code = main_fail(-errno, "cannot read '%s'", path);
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > STATUS_FILE_MAX) {
		code = main_fail(-EFBIG, "'%s'", path);
		goto out;
	}
	buf[n] = '\0';
	*ret = cJSON_ParseWithLength(buf, n);
	if (!*ret || !cJSON_IsObject(*ret)) {
		cJSON_Delete(*ret);
		*ret = NULL;
		code = main_fail(-EBADMSG, "the status file '%s' is malformed",
				 path);
		goto out;
	}
	code = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	free(lockp);
	free(state);
	return code;
}

static const char *st_jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static uint64_t st_jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > 9007199254740992.0)
		return 0;
	return (uint64_t)v->valuedouble;
}

static int st_jbool(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Prints the debris part of a status object (ours or the daemon's). */
static void st_print_debris_json(const cJSON *o)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "debris");
	const cJSON *e;
	uint64_t total = st_jnum(o, "debris_count"), shown = 0;
	char name[600], of[600], sz[32], iso[32];

	if (total == 0) {
		printf("  sync debris:  none\n");
		return;
	}
	printf("  sync debris:  %" PRIu64 " entr%s, left untouched "
	       "(vaultfs never reads, merges or deletes them):\n",
	       total, total == 1 ? "y" : "ies");
	cJSON_ArrayForEach(e, arr)
	{
		const char *n = st_jstr(e, "name"), *k = st_jstr(e, "kind");

		if (!n || !k)
			continue;
		st_printable(n, name, sizeof(name));
		st_size(st_jnum(e, "size"), sz, sizeof(sz));
		st_iso((int64_t)st_jnum(e, "mtime_unix"), iso, sizeof(iso));
		if (strcmp(k, "conflict-copy") == 0) {
			st_printable(st_jstr(e, "of") ? st_jstr(e, "of") : "?",
				     of, sizeof(of));
			printf("    '%s': sync conflict copy of '%s'%s, %s, "
			       "%s\n",
			       name, of,
			       strncmp(of, "log/", 4) == 0 && strlen(of) > 7
				   ? " (maybe a forked history's commit)"
				   : "",
			       sz, iso);
		} else {
			printf("    '%s': unknown %s, %s, %s\n", name,
			       st_jbool(e, "folder") ? "folder" : "file", sz,
			       iso);
		}
		shown++;
	}
	if (total > shown)
		printf("    ... and %" PRIu64 " more\n", total - shown);
}

static int st_mount(const struct cli_args *a, const char *abs_mnt)
{
	const cJSON *lease, *vault;
	cJSON *o = NULL;
	char sz[32], sz2[32], sz3[32], iso[32], ago[48], gen_s[32];
	int code;

	code = st_read_mount(abs_mnt, &o);
	if (code)
		return code;
	if (a->json) {
		char *text;

		if (!cJSON_AddStringToObject(o, "kind", "mount") ||
		    !cJSON_AddTrueToObject(o, "mounted")) {
			cJSON_Delete(o);
			return main_fail(-ENOMEM, "out of memory");
		}
		text = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (!text)
			return main_fail(-ENOMEM, "out of memory");
		printf("%s\n", text);
		cJSON_free(text);
		return fflush(stdout) == 0 ? 0
					   : main_fail(-EIO, "standard output");
	}
	st_iso((int64_t)st_jnum(o, "mounted_since_unix"), iso, sizeof(iso));
	printf("'%s': vaultfs mount, %s, daemon pid %" PRIu64 ", since %s\n",
	       abs_mnt, st_jbool(o, "read_only") ? "read-only" : "read-write",
	       st_jnum(o, "pid"), iso);
	printf("  store:        '%s'\n", st_jstr(o, "cloud_dir")
						 ? st_jstr(o, "cloud_dir")
						 : "?");
	printf("                id %s, format %" PRIu64 ", %s\n",
	       st_jstr(o, "store_id") ? st_jstr(o, "store_id") : "?",
	       st_jnum(o, "format_version"),
	       st_jstr(o, "aead") ? st_jstr(o, "aead") : "?");
	st_iso((int64_t)st_jnum(o, "last_commit_unix"), iso, sizeof(iso));
	st_ago((int64_t)st_jnum(o, "last_commit_unix"), ago, sizeof(ago));
	printf("  generation:   %" PRIu64 ", last commit %s (%s)\n",
	       st_jnum(o, "generation"), iso, ago);
	st_size(st_jnum(o, "uncommitted_bytes"), sz, sizeof(sz));
	printf("  uncommitted:  %s%s\n", sz,
	       st_jnum(o, "uncommitted_bytes")
		   ? " (committed within seconds, at once on fsync)"
		   : "");
	if (st_jstr(o, "commit_error"))
		printf("  COMMIT ERROR: %s (see the log in the state folder)\n",
		       st_jstr(o, "commit_error"));
	printf("  files:        %" PRIu64 " (inodes, folders included)\n",
	       st_jnum(o, "inodes"));
	st_size(st_jnum(o, "cloud_bytes"), sz, sizeof(sz));
	st_size(st_jnum(o, "referenced_bytes"), sz2, sizeof(sz2));
	st_size(st_jnum(o, "live_bytes"), sz3, sizeof(sz3));
	printf("  cloud:        %" PRIu64 " objects, %s in the folder; the "
	       "state uses %" PRIu64 " (%s), %s of it live\n",
	       st_jnum(o, "objects"), sz, st_jnum(o, "referenced_objects"),
	       sz2, sz3);
	lease = cJSON_GetObjectItemCaseSensitive(o, "lease");
	if (st_jbool(o, "read_only"))
		printf("  lease:        %s\n",
		       st_jbool(lease, "present")
			   ? "held by a writer elsewhere (this mount is "
			     "read-only and follows it)"
			   : "none (no writer at the moment)");
	else
		printf("  lease:        %s (host '%s', pid %" PRIu64 ")\n",
		       st_jbool(lease, "lost")
			   ? "TAKEN OVER by another writer: nothing is "
			     "committed any more"
			   : "held by this mount",
		       st_jstr(lease, "host") ? st_jstr(lease, "host") : "?",
		       st_jnum(lease, "pid"));
	vault = cJSON_GetObjectItemCaseSensitive(o, "vault");
	if (cJSON_IsObject(vault)) {
		if (st_jnum(vault, "generation"))
			snprintf(gen_s, sizeof(gen_s), "%" PRIu64,
				 st_jnum(vault, "generation"));
		else
			snprintf(gen_s, sizeof(gen_s), "none yet");
		printf("  vault:        '%s', account '%s' (generation it "
		       "holds: %s)\n",
		       st_jstr(vault, "url") ? st_jstr(vault, "url") : "?",
		       st_jstr(vault, "account") ? st_jstr(vault, "account")
						 : "?",
		       gen_s);
	} else {
		printf("  vault:        none (mounted with the 64-digit key)\n");
	}
	if (st_jstr(o, "scan_error"))
		printf("  cloud folder: cannot be listed: %s\n",
		       st_jstr(o, "scan_error"));
	st_print_debris_json(o);
	cJSON_Delete(o);
	return fflush(stdout) == 0 ? 0 : main_fail(-EIO, "standard output");
}

/* ---- status of a store folder ---- */

/* Mount points on this machine (this state dir) serving cloud. */
static int st_mounted_at(const char *cloud, cJSON *arr)
{
	char *state = NULL, *dir = NULL;
	struct dirent *de;
	DIR *d;
	int r;

	r = cli_state_dir(&state);
	if (r < 0)
		return r;
	if (asprintf(&dir, "%s/mounts", state) < 0) {
		free(state);
		return -ENOMEM;
	}
	free(state);
	d = opendir(dir);
	if (!d) {
		free(dir);
		return 0;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char buf[8192];
		cJSON *o;
		ssize_t k;
		int fd, lfd;

		if (n < 8 || strcmp(de->d_name + n - 7, ".status") != 0)
			continue;
		fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		k = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (k <= 0)
			continue;
		buf[k] = '\0';
		/* Only live daemons: their lock file is held. */
		{
			char lockname[512];

			if (n - 7 + 5 >= sizeof(lockname))
				continue;
			memcpy(lockname, de->d_name, n - 7);
			memcpy(lockname + n - 7, ".pid", 5);
			lfd = openat(dirfd(d), lockname,
				     O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (lfd < 0)
				continue;
			if (flock(lfd, LOCK_SH | LOCK_NB) == 0) {
				close(lfd);
				continue;
			}
			close(lfd);
		}
		o = cJSON_ParseWithLength(buf, (size_t)k);
		if (o && st_jstr(o, "cloud_dir") &&
		    strcmp(st_jstr(o, "cloud_dir"), cloud) == 0 &&
		    st_jstr(o, "mountpoint")) {
			cJSON *m = cJSON_CreateObject();

			if (m && cJSON_AddItemToArray(arr, m)) {
				if (st_add_str(m, "mountpoint",
					       st_jstr(o, "mountpoint")) < 0 ||
				    st_add_bool(m, "read_only",
						st_jbool(o, "read_only")) < 0 ||
				    st_add_num(m, "pid", st_jnum(o, "pid")) <
					0)
					r = -ENOMEM;
			} else {
				cJSON_Delete(m);
				r = -ENOMEM;
			}
		}
		cJSON_Delete(o);
	}
	closedir(d);
	free(dir);
	return r;
}

static int st_folder(const struct cli_args *a, const char *cloud,
		     const struct store_info *info)
{
	struct st_debris_list dl;
	struct store_folder f;
	struct cli_vault_conf vc;
	struct store_status ss;
	char idhex[2 * STORE_ID_BYTES + 1];
	char *state = NULL, *text = NULL;
	uint8_t *key = NULL;
	struct store *s = NULL;
	uint64_t seen = 0;
	int have_seen = 0, have_vc = 0, keyed = 0, code, r;
	cJSON *o = NULL, *x, *mounts;

	memset(&dl, 0, sizeof(dl));
	r = cli_state_dir(&state);
	if (r < 0) {
		code = main_fail(r, "cannot create the state folder");
		goto out;
	}
	r = st_scan(cloud, 0, &f, &dl);
	if (r < 0) {
		code = main_fail(r, "cannot list '%s'", cloud);
		goto out;
	}
	have_seen = store_seen_generation(state, info->store_id, &seen) == 0;
	have_vc = cli_vault_conf_load(state, info->store_id, &vc) == 0;

	if (a->ask_key || a->key_file || a->password_file || a->vault_url) {
		struct vault_ctx v;

		key = sodium_malloc(STORE_KEY_BYTES);
		if (!key) {
			code = main_fail(-ENOMEM, "out of memory");
			goto out;
		}
		code = cmd_get_key(a, info, state, key, &v, NULL);
		if (code)
			goto out;
		vault_ctx_release(&v);
		r = store_open(cloud, key, state, STORE_READ_ONLY, &s);
		sodium_free(key);
		key = NULL;
		if (r < 0) {
			code = main_fail(r, "cannot open the store in '%s'",
					 cloud);
			goto out;
		}
		store_get_status(s, &ss);
		keyed = 1;
		r = store_close(s);
		s = NULL;
		if (r < 0) {
			code = main_fail(r, "closing the store");
			goto out;
		}
		/* Opening raised this machine's record. */
		have_seen = store_seen_generation(state, info->store_id,
						  &seen) == 0;
	}

	sodium_bin2hex(idhex, sizeof(idhex), info->store_id,
		       sizeof(info->store_id));
	o = cJSON_CreateObject();
	if (!o)
		goto nomem;
	if (st_add_str(o, "kind", "store") < 0 ||
	    st_add_bool(o, "mounted", 0) < 0 ||
	    st_add_str(o, "cloud_dir", cloud) < 0 ||
	    st_add_str(o, "store_id", idhex) < 0 ||
	    st_add_num(o, "format_version", info->format_version) < 0 ||
	    st_add_str(o, "aead", info->aead) < 0)
		goto nomem;
	x = cJSON_AddObjectToObject(o, "vault_hint");
	if (!x || st_add_str(x, "url", info->vault_url) < 0 ||
	    st_add_str(x, "account", info->account) < 0)
		goto nomem;
	if (st_add_num(o, "objects", f.segments) < 0 ||
	    st_add_num(o, "segment_bytes", f.segment_bytes) < 0 ||
	    st_add_num(o, "cloud_bytes", f.total_bytes) < 0 ||
	    st_add_num(o, "highest_segment", f.highest_seg) < 0 ||
	    st_add_time(o, "newest_object", f.newest_seg_mtime.tv_sec) < 0 ||
	    st_add_num(o, "temporaries", f.temporaries) < 0)
		goto nomem;
	x = cJSON_AddObjectToObject(o, "lease");
	if (!x || st_add_bool(x, "present", f.has_lease) < 0 ||
	    (f.has_lease &&
	     st_add_time(x, "written", f.lease_mtime.tv_sec) < 0) ||
	    !cJSON_AddNullToObject(x, "holder"))
		goto nomem;
	if (st_debris_json(o, &dl) < 0)
		goto nomem;
	x = cJSON_AddObjectToObject(o, "this_machine");
	if (!x)
		goto nomem;
	if (have_seen ? st_add_num(x, "seen_generation", seen) < 0
		      : !cJSON_AddNullToObject(x, "seen_generation"))
		goto nomem;
	if (have_vc) {
		cJSON *vj = cJSON_AddObjectToObject(x, "vault");

		if (!vj || st_add_str(vj, "url", vc.url) < 0 ||
		    st_add_str(vj, "account", vc.account) < 0 ||
		    st_add_str(vj, "token_file", vc.token_file) < 0)
			goto nomem;
	} else if (!cJSON_AddNullToObject(x, "vault")) {
		goto nomem;
	}
	mounts = cJSON_AddArrayToObject(x, "mounted_at");
	if (!mounts || st_mounted_at(cloud, mounts) < 0)
		goto nomem;
	if (keyed) {
		if (st_add_num(o, "generation", ss.generation) < 0 ||
		    st_add_time(o, "last_commit", ss.commit_time) < 0 ||
		    st_add_num(o, "inodes", ss.inodes) < 0 ||
		    st_add_num(o, "referenced_objects", ss.segments) < 0 ||
		    st_add_num(o, "referenced_bytes", ss.segment_bytes) < 0 ||
		    st_add_num(o, "live_bytes", ss.live_bytes) < 0)
			goto nomem;
	}

	if (a->json) {
		text = cJSON_PrintUnformatted(o);
		if (!text)
			goto nomem;
		printf("%s\n", text);
	} else {
		char sz[32], sz2[32], iso[32], ago[48];
		const cJSON *m;

		printf("'%s': vaultfs store (%s)\n", cloud,
		       cJSON_GetArraySize(mounts)
			   ? "mounted on this machine, see below"
			   : "not mounted on this machine");
		printf("  store:        id %s, format %u, %s\n", idhex,
		       info->format_version, info->aead);
		if (info->vault_url[0])
			printf("  vault hint:   '%s', account '%s' (from the "
			       "header; not trusted by itself)\n",
			       info->vault_url, info->account);
		else
			printf("  vault hint:   none (the 64-digit key only)\n");
		st_size(f.segment_bytes, sz, sizeof(sz));
		st_size(f.total_bytes, sz2, sizeof(sz2));
		printf("  cloud:        %" PRIu64 " segment objects, %s (%s "
		       "in the folder)\n",
		       f.segments, sz, sz2);
		st_iso(f.newest_seg_mtime.tv_sec, iso, sizeof(iso));
		st_ago(f.newest_seg_mtime.tv_sec, ago, sizeof(ago));
		printf("  newest:       segment %" PRIu64 ", written %s (%s)\n",
		       f.highest_seg, iso, ago);
		if (f.has_lease) {
			st_ago(f.lease_mtime.tv_sec, ago, sizeof(ago));
			printf("  lease:        present, written %s; who holds "
			       "it cannot be read without the key (a writer "
			       "renews it every 5 min)\n",
			       ago);
		} else {
			printf("  lease:        none (no writer)\n");
		}
		if (keyed) {
			st_iso(ss.commit_time, iso, sizeof(iso));
			st_ago(ss.commit_time, ago, sizeof(ago));
			st_size(ss.segment_bytes, sz, sizeof(sz));
			st_size(ss.live_bytes, sz2, sizeof(sz2));
			printf("  generation:   %" PRIu64
			       ", last commit %s (%s)\n",
			       ss.generation, iso, ago);
			printf("  files:        %" PRIu64 " (inodes, folders "
			       "included)\n",
			       ss.inodes);
			printf("  data:         the state uses %" PRIu64
			       " objects (%s), %s of it live\n",
			       ss.segments, sz, sz2);
		} else {
			printf("  generation:   unknown without the key (give "
			       "a key option for generation, commit time, "
			       "files and live bytes)\n");
		}
		if (have_seen)
			printf("  this machine: has seen generation %" PRIu64
			       "\n",
			       seen);
		else
			printf("  this machine: has never opened this store\n");
		if (have_vc)
			printf("                trusts the vault '%s' for it "
			       "(account '%s')\n",
			       vc.url, vc.account);
		cJSON_ArrayForEach(m, mounts)
		printf("                mounted at '%s' (%s, pid %" PRIu64
		       ")\n",
		       st_jstr(m, "mountpoint"),
		       st_jbool(m, "read_only") ? "read-only" : "read-write",
		       st_jnum(m, "pid"));
		st_print_debris_json(o);
	}
	code = fflush(stdout) == 0 ? 0 : main_fail(-EIO, "standard output");
	goto out;
nomem:
	code = main_fail(-ENOMEM, "out of memory");
out:
	cJSON_free(text);
	cJSON_Delete(o);
	st_debris_release(&dl);
	if (s)
		store_close(s);
	sodium_free(key);
	free(state);
	return code;
}

int cmd_status(const struct cli_args *a)
{
	struct store_info info;
	char *abs = NULL, *cloud = NULL;
	char fstype[64] = "";
	FILE *mi;
	int found = 0, code, r;

	r = cli_mount_abspath(a->cloud_dir, &abs);
	if (r < 0)
		return main_fail(r, "'%s'", a->cloud_dir);
	mi = fopen("/proc/self/mountinfo", "re");
	if (mi) {
		found = cli_mountinfo_find(mi, abs, fstype, sizeof(fstype));
		fclose(mi);
	}
	if (found && strcmp(fstype, "fuse.vaultfs") == 0) {
		if (a->ask_key || a->key_file || a->password_file ||
		    a->vault_url)
			fprintf(stderr, "vaultfs: warning: '%s' is a mount "
					"point: the key options are not "
					"needed and were ignored\n",
				abs);
		code = st_mount(a, abs);
		goto out;
	}
	cloud = realpath(a->cloud_dir, NULL);
	if (!cloud) {
		code = main_fail(-errno, "'%s'", a->cloud_dir);
		goto out;
	}
	r = store_read_info(cloud, &info);
	if (r < 0) {
		if (r == -VFS_E_NOTSTORE)
			fprintf(stderr,
				"vaultfs: '%s' is neither a vaultfs mount "
				"nor a vaultfs store folder\n",
				cloud);
		else
			main_fail(r, "'%s'", cloud);
		code = cli_exit_code(r);
		goto out;
	}
	code = st_folder(a, cloud, &info);
out:
	free(abs);
	free(cloud);
	return code;
}
