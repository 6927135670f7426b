/*
 * startup.c - the startup error lines of vaultsrv (startup.h). Nothing
 * here changes state: it only looks (stat, open, dlopen) to tell an
 * operator which of the broken things it is.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "startup.h"

void startup_store_why(const struct vs_config *cfg, int r, char *buf,
		       size_t len)
{
	const char *s = cfg->store;

	switch (r) {
	case -ENOENT:
		snprintf(buf, len,
			 "store '%s': no vault there (a new vault: run "
			 "vaultsrv init; an initialised vault lost its "
			 "database: restore it from its backup)",
			 s);
		break;
	case -EUCLEAN:
		snprintf(buf, len,
			 "store '%s' is damaged (empty, truncated, corrupted "
			 "or not a vaultsrv database): restore it from its "
			 "backup",
			 s);
		break;
	case -EPROTO:
		snprintf(buf, len,
			 "store '%s' has another schema version (a database "
			 "of another vaultsrv version)",
			 s);
		break;
	case -EAGAIN:
		snprintf(buf, len,
			 "store '%s' is unreachable (etcd: no member answers "
			 "or no quorum)",
			 s);
		break;
	case -EBUSY:
		snprintf(buf, len,
			 "store '%s' is locked by another process", s);
		break;
	default:
		snprintf(buf, len, "cannot open store '%s': %s", s,
			 strerror(-r));
		break;
	}
}

/* Names what is wrong with the pin file, or returns 0 if nothing is. */
static int startup_pin_why(const char *path, char *buf, size_t len)
{
	struct stat st;
	char c;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(buf, len, "pin_file '%s' cannot be opened: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077)) {
		close(fd);
		snprintf(buf, len,
			 "pin_file '%s' must be a regular file that group and "
			 "others cannot read (chmod 600)",
			 path);
		return -1;
	}
	/* Only whether the first byte ends the line; the PIN stays unread. */
	n = read(fd, &c, 1);
	close(fd);
	if (n < 0) {
		snprintf(buf, len, "pin_file '%s' cannot be read: %s", path,
			 strerror(errno));
		return -1;
	}
	if (n == 0 || c == '\n' || c == '\r') {
		snprintf(buf, len, "pin_file '%s' holds no PIN on its first line",
			 path);
		return -1;
	}
	return 0;
}

void startup_hsm_why(const struct vs_config *cfg, int keys, int r, char *buf,
		     size_t len)
{
	const char *conf = getenv("SOFTHSM2_CONF");
	void *dl;

	if (!conf || !*conf)
		conf = "/etc/softhsm/softhsm2.conf";
	if (keys) {
		snprintf(buf, len,
			 "token '%s' does not hold this vault's keys (another "
			 "token, a damaged token file, or keys never made by "
			 "vaultsrv init)",
			 cfg->token_label);
		return;
	}
	if (startup_pin_why(cfg->pin_file, buf, len) < 0)
		return;
	dl = dlopen(cfg->pkcs11_module, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		const char *e = dlerror();

		snprintf(buf, len, "PKCS#11 module '%s' cannot be loaded: %s",
			 cfg->pkcs11_module, e ? e : "unknown error");
		return;
	}
	dlclose(dl);
	switch (r) {
	case -EACCES:
		snprintf(buf, len,
			 "token '%s' refused the PIN from pin_file '%s' (wrong "
			 "PIN; a real HSM may lock the user PIN after a few "
			 "refusals)",
			 cfg->token_label, cfg->pin_file);
		break;
	case -ENOENT:
		snprintf(buf, len,
			 "no token labelled '%s' in module '%s' (SoftHSM: "
			 "check directories.tokendir in '%s')",
			 cfg->token_label, cfg->pkcs11_module, conf);
		break;
	default:
		snprintf(buf, len,
			 "module '%s' cannot reach token '%s': %s (SoftHSM: "
			 "is directories.tokendir in '%s' there, readable and "
			 "intact?)",
			 cfg->pkcs11_module, cfg->token_label, strerror(-r),
			 conf);
		break;
	}
}
