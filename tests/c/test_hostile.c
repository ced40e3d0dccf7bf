/*
 * Hostile inputs at the C boundary: for every function, NULL in each pointer argument,
 * invalid UTF-8, empty strings and 10 MB strings, plus broken keys and configs. Each call must
 * return its status, leave out-parameters NULL on failure, and not crash (valgrind and the
 * sanitizers run this program). Environment: DOKU_TEST_URL, DOKU_TEST_DIR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* st must be want, *out must be NULL, and a failure must explain itself. */
#define EXPECT(call, want, out)                                                                                 \
    do {                                                                                                        \
        DokuStatus st_ = (call);                                                                                \
        if (st_ != (want)) fprintf(stderr, "%s -> %s (%s)\n", #call, doku_status_name(st_), doku_last_error()); \
        CHECK(st_ == (want));                                                                                   \
        if ((want) != DOKU_OK) CHECK((out) == NULL && doku_last_error()[0] != '\0');                            \
    } while (0)

static char *repeat(char c, size_t n) {
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void hostile_log(void *user_data, DokuLogLevel level, const char *event, const char *message) {
    (void)user_data, (void)level, (void)event, (void)message;
}

static const char BAD_UTF8[] = {'a', (char)0xC3, (char)0x28, 'b', 0};

/* doku_last_error() and doku_last_response_code() passed straight into the next call, in every
 * position: the call must see that text, and valgrind no read of freed memory. */
static void test_last_error_as_argument(const char *key, const char *pub) {
    char *want = NULL, *got = NULL, *out = (char *)1;
    CHECK(doku_sign("", "t", key, &out) == DOKU_ERR_INVALID_ARGUMENT);
    char *msg = strdup(doku_last_error()); /* "client_id is empty" */
    CHECK(strcmp(msg, "client_id is empty") == 0);
#define FAIL_AGAIN() CHECK(doku_sign("", "t", key, &out) == DOKU_ERR_INVALID_ARGUMENT)

    /* As client_id, then as timestamp, of doku_sign and doku_verify. */
    CHECK(doku_sign(msg, "ts", key, &want) == DOKU_OK);
    FAIL_AGAIN();
    CHECK(doku_sign(doku_last_error(), "ts", key, &got) == DOKU_OK && strcmp(got, want) == 0);
    FAIL_AGAIN();
    CHECK(doku_verify(doku_last_error(), "ts", want, pub) == DOKU_OK);
    doku_free(want), doku_free(got);
    CHECK(doku_sign("id", msg, key, &want) == DOKU_OK);
    FAIL_AGAIN();
    CHECK(doku_sign("id", doku_last_error(), key, &got) == DOKU_OK && strcmp(got, want) == 0);
    FAIL_AGAIN();
    CHECK(doku_verify("id", doku_last_error(), want, pub) == DOKU_OK);
    doku_free(want), doku_free(got);

    /* As the secret and the timestamp of a symmetric signature. */
    const char *p = "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va";
    CHECK(doku_sign_request(msg, "POST", p, "tok", "{}", msg, &want) == DOKU_OK);
    FAIL_AGAIN();
    CHECK(doku_sign_request(doku_last_error(), "POST", p, "tok", "{}", doku_last_error(), &got) == DOKU_OK &&
          strcmp(got, want) == 0);
    FAIL_AGAIN();
    CHECK(doku_verify_request(doku_last_error(), "POST", p, "tok", "{}", doku_last_error(), want) == DOKU_OK);
    doku_free(want), doku_free(got);

    /* As text that is read, then refused. */
    FAIL_AGAIN();
    CHECK(doku_sign("id", "t", doku_last_error(), &out) == DOKU_ERR_KEY && out == NULL);
    FAIL_AGAIN();
    CHECK(doku_minify(doku_last_error(), &out) == DOKU_ERR_INVALID_ARGUMENT && strstr(doku_last_error(), "not valid JSON"));
    FAIL_AGAIN();
    DokuClient *client = (DokuClient *)1;
    CHECK(doku_client_new(doku_last_error(), &client) == DOKU_ERR_INVALID_ARGUMENT && client == NULL);
    FAIL_AGAIN();
    int http = -1;
    CHECK(doku_issue_token(doku_last_error(), "{}", "{}", &http, &out) == DOKU_ERR_INVALID_ARGUMENT && http == 0 &&
          strstr(doku_last_error(), "options: not valid JSON"));
    FAIL_AGAIN();
    CHECK(doku_validate_token(doku_last_error(), pub, &out) == DOKU_ERR_INVALID_ARGUMENT &&
          strstr(doku_last_error(), "malformed JWT"));

    /* doku_last_response_code(): DOKU's 4017401, then that code as an argument. */
    char json[4096];
    snprintf(json, sizeof json,
             "{\"client_id\":\"c-ok\",\"private_key_file\":\"%s/pkcs8.pem\",\"base_url\":\"%s\",\"proxy\":\"\"}",
             env("DOKU_TEST_DIR"), env("DOKU_TEST_URL"));
    CHECK(doku_client_new(json, &client) == DOKU_OK);
    CHECK(doku_sign("4017401", "ts", key, &want) == DOKU_OK);
    CHECK(doku_get_token_b2b2c(client, "invalid-code", &out) == DOKU_ERR_API &&
          strcmp(doku_last_response_code(), "4017401") == 0);
    CHECK(doku_sign(doku_last_response_code(), "ts", key, &got) == DOKU_OK && strcmp(got, want) == 0);
    doku_free(want), doku_free(got);
    /* As an auth code: the sandbox accepts any that does not start with "invalid". */
    CHECK(doku_get_token_b2b2c(client, "invalid-code", &out) == DOKU_ERR_API);
    CHECK(doku_get_token_b2b2c(client, doku_last_response_code(), &out) == DOKU_OK);
    doku_free(out);
    FAIL_AGAIN();
    CHECK(doku_get_token_b2b2c(client, doku_last_error(), &out) == DOKU_OK);
    doku_free(out);
    doku_client_free(client);
#undef FAIL_AGAIN
    free(msg);
}

int main(void) {
    const size_t BIG = 10 * 1024 * 1024;
    char *big = repeat('A', BIG);
    /* A 10 MB JSON string value: valid JSON, so minify and the signatures handle it. */
    char *big_json = repeat(' ', BIG);
    big_json[0] = '"', big_json[BIG - 1] = '"';
    char *key = slurp("pkcs8.pem"), *pub = slurp("public.pem"), *ec = slurp("ec.pem"), *small = slurp("rsa1024.pem");
    char *enc = slurp("encrypted.pem"), *sig = slurp("expected.sig");
    char *truncated = strdup(key);
    truncated[strlen(truncated) * 2 / 3] = '\0';
    char *wrong_armour = strdup(key);
    memcpy(strstr(wrong_armour, "BEGIN ") + 6, "PUBLIC", 6);
    char *out = (char *)1;
    DokuClient *client = (DokuClient *)1;

    /* doku_sign: every argument NULL, invalid, empty, huge; every kind of bad key. */
    EXPECT(doku_sign(NULL, "t", key, &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_sign("id", NULL, key, &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_sign("id", "t", NULL, &out), DOKU_ERR_NULL_ARGUMENT, out);
    CHECK(doku_sign("id", "t", key, NULL) == DOKU_ERR_NULL_ARGUMENT);
    EXPECT(doku_sign(BAD_UTF8, "t", key, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_sign("id", BAD_UTF8, key, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_sign("id", "t", BAD_UTF8, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_sign("", "t", key, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_sign("id", "", key, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_sign("id", "t", "", &out), DOKU_ERR_KEY, out);
    EXPECT(doku_sign(big, "t", key, &out), DOKU_OK, out); /* a long message is still a message */
    doku_free(out), out = (char *)1;
    EXPECT(doku_sign("id", "t", big, &out), DOKU_ERR_KEY, out);
    EXPECT(doku_sign("id", "t", truncated, &out), DOKU_ERR_KEY, out);
    EXPECT(doku_sign("id", "t", wrong_armour, &out), DOKU_ERR_KEY, out);
    EXPECT(doku_sign("id", "t", pub, &out), DOKU_ERR_KEY, out);
    EXPECT(doku_sign("id", "t", ec, &out), DOKU_ERR_KEY, out);
    EXPECT(doku_sign("id", "t", small, &out), DOKU_ERR_KEY, out);
    EXPECT(doku_sign("id", "t", enc, &out), DOKU_ERR_KEY, out);

    /* doku_timestamp, doku_minify. */
    CHECK(doku_timestamp(NULL) == DOKU_ERR_NULL_ARGUMENT);
    EXPECT(doku_minify(NULL, &out), DOKU_ERR_NULL_ARGUMENT, out);
    CHECK(doku_minify("{}", NULL) == DOKU_ERR_NULL_ARGUMENT);
    EXPECT(doku_minify(BAD_UTF8, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_minify("", &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_minify(big, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_minify(big_json, &out), DOKU_OK, out);
    CHECK(strlen(out) == BIG);
    doku_free(out), out = (char *)1;

    /* doku_sign_request / doku_verify_request: each pointer, bad UTF-8, empty, huge. */
    const char *p = "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va";
    EXPECT(doku_sign_request(NULL, "POST", p, "tok", "{}", "ts", &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_sign_request("s", NULL, p, "tok", "{}", "ts", &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_sign_request("s", "POST", NULL, "tok", "{}", "ts", &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_sign_request("s", "POST", p, NULL, "{}", "ts", &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_sign_request("s", "POST", p, "tok", "{}", NULL, &out), DOKU_ERR_NULL_ARGUMENT, out);
    CHECK(doku_sign_request("s", "POST", p, "tok", "{}", "ts", NULL) == DOKU_ERR_NULL_ARGUMENT);
    EXPECT(doku_sign_request(BAD_UTF8, "POST", p, "tok", "{}", "ts", &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_sign_request("s", "POST", p, "tok", BAD_UTF8, "ts", &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_sign_request("", "POST", p, "tok", "{}", "ts", &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_sign_request("s", "", p, "tok", "{}", "ts", &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_sign_request("s", "POST", "", "tok", "{}", "ts", &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_sign_request("s", "POST", p, "", "{}", "ts", &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_sign_request("s", "POST", p, "tok", "{}", "", &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_sign_request(big, "POST", p, "tok", big_json, "ts", &out), DOKU_OK, out);
    CHECK(doku_verify_request(big, "POST", p, "tok", big_json, "ts", out) == DOKU_OK);
    doku_free(out), out = (char *)1;
    CHECK(doku_verify_request(NULL, "POST", p, "tok", "{}", "ts", "sig") == DOKU_ERR_NULL_ARGUMENT);
    CHECK(doku_verify_request("s", "POST", p, "tok", "{}", "ts", NULL) == DOKU_ERR_NULL_ARGUMENT);
    CHECK(doku_verify_request("s", "POST", p, "tok", "{}", "ts", BAD_UTF8) == DOKU_ERR_INVALID_ARGUMENT);
    CHECK(doku_verify_request("s", "POST", p, "tok", "{}", "ts", "") == DOKU_ERR_SIGNATURE_INVALID);
    CHECK(doku_verify_request("s", "POST", p, "tok", "{}", "ts", big) == DOKU_ERR_SIGNATURE_INVALID);

    /* doku_verify. */
    CHECK(doku_verify(NULL, "t", sig, pub) == DOKU_ERR_NULL_ARGUMENT);
    CHECK(doku_verify("id", NULL, sig, pub) == DOKU_ERR_NULL_ARGUMENT);
    CHECK(doku_verify("id", "t", NULL, pub) == DOKU_ERR_NULL_ARGUMENT);
    CHECK(doku_verify("id", "t", sig, NULL) == DOKU_ERR_NULL_ARGUMENT);
    CHECK(doku_verify(BAD_UTF8, "t", sig, pub) == DOKU_ERR_INVALID_ARGUMENT);
    CHECK(doku_verify("id", "t", "", pub) == DOKU_ERR_SIGNATURE_INVALID);
    CHECK(doku_verify("id", "t", big, pub) == DOKU_ERR_SIGNATURE_INVALID);
    CHECK(doku_verify(big, "t", sig, pub) == DOKU_ERR_SIGNATURE_INVALID);
    CHECK(doku_verify("id", "t", sig, "") == DOKU_ERR_KEY);
    CHECK(doku_verify("id", "t", sig, big) == DOKU_ERR_KEY);
    CHECK(doku_verify("id", "t", sig, key) == DOKU_ERR_KEY); /* a private key where DOKU's public one belongs */
    CHECK(doku_verify("id", "t", sig, ec) == DOKU_ERR_KEY);

    /* doku_client_new: configs of every wrong shape. */
    char json[4096];
    const char *configs[][2] = {
        {"", "not valid JSON"},
        {"null", "expected a JSON object"},
        {"{\"client_id\":7}", "client_id must be a string"},
        {"{\"client_id\":\"a\",\"private_key\":\"x\",\"timeout_ms\":-1}", "timeout_ms must be an integer"},
        {"{\"client_id\":\"a\",\"private_key\":\"x\",\"timeout_ms\":\"5\"}", "timeout_ms must be a number"},
        {"{\"client_id\":\"a\",\"private_key\":\"x\",\"refresh_margin_s\":1e99}", "refresh_margin_s must be at most 86400"},
        {"{\"client_id\":\"a\",\"private_key\":\"x\",\"tls\":true}", "unknown key \"tls\""},
        {"{\"client_id\":\"a\",\"private_key\":\"x\",\"base_url\":\"https://a\\u0000b\"}", "control characters"},
        {"{\"client_id\":\"a\",\"private_key\":\"x\",\"client_secret\":\"\"}", "client_secret is empty"},
        {"[]", "expected a JSON object"},
    };
    for (size_t i = 0; i < sizeof configs / sizeof *configs; i++) {
        client = (DokuClient *)1;
        EXPECT(doku_client_new(configs[i][0], &client), DOKU_ERR_INVALID_ARGUMENT, client);
        if (!strstr(doku_last_error(), configs[i][1])) fprintf(stderr, "%s: %s\n", configs[i][0], doku_last_error());
        CHECK(strstr(doku_last_error(), configs[i][1]) != NULL);
    }
    EXPECT(doku_client_new(NULL, &client), DOKU_ERR_NULL_ARGUMENT, client);
    CHECK(doku_client_new("{}", NULL) == DOKU_ERR_NULL_ARGUMENT);
    EXPECT(doku_client_new(BAD_UTF8, &client), DOKU_ERR_INVALID_ARGUMENT, client);
    EXPECT(doku_client_new(big, &client), DOKU_ERR_INVALID_ARGUMENT, client);
    const char *key_files[] = {"ec.pem", "rsa1024.pem", "public.pem", "encrypted.pem"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(json, sizeof json, "{\"client_id\":\"a\",\"private_key_file\":\"%s/%s\",\"private_key_passphrase\":\"wrong\"}",
                 getenv("DOKU_TEST_DIR"), key_files[i]);
        EXPECT(doku_client_new(json, &client), DOKU_ERR_KEY, client);
    }
    snprintf(json, sizeof json, "{\"client_id\":\"a\",\"private_key_file\":\"/dev/zero\"}");
    EXPECT(doku_client_new(json, &client), DOKU_ERR_KEY, client);

    /* Client functions with a NULL client or NULL arguments. */
    snprintf(json, sizeof json,
             "{\"client_id\":\"c-ok\",\"private_key_file\":\"%s/pkcs8.pem\",\"base_url\":\"%s\",\"proxy\":\"\","
             "\"client_secret\":\"s\",\"channel_id\":\"H2H\"}",
             getenv("DOKU_TEST_DIR"), getenv("DOKU_TEST_URL"));
    CHECK(doku_client_new(json, &client) == DOKU_OK);
    EXPECT(doku_get_token(NULL, &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_token_info(NULL, &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_client_stats(NULL, &out), DOKU_ERR_NULL_ARGUMENT, out);
    CHECK(doku_client_stats(client, NULL) == DOKU_ERR_NULL_ARGUMENT && strcmp(doku_last_error(), "stats_json_out is NULL") == 0);
    /* The log callback: any int as the level is safe; NULL removes whatever the level. */
    for (int level = -1; level <= 5; level += 6) {
        CHECK(doku_set_log_callback(hostile_log, NULL, level) == DOKU_ERR_INVALID_ARGUMENT);
        CHECK(strstr(doku_last_error(), "is not a DokuLogLevel") != NULL);
    }
    CHECK(doku_set_log_callback(hostile_log, NULL, 1 << 30) == DOKU_ERR_INVALID_ARGUMENT);
    CHECK(doku_set_log_callback(NULL, NULL, -7) == DOKU_OK);
    CHECK(doku_client_invalidate_token(NULL) == DOKU_ERR_NULL_ARGUMENT);
    EXPECT(doku_client_request_headers(NULL, "POST", p, NULL, &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_client_request_headers(client, NULL, p, NULL, &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_client_request_headers(client, "POST", NULL, NULL, &out), DOKU_ERR_NULL_ARGUMENT, out);
    CHECK(doku_client_request_headers(client, "POST", p, NULL, NULL) == DOKU_ERR_NULL_ARGUMENT);
    EXPECT(doku_client_request_headers(client, BAD_UTF8, p, NULL, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_client_request_headers(client, "POST", p, BAD_UTF8, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_client_request_headers(client, "POST", big, NULL, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_client_request(NULL, "POST", p, NULL, NULL, &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_client_request(client, "", p, NULL, NULL, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_client_request(client, "POST", p, big, NULL, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_get_token_b2b2c(NULL, "code", &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_get_token_b2b2c(client, NULL, &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_get_token_b2b2c(client, "", &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_get_token_b2b2c(client, BAD_UTF8, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_refresh_token_b2b2c(client, NULL, &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_refresh_token_b2b2c(NULL, "r", &out), DOKU_ERR_NULL_ARGUMENT, out);
    doku_client_free(client);

    /* doku_issue_token: options_json read as strictly as doku_client_new's config. */
    char opts[4096], bad_opts[4096];
    const char *dir = env("DOKU_TEST_DIR");
#define OPTIONS(doku_pub_file, merchant_key_file, extra)                                                                   \
    (snprintf(bad_opts, sizeof bad_opts,                                                                                   \
              "{\"client_id\":\"MCH\",\"doku_public_key_file\":\"%s/%s\",\"merchant_private_key_file\":\"%s/%s\"%s}", dir, \
              doku_pub_file, dir, merchant_key_file, extra),                                                               \
     bad_opts)
    strcpy(opts, OPTIONS("public.pem", "pkcs8.pem", ""));
    int http = -1;
    EXPECT(doku_issue_token(NULL, "{}", "{}", &http, &out), DOKU_ERR_NULL_ARGUMENT, out);
    CHECK(strstr(doku_last_error(), "options_json") && http == 0);
    EXPECT(doku_issue_token(opts, NULL, "{}", &http, &out), DOKU_ERR_NULL_ARGUMENT, out);
    CHECK(doku_issue_token(opts, "{}", "{}", NULL, &out) == DOKU_ERR_NULL_ARGUMENT && out == NULL);
    out = (char *)1;
    CHECK(doku_issue_token(opts, "{}", "{}", &http, NULL) == DOKU_ERR_NULL_ARGUMENT && http == 0);
    EXPECT(doku_issue_token(BAD_UTF8, "{}", "{}", &http, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_issue_token(opts, BAD_UTF8, "{}", &http, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_issue_token(opts, "{\"X-CLIENT-KEY\":1}", "{}", &http, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_issue_token(big, "{}", "{}", &http, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    CHECK(strstr(doku_last_error(), "options: not valid JSON") && !strstr(doku_last_error(), "AAAAAAAA"));
    EXPECT(doku_issue_token(opts, big, "{}", &http, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_issue_token("{}", "{}", "{}", &http, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    CHECK(strcmp(doku_last_error(), "options: client_id is required") == 0);
    /* The old positional ttl as a key: refused by name, with the keys that exist. */
    EXPECT(doku_issue_token(OPTIONS("public.pem", "pkcs8.pem", ",\"ttl\":900"), "{}", "{}", &http, &out),
           DOKU_ERR_INVALID_ARGUMENT, out);
    CHECK(strstr(doku_last_error(), "options: unknown key \"ttl\" (known keys: client_id,") &&
          strstr(doku_last_error(), "ttl_s"));
    EXPECT(doku_issue_token(OPTIONS("public.pem", "pkcs8.pem", ",\"ttl_s\":0"), "{}", "{}", &http, &out),
           DOKU_ERR_INVALID_ARGUMENT, out);
    CHECK(strcmp(doku_last_error(), "options: ttl_s must be an integer \xe2\x89\xa5 1") == 0);
    EXPECT(doku_issue_token(OPTIONS("public.pem", "pkcs8.pem", ",\"max_skew_s\":86401"), "{}", "{}", &http, &out),
           DOKU_ERR_INVALID_ARGUMENT, out);
    CHECK(strcmp(doku_last_error(), "options: max_skew_s must be at most 86400") == 0);
    EXPECT(doku_issue_token(OPTIONS("public.pem", "pkcs8.pem", ",\"doku_public_key\":\"x\""), "{}", "{}", &http, &out),
           DOKU_ERR_INVALID_ARGUMENT, out);
    CHECK(strcmp(doku_last_error(), "options: set doku_public_key or doku_public_key_file, not both") == 0);
    /* Each key where the other belongs, a 1024-bit merchant key, a file that is not there. */
    EXPECT(doku_issue_token(OPTIONS("pkcs8.pem", "pkcs8.pem", ""), "{}", "{}", &http, &out), DOKU_ERR_KEY, out);
    EXPECT(doku_issue_token(OPTIONS("public.pem", "rsa1024.pem", ""), "{}", "{}", &http, &out), DOKU_ERR_KEY, out);
    EXPECT(doku_issue_token(OPTIONS("missing.pem", "pkcs8.pem", ""), "{}", "{}", &http, &out), DOKU_ERR_KEY, out);
    CHECK(strstr(doku_last_error(), "options: doku_public_key_file \"") &&
          strstr(doku_last_error(), "missing.pem\" cannot be read"));
    /* An encrypted merchant key: its passphrase opens it and never shows in a message. */
    EXPECT(doku_issue_token(OPTIONS("public.pem", "encrypted.pem", ",\"merchant_private_key_passphrase\":\"wrong-pass-5e1f\""),
                            "{}", "{}", &http, &out),
           DOKU_ERR_KEY, out);
    CHECK(strstr(doku_last_error(), "wrong passphrase") && !strstr(doku_last_error(), "wrong-pass-5e1f") && http == 0);
    EXPECT(doku_issue_token(OPTIONS("public.pem", "encrypted.pem", ",\"merchant_private_key_passphrase\":\"test-pass\""), "{}",
                            "{}", &http, &out),
           DOKU_OK, out);
    CHECK(http == 400 && strstr(out, "Invalid Mandatory Field X-CLIENT-KEY"));
    doku_free(out), out = (char *)1;
    /* A 10 MB body: judged (and refused) like any other, as an answer to send. */
    EXPECT(doku_issue_token(opts, "{}", big, &http, &out), DOKU_OK, out);
    CHECK(http == 400);
#undef OPTIONS
    doku_free(out), out = (char *)1;
    EXPECT(doku_validate_token(NULL, pub, &out), DOKU_ERR_NULL_ARGUMENT, out);
    EXPECT(doku_validate_token("a.b.c", NULL, &out), DOKU_ERR_NULL_ARGUMENT, out);
    CHECK(doku_validate_token("a.b.c", pub, NULL) == DOKU_ERR_NULL_ARGUMENT);
    EXPECT(doku_validate_token("", pub, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_validate_token(BAD_UTF8, pub, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_validate_token(big, pub, &out), DOKU_ERR_INVALID_ARGUMENT, out);
    EXPECT(doku_validate_token("a.b.c", ec, &out), DOKU_ERR_KEY, out);

    test_last_error_as_argument(key, pub);

    /* Free functions and static strings. */
    doku_free(NULL);
    doku_client_free(NULL);
    CHECK(strcmp(doku_status_name(12345), "DOKU_UNKNOWN_STATUS") == 0);

    free(big), free(big_json), free(key), free(pub), free(ec), free(small), free(enc), free(sig);
    free(truncated), free(wrong_armour);
    printf("ok: %d hostile-input checks passed\n", checks);
    return 0;
}
