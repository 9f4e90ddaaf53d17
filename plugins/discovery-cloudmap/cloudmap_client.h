/*
 * Signed Cloud Map API calls over the plugin HTTP client: a JSON 1.1 POST to
 * "/" with X-Amz-Target, SigV4-signed for the "servicediscovery" service
 * with the configured credentials (a session token is sent and signed as
 * X-Amz-Security-Token). The answer comes back as the body of a 200, or as
 * an error sentence with the status the core understands. Credentials are
 * never part of an error or log text.
 */
#ifndef TRELLIS_CLOUDMAP_CLIENT_H
#define TRELLIS_CLOUDMAP_CLIENT_H

#include <stddef.h>

#include <trellis/plugin.h>

#include "http_client.h"

typedef struct cloudmap_client cloudmap_client;
typedef struct cloudmap_pending cloudmap_pending;

typedef struct cloudmap_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;      /* NULL: none */
} cloudmap_credentials;

/* status TRELLIS_OK: `body` is the 200 answer; otherwise `error` says what
 * failed and the status is TRELLIS_ERR_NOT_FOUND or TRELLIS_ERR_UNAVAILABLE. */
typedef void (*cloudmap_done_fn)(void *arg, trellis_status status, const char *body, size_t len,
                                 const char *error);

/* Copies what it keeps. NULL with the reason in err. */
cloudmap_client *cloudmap_client_new(const trellis_host *host, trellis_host_ctx *ctx,
                                     const http_client_options *http, const char *region,
                                     const cloudmap_credentials *credentials, trellis_error *err);
/* Cancel every pending call first (their callbacks would not run). */
void cloudmap_client_free(cloudmap_client *client);

/* `operation` is "DiscoverInstances" or "DiscoverInstancesRevision". The
 * callback never runs inside this call. Not sent: TRELLIS_ERR_LIMIT (too
 * many queued), TRELLIS_ERR_NOMEM, or TRELLIS_ERR (it could not be signed). */
trellis_status cloudmap_client_call(cloudmap_client *client, const char *operation,
                                    const char *body, cloudmap_done_fn done, void *arg,
                                    cloudmap_pending **pending_out);
void cloudmap_client_cancel(cloudmap_pending *pending);

void cloudmap_client_stats(const cloudmap_client *client, http_client_stats *out);

#endif
