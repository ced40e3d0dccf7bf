/*
 * The operations catalog through the C ABI: doku_operations, doku_client_call (a virtual
 * account's life, the Direct Debit flow, the checks made before sending), doku_client_request
 * with options, and DOKU_ERR_OUTCOME_UNKNOWN for a payment whose answer was lost. Mirrors
 * tests/operations.rs. Run by tests/c_api.rs under valgrind and with the sanitizers against a
 * plain-http sandbox where c-ops and c-slow (every answer delayed 1.5 s) have the client secret
 * "ops-secret", and the shared run of every operation (tests/fixtures/every-operation.tsv) against
 * the TLS sandbox, where c-ops has the same secret.
 *
 * Environment: DOKU_TEST_URL, DOKU_TEST_CLOSED_URL (nothing listens), DOKU_TEST_DIR (keys),
 * DOKU_TEST_TLS_URL and DOKU_TEST_CA (the TLS sandbox), DOKU_TEST_OPERATIONS (the shared run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static const char *IP = "\"ipAddress\":\"203.0.113.7\"";
static const char *DEVICE = "\"deviceId\":\"device-1\"";
static const char *CHANNEL = "\"additionalInfo\":{\"channel\":\"DIRECT_DEBIT_ALLO_SNAP\"}";

static int contains(const char *haystack, const char *needle) {
    if (!strstr(haystack, needle)) {
        fprintf(stderr, "\"%s\" lacks \"%s\"\n", haystack, needle);
        return 0;
    }
    return 1;
}

static int equals(const char *got, const char *want) {
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "got  \"%s\"\nwant \"%s\"\n", got, want);
        return 0;
    }
    return 1;
}

static size_t count(const char *haystack, const char *needle) {
    size_t n = 0;
    for (const char *at = strstr(haystack, needle); at; at = strstr(at + 1, needle)) n++;
    return n;
}

static DokuClient *client(const char *url, const char *id, const char *extra) {
    char json[4096];
    snprintf(json, sizeof json,
             "{\"client_id\":\"%s\",\"private_key_file\":\"%s/pkcs8.pem\",\"base_url\":\"%s\",\"proxy\":\"\","
             "\"client_secret\":\"ops-secret\",\"channel_id\":\"H2H\"%s}",
             id, env("DOKU_TEST_DIR"), url, extra);
    DokuClient *c = NULL;
    CHECK(doku_client_new(json, &c) == DOKU_OK);
    return c;
}

/* A string value in a JSON text: `"name":"value"`, or, with in_body, inside the response's "body",
 * which carries DOKU's answer as a JSON string (its quotes escaped). The values read here hold no
 * escapes. Malloc'd; the check fails when it is absent. */
static char *field(const char *json, const char *name, int in_body) {
    const char *q = in_body ? "\\\"" : "\"";
    char key[256];
    snprintf(key, sizeof key, "%s%s%s:%s", q, name, q, q);
    const char *start = strstr(json, key);
    CHECK(contains(json, key));
    start += strlen(key);
    const char *end = strstr(start, q);
    CHECK(end != NULL);
    char *value = malloc((size_t)(end - start) + 1);
    memcpy(value, start, (size_t)(end - start));
    value[end - start] = '\0';
    return value;
}

/* doku_client_call, which must answer DOKU_OK with this HTTP status and responseCode; the
 * response JSON, for the caller to free. */
static char *call(const DokuClient *c, const char *op, const char *body, const char *options, int http, const char *code) {
    char *response = NULL, want[64];
    DokuStatus st = doku_client_call(c, op, body, options, &response);
    if (st != DOKU_OK) fprintf(stderr, "%s: %s: %s\n", op, doku_status_name(st), doku_last_error());
    CHECK(st == DOKU_OK);
    snprintf(want, sizeof want, "\"httpStatus\":%d,", http);
    CHECK(contains(response, want));
    snprintf(want, sizeof want, "\"responseCode\":\"%s\"", code);
    CHECK(contains(response, want));
    snprintf(want, sizeof want, "\"operation\":\"%s\"", op);
    CHECK(contains(response, want));
    return response;
}

static void expect_call(const DokuClient *c, const char *op, const char *body, const char *options, int http, const char *code) {
    doku_free(call(c, op, body, options, http, code));
}

/* doku_client_call, which must fail with this status and exactly this message, out set to NULL. */
static void refused(const DokuClient *c, const char *op, const char *body, const char *options, DokuStatus status,
                    const char *message) {
    char *response = (char *)1;
    DokuStatus st = doku_client_call(c, op, body, options, &response);
    if (st != status) fprintf(stderr, "%s: got %s, want %s\n", op, doku_status_name(st), doku_status_name(status));
    CHECK(st == status && response == NULL);
    CHECK(equals(doku_last_error(), message));
    CHECK(strcmp(doku_last_response_code(), "") == 0);
}

/* The sandbox's customer paying a virtual account (not an operation of DOKU's: a plain signed
 * request to the simulator). */
static void pay_va(const DokuClient *c, const char *body, int http, const char *code) {
    char *response = NULL, want[64];
    CHECK(doku_client_request(c, "POST", "/sandbox/v1/pay-va?client=c-ops", body, NULL, &response) == DOKU_OK);
    snprintf(want, sizeof want, "\"httpStatus\":%d,", http);
    CHECK(contains(response, want));
    snprintf(want, sizeof want, "\"responseCode\":\"%s\"", code);
    CHECK(contains(response, want) && contains(response, "\"operation\":null"));
    doku_free(response);
}

static void test_status_and_catalog(void) {
    CHECK(DOKU_ERR_OUTCOME_UNKNOWN == 11);
    CHECK(equals(doku_status_name(DOKU_ERR_OUTCOME_UNKNOWN), "DOKU_ERR_OUTCOME_UNKNOWN"));

    char *json = NULL;
    CHECK(doku_operations(&json) == DOKU_OK);
    CHECK(json[0] == '[' && json[strlen(json) - 1] == ']');
    /* Thirteen rows, three of them moving money; each named, with its method and path. */
    CHECK(count(json, "\"movesMoney\":") == 13 && count(json, "\"movesMoney\":true") == 3);
    const char *rows[] = {
        "\"method\":\"POST\",\"movesMoney\":false,\"name\":\"create_va\",\"path\":\"/virtual-accounts/bi-snap-va/v1.1/transfer-va/"
        "create-va\"",
        "\"name\":\"update_va\"",
        "\"name\":\"delete_va\"",
        "\"name\":\"check_status_va\"",
        "\"name\":\"account_binding\",\"path\":\"/direct-debit/core/v1/registration-account-binding\",\"required\":[\"ipAddress\","
        "\"deviceId\"]",
        "\"name\":\"account_unbinding\"",
        "\"name\":\"card_registration\"",
        "\"name\":\"card_unbinding\"",
        "\"movesMoney\":true,\"name\":\"payment\",\"path\":\"/direct-debit/core/v1/debit/payment-host-to-host\",\"required\":["
        "\"customerToken\",\"ipAddress\"],\"service\":\"54\",\"statusOperation\":\"check_status\",\"success\":[\"2005400\"]",
        "\"movesMoney\":true,\"name\":\"payment_jump_app\"",
        "\"movesMoney\":true,\"name\":\"refund\"",
        "\"name\":\"balance_inquiry\"",
        "\"name\":\"check_status\",\"path\":\"/orders/v1.0/debit/status\"",
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) CHECK(contains(json, rows[i]));
    CHECK(contains(json, "{\"mandatory\":true,\"name\":\"partnerServiceId\",\"rule\":\"8 characters: digits left-padded"));
    doku_free(json);
    CHECK(doku_operations(NULL) == DOKU_ERR_NULL_ARGUMENT);
    CHECK(equals(doku_last_error(), "json_out is NULL"));
}

static const char *VA_BODY =
    "{\"partnerServiceId\":\"  888994\",\"customerNo\":\"7001\",\"virtualAccountNo\":\"  8889947001\","
    "\"virtualAccountName\":\"\xc5\x9aiti Nurhaliza / Toko\",\"trxId\":\"INV/C/7001\",\"totalAmount\":{\"value\":\"12000.00\","
    "\"currency\":\"IDR\"},\"virtualAccountTrxType\":\"C\",\"additionalInfo\":{\"channel\":\"VIRTUAL_ACCOUNT_BANK_CIMB\"}}";
static const char *VA_ID = "{\"partnerServiceId\":\"  888994\",\"customerNo\":\"7001\",\"virtualAccountNo\":\"  8889947001\"}";

/* What doku_client_call refuses before sending, with the exact words: the client points where
 * nothing listens, so any attempt to send (even the token fetch) would be DOKU_ERR_NETWORK. */
static void test_checked_before_sending(void) {
    DokuClient *c = client(env("DOKU_TEST_CLOSED_URL"), "c-ops", "");
    char body[1024];
    snprintf(body, sizeof body, "%s", VA_BODY);
    memmove(body + 22, body + 23, strlen(body + 23) + 1); /* "  888994" -> " 888994" */
    CHECK(contains(body, "{\"partnerServiceId\":\" 888994\","));
    refused(c, "create_va", body, NULL, DOKU_ERR_INVALID_ARGUMENT,
            "create_va: body: Invalid Field Format partnerServiceId (8 characters: digits left-padded with spaces, e.g. \"  "
            "888994\"; 7 characters given)");
    refused(c, "create_va", "{\"partnerServiceId\":\"  888994\"}", NULL, DOKU_ERR_INVALID_ARGUMENT,
            "create_va: body: Invalid Mandatory Field customerNo");
    refused(c, "create_va", "{broken", NULL, DOKU_ERR_INVALID_ARGUMENT,
            "create_va: body: body is not valid JSON (key must be a string at line 1 column 2)");
    refused(c, "create_va", NULL, NULL, DOKU_ERR_INVALID_ARGUMENT, "create_va: body: The body is empty; expected a JSON object");
    refused(c, "create_vaa", "{}", NULL, DOKU_ERR_INVALID_ARGUMENT,
            "unknown operation \"create_vaa\" (known: create_va, update_va, delete_va, check_status_va, account_binding, "
            "account_unbinding, card_registration, card_unbinding, payment, payment_jump_app, refund, balance_inquiry, "
            "check_status)");

    /* Options: what the operation needs, named with its header; what it does not send, refused. */
    char payment[512], options[512];
    snprintf(payment, sizeof payment, "{\"partnerReferenceNo\":\"P-1\",\"amount\":{\"value\":\"1.00\",\"currency\":\"IDR\"},%s}",
             CHANNEL);
    refused(c, "payment", payment, NULL, DOKU_ERR_INVALID_ARGUMENT,
            "payment: options: customerToken is required (Authorization-Customer)");
    refused(c, "payment", payment, "{\"customerToken\":\"t\"}", DOKU_ERR_INVALID_ARGUMENT,
            "payment: options: ipAddress is required (X-IP-ADDRESS)");
    refused(c, "account_binding", "{}", NULL, DOKU_ERR_INVALID_ARGUMENT,
            "account_binding: options: ipAddress is required (X-IP-ADDRESS)");
    snprintf(options, sizeof options, "{%s}", IP);
    refused(c, "account_binding", "{}", options, DOKU_ERR_INVALID_ARGUMENT,
            "account_binding: options: deviceId is required (X-DEVICE-ID)");
    /* The customer token is a secret: named, never quoted. */
    refused(c, "check_status_va", VA_ID, "{\"customerToken\":\"secret-customer-token-77\"}", DOKU_ERR_INVALID_ARGUMENT,
            "check_status_va: options: customerToken is not sent with this operation");
    refused(c, "check_status_va", VA_ID, "{\"ip\":\"203.0.113.7\"}", DOKU_ERR_INVALID_ARGUMENT,
            "options: unknown key \"ip\" (known keys: customerToken, ipAddress, deviceId, channelId, externalId, headers)");
    refused(c, "check_status_va", VA_ID, "{\"ipAddress\":\"not an address\"}", DOKU_ERR_INVALID_ARGUMENT,
            "options: ipAddress must be the customer's IPv4 or IPv6 address, e.g. 203.0.113.7");
    refused(c, "check_status_va", VA_ID, "[1]", DOKU_ERR_INVALID_ARGUMENT, "options: expected a JSON object");

    /* doku_client_request reads options as strictly: bad ones are refused before sending. */
    char *response = (char *)1;
    CHECK(doku_client_request(c, "POST", "/orders/v1.0/debit/status", "{}", "{\"ip\":\"1\"}", &response) ==
              DOKU_ERR_INVALID_ARGUMENT &&
          response == NULL);
    CHECK(contains(doku_last_error(), "options: unknown key \"ip\""));

    /* NULL arguments: the out-parameter is NULL afterwards; a NULL body or options is none. */
    response = (char *)1;
    CHECK(doku_client_call(NULL, "create_va", VA_BODY, NULL, &response) == DOKU_ERR_NULL_ARGUMENT && response == NULL);
    CHECK(equals(doku_last_error(), "client is NULL"));
    response = (char *)1;
    CHECK(doku_client_call(c, NULL, VA_BODY, NULL, &response) == DOKU_ERR_NULL_ARGUMENT && response == NULL);
    CHECK(equals(doku_last_error(), "operation is NULL"));
    CHECK(doku_client_call(c, "create_va", VA_BODY, NULL, NULL) == DOKU_ERR_NULL_ARGUMENT);
    CHECK(equals(doku_last_error(), "response_json_out is NULL"));
    response = (char *)1;
    CHECK(doku_client_call(c, "create_\xff", VA_BODY, NULL, &response) == DOKU_ERR_INVALID_ARGUMENT && response == NULL);
    CHECK(equals(doku_last_error(), "operation is not valid UTF-8"));
    CHECK(doku_client_request(c, "POST", "/orders/v1.0/debit/status", "{}", NULL, NULL) == DOKU_ERR_NULL_ARGUMENT);
    CHECK(equals(doku_last_error(), "response_json_out is NULL"));

    /* A valid call does try to send: the proof that the refusals above were made before it. */
    response = (char *)1;
    CHECK(doku_client_call(c, "create_va", VA_BODY, NULL, &response) == DOKU_ERR_NETWORK && response == NULL);
    doku_client_free(c);
}

static void test_virtual_account(const DokuClient *c) {
    char *r = call(c, "create_va", VA_BODY, NULL, 200, "2002700");
    CHECK(contains(r, "\\\"trxId\\\":\\\"INV/C/7001\\\""));
    char *id = field(r, "externalId", 0);
    CHECK(strlen(id) == 36 && strspn(id, "0123456789") == 36);
    free(id);
    doku_free(r);

    r = call(c, "check_status_va", VA_ID, NULL, 200, "2002600");
    CHECK(contains(r, "\\\"paidAmount\\\":{\\\"currency\\\":\\\"IDR\\\",\\\"value\\\":\\\"0.00\\\"}"));
    CHECK(contains(r, "\\\"paymentFlagReason\\\":{\\\"english\\\":\\\"Unpaid\\\""));
    doku_free(r);

    /* The customer pays the wrong amount, then the bill's; a second payment finds it paid. */
    pay_va(c, "{\"virtualAccountNo\":\"  8889947001\",\"paidAmount\":{\"value\":\"11500.00\",\"currency\":\"IDR\"}}", 404,
           "4040013");
    pay_va(c, "{\"virtualAccountNo\":\"  8889947001\"}", 200, "2000000");
    pay_va(c, "{\"virtualAccountNo\":\"  8889947001\"}", 404, "4040014");

    r = call(c, "check_status_va", VA_ID, NULL, 200, "2002600");
    CHECK(contains(r, "\\\"paidAmount\\\":{\\\"currency\\\":\\\"IDR\\\",\\\"value\\\":\\\"12000.00\\\"}"));
    CHECK(contains(r, "\\\"paymentFlagReason\\\":{\\\"english\\\":\\\"Paid\\\""));
    char *request_id = field(r, "paymentRequestId", 1);
    CHECK(strncmp(request_id, "PAY", 3) == 0);
    free(request_id);
    doku_free(r);
    /* A paid bill cannot be deleted; an unknown one is not found. */
    expect_call(c, "delete_va", VA_ID, NULL, 404, "4043114");
    expect_call(c, "check_status_va",
                "{\"partnerServiceId\":\"  888994\",\"customerNo\":\"7002\",\"virtualAccountNo\":\"  8889947002\"}", NULL, 404,
                "4042612");
}

static const char *BINDING =
    "{\"phoneNo\":\"62813941306101\",\"additionalInfo\":{\"channel\":\"DIRECT_DEBIT_ALLO_SNAP\",\"custIdMerchant\":\"cust-c\","
    "\"successRegistrationUrl\":\"https://merchant.example/ok\",\"failedRegistrationUrl\":\"https://merchant.example/failed\"}}";

/* Binds an account on c and returns the customer's B2B2C access token (malloc'd). */
static char *bind_customer(const DokuClient *c) {
    char options[256];
    snprintf(options, sizeof options, "{%s,%s}", IP, DEVICE);
    char *r = call(c, "account_binding", BINDING, options, 200, "2000700");
    char *auth_code = field(r, "authCode", 1);
    doku_free(r);
    char *grant = NULL;
    CHECK(doku_get_token_b2b2c(c, auth_code, &grant) == DOKU_OK);
    char *token = field(grant, "accessToken", 0);
    doku_free(grant);
    /* An auth code is good once. */
    grant = (char *)1;
    CHECK(doku_get_token_b2b2c(c, auth_code, &grant) == DOKU_ERR_API && grant == NULL);
    CHECK(equals(doku_last_response_code(), "4017401"));
    free(auth_code);
    return token;
}

static void test_direct_debit(const DokuClient *c) {
    char *token = bind_customer(c);
    char with_token[4096], body[1024];
    snprintf(with_token, sizeof with_token, "{\"customerToken\":\"%s\",%s}", token, IP);

    const char *payment =
        "{\"partnerReferenceNo\":\"ORDER-C-1\",\"amount\":{\"value\":\"25000.00\",\"currency\":\"IDR\"},\"additionalInfo\":{"
        "\"channel\":\"DIRECT_DEBIT_ALLO_SNAP\"}}";
    char *r = call(c, "payment", payment, with_token, 200, "2005400");
    CHECK(contains(r, "\\\"partnerReferenceNo\\\":\\\"ORDER-C-1\\\""));
    CHECK(!strstr(r, token));
    doku_free(r);
    expect_call(c, "payment", payment, with_token, 409, "4095401");

    const char *refund_format =
        "{\"originalPartnerReferenceNo\":\"ORDER-C-1\",\"partnerRefundNo\":\"%s\",\"refundAmount\":{\"value\":\"%s\","
        "\"currency\":\"IDR\"},%s}";
    snprintf(body, sizeof body, refund_format, "REF-C-1", "10000.00", CHANNEL);
    expect_call(c, "refund", body, with_token, 200, "2000700");
    snprintf(body, sizeof body, refund_format, "REF-C-2", "15000.01", CHANNEL);
    r = call(c, "refund", body, with_token, 404, "4040713");
    CHECK(contains(r, "\\\"responseMessage\\\":\\\"Invalid Amount: 15000.00 is left to refund\\\""));
    doku_free(r);
    snprintf(body, sizeof body, refund_format, "REF-C-3", "15000.00", CHANNEL);
    expect_call(c, "refund", body, with_token, 200, "2000700");

    const char *status = "{\"originalPartnerReferenceNo\":\"ORDER-C-1\",\"serviceCode\":\"54\"}";
    r = call(c, "check_status", status, NULL, 200, "2005500");
    CHECK(contains(r, "\\\"latestTransactionStatus\\\":\\\"04\\\""));
    CHECK(count(r, "\\\"refundNo\\\":") == 2);
    doku_free(r);
    expect_call(c, "check_status", "{\"originalPartnerReferenceNo\":\"ORDER-C-404\",\"serviceCode\":\"54\"}", NULL, 404,
                "4045501");

    /* The caller's X-EXTERNAL-ID is sent; a second use the same day is DOKU's 409xx00. */
    const char *id = "{\"externalId\":\"20261201000000000000000000000000000\"}";
    r = call(c, "check_status", status, id, 200, "2005500");
    CHECK(contains(r, "\"externalId\":\"20261201000000000000000000000000000\""));
    doku_free(r);
    r = call(c, "check_status", status, id, 409, "4095500");
    CHECK(contains(r, "Conflict. Duplicate X-EXTERNAL-ID"));
    doku_free(r);

    /* doku_client_request sends the options it is given, to any path: paid and refunded, the
     * balance is whole again. Without them the sandbox misses the customer's headers. */
    const char *balance = "/direct-debit/core/v1/balance-inquiry";
    snprintf(body, sizeof body, "{%s}", CHANNEL);
    CHECK(doku_client_request(c, "POST", balance, body, with_token, &r) == DOKU_OK);
    CHECK(contains(r, "\"httpStatus\":200,") && contains(r, "\"responseCode\":\"2001100\""));
    CHECK(contains(r, "\\\"amount\\\":{\\\"currency\\\":\\\"IDR\\\",\\\"value\\\":\\\"1000000.00\\\"}"));
    doku_free(r);
    CHECK(doku_client_request(c, "POST", balance, body, NULL, &r) == DOKU_OK);
    CHECK(contains(r, "\"httpStatus\":400,") && contains(r, "\"responseCode\":\"4001102\""));
    CHECK(contains(r, "Invalid Mandatory Field Authorization-Customer"));
    doku_free(r);
    free(token);
}

/* A payment sent and its answer lost: DOKU_ERR_OUTCOME_UNKNOWN, naming the status call to make.
 * c-slow's answers come after 1.5 s; the hasty client (600 ms) shares the patient one's B2B
 * token (same id, key and base URL), so only its payment itself times out. */
static void test_outcome_unknown(const char *url) {
    DokuClient *patient = client(url, "c-slow", ""), *hasty = client(url, "c-slow", ",\"timeout_ms\":600");
    char *token = bind_customer(patient);
    char with_token[4096], body[1024];
    snprintf(with_token, sizeof with_token, "{\"customerToken\":\"%s\",%s}", token, IP);

    const char *payment =
        "{\"partnerReferenceNo\":\"SLOW-C-1\",\"amount\":{\"value\":\"700.00\",\"currency\":\"IDR\"},\"additionalInfo\":{"
        "\"channel\":\"DIRECT_DEBIT_ALLO_SNAP\"}}";
    char *r = (char *)1;
    CHECK(doku_client_call(hasty, "payment", payment, with_token, &r) == DOKU_ERR_OUTCOME_UNKNOWN && r == NULL);
    const char *message = doku_last_error();
    CHECK(contains(message, "payment: outcome unknown: timed out waiting for an answer from "));
    const char *tail =
        "; the request was sent, so DOKU may have acted on it. Do not send it again: call check_status with "
        "originalPartnerReferenceNo \"SLOW-C-1\" to learn its result";
    CHECK(strlen(message) > strlen(tail) && equals(message + strlen(message) - strlen(tail), tail));
    CHECK(!strstr(message, token) && strcmp(doku_last_response_code(), "") == 0);
    /* DOKU did act: the status says so. */
    r = call(patient, "check_status", "{\"originalPartnerReferenceNo\":\"SLOW-C-1\",\"serviceCode\":\"54\"}", NULL, 200,
             "2005500");
    CHECK(contains(r, "\\\"latestTransactionStatus\\\":\\\"00\\\""));
    doku_free(r);

    snprintf(
        body, sizeof body,
        "{\"originalPartnerReferenceNo\":\"SLOW-C-1\",\"partnerRefundNo\":\"SLOW-C-R1\",\"refundAmount\":{\"value\":\"1.00\","
        "\"currency\":\"IDR\"},%s}",
        CHANNEL);
    r = (char *)1;
    CHECK(doku_client_call(hasty, "refund", body, with_token, &r) == DOKU_ERR_OUTCOME_UNKNOWN && r == NULL);
    CHECK(contains(doku_last_error(), "call check_status with originalPartnerReferenceNo \"SLOW-C-1\""));
    /* The same timeout on an operation that moves no money is a timeout. */
    snprintf(body, sizeof body, "{%s}", CHANNEL);
    CHECK(doku_client_call(hasty, "balance_inquiry", body, with_token, &r) == DOKU_ERR_TIMEOUT && r == NULL);
    /* A payment that never left (nothing listens; the token fetch fails first) keeps its
     * transport status. */
    DokuClient *nowhere = client(env("DOKU_TEST_CLOSED_URL"), "c-slow", "");
    CHECK(doku_client_call(nowhere, "payment", payment, with_token, &r) == DOKU_ERR_NETWORK && r == NULL);
    doku_client_free(nowhere);
    doku_client_free(hasty);
    doku_client_free(patient);
    free(token);
}

/* text with every `from` replaced by `to` (malloc'd). */
static char *replace(const char *text, const char *from, const char *to) {
    size_t from_len = strlen(from), to_len = strlen(to);
    char *out = malloc(strlen(text) + count(text, from) * to_len + 1), *w = out;
    for (const char *at = strstr(text, from); at; text = at + from_len, at = strstr(text, from)) {
        memcpy(w, text, (size_t)(at - text));
        w += at - text;
        memcpy(w, to, to_len);
        w += to_len;
    }
    strcpy(w, text);
    return out;
}

/* A body or options of the shared run with its placeholders filled (malloc'd); NULL for "-". */
static char *fill(const char *text, const char *n, const char *customer_token) {
    if (strcmp(text, "-") == 0) return NULL;
    char *numbered = replace(text, "{n}", n);
    char *filled = replace(numbered, "{customerToken}", customer_token);
    free(numbered);
    return filled;
}

/* The shared run (tests/fixtures/every-operation.tsv, at DOKU_TEST_OPERATIONS): each line an
 * operation, its expected responseCode, body and options ("-": none), in an order the sandbox
 * accepts; customer_token exchanges the last authCode for a customer token. Against the TLS
 * sandbox, as tests/operations.rs and the other bindings run it: every catalog operation once. */
static void test_every_operation(void) {
    char *catalog = NULL;
    CHECK(doku_operations(&catalog) == DOKU_OK);
    size_t operations = count(catalog, "\"movesMoney\":");
    CHECK(operations == 13);

    char extra[1024], n[32];
    snprintf(extra, sizeof extra, ",\"ca_file\":\"%s\"", env("DOKU_TEST_CA"));
    DokuClient *c = client(env("DOKU_TEST_TLS_URL"), "c-ops", extra);
    /* Unique to the run: digits only, at most 12 of them. */
    snprintf(n, sizeof n, "%lld", (long long)(time(NULL) % 10000000) * 100000 + getpid() % 100000);
    CHECK(strlen(n) <= 12 && strspn(n, "0123456789") == strlen(n));

    char *run = slurp_path(env("DOKU_TEST_OPERATIONS"));
    char *auth_code = NULL, *customer_token = strdup("");
    const char *seen[32];
    size_t distinct = 0, steps = 0;
    for (char *line = run, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\r') line[--len] = '\0';
        if (len == 0 || line[0] == '#') continue;
        /* operation, responseCode, body, options */
        char *fields[4];
        size_t k = 0;
        for (char *f = line; f && k < 4; k++) {
            fields[k] = f;
            f = strchr(f, '\t');
            if (f) *f++ = '\0';
        }
        if (k != 4 || strchr(fields[3], '\t')) fprintf(stderr, "not 4 tab-separated fields: \"%s\"\n", fields[0]);
        CHECK(k == 4 && !strchr(fields[3], '\t'));
        const char *op = fields[0], *code = fields[1];
        steps++;
        if (strcmp(op, "customer_token") == 0) {
            /* doku_get_token_b2b2c succeeds on 2007400 only. */
            CHECK(equals(code, "2007400"));
            CHECK(auth_code != NULL);
            char *grant = NULL;
            DokuStatus st = doku_get_token_b2b2c(c, auth_code, &grant);
            if (st != DOKU_OK) fprintf(stderr, "customer_token: %s: %s\n", doku_status_name(st), doku_last_error());
            CHECK(st == DOKU_OK);
            free(customer_token);
            customer_token = field(grant, "accessToken", 0);
            doku_free(grant);
            continue;
        }
        char key[128];
        snprintf(key, sizeof key, "\"name\":\"%s\",\"path\":", op);
        CHECK(contains(catalog, key));
        size_t i = 0;
        while (i < distinct && strcmp(seen[i], op) != 0) i++;
        if (i == distinct) {
            CHECK(distinct < sizeof seen / sizeof *seen);
            seen[distinct++] = op;
        }

        char *body = fill(fields[2], n, customer_token), *options = fill(fields[3], n, customer_token);
        char *r = call(c, op, body, options, 200, code);
        if (strstr(r, "\\\"authCode\\\":\\\"")) {
            free(auth_code);
            auth_code = field(r, "authCode", 1);
            CHECK(auth_code[0] != '\0' && strspn(auth_code, "0123456789abcdefABCDEF") == strlen(auth_code));
        }
        doku_free(r);
        free(body);
        free(options);
    }
    /* Every operation of the catalog, each called. */
    if (distinct != operations) fprintf(stderr, "%zu of the catalog's %zu operations called\n", distinct, operations);
    CHECK(distinct == operations && steps > distinct);
    free(auth_code);
    free(customer_token);
    free(run);
    doku_free(catalog);
    doku_client_free(c);
}

int main(void) {
    const char *url = env("DOKU_TEST_URL");
    test_status_and_catalog();
    test_checked_before_sending();
    DokuClient *c = client(url, "c-ops", "");
    test_virtual_account(c);
    test_direct_debit(c);
    doku_client_free(c);
    test_outcome_unknown(url);
    test_every_operation();
    printf("ok: %d operations checks passed\n", checks);
    return 0;
}
