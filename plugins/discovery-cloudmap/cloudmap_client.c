#include "cloudmap_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cloudmap_api.h"
#include "sigv4.h"

#define SERVICE_NAME "servicediscovery"

struct cloudmap_client {
    const trellis_host *host;
    http_client *http;
    char *region;
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
};

struct cloudmap_pending {
    http_client_call *call;
    cloudmap_done_fn done;
    void *arg;
};

static void free_secret(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

cloudmap_client *cloudmap_client_new(const trellis_host *host, trellis_host_ctx *ctx,
                                     const http_client_options *http, const char *region,
                                     const cloudmap_credentials *credentials, trellis_error *err)
{
    cloudmap_client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        host->error_set(err, NULL, "out of memory");
        return NULL;
    }
    c->host = host;
    c->region = strdup(region);
    c->access_key_id = strdup(credentials->access_key_id);
    c->secret_access_key = strdup(credentials->secret_access_key);
    c->session_token = credentials->session_token ? strdup(credentials->session_token) : NULL;
    if (c->region == NULL || c->access_key_id == NULL || c->secret_access_key == NULL ||
        (credentials->session_token != NULL && c->session_token == NULL)) {
        host->error_set(err, NULL, "out of memory");
        cloudmap_client_free(c);
        return NULL;
    }
    c->http = http_client_new(host, ctx, http, err);
    if (c->http == NULL) {
        cloudmap_client_free(c);
        return NULL;
    }
    return c;
}

void cloudmap_client_free(cloudmap_client *c)
{
    if (c == NULL)
        return;
    http_client_free(c->http);
    free(c->region);
    free(c->access_key_id);
    free_secret(c->secret_access_key);
    free_secret(c->session_token);
    free(c);
}

static void on_http_done(void *arg, const http_client_response *response, const char *error)
{
    cloudmap_pending *p = arg;
    cloudmap_done_fn done = p->done;
    void *user = p->arg;
    free(p);
    if (response == NULL) {
        done(user, TRELLIS_ERR_UNAVAILABLE, NULL, 0, error);
        return;
    }
    if (response->status == 200) {
        done(user, TRELLIS_OK, response->body, response->body_len, NULL);
        return;
    }
    char text[600];
    trellis_status st = cloudmap_describe_error(
        response->status, http_client_response_header(response, "x-amzn-ErrorType"), response->body,
        response->body_len, text, sizeof(text));
    done(user, st, NULL, 0, text);
}

trellis_status cloudmap_client_call(cloudmap_client *c, const char *operation, const char *body,
                                    cloudmap_done_fn done, void *arg,
                                    cloudmap_pending **pending_out)
{
    char target[128];
    snprintf(target, sizeof(target), CLOUDMAP_TARGET_PREFIX "%s", operation);
    char amz_date[SIGV4_DATE_SIZE];
    sigv4_amz_date((time_t)c->host->wall_time(), amz_date);
    size_t body_len = strlen(body);

    sigv4_pair signed_headers[5] = {
        {"Content-Type", CLOUDMAP_CONTENT_TYPE},
        {"Host", http_client_authority(c->http)},
        {"X-Amz-Date", amz_date},
        {"X-Amz-Target", target},
        {"X-Amz-Security-Token", c->session_token},
    };
    size_t signed_count = c->session_token ? 5 : 4;
    sigv4_request request = {.method = "POST", .path = "/", .headers = signed_headers,
                             .header_count = signed_count, .payload = body,
                             .payload_len = body_len};
    sigv4_scope scope = {c->access_key_id, c->secret_access_key, c->region, SERVICE_NAME};
    char authorization[1024];
    if (!sigv4_authorization(&request, &scope, amz_date, authorization, sizeof(authorization)))
        return TRELLIS_ERR;

    http_response_header headers[6] = {
        {"Content-Type", CLOUDMAP_CONTENT_TYPE},
        {"X-Amz-Date", amz_date},
        {"X-Amz-Target", target},
        {"Authorization", authorization},
        {"Accept-Encoding", "identity"},
        {"X-Amz-Security-Token", c->session_token},
    };
    http_client_request http = {.method = "POST", .path = "/", .headers = headers,
                                .header_count = c->session_token ? 6 : 5, .body = body,
                                .body_len = body_len, .idempotent = true /* reads only */};
    cloudmap_pending *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return TRELLIS_ERR_NOMEM;
    p->done = done;
    p->arg = arg;
    trellis_status st = http_client_send(c->http, &http, on_http_done, p, &p->call);
    OPENSSL_cleanse(authorization, sizeof(authorization));
    if (st != TRELLIS_OK) {
        free(p);
        return st;
    }
    if (pending_out != NULL)
        *pending_out = p;
    return TRELLIS_OK;
}

void cloudmap_client_cancel(cloudmap_pending *p)
{
    if (p == NULL)
        return;
    http_client_cancel(p->call);
    free(p);
}

void cloudmap_client_stats(const cloudmap_client *c, http_client_stats *out)
{
    http_client_get_stats(c->http, out);
}
