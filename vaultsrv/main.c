/*
 * main.c - vaultsrv: init (keys in the token, empty store, vault_id),
 * token (mint an account token), serve (the HTTP(S) vault).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"
#include "epoch.h"
#include "ceremony.h"
#include "hsm.h"
#include "http.h"
#include "startup.h"
#include "log.h"
#include "store.h"
#include "token.h"
#include "vfs_error.h"
#include "vs_config.h"

#define MAIN_TTL_DEFAULT (30 * 86400)
#define MAIN_PURGE_INTERVAL 30

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vaultsrv init  --config FILE\n"
	    "       vaultsrv token --config FILE --account ID "
	    "[--ttl SECONDS]\n"
	    "       vaultsrv serve --config FILE\n"
	    "       vaultsrv rotate --config FILE [--grace SECONDS] "
	    "[--pace MS] | --status\n"
	    "       vaultsrv ceremony-request --config FILE --out REQUEST\n"
	    "       vaultsrv ceremony-export  --config FILE --request REQUEST\n"
	    "                --fingerprint HEX --out BUNDLE\n"
	    "       vaultsrv ceremony-import  --config FILE --bundle BUNDLE "
	    "[--non-extractable]\n"
	    "       vaultsrv --help | --version\n"
	    "\n"
	    "init   creates the vault keys in the PKCS#11 token, an empty\n"
	    "       database and the vault_id; refuses to overwrite either.\n"
	    "token  prints one account token (default lifetime 30 days).\n"
	    "serve  runs the Backup Key Vault until SIGTERM.\n"
	    "rotate rotates the master wrapping key to a new epoch (or\n"
	    "       resumes one in progress) while the vault serves, then\n"
	    "       destroys the old key; --status prints the epoch.\n"
	    "ceremony-*  copy the vault keys into another token (a replica's\n"
	    "       or an offline backup token), wrapped under a transport key\n"
	    "       made inside it (docs/operations.md).\n");
}

static void main_no_core(void)
{
	struct rlimit rl = {0, 0};

	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		log_warn("cannot disable core dumps: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		log_warn("cannot clear the dumpable flag: %s", strerror(errno));
}

static int main_fsync_path(const char *path, int dir)
{
	int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* fsyncs every file and folder under dir, two levels deep (SoftHSM's
 * token directory: one folder per token). */
static int main_fsync_tree(const char *dir, int depth)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat st;
		int q;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     de->d_name) >= sizeof(path))
			continue;
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth > 0)
			q = main_fsync_tree(path, depth - 1);
		else if (S_ISREG(st.st_mode))
			q = main_fsync_path(path, 0);
		else
			q = 0;
		if (q < 0 && r == 0)
			r = q;
	}
	closedir(d);
	{
		int q = main_fsync_path(dir, 1);

		if (q < 0 && r == 0)
			r = q;
	}
	return r;
}

/*
 * SoftHSM does not fsync its token files; find its token directory in
 * its configuration file and do it ourselves. Returns 0 when the module
 * is not SoftHSM.
 */
static int main_sync_token(const struct vs_config *cfg)
{
	const char *conf = getenv("SOFTHSM2_CONF");
	char line[PATH_MAX + 64];
	FILE *f;
	int r = -ENOENT;

	if (!strstr(cfg->pkcs11_module, "softhsm"))
		return 0;
	if (!conf || !*conf)
		conf = "/etc/softhsm/softhsm2.conf";
	f = fopen(conf, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *k = line, *v, *e;

		while (*k == ' ' || *k == '\t')
			k++;
		if (strncmp(k, "directories.tokendir", 20) != 0)
			continue;
		v = strchr(k, '=');
		if (!v)
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		e = v + strcspn(v, "\r\n");
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		r = main_fsync_tree(v, 1);
		break;
	}
	fclose(f);
	return r;
}

static int main_load(const char *path, struct vs_config *cfg)
{
	char why[256] = "";
	int r;

	config_defaults(cfg);
	r = config_load(cfg, path, why, sizeof(why));
	if (r < 0)
		fprintf(stderr, "vaultsrv: config '%s': %s\n", path, why);
	return r;
}

static void main_unlink_db(const char *db)
{
	char p[CONFIG_PATH_MAX + 8];

	unlink(db);
	snprintf(p, sizeof(p), "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db);
	unlink(p);
}

static int cmd_init(const struct vs_config *cfg)
{
	struct hsm *h = NULL;
	struct store *s = NULL;
	uint8_t vid[16];
	char hex[33], dbdir[CONFIG_PATH_MAX];
	int r, made_db = 0;

	if (cfg->db[0] && access(cfg->db, F_OK) == 0) {
		fprintf(stderr,
			"vaultsrv: '%s' exists; refusing to overwrite "
			"a vault database\n",
			cfg->db);
		return -EEXIST;
	}
	r = hsm_open(cfg->pkcs11_module, cfg->token_label, cfg->pin_file, 1,
		     &h);
	if (r < 0) {
		fprintf(stderr,
			"vaultsrv: cannot open token '%s' with module "
			"'%s' and pin_file '%s': %s\n",
			cfg->token_label, cfg->pkcs11_module, cfg->pin_file,
			r == -EACCES ? "PIN refused or pin_file readable by "
				       "others (chmod 600)"
				     : strerror(-r));
		goto out;
	}
	r = hsm_load_keys(h);
	if (r != -ENOENT) {
		fprintf(stderr,
			"vaultsrv: token '%s' already holds vault keys; "
			"refusing to overwrite them\n",
			cfg->token_label);
		r = -EEXIST;
		goto out;
	}
	r = store_open(cfg->store, 1, &s);
	if (r < 0) {
		fprintf(stderr, "vaultsrv: cannot create store '%s': %s\n",
			cfg->store,
			r == -EEXIST ? "it exists already" : strerror(-r));
		goto out;
	}
	made_db = 1;
	r = hsm_create_keys(h);
	if (r < 0) {
		fprintf(stderr,
			"vaultsrv: cannot create keys in the token: "
			"%s\n",
			strerror(-r));
		goto out;
	}
	randombytes_buf(vid, sizeof(vid));
	r = store_meta_put(s, "vault_id", vid, sizeof(vid));
	if (r < 0) {
		fprintf(stderr, "vaultsrv: cannot write '%s': %s\n",
			cfg->store, strerror(-r));
		goto out;
	}
	r = main_sync_token(cfg);
	if (r < 0) {
		fprintf(stderr,
			"vaultsrv: cannot fsync the SoftHSM token "
			"directory: %s\n",
			strerror(-r));
		goto out;
	}
	if (cfg->db[0]) {
		snprintf(dbdir, sizeof(dbdir), "%s", cfg->db);
		r = main_fsync_path(dirname(dbdir), 1);
		if (r < 0)
			goto out;
	}
	sodium_bin2hex(hex, sizeof(hex), vid, sizeof(vid));
	printf("vault_id %s\n", hex);
	made_db = 0;
	r = 0;
out:
	store_free(s);
	if (made_db && cfg->db[0])
		main_unlink_db(cfg->db);
	hsm_free(h);
	return r;
}

static int main_vault_id(struct store *s, char hex[33])
{
	uint8_t vid[16];
	size_t n = 0;
	int r = store_meta_get(s, "vault_id", vid, sizeof(vid), &n);

	if (r < 0 || n != sizeof(vid))
		return r < 0 ? r : -EINVAL;
	sodium_bin2hex(hex, 33, vid, sizeof(vid));
	return 0;
}

static int main_mac(void *ctx, const void *msg, size_t len, uint8_t out[32])
{
	return hsm_mac(ctx, msg, len, out);
}

static int cmd_token(const struct vs_config *cfg, const char *account,
		     int64_t ttl)
{
	struct hsm *h = NULL;
	struct store *s = NULL;
	struct token_mac m;
	char vid[33], tok[TOKEN_MAX + 1], why[1024];
	int r;

	if (!account || !token_account_valid(account, strlen(account))) {
		fprintf(stderr, "vaultsrv: --account must be 1..128 characters "
				"of [A-Za-z0-9._-]\n");
		return -EINVAL;
	}
	r = store_open(cfg->store, 0, &s);
	if (r < 0) {
		startup_store_why(cfg, r, why, sizeof(why));
		fprintf(stderr, "vaultsrv: %s\n", why);
		goto out;
	}
	r = main_vault_id(s, vid);
	if (r < 0) {
		fprintf(stderr, "vaultsrv: '%s' has no vault_id\n",
			cfg->store);
		goto out;
	}
	r = hsm_open(cfg->pkcs11_module, cfg->token_label, cfg->pin_file, 1,
		     &h);
	if (r == 0)
		r = hsm_load_keys(h);
	if (r < 0) {
		startup_hsm_why(cfg, h != NULL, r, why, sizeof(why));
		fprintf(stderr, "vaultsrv: %s\n", why);
		goto out;
	}
	m.mac = main_mac;
	m.ctx = h;
	r = token_mint(&m, vid, account, (int64_t)time(NULL) + ttl, tok,
		       sizeof(tok));
	if (r < 0) {
		fprintf(stderr, "vaultsrv: cannot mint a token: %s\n",
			strerror(-r));
		goto out;
	}
	printf("%s\n", tok);
	sodium_memzero(tok, sizeof(tok));
out:
	store_free(s);
	hsm_free(h);
	return r;
}

static int main_sync_cb(void *arg)
{
	return main_sync_token(arg);
}

/* vaultsrv rotate: epoch.h; kill -9 at any point and rerun resumes. */
static int cmd_rotate(const struct vs_config *cfg, int64_t grace_ms,
		      unsigned pace_ms, int status)
{
	struct epoch_ctx c = {.sync_token = main_sync_cb,
			      .sync_arg = (void *)cfg,
			      .grace_ms = grace_ms,
			      .pace_ms = pace_ms};
	struct epoch_report rep;
	struct epoch_state st;
	uint32_t hi = 0;
	int r;

	r = store_open(cfg->store, 0, &c.store);
	if (r < 0) {
		fprintf(stderr, "vaultsrv: cannot open '%s': %s\n", cfg->store,
			strerror(-r));
		goto out;
	}
	r = hsm_open(cfg->pkcs11_module, cfg->token_label, cfg->pin_file, 1,
		     &c.hsm);
	if (r == 0)
		r = hsm_load_keys(c.hsm);
	if (r < 0) {
		fprintf(stderr, "vaultsrv: token '%s': %s\n", cfg->token_label,
			strerror(-r));
		goto out;
	}
	if (status) {
		r = epoch_state_get(c.store, &st, NULL, NULL);
		if (r == 0)
			r = hsm_epoch_highest(c.hsm, &hi);
		if (r < 0)
			goto out;
		if (st.next)
			printf("rotating %" PRIu32 " -> %" PRIu32
			       " since %" PRId64 "\n",
			       st.current, st.next, st.since);
		else
			printf("epoch %" PRIu32 " since %" PRId64 "\n",
			       st.current, st.since);
		printf("token holds");
		for (uint32_t e = 1; e <= hi && r == 0; e++) {
			r = hsm_epoch_present(c.hsm, e);
			if (r == 1)
				printf(" %" PRIu32, e);
			r = r < 0 ? r : 0;
		}
		printf("\n");
		goto out;
	}
	r = epoch_rotate(&c, &rep);
	if (r < 0) {
		fprintf(stderr, "vaultsrv: rotation failed: %s%s\n",
			vfs_strerror(r),
			r == -ECANCELED || r == -EAGAIN
			    ? " (rerun vaultsrv rotate to resume)"
			    : "");
		goto out;
	}
	printf("epoch %" PRIu32 " -> %" PRIu32 ": %" PRIu64
	       " rewrapped, %" PRIu64 " retried, %u pass(es)%s%s\n",
	       rep.from, rep.to, rep.rewrapped, rep.retries, rep.passes,
	       rep.resumed ? ", resumed" : "",
	       rep.joined ? ", finished by another rotator" : "");
out:
	hsm_free(c.hsm);
	store_free(c.store);
	return r;
}

static int cmd_serve(const struct vs_config *cfg)
{
	struct hsm *h = NULL;
	struct store *s = NULL;
	struct api *a = NULL;
	struct http *web = NULL;
	struct epoch_daemon *ed = NULL;
	struct timespec tick = {MAIN_PURGE_INTERVAL, 0};
	char vid[33], why[1024];
	sigset_t set;
	int r, sig;

	/* Before any thread exists, so all of them inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	r = store_open(cfg->store, 0, &s);
	if (r < 0) {
		startup_store_why(cfg, r, why, sizeof(why));
		log_error("%s", why);
		goto out;
	}
	r = main_vault_id(s, vid);
	if (r < 0) {
		log_error("store '%s' has no vault_id", cfg->store);
		goto out;
	}
	r = hsm_open(cfg->pkcs11_module, cfg->token_label, cfg->pin_file,
		     cfg->threads, &h);
	if (r == 0)
		r = hsm_load_keys(h);
	if (r < 0) {
		startup_hsm_why(cfg, h != NULL, r, why, sizeof(why));
		log_error("%s", why);
		goto out;
	}
	if (cfg->evaluation_log[0]) {
		r = hsm_set_evaluation_log(h, cfg->evaluation_log);
		if (r < 0) {
			log_error("evaluation_log '%s': %s",
				  cfg->evaluation_log, strerror(-r));
			goto out;
		}
	}
	{
		struct epoch_ctx ec = {.hsm = h,
				       .store = s,
				       .sync_token = main_sync_cb,
				       .sync_arg = (void *)cfg,
				       .grace_ms = EPOCH_GRACE_DEFAULT_MS};

		/* never a grace longer than the schedule's period */
		if (cfg->rotate_every > 0 &&
		    cfg->rotate_every * 1000 < ec.grace_ms)
			ec.grace_ms = cfg->rotate_every * 1000;

		r = epoch_sync(&ec, NULL);
		if (r == 0)
			r = epoch_daemon_start(
			    &ec, cfg->rotate_every,
			    cfg->rotate_every > 0 && cfg->rotate_every < 10
				? (unsigned)cfg->rotate_every
				: 10,
			    &ed);
		if (r < 0) {
			log_error("master key epoch: %s", vfs_strerror(r));
			goto out;
		}
	}
	r = api_new(cfg, h, s, &a);
	if (r < 0) {
		log_error("cannot start: %s", strerror(-r));
		goto out;
	}
	r = http_start(cfg, a, &web);
	if (r < 0) {
		log_error("cannot listen on %s:%u: %s", cfg->listen_host,
			  cfg->listen_port, strerror(-r));
		goto out;
	}
	log_info("vault %s listening on %s:%u (%s), max_attempts=%u, "
		 "store %s",
		 vid, cfg->listen_host, cfg->listen_port,
		 cfg->tls_cert[0] ? "https" : "http", cfg->max_attempts,
		 store_backend(s));
	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig < 0 && errno != EAGAIN && errno != EINTR) {
			r = -errno;
			break;
		}
		r = store_purge(s, (int64_t)time(NULL));
		if (r < 0)
			log_warn("purge of expired challenges failed: %s",
				 strerror(-r));
	}
	log_info("stopping on signal %d", sig);
	r = 0;
out:
	http_stop(web);
	epoch_daemon_stop(ed);
	api_free(a);
	hsm_free(h);
	store_free(s);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"account", required_argument, NULL, 'a'},
	    {"ttl", required_argument, NULL, 't'},
	    {"grace", required_argument, NULL, 'g'},
	    {"pace", required_argument, NULL, 'p'},
	    {"status", no_argument, NULL, 's'},
	    {"out", required_argument, NULL, 'o'},
	    {"request", required_argument, NULL, 'r'},
	    {"bundle", required_argument, NULL, 'b'},
	    {"fingerprint", required_argument, NULL, 'f'},
	    {"non-extractable", no_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct vs_config *cfg = NULL;
	const char *cmd = NULL, *config = NULL, *account = NULL;
	const char *out = NULL, *request = NULL, *bundle = NULL, *fpr = NULL;
	int extractable = 1;
	int64_t ttl = MAIN_TTL_DEFAULT;
	int64_t grace_ms = EPOCH_GRACE_DEFAULT_MS;
	unsigned pace_ms = 0;
	int status = 0;
	int c, r;

	log_init("vaultsrv", LOG_LVL_INFO);
	main_no_core();
	if (argc >= 2 && argv[1][0] != '-') {
		cmd = argv[1];
		argv++;
		argc--;
	}
	while ((c = getopt_long(argc, argv, "c:a:t:g:p:so:r:b:f:NhV", opts,
				NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'a':
			account = optarg;
			break;
		case 't': {
			char *end;
			long long v;

			errno = 0;
			v = strtoll(optarg, &end, 10);
			if (errno || *end || v < 1 || v > 10LL * 365 * 86400) {
				fprintf(stderr, "vaultsrv: --ttl must be 1.."
						"315360000 seconds\n");
				return 2;
			}
			ttl = v;
			break;
		}
		case 'g':
		case 'p': {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 0 || v > 3600) {
				fprintf(stderr, "vaultsrv: --grace must be "
						"0..3600 seconds, --pace "
						"0..3600 ms\n");
				return 2;
			}
			if (c == 'g')
				grace_ms = v * 1000;
			else
				pace_ms = (unsigned)v;
			break;
		}
		case 's':
			status = 1;
			break;
		case 'o':
			out = optarg;
			break;
		case 'r':
			request = optarg;
			break;
		case 'b':
			bundle = optarg;
			break;
		case 'f':
			fpr = optarg;
			break;
		case 'N':
			extractable = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vaultsrv %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!cmd || optind != argc || !config ||
	    (strcmp(cmd, "ceremony-request") == 0 && !out) ||
	    (strcmp(cmd, "ceremony-export") == 0 && (!request || !fpr || !out)) ||
	    (strcmp(cmd, "ceremony-import") == 0 && !bundle)) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "vaultsrv: libsodium failed to initialise\n");
		return 1;
	}
	cfg = malloc(sizeof(*cfg));
	if (!cfg)
		return 1;
	r = main_load(config, cfg);
	if (r < 0) {
		free(cfg);
		return 2;
	}
	log_init("vaultsrv", cfg->log_level);
	if (strcmp(cmd, "init") == 0) {
		r = cmd_init(cfg);
	} else if (strcmp(cmd, "token") == 0) {
		r = cmd_token(cfg, account, ttl);
	} else if (strcmp(cmd, "serve") == 0) {
		r = cmd_serve(cfg);
	} else if (strcmp(cmd, "rotate") == 0) {
		r = cmd_rotate(cfg, grace_ms, pace_ms, status);
	} else if (strcmp(cmd, "ceremony-request") == 0) {
		r = ceremony_cmd_request(cfg, out);
		if (r == 0)
			r = main_sync_token(cfg);
	} else if (strcmp(cmd, "ceremony-export") == 0) {
		r = ceremony_cmd_export(cfg, request, fpr, out);
	} else if (strcmp(cmd, "ceremony-import") == 0) {
		r = ceremony_cmd_import(cfg, bundle, extractable);
		if (r == 0)
			r = main_sync_token(cfg);
	} else {
		usage(stderr);
		r = -EINVAL;
	}
	free(cfg);
	return r < 0 ? 1 : 0;
}
