/*
 * SigV4 against AWS's published test suite (aws-sig-v4-test-suite, the
 * 2015-08-30 vectors: credentials AKIDEXAMPLE, region us-east-1, service
 * "service", host example.amazonaws.com, 20150830T123600Z). Each vector's
 * expected Authorization signature is the suite's <name>.authz; get-vanilla's
 * canonical request and its hash are the suite's .creq and .sts.
 */
#include <string.h>

#include "sigv4.h"
#include "test_check.h"

static const sigv4_scope suite_scope = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                        "us-east-1", "service"};
#define SUITE_DATE "20150830T123600Z"
#define HOST {"Host", "example.amazonaws.com"}
#define DATE {"X-Amz-Date", SUITE_DATE}

typedef struct vector {
    const char *name;
    const char *method;
    const char *path;
    sigv4_pair query[2];
    size_t query_count;
    sigv4_pair headers[5];
    size_t header_count;
    const char *body;
    const char *signed_headers;
    const char *signature;
} vector;

static const vector vectors[] = {
    {"get-vanilla", "GET", "/", {{0}}, 0, {HOST, DATE}, 2, NULL, "host;x-amz-date",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-vanilla-query-order-key-case", "GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}, 2,
     {HOST, DATE}, 2, NULL, "host;x-amz-date",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"get-vanilla-query-unreserved", "GET", "/",
     {{"-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
       "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}},
     1, {HOST, DATE}, 2, NULL, "host;x-amz-date",
     "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
    {"get-vanilla-utf8-query", "GET", "/", {{"\xe1\x88\xb4", "bar"}}, 1, {HOST, DATE}, 2, NULL,
     "host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
    {"get-utf8", "GET", "/\xe1\x88\xb4", {{0}}, 0, {HOST, DATE}, 2, NULL, "host;x-amz-date",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
     {{0}}, 0, {HOST, DATE}, 2, NULL, "host;x-amz-date",
     "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
    {"get-header-value-trim", "GET", "/", {{0}}, 0,
     {HOST, {"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}, DATE}, 4, NULL,
     "host;my-header1;my-header2;x-amz-date",
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {"get-header-key-duplicate", "GET", "/", {{0}}, 0,
     {HOST, {"My-Header1", "value2,value2,value1"}, DATE}, 3, NULL, "host;my-header1;x-amz-date",
     "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
    {"post-vanilla", "POST", "/", {{0}}, 0, {HOST, DATE}, 2, NULL, "host;x-amz-date",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"post-vanilla-query", "POST", "/", {{"Param1", "value1"}}, 1, {HOST, DATE}, 2, NULL,
     "host;x-amz-date", "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
    {"post-header-key-sort", "POST", "/", {{0}}, 0, {HOST, {"My-Header1", "value1"}, DATE}, 3, NULL,
     "host;my-header1;x-amz-date", "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
    {"post-header-value-case", "POST", "/", {{0}}, 0, {HOST, {"My-Header1", "VALUE1"}, DATE}, 3, NULL,
     "host;my-header1;x-amz-date", "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
    {"post-x-www-form-urlencoded", "POST", "/", {{0}}, 0,
     {{"Content-Type", "application/x-www-form-urlencoded"}, HOST, DATE}, 3, "Param1=value1",
     "content-type;host;x-amz-date", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
    {"post-x-www-form-urlencoded-parameters", "POST", "/", {{0}}, 0,
     {{"Content-Type", "application/x-www-form-urlencoded; charset=utf8"}, HOST, DATE}, 3,
     "Param1=value1", "content-type;host;x-amz-date",
     "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"},
};

static sigv4_request request_of(const vector *v)
{
    return (sigv4_request){.method = v->method, .path = v->path, .query = v->query,
                           .query_count = v->query_count, .headers = v->headers,
                           .header_count = v->header_count, .payload = v->body,
                           .payload_len = v->body ? strlen(v->body) : 0};
}

static void test_suite(void)
{
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const vector *v = &vectors[i];
        sigv4_request r = request_of(v);
        char authorization[512], expected[512];
        snprintf(expected, sizeof(expected),
                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                 "SignedHeaders=%s, Signature=%s",
                 v->signed_headers, v->signature);
        CHECK(sigv4_authorization(&r, &suite_scope, SUITE_DATE, authorization, sizeof(authorization)));
        if (strcmp(authorization, expected) != 0)
            fprintf(stderr, "vector %s:\n", v->name);
        CHECK_STR(authorization, expected);
    }
}

/* get-vanilla.creq, and the canonical request hash on the fourth line of
 * get-vanilla.sts. */
static void test_canonical_request(void)
{
    sigv4_request r = request_of(&vectors[0]);
    char creq[1024];
    CHECK(sigv4_canonical_request(&r, creq, sizeof(creq)));
    CHECK_STR(creq, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                    "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    char hash[SIGV4_HEX_SIZE];
    sigv4_sha256_hex(creq, strlen(creq), hash);
    CHECK_STR(hash, "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
}

static void test_dates_and_limits(void)
{
    char date[SIGV4_DATE_SIZE];
    sigv4_amz_date(1440938160, date); /* the suite's moment */
    CHECK_STR(date, SUITE_DATE);
    sigv4_request r = request_of(&vectors[0]);
    char small[40];
    CHECK(!sigv4_authorization(&r, &suite_scope, SUITE_DATE, small, sizeof(small)));
    char out[512];
    CHECK(!sigv4_authorization(&r, &suite_scope, "2015-08-30", out, sizeof(out)));
}

/* A session token as long as the setting allows (8 KiB) is signed whole. */
static void test_long_session_token(void)
{
    static char token[8193];
    for (size_t i = 0; i < sizeof(token) - 1; i++)
        token[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i % 64];
    sigv4_pair headers[3] = {HOST, DATE, {"X-Amz-Security-Token", token}};
    sigv4_request r = {.method = "POST", .path = "/", .headers = headers, .header_count = 3};
    char authorization[512];
    CHECK(sigv4_authorization(&r, &suite_scope, SUITE_DATE, authorization, sizeof(authorization)));
    CHECK(strstr(authorization, "SignedHeaders=host;x-amz-date;x-amz-security-token,") != NULL);
    static char creq[16384];
    CHECK(sigv4_canonical_request(&r, creq, sizeof(creq)));
    char line[8300];
    snprintf(line, sizeof(line), "\nx-amz-security-token:%s\n", token);
    CHECK(strstr(creq, line) != NULL);
}

int main(void)
{
    test_suite();
    test_canonical_request();
    test_dates_and_limits();
    test_long_session_token();
    return test_finish("cloudmap_sigv4");
}
