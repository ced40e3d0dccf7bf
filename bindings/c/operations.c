/* DOKU's operations from C, one line per step: a virtual account (create it, the customer pays,
 * its status) and a Direct Debit payment (bind the customer's account, the customer's token, pay,
 * refund, the payment's status). Against doku-sandbox: the customer's VA payment is its simulator
 * (POST /sandbox/v1/pay-va), which DOKU's own sandbox replaces with its simulator page.
 * Reads DOKU_BASE_URL, DOKU_CLIENT_ID, DOKU_PRIVATE_KEY_FILE, DOKU_CLIENT_SECRET and
 * (optionally) DOKU_CA_FILE. Exits 0 when every step succeeded. Run by tests/c_api.rs. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "doku.h"

static DokuClient *client;

/* The string value of "name" in a JSON text, into out (at most size - 1 bytes, escapes kept as
 * they are); 0 if absent. Enough for the plain values read here: codes, statuses, tokens. */
static int field(const char *json, const char *name, char *out, size_t size) {
    char key[128];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *at = json ? strstr(json, key) : NULL;
    if (!at) return 0;
    at += strlen(key);
    while (*at == ' ') at++;
    if (*at++ != '"') return 0;
    size_t n = 0;
    for (; *at && *at != '"' && n + 2 < size; at++) {
        if (*at == '\\' && at[1]) out[n++] = *at++;
        out[n++] = *at;
    }
    out[n] = '\0';
    return *at == '"';
}

/* DOKU's answer as text: the response's "body", a JSON string, unescaped. Malloc'd; NULL if
 * absent. */
static char *answer_of(const char *response) {
    const char *at = strstr(response, "\"body\":\"");
    if (!at) return NULL;
    char *answer = malloc(strlen(at)), *o = answer;
    if (!answer) return NULL;
    for (at += 8; *at && *at != '"'; at++) {
        if (*at != '\\' || !at[1]) {
            *o++ = *at;
            continue;
        }
        const char *from = "nrtbf", *to = "\n\r\t\b\f", *hit = strchr(from, *++at);
        if (*at == 'u') *o++ = '\\';       /* \uXXXX stays escaped */
        *o++ = hit ? to[hit - from] : *at; /* \" \\ \/ and u as themselves */
    }
    *o = '\0';
    return answer;
}

/* Prints the step's line (with the answer's field `detail`, if given); returns the response when
 * DOKU answered `success`, else NULL. */
static char *checked(const char *step, DokuStatus status, char *response, const char *success, const char *detail) {
    if (status != DOKU_OK) {
        fprintf(stderr, "c: %s: %s: %s\n", step, doku_status_name(status), doku_last_error());
        return NULL;
    }
    char code[32] = "none", shown[256] = "";
    field(response, "responseCode", code, sizeof code);
    const char *http = strstr(response, "\"httpStatus\":");
    long http_status = http ? strtol(http + 13, NULL, 10) : 0;
    char *answer = answer_of(response);
    if (detail && field(answer, detail, shown, sizeof shown)) {
        printf("c: %s: HTTP %ld, %s, %s\n", step, http_status, code, shown);
    } else {
        printf("c: %s: HTTP %ld, %s\n", step, http_status, code);
    }
    if (strcmp(code, success) != 0) {
        field(answer, "responseMessage", shown, sizeof shown);
        fprintf(stderr, "c: %s: expected %s: %s\n", step, success, shown);
        free(answer);
        doku_free(response);
        return NULL;
    }
    free(answer);
    return response;
}

/* One operation; the response when it succeeded (free it with doku_free), else NULL. */
static char *call(const char *operation, const char *body, const char *options, const char *success, const char *detail) {
    char *response = NULL;
    DokuStatus status = doku_client_call(client, operation, body, options, &response);
    return checked(operation, status, response, success, detail);
}

static int step(const char *operation, const char *body, const char *options, const char *success, const char *detail) {
    char *response = call(operation, body, options, success, detail);
    doku_free(response);
    return response != NULL;
}

/* The virtual account: created, paid by the customer (the sandbox's simulator), found paid. */
static int virtual_account(const char *id, const char *client_id) {
    char va[1024], va_id[256], pay[256], path[256];
    const char *account = "{\"partnerServiceId\":\"  888994\",\"customerNo\":\"%s\",\"virtualAccountNo\":\"  888994%s\"";
    snprintf(va_id, sizeof va_id, account, id, id);
    snprintf(
        va, sizeof va,
        "%s,\"virtualAccountName\":\"Budi Santoso\",\"trxId\":\"INV-%s\",\"totalAmount\":{\"value\":\"12000.00\","
        "\"currency\":\"IDR\"},\"virtualAccountTrxType\":\"C\",\"additionalInfo\":{\"channel\":\"VIRTUAL_ACCOUNT_BANK_CIMB\"}}",
        va_id, id);
    strcat(va_id, "}");
    if (!step("create_va", va, NULL, "2002700", NULL)) return 0;
    if (!step("check_status_va", va_id, NULL, "2002600", "english")) return 0;
    /* Not one of DOKU's operations: a plain signed request. */
    snprintf(pay, sizeof pay, "{\"virtualAccountNo\":\"  888994%s\"}", id);
    snprintf(path, sizeof path, "/sandbox/v1/pay-va?client=%s", client_id);
    char *response = NULL;
    DokuStatus status = doku_client_request(client, "POST", path, pay, NULL, &response);
    response = checked("customer pays (sandbox)", status, response, "2000000", NULL);
    if (!response) return 0;
    doku_free(response);
    return step("check_status_va", va_id, NULL, "2002600", "english");
}

/* Direct Debit: the customer binds an account, whose auth code buys the customer's token; a
 * payment with it, a refund of it, the payment's status. */
static int direct_debit(const char *id) {
    const char *channel = "\"additionalInfo\":{\"channel\":\"DIRECT_DEBIT_ALLO_SNAP\"}";
    const char *ip = "\"ipAddress\":\"203.0.113.7\"";
    char body[1024], options[4096], auth_code[256], token[2048];
    snprintf(
        body, sizeof body,
        "{\"phoneNo\":\"62813941306101\",\"additionalInfo\":{\"channel\":\"DIRECT_DEBIT_ALLO_SNAP\",\"custIdMerchant\":\"cust-%s\","
        "\"successRegistrationUrl\":\"https://merchant.example/ok\",\"failedRegistrationUrl\":\"https://merchant.example/failed\"}}",
        id);
    snprintf(options, sizeof options, "{%s,\"deviceId\":\"device-1\"}", ip);
    char *response = call("account_binding", body, options, "2000700", NULL);
    if (!response) return 0;
    char *answer = answer_of(response);
    int found = field(answer, "authCode", auth_code, sizeof auth_code);
    free(answer);
    doku_free(response);
    if (!found) {
        fprintf(stderr, "c: account_binding: no additionalInfo.authCode in the answer\n");
        return 0;
    }

    char *grant = NULL;
    DokuStatus status = doku_get_token_b2b2c(client, auth_code, &grant);
    if (status != DOKU_OK) {
        fprintf(stderr, "c: customer token: %s: %s\n", doku_status_name(status), doku_last_error());
        return 0;
    }
    found = field(grant, "accessToken", token, sizeof token);
    doku_free(grant);
    if (!found) return 0;
    printf("c: customer token: received\n"); /* a secret: never printed */
    snprintf(options, sizeof options, "{\"customerToken\":\"%s\",%s}", token, ip);

    snprintf(body, sizeof body,
             "{\"partnerReferenceNo\":\"ORDER-%s\",\"amount\":{\"value\":\"25000.00\",\"currency\":\"IDR\"},%s}", id, channel);
    if (!step("payment", body, options, "2005400", NULL)) return 0;
    snprintf(body, sizeof body,
             "{\"originalPartnerReferenceNo\":\"ORDER-%s\",\"partnerRefundNo\":\"REFUND-%s\",\"refundAmount\":{\"value\":"
             "\"25000.00\",\"currency\":\"IDR\"},%s}",
             id, id, channel);
    if (!step("refund", body, options, "2000700", NULL)) return 0;
    snprintf(body, sizeof body, "{\"originalPartnerReferenceNo\":\"ORDER-%s\",\"serviceCode\":\"54\"}", id);
    return step("check_status", body, NULL, "2005500", "transactionStatusDesc");
}

int main(void) {
    const char *url = getenv("DOKU_BASE_URL"), *client_id = getenv("DOKU_CLIENT_ID");
    const char *key = getenv("DOKU_PRIVATE_KEY_FILE"), *secret = getenv("DOKU_CLIENT_SECRET"), *ca = getenv("DOKU_CA_FILE");
    if (!url || !client_id || !key || !secret) {
        fprintf(stderr, "set DOKU_BASE_URL, DOKU_CLIENT_ID, DOKU_PRIVATE_KEY_FILE and DOKU_CLIENT_SECRET\n");
        return 2;
    }
    char config[4096];
    snprintf(config, sizeof config,
             "{\"client_id\":\"%s\",\"private_key_file\":\"%s\",\"base_url\":\"%s\",\"client_secret\":\"%s\","
             "\"channel_id\":\"H2H\"%s%s%s}",
             client_id, key, url, secret, ca ? ",\"ca_file\":\"" : "", ca ? ca : "", ca ? "\"" : "");
    if (doku_client_new(config, &client) != DOKU_OK) {
        fprintf(stderr, "c: config error: %s\n", doku_last_error());
        return 1;
    }
    /* Numbers of this run, so that running it again makes new bills and payments. */
    char id[32];
    snprintf(id, sizeof id, "%lu%05lu", (unsigned long)time(NULL), (unsigned long)getpid() % 100000);
    int ok = virtual_account(id, client_id) && direct_debit(id);
    doku_client_free(client);
    return ok ? 0 : 1;
}
