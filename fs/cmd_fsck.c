/*
 * cmd_fsck.c - "vaultfs fsck [--repair] CLOUD_DIR" (docs/cli.md).
 *
 * Gets the key the way mount does, runs fsck_run (fs/fsck.c) over the
 * cloud folder and prints one line per finding and a summary. When the
 * header is missing or damaged there is nothing a key could be checked
 * against (and no store id to ask the vault about), so the header alone
 * is examined and no key is asked for.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cmd_fsck.h"
#include "cmdutil.h"
#include "fsck.h"
#include "objstore.h"
#include "progress.h"
#include "store.h"
#include "vfs_error.h"

struct out {
	FILE *f;
	int clear; /* stderr is a terminal: blank the progress line first */
};

static const char *level_word(enum fsck_level l)
{
	switch (l) {
	case FSCK_NOTE:
		return "note";
	case FSCK_DAMAGE:
		return "damage";
	case FSCK_ROLLBACK:
		return "rollback";
	case FSCK_REPAIRED:
		return "repaired";
	default:
		return "info";
	}
}

static void report(void *ctx, enum fsck_level level, const char *object,
		   const char *text)
{
	struct out *o = ctx;

	if (o->clear) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	fprintf(o->f, "%s: %s: %s\n", level_word(level), object, text);
	fflush(o->f);
}

static void human(char *buf, size_t size, uint64_t n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	unsigned u = 0;

	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%" PRIu64 " B", n);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
}

static int verdict(const struct cli_args *a, const struct fsck_result *res)
{
	char rb[32], fb[32];

	human(rb, sizeof(rb), res->bytes);
	human(fb, sizeof(fb), res->file_bytes);
	if (res->generation)
		printf("checked generation %" PRIu64 ": %" PRIu64
		       " objects (%s read), %" PRIu64 " files (%s), %" PRIu64
		       " directories, %" PRIu64 " other entries\n",
		       res->generation, res->objects, rb, res->files, fb,
		       res->dirs, res->others);
	else
		printf("checked %" PRIu64 " objects (%s read)\n", res->objects,
		       rb);
	if (a->repair)
		printf("repair: %u object%s removed\n", res->repaired,
		       res->repaired == 1 ? "" : "s");
	if (res->rollback) {
		printf("ROLLED BACK OR FORKED: %u finding%s, %u damaged, "
		       "%u note%s. This machine refuses to mount the folder "
		       "as it is; see docs/cli.md (exit codes 6 and 7).\n",
		       res->rollback, res->rollback == 1 ? "" : "s",
		       res->damage, res->notes, res->notes == 1 ? "" : "s");
		return CLI_EXIT_ROLLBACK;
	}
	if (res->damage) {
		printf("DAMAGED: %u finding%s, %u note%s. Nothing was "
		       "decrypted from the damaged objects. If the sync "
		       "client is still downloading, wait and check again; "
		       "else restore the named objects from a copy or the "
		       "sync service's history.\n",
		       res->damage, res->damage == 1 ? "" : "s", res->notes,
		       res->notes == 1 ? "" : "s");
		return CLI_EXIT_DAMAGED;
	}
	if (res->notes)
		printf("the store is sound (%u note%s: debris the store "
		       "ignores, listed above)\n",
		       res->notes, res->notes == 1 ? "" : "s");
	else
		printf("the store is sound\n");
	return CLI_EXIT_OK;
}

int cmd_fsck(const struct cli_args *a)
{
	struct store_info info;
	struct fsck_result res;
	struct fsck_opts o;
	struct out out;
	struct objstore *os = NULL;
	struct progress *pg = NULL;
	char *cloud = NULL, *state = NULL;
	uint8_t *key = NULL;
	int code, r, have_header = 1;

	memset(&o, 0, sizeof(o));
	out.f = stdout;
	out.clear = isatty(STDERR_FILENO);
	cloud = realpath(a->cloud_dir, NULL);
	if (!cloud) {
		code = main_fail(-errno, "cloud folder '%s'", a->cloud_dir);
		goto out;
	}
	r = objstore_new(cloud, &os);
	if (r < 0) {
		code = main_fail(r, "cloud folder '%s'", cloud);
		goto out;
	}
	r = store_read_info(cloud, &info);
	if (r == -VFS_E_NOTSTORE || r == -VFS_E_DAMAGED) {
		have_header = 0; /* the header alone, without a key */
	} else if (r < 0) {
		code = main_fail(r, "'%s'", cloud);
		goto out;
	}
	r = cli_state_dir(&state);
	if (r < 0) {
		code = main_fail(r, "cannot create the state folder");
		goto out;
	}
	if (have_header) {
		key = sodium_malloc(STORE_KEY_BYTES);
		if (!key) {
			code = main_fail(-ENOMEM,
					 "cannot allocate secure memory");
			goto out;
		}
		code = cmd_get_key(a, &info, state, key, NULL, NULL);
		if (code)
			goto out;
	}
	pg = progress_new(stderr, "fsck", 0, 0);
	o.flags = a->repair ? FSCK_F_REPAIR : 0;
	o.state_dir = state;
	o.progress = pg;
	o.report = report;
	o.ctx = &out;
	r = fsck_run(os, key, &o, &res);
	progress_done(pg);
	pg = NULL;
	if (r == -VFS_E_LEASE) {
		fprintf(stderr, "vaultfs: '%s': --repair needs the store's "
				"lease, and a writer holds it: unmount it "
				"there (plain fsck works while mounted)\n",
			cloud);
		code = CLI_EXIT_LEASE;
		goto out;
	}
	if (r < 0) {
		code = main_fail(r, "cannot check '%s'", cloud);
		goto out;
	}
	code = verdict(a, &res);
out:
	progress_done(pg);
	if (key)
		sodium_free(key);
	objstore_free(os);
	free(cloud);
	free(state);
	return code;
}
