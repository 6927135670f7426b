/*
 * http.h - the HTTP(S) front of the vault (libmicrohttpd): bounded
 * request bodies, connection limits and timeouts; every request is handed
 * to api_handle().
 */
#ifndef VS_HTTP_H
#define VS_HTTP_H

#include "api.h"
#include "vs_config.h"

struct http;

/*
 * Starts listening on cfg->listen_host:port with cfg->threads worker
 * threads, TLS if cfg->tls_cert is set. Borrows cfg and a.
 * -EADDRINUSE, -ENOENT (certificate files), -EIO.
 */
int http_start(const struct vs_config *cfg, struct api *a, struct http **ret)
    __attribute__((warn_unused_result));

/* Stops accepting, finishes or drops open connections, frees. */
void http_stop(struct http *h);

#endif
