/*
 * etcd.h - a small client of etcd's v3 JSON gateway (etcd 3.4:
 * POST /v3/kv/txn, /v3/kv/compaction): one transaction = compares, the
 * operations done when they hold and those done when they do not. The
 * only vaultsrv file that includes curl.
 *
 * Reads are transactions without compares holding only ranges: etcd
 * serves them linearizably (never serializable), so a member cut off from
 * the quorum answers an error, never a stale value.
 *
 * Failover: a request goes to the endpoint that answered last; one that
 * cannot be reached (nothing sent) is skipped for the next. A read is
 * also retried on the next endpoint after any failure; a write whose
 * request went out and got no clear answer is NOT retried (it may have
 * committed): -EAGAIN, outcome unknown.
 */
#ifndef VS_ETCD_H
#define VS_ETCD_H

#include <stddef.h>
#include <stdint.h>

#define ETCD_WUR __attribute__((warn_unused_result))

#define ETCD_ENDPOINTS_MAX 16
#define ETCD_URL_MAX 256
#define ETCD_OPS_MAX 16
#define ETCD_KEY_MAX 512
#define ETCD_VALUE_MAX 16384
#define ETCD_KVS_MAX 20000
#define ETCD_RESPONSE_MAX (8u << 20)
#define ETCD_TIMEOUT_MS_DEFAULT 3000

struct etcd;

struct etcd_conf {
	const char *endpoints; /* "URL[,URL...]", each http(s)://host:port */
	const char *cacert;    /* PEM file or NULL: the system's */
	const char *cert;      /* client certificate and key (PEM) or NULL */
	const char *key;
	long timeout_ms; /* per request; connect: a third of it */
};

enum etcd_op_type { ETCD_OP_RANGE = 1, ETCD_OP_PUT = 2, ETCD_OP_DELETE = 3 };

struct etcd_op {
	int type;	      /* enum etcd_op_type */
	const char *key;      /* printable, NUL-terminated */
	int prefix;	      /* RANGE/DELETE: every key starting with key */
	const uint8_t *value; /* PUT */
	size_t value_len;
	uint32_t limit;	  /* RANGE: at most this many keys; 0 = all */
	/* RANGE without prefix: from key to the end of this prefix */
	const char *end_prefix;
	int newest_first; /* RANGE: by create revision, descending */
};

enum etcd_cmp_result { ETCD_EQUAL = 0, ETCD_LESS = 1, ETCD_GREATER = 2 };

/* Compares the mod revision of key (of every key of a prefix; 0 for a
 * key that does not exist) with mod_revision. */
struct etcd_cmp {
	const char *key;
	int prefix;
	int result; /* enum etcd_cmp_result */
	int64_t mod_revision;
};

struct etcd_kv {
	char *key;
	uint8_t *value;
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
};

struct etcd_range {
	struct etcd_kv *kv;
	size_t n;
	int more; /* a limit cut the answer short */
};

struct etcd_txn_result {
	int succeeded;
	int64_t revision; /* of the store when the transaction ran */
	size_t nranges;	  /* one per RANGE operation of the branch run */
	struct etcd_range range[ETCD_OPS_MAX];
};

/*
 * Checks c (endpoint syntax: http only to a loopback host, no path, at
 * most ETCD_ENDPOINTS_MAX) and makes a client; nothing is contacted.
 * -EINVAL with a reason in why.
 */
int etcd_new(const struct etcd_conf *c, struct etcd **ret, char *why,
	     size_t whylen) ETCD_WUR;
void etcd_free(struct etcd *e);

/*
 * Runs one transaction. then/els: at most ETCD_OPS_MAX operations each.
 * On success ret holds the verdict and the ranges of the branch run
 * (release with etcd_txn_result_release()). Errors: -EAGAIN (no member
 * answered, the cluster refused for lack of quorum or time, or a write's
 * outcome is unknown), -EINVAL (etcd refused the request as malformed),
 * -EIO (an answer that does not parse), -ENOMEM.
 */
int etcd_txn(struct etcd *e, const struct etcd_cmp *cmp, size_t ncmp,
	     const struct etcd_op *then, size_t nthen,
	     const struct etcd_op *els, size_t nels,
	     struct etcd_txn_result *ret) ETCD_WUR;
void etcd_txn_result_release(struct etcd_txn_result *r);

/* Drops the history older than revision (best effort: errors returned,
 * "already compacted" is 0). */
int etcd_compact(struct etcd *e, int64_t revision) ETCD_WUR;

/*
 * Parses a /v3/kv/txn answer (untrusted: bounded and strict; int64 fields
 * as decimal strings, fields with default values absent). -EIO if it is
 * not one. Exported for the unit tests and the fuzz target.
 */
int etcd_parse_txn(const char *body, size_t len,
		   struct etcd_txn_result *ret) ETCD_WUR;

#endif
