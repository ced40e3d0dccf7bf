/*
 * Beyond the token, through the C ABI: minify, symmetric signatures, asymmetric verification,
 * signed requests (headers and the library's own HTTP call with the Invalid-Token retry), the
 * merchant side (issue and validate DOKU's token) and B2B2C. Run by tests/c_api.rs under
 * valgrind against a sandbox.
 *
 * Environment: DOKU_TEST_URL, DOKU_TEST_DIR (keys; kat-* files from tests/kat/snap_kat.py),
 * DOKU_TEST_REVOKE_URL (POST it to revoke c-va's tokens in the sandbox).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int contains(const char *haystack, const char *needle) {
    if (!strstr(haystack, needle)) {
        fprintf(stderr, "\"%s\" lacks \"%s\"\n", haystack, needle);
        return 0;
    }
    return 1;
}

static void test_minify_and_symmetric(void) {
    char *body = slurp("kat-body.json"), *minified = slurp("kat-minified.json"), *want = slurp("kat-signature.txt");
    char *secret = slurp("kat-secret.txt"), *token = slurp("kat-token.txt"), *ts = slurp("kat-timestamp.txt");
    char *out = NULL;
    CHECK(doku_minify(body, &out) == DOKU_OK);
    CHECK(strcmp(out, minified) == 0);
    doku_free(out);
    out = (char *)1;
    CHECK(doku_minify("{\"a\":", &out) == DOKU_ERR_INVALID_ARGUMENT && out == NULL);
    CHECK(contains(doku_last_error(), "body is not valid JSON"));
    CHECK(doku_minify(NULL, &out) == DOKU_ERR_NULL_ARGUMENT);

    const char *path = "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va";
    char *sig = NULL;
    CHECK(doku_sign_request(secret, "POST", path, token, body, ts, &sig) == DOKU_OK);
    CHECK(strcmp(sig, want) == 0); /* Python's hmac/hashlib computed the same */
    CHECK(doku_verify_request(secret, "POST", path, token, body, ts, sig) == DOKU_OK);
    CHECK(doku_verify_request(secret, "POST", path, token, minified, ts, sig) == DOKU_OK);
    CHECK(doku_verify_request("wrong", "POST", path, token, body, ts, sig) == DOKU_ERR_SIGNATURE_INVALID);
    CHECK(contains(doku_last_error(), "does not match"));
    CHECK(doku_verify_request(secret, "POST", path, token, "{}", ts, sig) == DOKU_ERR_SIGNATURE_INVALID);
    doku_free(sig);
    /* NULL body = empty body. */
    char *a = NULL, *b = NULL;
    CHECK(doku_sign_request(secret, "GET", path, token, NULL, ts, &a) == DOKU_OK);
    CHECK(doku_sign_request(secret, "GET", path, token, "", ts, &b) == DOKU_OK);
    CHECK(strcmp(a, b) == 0);
    doku_free(a), doku_free(b);
    sig = (char *)1;
    CHECK(doku_sign_request(secret, "POST", "https://api.doku.com/x", token, body, ts, &sig) == DOKU_ERR_INVALID_ARGUMENT);
    CHECK(sig == NULL && contains(doku_last_error(), "path must be the relative endpoint"));
    CHECK(doku_sign_request(NULL, "POST", path, token, body, ts, &sig) == DOKU_ERR_NULL_ARGUMENT);
    free(body), free(minified), free(want), free(secret), free(token), free(ts);
}

static void test_verify(void) {
    char *pub = slurp("public.pem"), *sig = slurp("expected.sig");
    CHECK(doku_verify("MCH-TEST", "2020-09-22T01:51:00Z", sig, pub) == DOKU_OK);
    CHECK(doku_verify("MCH-TEST", "2020-09-22T01:51:01Z", sig, pub) == DOKU_ERR_SIGNATURE_INVALID);
    CHECK(contains(doku_last_error(), "signature is invalid"));
    CHECK(doku_verify("MCH-TEST", "2020-09-22T01:51:00Z", "not base64!", pub) == DOKU_ERR_SIGNATURE_INVALID);
    CHECK(doku_verify("MCH-TEST", "2020-09-22T01:51:00Z", sig, "garbage") == DOKU_ERR_KEY);
    CHECK(doku_verify(NULL, "t", sig, pub) == DOKU_ERR_NULL_ARGUMENT);
    free(pub), free(sig);
}

static DokuClient *va_client(const char *url, const char *client_id, int with_secret) {
    char json[4096], key[1024];
    snprintf(key, sizeof key, "%s/pkcs8.pem", env("DOKU_TEST_DIR"));
    snprintf(json, sizeof json, "{\"client_id\":\"%s\",\"private_key_file\":\"%s\",\"base_url\":\"%s\",\"proxy\":\"\"%s}",
             client_id, key, url, with_secret ? ",\"client_secret\":\"va-secret\",\"channel_id\":\"H2H\"" : "");
    DokuClient *c = NULL;
    CHECK(doku_client_new(json, &c) == DOKU_OK);
    return c;
}

static const char *CREATE_VA =
    "{\n  \"partnerServiceId\": \"  888994\",\n  \"customerNo\": \"00000000000000000001\",\n"
    "  \"virtualAccountNo\": \"  88899400000000000000000001\",\n"
    "  \"virtualAccountName\": \"Budi \\u00c5 / Santoso\",\n  \"trxId\": \"INV-C-0001\",\n"
    "  \"totalAmount\": {\"value\": \"10000.00\", \"currency\": \"IDR\"}\n}";

static void test_signed_requests(const char *url) {
    const char *path = "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va";
    DokuClient *c = va_client(url, "c-va", 1);
    char *headers = NULL;
    CHECK(doku_client_request_headers(c, "POST", path, CREATE_VA, &headers) == DOKU_OK);
    const char *names[] = {"\"Authorization\":\"Bearer eyJ",
                           "\"X-TIMESTAMP\":\"",
                           "\"X-SIGNATURE\":\"",
                           "\"X-PARTNER-ID\":\"c-va\"",
                           "\"X-EXTERNAL-ID\":\"",
                           "\"CHANNEL-ID\":\"H2H\"",
                           "\"Content-Type\":\"application/json\""};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) CHECK(contains(headers, names[i]));
    doku_free(headers);

    char *response = NULL;
    CHECK(doku_client_request(c, "POST", path, CREATE_VA, NULL, &response) == DOKU_OK);
    CHECK(contains(response, "\"httpStatus\":200") && contains(response, "\"responseCode\":\"2002700\""));
    doku_free(response);

    /* The sandbox forgets c-va's tokens: the client gets 4012701, refetches, retries once. */
    char *revoke = NULL;
    (void)revoke;
    FILE *p = popen(env("DOKU_TEST_REVOKE_CMD"), "r");
    CHECK(p != NULL && pclose(p) == 0);
    CHECK(doku_client_request(c, "POST", path, CREATE_VA, NULL, &response) == DOKU_OK);
    CHECK(contains(response, "\"httpStatus\":200") && contains(response, "\"responseCode\":\"2002700\""));
    doku_free(response);

    /* A refusal is still a response: DOKU_OK with the status to inspect. */
    CHECK(doku_client_request(c, "POST", path, "{\"partnerServiceId\":\"1\"}", NULL, &response) == DOKU_OK);
    CHECK(contains(response, "\"httpStatus\":400") && contains(response, "\"responseCode\":\"4002702\""));
    doku_free(response);
    response = (char *)1;
    CHECK(doku_client_request(c, "POST", path, "{broken", NULL, &response) == DOKU_ERR_INVALID_ARGUMENT && response == NULL);
    CHECK(doku_client_request(NULL, "POST", path, NULL, NULL, &response) == DOKU_ERR_NULL_ARGUMENT);
    doku_client_free(c);

    DokuClient *bare = va_client(url, "c-ok", 0);
    headers = (char *)1;
    CHECK(doku_client_request_headers(bare, "POST", path, NULL, &headers) == DOKU_ERR_INVALID_ARGUMENT);
    CHECK(headers == NULL && contains(doku_last_error(), "client_secret is required"));
    doku_client_free(bare);
}

static void test_merchant_side(void) {
    /* DOKU (other.pem) asks the merchant (pkcs8.pem) for a token. */
    char *doku_key = slurp("other.pem"), *doku_pub = slurp("other-public.pem");
    char *merchant_pub = slurp("public.pem");
    char *ts = NULL, *sig = NULL, headers[2048];
    CHECK(doku_timestamp(&ts) == DOKU_OK);
    CHECK(doku_sign("MCH-MERCHANT", ts, doku_key, &sig) == DOKU_OK);
    snprintf(headers, sizeof headers, "{\"x-client-key\":\"MCH-MERCHANT\",\"X-Timestamp\":\"%s\",\"X-SIGNATURE\":\"%s\"}", ts,
             sig);
    const char *body = "{\"grantType\":\"client_credentials\"}";
    /* The merchant's options: DOKU's public key and the merchant's key, here as files. */
    char options[2048], wrong_doku_key[2048], short_ttl[2048];
    const char *dir = env("DOKU_TEST_DIR");
    const char *format =
        "{\"client_id\":\"MCH-MERCHANT\",\"doku_public_key_file\":\"%s/%s\","
        "\"merchant_private_key_file\":\"%s/pkcs8.pem\"%s}";
    snprintf(options, sizeof options, format, dir, "other-public.pem", dir, "");
    snprintf(wrong_doku_key, sizeof wrong_doku_key, format, dir, "public.pem", dir, "");
    snprintf(short_ttl, sizeof short_ttl, format, dir, "other-public.pem", dir, ",\"ttl_s\":60");
    int http = -1;
    char *answer = NULL;
    CHECK(doku_issue_token(options, headers, body, &http, &answer) == DOKU_OK);
    CHECK(http == 200 && contains(answer, "\"responseCode\":\"2007300\"") && contains(answer, "\"expiresIn\":900"));
    char *jwt = strstr(answer, "\"accessToken\":\"") + 15;
    *strchr(jwt, '"') = '\0';
    char bearer[4096];
    snprintf(bearer, sizeof bearer, "Bearer %s", jwt);
    char *claims = NULL;
    CHECK(doku_validate_token(bearer, merchant_pub, &claims) == DOKU_OK);
    CHECK(contains(claims, "\"clientId\":\"MCH-MERCHANT\"") && contains(claims, "\"iss\":\"MCH-MERCHANT\""));
    doku_free(claims);
    claims = (char *)1;
    CHECK(doku_validate_token(bearer, doku_pub, &claims) == DOKU_ERR_SIGNATURE_INVALID && claims == NULL);
    CHECK(doku_validate_token("not.a.jwt", merchant_pub, &claims) == DOKU_ERR_INVALID_ARGUMENT);
    /* alg none: header {"alg":"none"} */
    CHECK(doku_validate_token("eyJhbGciOiJub25lIn0.eyJleHAiOjk5OTk5OTk5OTl9.", merchant_pub, &claims) ==
          DOKU_ERR_SIGNATURE_INVALID);
    CHECK(contains(doku_last_error(), "only RS256"));
    doku_free(answer);
    CHECK(doku_issue_token(short_ttl, headers, body, &http, &answer) == DOKU_OK);
    CHECK(http == 200 && contains(answer, "\"expiresIn\":60"));
    doku_free(answer);

    /* Signed by someone else: refused with DOKU's code, still DOKU_OK (an answer to send). */
    snprintf(headers, sizeof headers, "{\"X-CLIENT-KEY\":\"MCH-MERCHANT\",\"X-TIMESTAMP\":\"%s\",\"X-SIGNATURE\":\"%s\"}", ts,
             sig);
    CHECK(doku_issue_token(wrong_doku_key, headers, body, &http, &answer) == DOKU_OK);
    CHECK(http == 401 && contains(answer, "\"responseCode\":\"4017300\"") && contains(answer, "Invalid Signature"));
    doku_free(answer);
    CHECK(doku_issue_token(options, "{}", body, &http, &answer) == DOKU_OK);
    CHECK(http == 400 && contains(answer, "Invalid Mandatory Field X-CLIENT-KEY"));
    doku_free(answer);
    /* An X-TIMESTAMP with a multi-byte character (U+00E9) across byte 19: DOKU's format refusal,
     * not DOKU_ERR_PANIC. */
    snprintf(headers, sizeof headers,
             "{\"X-CLIENT-KEY\":\"MCH-MERCHANT\",\"X-TIMESTAMP\":\"2022-10-07T14:18:3\xc3\xa9\",\"X-SIGNATURE\":\"%s\"}", sig);
    CHECK(doku_issue_token(options, headers, body, &http, &answer) == DOKU_OK);
    CHECK(http == 400 &&
          contains(answer, "{\"responseCode\":\"4007301\",\"responseMessage\":\"Invalid Field Format X-TIMESTAMP\"}"));
    CHECK(doku_last_error()[0] == '\0');
    doku_free(answer);
    answer = (char *)1;
    CHECK(doku_issue_token(options, "[1]", body, &http, &answer) == DOKU_ERR_INVALID_ARGUMENT);
    CHECK(http == 0 && answer == NULL);
    CHECK(doku_issue_token(options, headers, body, NULL, &answer) == DOKU_ERR_NULL_ARGUMENT);
    doku_free(ts), doku_free(sig);
    free(doku_key), free(doku_pub), free(merchant_pub);
}

static void test_b2b2c(const char *url) {
    DokuClient *c = va_client(url, "c-ok", 0);
    char *json = NULL, *again = NULL;
    CHECK(doku_get_token_b2b2c(c, "auth-code-123", &json) == DOKU_OK);
    CHECK(contains(json, "\"accessToken\":\"") && contains(json, "\"refreshTokenExpiryTime\":\""));
    char *rt = strstr(json, "\"refreshToken\":\"") + 16;
    *strchr(rt, '"') = '\0';
    CHECK(doku_refresh_token_b2b2c(c, rt, &again) == DOKU_OK);
    CHECK(contains(again, "\"accessToken\":\""));
    doku_free(json), doku_free(again);
    json = (char *)1;
    CHECK(doku_get_token_b2b2c(c, "invalid-code", &json) == DOKU_ERR_API && json == NULL);
    CHECK(strcmp(doku_last_response_code(), "4017401") == 0);
    CHECK(doku_refresh_token_b2b2c(c, "never-issued", &json) == DOKU_ERR_API);
    CHECK(doku_get_token_b2b2c(c, "", &json) == DOKU_ERR_INVALID_ARGUMENT);
    doku_client_free(c);

    /* The sandbox's bad-expiry fault: an accessTokenExpiryTime with U+00E9 across byte 19. */
    c = va_client(url, "c-badexpiry", 0);
    json = (char *)1;
    CHECK(doku_get_token_b2b2c(c, "auth-code-123", &json) == DOKU_ERR_PROTOCOL && json == NULL);
    CHECK(contains(doku_last_error(), "but no ISO-8601 accessTokenExpiryTime"));
    doku_client_free(c);
}

int main(void) {
    const char *url = env("DOKU_TEST_URL");
    test_minify_and_symmetric();
    test_verify();
    test_signed_requests(url);
    test_merchant_side();
    test_b2b2c(url);
    printf("ok: %d transaction checks passed\n", checks);
    return 0;
}
