/*
 * vs_config.h - vaultsrv's configuration file: "key = value" lines, '#'
 * comments, blank lines. Strict: an unknown key, a repeated key or a bad
 * value is an error naming the line.
 */
#ifndef VS_CONFIG_H
#define VS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CONFIG_PATH_MAX 4096
#define CONFIG_FILE_MAX (64 * 1024)
#define CONFIG_STORE_MAX (CONFIG_PATH_MAX + 16)

struct vs_config {
	char listen_host[256]; /* IPv4/IPv6 literal or "localhost" */
	uint16_t listen_port;
	int listen_loopback; /* the host is a loopback address */
	char pkcs11_module[CONFIG_PATH_MAX];
	char token_label[33];
	char pin_file[CONFIG_PATH_MAX];
	char db[CONFIG_PATH_MAX]; /* the SQLite file; "" with etcd */
	/* store spec for store_open(): "sqlite:PATH" or "etcd:URL,..." */
	char store[CONFIG_STORE_MAX + 1];
	uint32_t max_attempts;		/* 1..1000, default 10 */
	char tls_cert[CONFIG_PATH_MAX]; /* "" = plain HTTP (loopback only) */
	char tls_key[CONFIG_PATH_MAX];
	uint32_t rate_limit_per_minute; /* 0 = off */
	enum log_level log_level;
	uint32_t threads; /* HTTP worker threads and HSM sessions */
	uint32_t connection_limit;
	uint32_t connection_timeout;	      /* seconds */
	char evaluation_log[CONFIG_PATH_MAX]; /* "" = none */
	int64_t rotate_every; /* seconds between master key rotations; 0 off */
};

/* Fills c with the defaults. */
void config_defaults(struct vs_config *c);

/*
 * Parses len bytes of text (a whole file) into c, which holds defaults.
 * On error returns -EINVAL and writes "line N: what" into why (whylen).
 * Checks the file as a whole: listen, token_label, pin_file and one of
 * db (SQLite shorthand) or store are required; tls_cert and tls_key go together; plain HTTP only on loopback.
 */
int config_parse(struct vs_config *c, const char *text, size_t len, char *why,
		 size_t whylen) __attribute__((warn_unused_result));

/* Reads path (at most CONFIG_FILE_MAX bytes) and parses it. */
int config_load(struct vs_config *c, const char *path, char *why, size_t whylen)
    __attribute__((warn_unused_result));

#endif
