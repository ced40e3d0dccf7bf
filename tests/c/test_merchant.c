/*
 * doku_merchant_verify() and doku_merchant_answer() at the C boundary: each NULL argument, a
 * NULL body with and without a length, bad options and headers, a call signed here (the token
 * from doku_issue_token, the signature from doku_sign_request) accepted once, each class of
 * refusal with its HTTP status and code in the verdict, a body with a NUL byte inside body_len,
 * and every answer and error of doku_merchant_answer. No message or verdict may quote the
 * client secret or the token. Run under valgrind and with the sanitizers by tests/c_api.rs.
 * Environment: DOKU_TEST_DIR (pkcs8.pem / public.pem: the merchant's key pair; other.pem /
 * other-public.pem: DOKU's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define SECRET "c-merchant-secret-5d2e91"
#define PAYMENT_PATH "/v1.1/transfer-va/payment"
#define INQUIRY_PATH "/v1.1/transfer-va/inquiry"
#define DEBIT_PATH "/v1.0/debit/notify"

/* DOKU's sample payment notification, pretty-printed as DOKU sends it (signatures cover the
 * minified body), with a non-ASCII name. */
static const char PAYMENT[] =
    "{\n  \"partnerServiceId\": \"  888994\",\n  \"customerNo\": \"00000000000000000001\",\n"
    "  \"virtualAccountNo\": \"  88899400000000000000000001\",\n  \"virtualAccountName\": \"Budi \xc5\x9a"
    "antoso\",\n  \"paymentRequestId\": \"PR/0001\",\n  \"trxId\": \"INV/0001\",\n"
    "  \"paidAmount\": {\"value\": \"10000.00\", \"currency\": \"IDR\"}\n}\n";
static const char INQUIRY[] =
    "{\"partnerServiceId\":\"  888994\",\"customerNo\":\"00000000000000000099\","
    "\"virtualAccountNo\":\"  88899400000000000000000099\",\"inquiryRequestId\":\"IQ/0001\"}";
static const char DEBIT[] =
    "{\"originalPartnerReferenceNo\":\"ORDER/1\",\"originalReferenceNo\":\"DD1\",\"latestTransactionStatus\":\"00\","
    "\"amount\":{\"value\":\"25000.00\",\"currency\":\"IDR\"}}";
static const char BAD_UTF8[] = {'a', (char)0xC3, (char)0x28, 'b', 0};

static char options[4096];  /* doku_merchant_verify's, with SECRET and the merchant's public key file */
static char *token;         /* a JWT the merchant issued for MCH-C */
static char *foreign_token; /* one signed with another key */
static char *expired_token; /* one that lived 1 s */

static int contains(const char *s, const char *part) { return s && strstr(s, part) != NULL; }

/* No message or verdict may quote the secret or a token. */
static void clean(const char *text) {
    CHECK(!contains(text, SECRET));
    if (token) CHECK(!contains(text, token) && !contains(text, foreign_token) && !contains(text, expired_token));
}

/* A call that fails with `want`, leaves *out NULL and says exactly `message`. */
#define FAILS(call, out, want, message)                                                            \
    do {                                                                                           \
        out = (char *)1;                                                                           \
        DokuStatus st_ = (call);                                                                   \
        if (st_ != (want) || strcmp(doku_last_error(), (message)) != 0)                            \
            fprintf(stderr, "%s\n  -> %s: %s\n", #call, doku_status_name(st_), doku_last_error()); \
        CHECK(st_ == (want) && (out) == NULL);                                                     \
        CHECK(strcmp(doku_last_error(), (message)) == 0);                                          \
        clean(doku_last_error());                                                                  \
    } while (0)

static const char *path_of(const char *name) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", env("DOKU_TEST_DIR"), name);
    return path;
}

/* The merchant's token for client_id MCH-C, issued by doku_issue_token() to a token request
 * DOKU (other.pem) signed; ttl_s <= 0 is the default. */
static char *issue(const char *merchant_key, int ttl_s) {
    char *doku_key = slurp("other.pem"), *ts = NULL, *sig = NULL, *answer = NULL, headers[2048], opts[4096], ttl[32] = "";
    CHECK(doku_timestamp(&ts) == DOKU_OK);
    CHECK(doku_sign("MCH-C", ts, doku_key, &sig) == DOKU_OK);
    snprintf(headers, sizeof headers, "{\"X-CLIENT-KEY\":\"MCH-C\",\"X-TIMESTAMP\":\"%s\",\"X-SIGNATURE\":\"%s\"}", ts, sig);
    if (ttl_s > 0) snprintf(ttl, sizeof ttl, ",\"ttl_s\":%d", ttl_s);
    snprintf(opts, sizeof opts, "{\"client_id\":\"MCH-C\",\"doku_public_key_file\":\"%s\"", path_of("other-public.pem"));
    snprintf(opts + strlen(opts), sizeof opts - strlen(opts), ",\"merchant_private_key_file\":\"%s\"%s}", path_of(merchant_key),
             ttl);
    int http = 0;
    CHECK(doku_issue_token(opts, headers, "{\"grantType\":\"client_credentials\"}", &http, &answer) == DOKU_OK);
    CHECK(http == 200 && contains(answer, "\"accessToken\":\""));
    char *jwt = strstr(answer, "\"accessToken\":\"") + 15;
    *strchr(jwt, '"') = '\0';
    char *copy = strdup(jwt);
    doku_free(answer), doku_free(ts), doku_free(sig), free(doku_key);
    return copy;
}

/* The headers of a call DOKU makes: `tok` as Bearer, and the X-SIGNATURE doku_sign_request()
 * makes with `secret` over POST, path, the token, body and ts. A static buffer. */
static const char *signed_headers(const char *tok, const char *secret, const char *path, const char *body, const char *ts,
                                  const char *external_id, const char *partner) {
    static char headers[8192];
    char *sig = NULL;
    CHECK(doku_sign_request(secret, "POST", path, tok, body, ts, &sig) == DOKU_OK);
    int n = snprintf(headers, sizeof headers,
                     "{\"authorization\":\"Bearer %s\",\"X-Timestamp\":\"%s\",\"X-SIGNATURE\":\"%s\",\"X-PARTNER-ID\":\"%s\","
                     "\"X-EXTERNAL-ID\":\"%s\",\"CHANNEL-ID\":\"95221\"}",
                     tok, ts, sig, partner, external_id);
    CHECK(n > 0 && (size_t)n < sizeof headers);
    doku_free(sig);
    return headers;
}

/* A fresh X-EXTERNAL-ID. */
static const char *next_id(void) {
    static char id[32];
    static int n;
    snprintf(id, sizeof id, "C-MERCHANT-%d", ++n);
    return id;
}

/* The verdict on a call, which must be DOKU_OK with no error. The caller doku_frees it. */
static char *verify(const char *method, const char *path, const char *headers, const char *body, size_t body_len) {
    char *verdict = (char *)1;
    DokuStatus st = doku_merchant_verify(options, method, path, headers, body, body_len, &verdict);
    if (st != DOKU_OK) fprintf(stderr, "doku_merchant_verify -> %s: %s\n", doku_status_name(st), doku_last_error());
    CHECK(st == DOKU_OK && verdict != NULL && doku_last_error()[0] == '\0');
    clean(verdict);
    return verdict;
}

/* The verdict refuses with HTTP `status`, `code` and a message starting with `message` (JSON-
 * escaped); it is freed. */
static void refused(char *verdict, int status, const char *code, const char *message) {
    char want[1024];
    snprintf(want, sizeof want, "\"responseCode\":\"%s\",\"responseMessage\":\"%s", code, message);
    char http[32];
    snprintf(http, sizeof http, "\"httpStatus\":%d", status);
    const char *at = strstr(verdict, http);
    int ok = contains(verdict, "\"accepted\":false") && contains(verdict, want) && at && strchr(",}", at[strlen(http)]);
    if (!ok) fprintf(stderr, "verdict: %s\n  expected %s and %s\n", verdict, http, want);
    CHECK(ok);
    CHECK(!contains(verdict, "\"request\""));
    doku_free(verdict);
}

/* The verdict accepts `operation`; it is freed. */
static void accepted(char *verdict, const char *operation, const char *external_id, const char *ts) {
    char op[128], id[128], when[128];
    snprintf(op, sizeof op, "\"operation\":\"%s\"", operation);
    snprintf(id, sizeof id, "\"externalId\":\"%s\"", external_id);
    snprintf(when, sizeof when, "\"timestamp\":\"%s\"", ts);
    int ok = contains(verdict, "\"accepted\":true") && contains(verdict, op) && contains(verdict, id) &&
             contains(verdict, when) && contains(verdict, "\"request\":{") && !contains(verdict, "httpStatus");
    if (!ok) fprintf(stderr, "verdict: %s\n  expected %s\n", verdict, op);
    CHECK(ok);
    doku_free(verdict);
}

/* X-TIMESTAMP `seconds` from now, UTC, with a counter as the fraction of a second: each call's
 * own, so each request's own signature (the library knows a replay by its signature). */
static void timestamp_in(char *out, size_t size, long seconds) {
    static unsigned n;
    char whole[32];
    time_t t = time(NULL) + seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(whole, sizeof whole, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%06uZ", whole, ++n % 1000000u);
}

static void test_null_arguments(void) {
    char *out;
    const char *h = "{}";
    FAILS(doku_merchant_verify(NULL, "POST", PAYMENT_PATH, h, "{}", 2, &out), out, DOKU_ERR_NULL_ARGUMENT,
          "options_json is NULL");
    FAILS(doku_merchant_verify(options, NULL, PAYMENT_PATH, h, "{}", 2, &out), out, DOKU_ERR_NULL_ARGUMENT, "method is NULL");
    FAILS(doku_merchant_verify(options, "POST", NULL, h, "{}", 2, &out), out, DOKU_ERR_NULL_ARGUMENT, "path is NULL");
    FAILS(doku_merchant_verify(options, "POST", PAYMENT_PATH, NULL, "{}", 2, &out), out, DOKU_ERR_NULL_ARGUMENT,
          "headers_json is NULL");
    FAILS(doku_merchant_verify(options, "POST", PAYMENT_PATH, h, NULL, 5, &out), out, DOKU_ERR_NULL_ARGUMENT,
          "body is NULL but body_len is 5");
    CHECK(doku_merchant_verify(options, "POST", PAYMENT_PATH, h, "{}", 2, NULL) == DOKU_ERR_NULL_ARGUMENT);
    CHECK(strcmp(doku_last_error(), "verdict_json_out is NULL") == 0);

    /* A NULL body with body_len 0 is an empty body: judged, here refused for its headers. */
    refused(verify("POST", PAYMENT_PATH, h, NULL, 0), 400, "4002502", "Invalid Mandatory Field Authorization\"");
    /* ... and, signed, as a body that is not a JSON object. */
    char ts[64];
    timestamp_in(ts, sizeof ts, 0);
    const char *id = next_id();
    refused(verify("POST", PAYMENT_PATH, signed_headers(token, SECRET, PAYMENT_PATH, NULL, ts, id, "MCH-C"), NULL, 0), 400,
            "4002500", "Bad Request. The body must be a JSON object\"");

    const char *req = INQUIRY;
    FAILS(doku_merchant_answer(NULL, req, NULL, &out), out, DOKU_ERR_NULL_ARGUMENT, "operation is NULL");
    FAILS(doku_merchant_answer("inquiry", NULL, NULL, &out), out, DOKU_ERR_NULL_ARGUMENT, "request_json is NULL");
    CHECK(doku_merchant_answer("inquiry", req, NULL, NULL) == DOKU_ERR_NULL_ARGUMENT);
    CHECK(strcmp(doku_last_error(), "response_json_out is NULL") == 0);
}

static void test_bad_options_and_headers(void) {
    char *out, bad[4096];
    const char *pub = path_of("public.pem");
    FAILS(doku_merchant_verify("{", "POST", PAYMENT_PATH, "{}", "{}", 2, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "options: not valid JSON (EOF while parsing an object at line 1 column 1)");
    FAILS(doku_merchant_verify("[]", "POST", PAYMENT_PATH, "{}", "{}", 2, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "options: expected a JSON object");
    FAILS(doku_merchant_verify(BAD_UTF8, "POST", PAYMENT_PATH, "{}", "{}", 2, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "options_json is not valid UTF-8");
    FAILS(doku_merchant_verify("{}", "POST", PAYMENT_PATH, "{}", "{}", 2, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "options: client_id is required");
    FAILS(doku_merchant_verify("{\"client_id\":\"MCH-C\"}", "POST", PAYMENT_PATH, "{}", "{}", 2, &out), out,
          DOKU_ERR_INVALID_ARGUMENT, "options: client_secret or client_secret_file is required");
    snprintf(bad, sizeof bad, "{\"client_id\":\"MCH-C\",\"client_secret\":\"" SECRET "\"}");
    FAILS(doku_merchant_verify(bad, "POST", PAYMENT_PATH, "{}", "{}", 2, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "options: merchant_public_key or merchant_public_key_file is required");
    snprintf(bad, sizeof bad,
             "{\"client_id\":\"MCH-C\",\"client_secret\":\"" SECRET "\",\"merchant_public_key_file\":\"%s\",\"secret\":1}", pub);
    FAILS(doku_merchant_verify(bad, "POST", PAYMENT_PATH, "{}", "{}", 2, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "options: unknown key \"secret\" (known keys: client_id, client_secret, client_secret_file, merchant_public_key, "
          "merchant_public_key_file, max_skew_s, operation)");
    snprintf(bad, sizeof bad,
             "{\"client_id\":\"MCH-C\",\"client_secret\":\"" SECRET "\",\"merchant_public_key_file\":\"%s\",\"max_skew_s\":0}",
             pub);
    FAILS(doku_merchant_verify(bad, "POST", PAYMENT_PATH, "{}", "{}", 2, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "options: max_skew_s must be an integer \xe2\x89\xa5 1");
    snprintf(bad, sizeof bad,
             "{\"client_id\":\"MCH-C\",\"client_secret\":\"" SECRET
             "\",\"client_secret_file\":\"%s\",\"merchant_public_key_file\":\"%s\"}",
             pub, pub);
    FAILS(doku_merchant_verify(bad, "POST", PAYMENT_PATH, "{}", "{}", 2, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "options: set client_secret or client_secret_file, not both");
    /* The secret where the key belongs, a private key as the public one, a file that is not
     * there: DOKU_ERR_KEY, and the secret is not quoted. */
    snprintf(bad, sizeof bad, "{\"client_id\":\"MCH-C\",\"client_secret\":\"x\",\"merchant_public_key\":\"" SECRET "\"}");
    out = (char *)1;
    CHECK(doku_merchant_verify(bad, "POST", PAYMENT_PATH, "{}", "{}", 2, &out) == DOKU_ERR_KEY && out == NULL);
    clean(doku_last_error());
    snprintf(bad, sizeof bad, "{\"client_id\":\"MCH-C\",\"client_secret\":\"" SECRET "\",\"merchant_public_key_file\":\"%s\"}",
             path_of("pkcs8.pem"));
    CHECK(doku_merchant_verify(bad, "POST", PAYMENT_PATH, "{}", "{}", 2, &out) == DOKU_ERR_KEY && out == NULL);
    clean(doku_last_error());
    snprintf(bad, sizeof bad, "{\"client_id\":\"MCH-C\",\"client_secret\":\"" SECRET "\",\"merchant_public_key_file\":\"%s\"}",
             path_of("missing.pem"));
    CHECK(doku_merchant_verify(bad, "POST", PAYMENT_PATH, "{}", "{}", 2, &out) == DOKU_ERR_KEY && out == NULL);
    CHECK(contains(doku_last_error(), "missing.pem\" cannot be read"));
    clean(doku_last_error());

    const char *not_headers = "headers_json must be a JSON object of header names to string values";
    FAILS(doku_merchant_verify(options, "POST", PAYMENT_PATH, "{", "{}", 2, &out), out, DOKU_ERR_INVALID_ARGUMENT, not_headers);
    FAILS(doku_merchant_verify(options, "POST", PAYMENT_PATH, "[1]", "{}", 2, &out), out, DOKU_ERR_INVALID_ARGUMENT, not_headers);
    FAILS(doku_merchant_verify(options, "POST", PAYMENT_PATH, "{\"X-TIMESTAMP\":1}", "{}", 2, &out), out,
          DOKU_ERR_INVALID_ARGUMENT, not_headers);
    FAILS(doku_merchant_verify(options, "POST", PAYMENT_PATH, BAD_UTF8, "{}", 2, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "headers_json is not valid UTF-8");
    FAILS(doku_merchant_verify(options, BAD_UTF8, PAYMENT_PATH, "{}", "{}", 2, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "method is not valid UTF-8");
    FAILS(doku_merchant_verify(options, "POST", BAD_UTF8, "{}", "{}", 2, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "path is not valid UTF-8");
}

static void test_accepted_once(void) {
    char ts[64];
    timestamp_in(ts, sizeof ts, 0);
    /* The payment notification, exactly as signed: accepted, then refused as a replay. */
    const char *id = next_id();
    const char *h = signed_headers(token, SECRET, PAYMENT_PATH, PAYMENT, ts, id, "MCH-C");
    char *verdict = verify("POST", PAYMENT_PATH, h, PAYMENT, strlen(PAYMENT));
    CHECK(contains(verdict,
                   "\"virtualAccountName\":\"Budi \xc5\x9a"
                   "antoso\"") &&
          contains(verdict, "\"paymentRequestId\":\"PR/0001\""));
    accepted(verdict, "payment_notification", id, ts);
    refused(verify("POST", PAYMENT_PATH, h, PAYMENT, strlen(PAYMENT)), 409, "4092500",
            "Conflict. This request was received before (a replay)\"");
    /* X-EXTERNAL-ID is not signed: under another one it is still the same request. */
    h = signed_headers(token, SECRET, PAYMENT_PATH, PAYMENT, ts, next_id(), "MCH-C");
    refused(verify("POST", PAYMENT_PATH, h, PAYMENT, strlen(PAYMENT)), 409, "4092500",
            "Conflict. This request was received before (a replay)\"");

    /* Under a base path of the merchant's, signed over the full path; method in any case. */
    id = next_id();
    h = signed_headers(token, SECRET, "/doku" INQUIRY_PATH, INQUIRY, ts, id, "MCH-C");
    accepted(verify("post", "/doku" INQUIRY_PATH, h, INQUIRY, strlen(INQUIRY)), "inquiry", id, ts);
    id = next_id();
    h = signed_headers(token, SECRET, DEBIT_PATH, DEBIT, ts, id, "MCH-C");
    accepted(verify("POST", DEBIT_PATH, h, DEBIT, strlen(DEBIT)), "debit_notification", id, ts);

    /* A NUL byte inside body_len: the whole body is judged (not JSON), never its prefix; the
     * prefix alone, signed, is accepted. */
    char with_nul[sizeof DEBIT + 16];
    memcpy(with_nul, DEBIT, sizeof DEBIT); /* its NUL included */
    memcpy(with_nul + sizeof DEBIT, "{\"x\":1}", 7);
    timestamp_in(ts, sizeof ts, 0); /* another request than the debit above */
    id = next_id();
    h = signed_headers(token, SECRET, DEBIT_PATH, DEBIT, ts, id, "MCH-C");
    refused(verify("POST", DEBIT_PATH, h, with_nul, sizeof DEBIT + 7), 400, "4005600",
            "Bad Request. body is not valid JSON (trailing characters at line 1 column 147)\"");
    accepted(verify("POST", DEBIT_PATH, h, with_nul, strlen(DEBIT)), "debit_notification", id, ts);
}

static void test_refusals(void) {
    char ts[64], stale[64], headers[8192], *verdict;
    timestamp_in(ts, sizeof ts, 0);
    timestamp_in(stale, sizeof stale, -3600);
    size_t len = strlen(PAYMENT);
    const char *h;

    /* 400xx02: a missing header, a missing body field. */
    h = signed_headers(token, SECRET, PAYMENT_PATH, PAYMENT, ts, next_id(), "MCH-C");
    snprintf(headers, sizeof headers, "%s", h);
    memcpy(strstr(headers, "CHANNEL-ID"), "CHANNEL-XX", 10);
    refused(verify("POST", PAYMENT_PATH, headers, PAYMENT, len), 400, "4002502", "Invalid Mandatory Field CHANNEL-ID\"");
    const char *thin = "{\"partnerServiceId\":\"  888994\",\"customerNo\":\"01\",\"virtualAccountNo\":\"  88899401\"}";
    h = signed_headers(token, SECRET, PAYMENT_PATH, thin, ts, next_id(), "MCH-C");
    refused(verify("POST", PAYMENT_PATH, h, thin, strlen(thin)), 400, "4002502", "Invalid Mandatory Field paymentRequestId\"");

    /* 400xx01: a malformed X-TIMESTAMP or X-EXTERNAL-ID. */
    h = signed_headers(token, SECRET, PAYMENT_PATH, PAYMENT, "yesterday", next_id(), "MCH-C");
    refused(verify("POST", PAYMENT_PATH, h, PAYMENT, len), 400, "4002501", "Invalid Field Format X-TIMESTAMP\"");
    h = signed_headers(token, SECRET, PAYMENT_PATH, PAYMENT, ts, "6 6", "MCH-C");
    refused(verify("POST", PAYMENT_PATH, h, PAYMENT, len), 400, "4002501", "Invalid Field Format X-EXTERNAL-ID\"");

    /* 400xx00: not POST; a body that is not JSON, not an object, not UTF-8. */
    h = signed_headers(token, SECRET, PAYMENT_PATH, PAYMENT, ts, next_id(), "MCH-C");
    refused(verify("GET", PAYMENT_PATH, h, PAYMENT, len), 400, "4002500",
            "Bad Request. DOKU sends /v1.1/transfer-va/payment with POST\"");
    refused(verify("POST", PAYMENT_PATH, h, "{broken", 7), 400, "4002500",
            "Bad Request. body is not valid JSON (key must be a string at line 1 column 2)\"");
    h = signed_headers(token, SECRET, PAYMENT_PATH, "[1]", ts, next_id(), "MCH-C");
    refused(verify("POST", PAYMENT_PATH, h, "[1]", 3), 400, "4002500", "Bad Request. The body must be a JSON object\"");
    refused(verify("POST", PAYMENT_PATH, h, "{\"a\":\"\xff\"}", 8), 400, "4002500", "Bad Request. The body is not UTF-8\"");

    /* 401xx01: a token of another issuer, or expired. */
    h = signed_headers(foreign_token, SECRET, PAYMENT_PATH, PAYMENT, ts, next_id(), "MCH-C");
    refused(verify("POST", PAYMENT_PATH, h, PAYMENT, len), 401, "4012501",
            "Invalid Token (B2B): JWT rejected: signature is invalid: it does not match the message and public key\"");
    h = signed_headers(expired_token, SECRET, PAYMENT_PATH, PAYMENT, ts, next_id(), "MCH-C");
    refused(verify("POST", PAYMENT_PATH, h, PAYMENT, len), 401, "4012501", "Invalid Token (B2B): JWT rejected: it expired ");
    h = signed_headers("not-a-jwt", SECRET, PAYMENT_PATH, PAYMENT, ts, next_id(), "MCH-C");
    refused(verify("POST", PAYMENT_PATH, h, PAYMENT, len), 401, "4012501",
            "Invalid Token (B2B): malformed JWT: expected three dot-separated segments\"");

    /* 401xx00: stale, another partner than the token's, a wrong secret, a body changed after
     * signing, a signature for another path (with that path's service code). */
    h = signed_headers(token, SECRET, PAYMENT_PATH, PAYMENT, stale, next_id(), "MCH-C");
    verdict = verify("POST", PAYMENT_PATH, h, PAYMENT, len);
    CHECK(contains(verdict, " s away from the server clock (allowed: 300 s)\""));
    refused(verdict, 401, "4012500", "Unauthorized. X-TIMESTAMP is 36");
    h = signed_headers(token, SECRET, PAYMENT_PATH, PAYMENT, ts, next_id(), "MCH-OTHER");
    refused(verify("POST", PAYMENT_PATH, h, PAYMENT, len), 401, "4012500",
            "Unauthorized. X-PARTNER-ID does not match the token's client\"");
    h = signed_headers(token, "another-secret", PAYMENT_PATH, PAYMENT, ts, next_id(), "MCH-C");
    verdict = verify("POST", PAYMENT_PATH, h, PAYMENT, len);
    CHECK(contains(verdict, "\" with the client secret of MCH-C: it does not match the request and client secret)\""));
    refused(verdict, 401, "4012500",
            "Unauthorized. Invalid Signature (expected HMAC-SHA512 over \\\"POST:/v1.1/transfer-va/payment:<access token>:");
    h = signed_headers(token, SECRET, PAYMENT_PATH, PAYMENT, ts, next_id(), "MCH-C");
    char changed[sizeof PAYMENT];
    memcpy(changed, PAYMENT, sizeof PAYMENT);
    memcpy(strstr(changed, "10000.00"), "90000.00", 8);
    refused(verify("POST", PAYMENT_PATH, h, changed, len), 401, "4012500", "Unauthorized. Invalid Signature (");
    h = signed_headers(token, SECRET, PAYMENT_PATH, INQUIRY, ts, next_id(), "MCH-C");
    refused(verify("POST", INQUIRY_PATH, h, INQUIRY, strlen(INQUIRY)), 401, "4012400", "Unauthorized. Invalid Signature (");

    /* 404: none of DOKU's calls; the operation is null. */
    verdict = verify("POST", "/v1.0/refund", h, INQUIRY, strlen(INQUIRY));
    CHECK(contains(verdict, "\"operation\":null"));
    refused(verdict, 404, "4040000",
            "Not Found. DOKU's calls to a merchant end /transfer-va/inquiry, /transfer-va/payment, /debit/notify\"");
}

/* doku_merchant_answer's answer for `result`, which must be `want` exactly. */
static void answers(const char *operation, const char *request, const char *result, const char *want) {
    char *out = (char *)1;
    DokuStatus st = doku_merchant_answer(operation, request, result, &out);
    if (st != DOKU_OK || strcmp(out, want) != 0)
        fprintf(stderr, "doku_merchant_answer(%s, %s) -> %s: %s\n  expected %s\n", operation, result ? result : "NULL",
                doku_status_name(st), st == DOKU_OK ? out : doku_last_error(), want);
    CHECK(st == DOKU_OK && strcmp(out, want) == 0 && doku_last_error()[0] == '\0');
    doku_free(out);
}

static void test_answers(void) {
    const char *bill = "{\"virtualAccountName\":\"Demo Customer\",\"totalAmount\":{\"value\":\"10000.00\",\"currency\":\"IDR\"}}";
    answers(
        "inquiry", INQUIRY, bill,
        "{\"body\":{\"responseCode\":\"2002400\",\"responseMessage\":\"Successful\",\"virtualAccountData\":{"
        "\"additionalInfo\":{},\"customerNo\":\"00000000000000000099\",\"inquiryReason\":{\"english\":\"Success\","
        "\"indonesia\":\"Sukses\"},\"inquiryRequestId\":\"IQ/0001\",\"inquiryStatus\":\"00\",\"partnerServiceId\":\"  888994\","
        "\"totalAmount\":{\"currency\":\"IDR\",\"value\":\"10000.00\"},\"virtualAccountName\":\"Demo Customer\","
        "\"virtualAccountNo\":\"  88899400000000000000000099\",\"virtualAccountTrxType\":\"C\"}},\"httpStatus\":200}");
    answers(
        "inquiry", INQUIRY, "{\"refuse\":\"bill_not_found\"}",
        "{\"body\":{\"responseCode\":\"4042412\",\"responseMessage\":\"Invalid Bill/Virtual Account\",\"virtualAccountData\":{"
        "\"customerNo\":\"00000000000000000099\",\"inquiryRequestId\":\"IQ/0001\",\"partnerServiceId\":\"  888994\","
        "\"virtualAccountNo\":\"  88899400000000000000000099\"}},\"httpStatus\":404}");
    /* The payment: result_json NULL or {}, the same answer. */
    const char *paid =
        "{\"body\":{\"responseCode\":\"2002500\",\"responseMessage\":\"Successful\",\"virtualAccountData\":{\"customerNo\":"
        "\"00000000000000000001\",\"paidAmount\":{\"currency\":\"IDR\",\"value\":\"10000.00\"},\"partnerServiceId\":\"  888994\","
        "\"paymentRequestId\":\"PR/0001\",\"trxId\":\"INV/0001\",\"virtualAccountName\":\"Budi \xc5\x9a"
        "antoso\",\"virtualAccountNo\":\"  88899400000000000000000001\"}},\"httpStatus\":200}";
    answers("payment_notification", PAYMENT, NULL, paid);
    answers("payment_notification", PAYMENT, "{}", paid);
    answers(
        "debit_notification", DEBIT, "{\"approvalCode\":\"A1\"}",
        "{\"body\":{\"approvalCode\":\"A1\",\"responseCode\":\"2005600\",\"responseMessage\":\"Successful\"},\"httpStatus\":200}");
    answers("debit_notification", DEBIT, "{\"refuse\":\"general_error\"}",
            "{\"body\":{\"responseCode\":\"5005600\",\"responseMessage\":\"General Error\"},\"httpStatus\":500}");

    char *out;
    FAILS(doku_merchant_answer("refund", INQUIRY, NULL, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "operation must be one of inquiry, payment_notification, debit_notification");
    FAILS(doku_merchant_answer(BAD_UTF8, INQUIRY, NULL, &out), out, DOKU_ERR_INVALID_ARGUMENT, "operation is not valid UTF-8");
    FAILS(doku_merchant_answer("inquiry", "[1]", bill, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "request_json must be a JSON object: the verdict's \"request\"");
    FAILS(doku_merchant_answer("inquiry", "{\"customerNo\":\"1\"}", bill, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "request_json: partnerServiceId is missing (pass the verdict's \"request\" as it is)");
    FAILS(doku_merchant_answer("inquiry", BAD_UTF8, bill, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "request_json is not valid UTF-8");
    FAILS(doku_merchant_answer("inquiry", INQUIRY, NULL, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "result_json: virtualAccountName is required (the bill's name)");
    FAILS(doku_merchant_answer("inquiry", INQUIRY,
                               "{\"virtualAccountName\":\"B\",\"totalAmount\":{\"value\":\"10000\",\"currency\":\"IDR\"}}", &out),
          out, DOKU_ERR_INVALID_ARGUMENT,
          "result_json: totalAmount: value must be a string of digits with two decimals, e.g. \"10000.00\"");
    FAILS(
        doku_merchant_answer("inquiry", INQUIRY, "{\"refuse\":\"nope\"}", &out), out, DOKU_ERR_INVALID_ARGUMENT,
        "result_json: refuse must be one of bill_not_found, invalid_amount, bill_paid, bill_expired, general_error for inquiry");
    FAILS(doku_merchant_answer("debit_notification", DEBIT, "{\"refuse\":\"bill_paid\"}", &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "result_json: refuse must be one of general_error for debit_notification");
    FAILS(doku_merchant_answer("inquiry", INQUIRY, "{\"refuse\":\"bill_paid\",\"trxId\":\"1\"}", &out), out,
          DOKU_ERR_INVALID_ARGUMENT, "result_json: trxId has no place in a refusal");
    FAILS(doku_merchant_answer("payment_notification", PAYMENT, "{\"approvalCode\":\"A1\"}", &out), out,
          DOKU_ERR_INVALID_ARGUMENT, "result_json: unknown key \"approvalCode\" (known keys: refuse)");
    FAILS(doku_merchant_answer("payment_notification", PAYMENT, "{", &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "result_json: not valid JSON (EOF while parsing an object at line 1 column 1)");
    FAILS(doku_merchant_answer("payment_notification", PAYMENT, BAD_UTF8, &out), out, DOKU_ERR_INVALID_ARGUMENT,
          "result_json is not valid UTF-8");
}

int main(void) {
    snprintf(options, sizeof options,
             "{\"client_id\":\"MCH-C\",\"client_secret\":\"" SECRET "\",\"merchant_public_key_file\":\"%s\"}",
             path_of("public.pem"));
    token = issue("pkcs8.pem", 0);
    foreign_token = issue("other.pem", 0);
    expired_token = issue("pkcs8.pem", 1);
    sleep(2); /* JWT times are whole seconds: 2 s after a 1 s token, it has expired */

    test_null_arguments();
    test_bad_options_and_headers();
    test_accepted_once();
    test_refusals();
    test_answers();
    free(token), free(foreign_token), free(expired_token);
    printf("ok: %d merchant checks passed\n", checks);
    return 0;
}
