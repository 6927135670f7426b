/*
 * vaultctl.c - a small command line front end to libvaultclient, for
 * operators and the integration tests. Secrets never come from argv: the
 * token from --token-file, passwords from file descriptors, keys (64-digit
 * key text) from files.
 *
 * Exit codes: 0 ok, 1 other failure, 2 usage, 3 wrong password, 4 locked,
 * 5 vault unreachable, 6 token refused, 7 malformed vault answer,
 * 8 unknown account or store, 9 account exists, 10 the 64-digit key is
 * not the one the vault knows for this store.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "keytext.h"
#include "log.h"
#include "vaultclient/vaultclient.h"
#include "vfs_error.h"

#define MAX_URLS 16
#define SECRET_FILE_MAX 4096

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vaultctl --url URL [--url URL]... [--ca-file FILE]\n"
		"                [--token-file FILE] [--password-fd N]\n"
		"                [--new-password-fd N] [--argon-ops N]\n"
		"                [--argon-mem BYTES] COMMAND ARGS...\n"
		"commands (STORE = 32 hex digits, KEYFILE = 64-digit key):\n"
		"  health\n"
		"  register  ACCOUNT STORE KEYFILE [STORE KEYFILE]...\n"
		"  recover   ACCOUNT STORE     (prints the 64-digit key)\n"
		"  passwd    ACCOUNT           (old: --password-fd, new: "
		"--new-password-fd)\n"
		"  add-store ACCOUNT STORE KEYFILE\n"
		"  delete    ACCOUNT\n"
		"  rearm     ACCOUNT STORE KEYFILE [STORE KEYFILE]... "
		"(new: --new-password-fd)\n"
		"  gen-report ACCOUNT STORE KEYFILE GENERATION\n"
		"  gen-get   ACCOUNT STORE KEYFILE\n"
		"  audit     ACCOUNT\n");
}

static int exit_code(int r)
{
	switch (-r) {
	case 0:
		return 0;
	case VFS_E_PASSWORD:
		return 3;
	case VFS_E_LOCKED:
		return 4;
	case VFS_E_VAULT:
		return 5;
	case VFS_E_TOKEN:
		return 6;
	case VFS_E_PROTOCOL:
		return 7;
	case ENOENT:
		return 8;
	case EEXIST:
		return 9;
	case VFS_E_WRONGKEY:
		return 10;
	default:
		return 1;
	}
}

/* Reads at most max bytes from fd into secure memory; strips one
 * trailing newline. */
static int read_secret_fd(int fd, uint8_t **ret, size_t *ret_len)
{
	uint8_t *b = sodium_malloc(SECRET_FILE_MAX + 1);
	size_t n = 0;

	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t r = read(fd, b + n, SECRET_FILE_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;

			sodium_free(b);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > SECRET_FILE_MAX) {
			sodium_free(b);
			return -E2BIG;
		}
	}
	if (n > 0 && b[n - 1] == '\n')
		n--;
	if (n > 0 && b[n - 1] == '\r')
		n--;
	*ret = b;
	*ret_len = n;
	return 0;
}

static int read_secret_file(const char *path, uint8_t **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int r;

	if (fd < 0)
		return -errno;
	r = read_secret_fd(fd, ret, ret_len);
	close(fd);
	return r;
}

static int parse_store_id(const char *s, uint8_t out[VC_STORE_ID_LEN])
{
	size_t n = 0;

	if (strlen(s) != 2 * VC_STORE_ID_LEN ||
	    sodium_hex2bin(out, VC_STORE_ID_LEN, s, strlen(s), NULL, &n,
			   NULL) != 0 ||
	    n != VC_STORE_ID_LEN) {
		log_error("store id '%s' is not 32 hex digits", s);
		return -EINVAL;
	}
	return 0;
}

/* Keys of (STORE KEYFILE) pairs, in one secure block. */
static int load_stores(char **argv, int argc, struct vc_store_key *stores,
		       uint8_t *keys)
{
	char why[128];
	int r;

	for (int i = 0; i < argc / 2; i++) {
		uint8_t *text = NULL;
		size_t len;

		r = parse_store_id(argv[2 * i], stores[i].store_id);
		if (r < 0)
			return r;
		r = read_secret_file(argv[2 * i + 1], &text, &len);
		if (r < 0) {
			log_error("cannot read key file '%s': %s",
				  argv[2 * i + 1], strerror(-r));
			return r;
		}
		r = keytext_parse((const char *)text, len,
				  keys + i * VC_KEY_LEN, why, sizeof(why));
		sodium_free(text);
		if (r < 0) {
			log_error("key file '%s': %s", argv[2 * i + 1], why);
			return r;
		}
		stores[i].key = keys + i * VC_KEY_LEN;
	}
	return 0;
}

static void report(const char *what, int r, int left)
{
	if (r == -VFS_E_PASSWORD && left >= 0)
		log_error("%s: wrong password; %d attempts left", what, left);
	else if (r == -VFS_E_LOCKED)
		log_error("%s: the account is locked after too many wrong "
			  "passwords; set a new one with 'rearm' and the "
			  "64-digit key", what);
	else if (r < 0)
		log_error("%s: %s", what, vfs_strerror(r));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "token-file", required_argument, NULL, 't' },
		{ "password-fd", required_argument, NULL, 'p' },
		{ "new-password-fd", required_argument, NULL, 'n' },
		{ "argon-ops", required_argument, NULL, 'O' },
		{ "argon-mem", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *urls[MAX_URLS];
	size_t nurls = 0;
	const char *ca = NULL, *token_file = NULL, *cmd;
	int pw_fd = -1, npw_fd = -1, opt, r = 0, left = -1, nargs;
	unsigned long long ops = 0, mem = 0;
	struct vc_client *c = NULL;
	struct vc_store_key stores[VC_MAX_STORES];
	uint8_t *keys = NULL, *pw = NULL, *npw = NULL, *tok = NULL;
	size_t pwlen = 0, npwlen = 0, toklen = 0;
	char **args;

	log_init("vaultctl", LOG_LVL_WARN);
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			if (nurls == MAX_URLS) {
				log_error("at most %d --url", MAX_URLS);
				return 2;
			}
			urls[nurls++] = optarg;
			break;
		case 'c':
			ca = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'p':
			pw_fd = atoi(optarg);
			break;
		case 'n':
			npw_fd = atoi(optarg);
			break;
		case 'O':
			ops = strtoull(optarg, NULL, 10);
			break;
		case 'M':
			mem = strtoull(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc || nurls == 0) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	args = argv + optind + 1;
	nargs = argc - optind - 1;
	if (sodium_init() < 0)
		return 1;

	r = vc_client_new(urls, nurls, ca, &c);
	if (r < 0) {
		log_error("vault URL refused: %s%s", vfs_strerror(r),
			  r == -EPERM ? " (plain http:// is for loopback "
					"addresses only; use https://)"
				      : "");
		return 2;
	}
	if (ops || mem) {
		r = vc_set_argon(c, (uint32_t)ops, mem);
		if (r < 0) {
			log_error("Argon2 parameters out of bounds "
				  "(ops 2..10, mem 32 MiB..1 GiB)");
			goto out;
		}
	}
	if (token_file) {
		r = read_secret_file(token_file, &tok, &toklen);
		if (r == 0) {
			tok[toklen] = '\0';
			r = vc_set_token(c, (const char *)tok);
		}
		if (r < 0) {
			log_error("cannot use token file '%s': %s", token_file,
				  vfs_strerror(r));
			goto out;
		}
	}
	if (pw_fd >= 0) {
		r = read_secret_fd(pw_fd, &pw, &pwlen);
		if (r < 0)
			goto out;
	}
	if (npw_fd >= 0) {
		r = read_secret_fd(npw_fd, &npw, &npwlen);
		if (r < 0)
			goto out;
	}
	keys = sodium_malloc(VC_MAX_STORES * VC_KEY_LEN);
	if (!keys) {
		r = -ENOMEM;
		goto out;
	}

	r = -EINVAL;
	if (strcmp(cmd, "health") == 0 && nargs == 0) {
		r = vc_health(c);
		report("health", r, -1);
	} else if (strcmp(cmd, "register") == 0 && nargs >= 3 &&
		   nargs % 2 == 1 && nargs / 2 <= VC_MAX_STORES && pw) {
		r = load_stores(args + 1, nargs - 1, stores, keys);
		if (r == 0)
			r = vc_register(c, args[0], pw, pwlen, stores,
					(size_t)nargs / 2);
		report("register", r, -1);
	} else if (strcmp(cmd, "recover") == 0 && nargs == 2 && pw) {
		uint8_t sid[VC_STORE_ID_LEN];
		char text[KEYTEXT_FORMAT_LEN];

		r = parse_store_id(args[1], sid);
		if (r == 0)
			r = vc_recover(c, args[0], sid, pw, pwlen, keys, &left);
		report("recover", r, left);
		if (r == 0) {
			keytext_format(keys, text);
			printf("%s\n", text);
			sodium_memzero(text, sizeof(text));
		}
	} else if (strcmp(cmd, "passwd") == 0 && nargs == 1 && pw && npw) {
		r = vc_passwd(c, args[0], pw, pwlen, npw, npwlen, &left);
		report("passwd", r, left);
	} else if (strcmp(cmd, "add-store") == 0 && nargs == 3 && pw) {
		r = load_stores(args + 1, 2, stores, keys);
		if (r == 0)
			r = vc_add_store(c, args[0], pw, pwlen, stores, &left);
		report("add-store", r, left);
	} else if (strcmp(cmd, "delete") == 0 && nargs == 1 && pw) {
		r = vc_delete(c, args[0], pw, pwlen, &left);
		report("delete", r, left);
	} else if (strcmp(cmd, "rearm") == 0 && nargs >= 3 && nargs % 2 == 1 &&
		   nargs / 2 <= VC_MAX_STORES && npw) {
		r = load_stores(args + 1, nargs - 1, stores, keys);
		if (r == 0)
			r = vc_rearm(c, args[0], stores, (size_t)nargs / 2, npw,
				     npwlen);
		report("rearm", r, -1);
	} else if (strcmp(cmd, "gen-report") == 0 && nargs == 4) {
		uint64_t max = 0;

		r = load_stores(args + 1, 2, stores, keys);
		if (r == 0)
			r = vc_report_generation(c, args[0], stores,
						 strtoull(args[3], NULL, 10),
						 &max);
		report("gen-report", r, -1);
		if (r == 0)
			printf("%" PRIu64 "\n", max);
	} else if (strcmp(cmd, "gen-get") == 0 && nargs == 3) {
		uint64_t gen = 0;

		r = load_stores(args + 1, 2, stores, keys);
		if (r == 0)
			r = vc_get_generation(c, args[0], stores, &gen);
		report("gen-get", r, -1);
		if (r == 0)
			printf("%" PRIu64 "\n", gen);
	} else if (strcmp(cmd, "audit") == 0 && nargs == 1) {
		struct vc_audit_event *ev = NULL;
		size_t n = 0;

		r = vc_audit(c, args[0], &ev, &n);
		report("audit", r, -1);
		for (size_t i = 0; r == 0 && i < n; i++)
			printf("%" PRIu64 " %s %s %s\n", ev[i].time,
			       ev[i].action, ev[i].outcome, ev[i].source);
		vc_audit_free(ev);
	} else {
		usage(stderr);
		r = 0;
		vc_client_free(c);
		sodium_free(keys);
		sodium_free(pw);
		sodium_free(npw);
		sodium_free(tok);
		return 2;
	}
out:
	if (r < 0 && left >= 0 && r != -VFS_E_PASSWORD)
		fprintf(stderr, "attempts left: %d\n", left);
	vc_client_free(c);
	sodium_free(keys);
	sodium_free(pw);
	sodium_free(npw);
	sodium_free(tok);
	return exit_code(r);
}
