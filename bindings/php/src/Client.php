<?php

declare(strict_types=1);

namespace DokuSnap;

use FFI\CData;

/**
 * A DOKU client over a native DokuClient handle. Tokens live in a process-wide cache shared
 * by every client with the same base URL, client id and key, so creating a Client per request
 * (as PHP-FPM does) costs no token request once the worker has one.
 */
final class Client
{
    /** DokuClient *, or null once freed. */
    private ?CData $handle = null;
    /** This client has set a logger (see setLogger()). */
    private bool $logs = false;

    /**
     * @param array<string, mixed> $config the core's config keys: client_id, private_key or
     *     private_key_file, private_key_passphrase, environment, base_url, timeout_ms,
     *     connect_timeout_ms, ca_file, refresh_margin_s, timestamp_offset, proxy, and for signed
     *     transaction requests client_secret, channel_id, partner_id (default: client_id)
     * @throws InvalidArgumentException|KeyException|DokuException
     */
    public function __construct(#[\SensitiveParameter] array $config)
    {
        // JSON would carry a NUL intact, but the rule stays the same for every string sent to C.
        array_walk_recursive($config, static function (mixed $value, int|string $key): void {
            if (is_string($value)) {
                Library::text("config: {$key}", $value);
            }
        });
        // object: an empty array must still encode as a JSON object.
        $json = Library::encode('config', $config, object: true);
        $ffi = Library::ffi();
        $out = $ffi->new('DokuClient *');
        Library::check($ffi->doku_client_new($json, \FFI::addr($out)));
        $this->handle = $out;
    }

    /** Frees the handle; the process-wide cache keeps the token for the next Client. */
    public function __destruct()
    {
        if ($this->logs) {
            $this->logs = false;
            Logging::release($this);
        }
        if ($this->handle !== null) {
            $handle = $this->handle;
            $this->handle = null; // first, so that no path can free it twice
            Library::ffi()->doku_client_free($handle);
        }
    }

    /** Two objects owning one handle would free it twice. */
    private function __clone()
    {
    }

    /**
     * A valid B2B access token (without "Bearer "): cached, or fetched when missing or near expiry.
     *
     * @throws ApiException|NetworkException|TimeoutException|TlsException|ProtocolException|DokuException
     */
    public function getToken(): string
    {
        $ffi = Library::ffi();
        return Library::takeString(fn ($out) => $ffi->doku_get_token($this->handle, $out));
    }

    /**
     * The current token (fetched as getToken() does) and its expiry.
     *
     * @return array{accessToken: string, tokenType: string, expiresIn: int, expiresAt: string}
     * @throws DokuException
     */
    public function tokenInfo(): array
    {
        $ffi = Library::ffi();
        return Library::decode('the token info', Library::takeString(fn ($out) => $ffi->doku_token_info($this->handle, $out)));
    }

    /**
     * Sends the library's events to a PSR-3 logger (psr/log is not required by this package;
     * install it, or Debian's php-psr-log, to use this). Each event is logged at its level
     * (error, warning, info, debug) with its stable name as $context['event']: token_fetched
     * (info: the request's duration and expiresIn), token_fetch_failed (error: duration and the
     * error's message), token_from_store (info), store_unavailable (warning), store_recovered
     * (info), stale_token_served (warning: a refresh failed, the still-valid token is served),
     * invalid_token_retry (warning: DOKU refused a request's token with 401xx01), clock_skew
     * (warning) and outcome_unknown (error: a payment or refund was sent and its answer lost, the
     * message an OutcomeUnknownException's). Messages never contain a key, passphrase, secret,
     * password or token. The cached getToken() logs nothing.
     *
     * The library has one log callback per process, so a logger receives the events of every
     * Client, not only this one's: the latest logger set by a living Client wins. When this
     * Client is destroyed (or sets null), the logger set before it by a Client still alive takes
     * over; when no Client with a logger is left, the callback is removed. With PHP-FPM's Client
     * per request, set the logger on each request's Client: it ends with the request (and a
     * shutdown function removes it even after a fatal error), so no request calls a logger of an
     * earlier one. Events are logged on the calling thread, before the call returns.
     */
    public function setLogger(?\Psr\Log\LoggerInterface $logger): void
    {
        if ($this->handle === null) {
            throw new InvalidArgumentException('the client is freed', Status::NULL_ARGUMENT);
        }
        if ($logger === null) {
            if ($this->logs) {
                $this->logs = false;
                Logging::release($this);
            }
            return;
        }
        Logging::set($this, $logger);
        $this->logs = true;
    }

    /**
     * The counters of this client's token cache entry, shared by every Client of the same base
     * URL, client id and key in the process (a Client per request keeps counting), since it was
     * created: inProcessHits (calls answered from the process's cache: the cached token, one
     * another thread had just fetched, or a still-valid token served while its refresh failed),
     * storeHits (tokens read from the shared token store instead of fetched), fetches and
     * fetchFailures (token requests to DOKU that succeeded, failed), storeErrors (failed token
     * store operations, each passed by), lastFetchMs (the last token request's duration in
     * milliseconds, successful or not; null before the first) and lastStoreError (the last store
     * failure's message, or null). Makes no network call.
     *
     * @return array{inProcessHits: int, storeHits: int, fetches: int, fetchFailures: int, storeErrors: int, lastFetchMs: float|int|null, lastStoreError: ?string}
     * @throws DokuException
     */
    public function stats(): array
    {
        $ffi = Library::ffi();
        return Library::decode('the stats', Library::takeString(fn ($out) => $ffi->doku_client_stats($this->handle, $out)));
    }

    /** Drops the cached token (for every Client sharing it): call it after DOKU answers 401xx01. */
    public function invalidateToken(): void
    {
        Library::check(Library::ffi()->doku_client_invalidate_token($this->handle));
    }

    /**
     * Every header a signed transaction request needs, for your own HTTP stack: Authorization
     * (Bearer and the cached B2B token), X-TIMESTAMP, X-SIGNATURE, X-PARTNER-ID, X-EXTERNAL-ID,
     * CHANNEL-ID, Content-Type. The signature covers minify($body): send the body as given or
     * Snap::minify()'d. Needs client_secret and channel_id in the config.
     *
     * @param string $path the relative endpoint, e.g. "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va"
     * @return array<string, string> header name => value
     * @throws InvalidArgumentException for a missing client_secret/channel_id, a malformed method
     *     or path, a body that is not JSON
     * @throws ApiException|NetworkException|TimeoutException|TlsException|ProtocolException when a token must be fetched
     */
    public function requestHeaders(string $method, string $path, #[\SensitiveParameter] ?string $body = null): array
    {
        Library::texts(compact('method', 'path', 'body'));
        $ffi = Library::ffi();
        $json = Library::takeString(fn ($out) => $ffi->doku_client_request_headers($this->handle, $method, $path, $body, $out));
        return Library::decode('the headers', $json);
    }

    /**
     * Sends a signed transaction request to any path with the library's HTTP client. Any HTTP
     * status is an answer: look at httpStatus and responseCode. On Invalid Token (HTTP 401, case
     * code 01) the library fetches a new token and retries once. Needs client_secret and
     * channel_id in the config (or the channelId option). For DOKU's own operations prefer
     * call() or the operation's method (createVa(), payment(), ...): they check the body and
     * options before sending and know which calls move money.
     *
     * @param string $path the relative endpoint, e.g. "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va"
     * @param string|array<mixed>|null $body JSON text, or an array to encode (slashes and
     *     non-ASCII unescaped; a nested object that must stay {} when empty as new \stdClass()),
     *     or null for none; the library signs and sends it minified
     * @param array{customerToken?: string, ipAddress?: string, deviceId?: string, channelId?: string, externalId?: string, headers?: array<string, string>} $options
     *     as for call(); here every option given is sent and none is required
     * @throws InvalidArgumentException for a missing client_secret/channel_id, a malformed method
     *     or path, a body that is not JSON (or an array that cannot be encoded), bad options
     *     (named, never their value)
     * @throws ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function request(string $method, string $path, #[\SensitiveParameter] string|array|null $body = null, #[\SensitiveParameter] array $options = []): Response
    {
        $body = self::bodyJson($body);
        Library::texts(compact('method', 'path', 'body'));
        $optionsJson = self::optionsJson($options);
        $ffi = Library::ffi();
        return self::response(Library::takeString(fn ($out) => $ffi->doku_client_request($this->handle, $method, $path, $body, $optionsJson, $out)));
    }

    /**
     * Calls one of DOKU's operations by its catalog name (Snap::operations() lists them:
     * create_va, update_va, delete_va, check_status_va, account_binding, account_unbinding,
     * card_registration, card_unbinding, payment, payment_jump_app, refund, balance_inquiry,
     * check_status) with its method and path, signed as request() signs. Each has a method of
     * its own as well: $client->createVa($body) is $client->call('create_va', $body).
     *
     * Before anything is sent (or a token fetched), the body is checked by the operation's rules
     * (mandatory fields; formats such as partnerServiceId's 8 characters, amounts as
     * ['value' => '10000.00', 'currency' => 'IDR']) and the options by its needs; a failure is an
     * InvalidArgumentException naming the field or option, never its value, e.g. "payment:
     * options: customerToken is required (Authorization-Customer)". Any HTTP answer is a
     * Response, a refusal from DOKU included.
     *
     * Options (null values are left out):
     *   customerToken  the customer's B2B2C token (getTokenB2b2c()), sent as Authorization-Customer
     *   ipAddress      the customer's IP address, X-IP-ADDRESS
     *   deviceId       the customer's device, X-DEVICE-ID
     *   channelId      CHANNEL-ID instead of the config's channel_id
     *   externalId     X-EXTERNAL-ID instead of a generated one (1 to 36 digits, unique per day);
     *                  Response::$externalId says which was sent
     *   headers        further X-… headers, ['X-NAME' => 'value'] (not the signed ones, nor those above)
     * An option the operation does not send is refused, not ignored.
     *
     * Money: payment, payment_jump_app and refund are never retried once sent. A timeout or a
     * lost connection after one was sent is an OutcomeUnknownException: ask check_status before
     * anything else. Failing before sending stays a NetworkException, TimeoutException or
     * TlsException.
     *
     * @param string|array<mixed>|null $body as for request(), but an empty array is sent as {}
     * @param array{customerToken?: string, ipAddress?: string, deviceId?: string, channelId?: string, externalId?: string, headers?: array<string, string>} $options
     * @throws InvalidArgumentException for an unknown operation, a body that breaks a rule, options
     *     that do not fit, a missing client_secret/channel_id
     * @throws OutcomeUnknownException when a payment or refund was sent and its answer lost
     * @throws ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function call(string $operation, #[\SensitiveParameter] string|array|null $body, #[\SensitiveParameter] array $options = []): Response
    {
        $body = self::bodyJson($body, object: true);
        Library::texts(compact('operation', 'body'));
        $optionsJson = self::optionsJson($options);
        $ffi = Library::ffi();
        return self::response(Library::takeString(fn ($out) => $ffi->doku_client_call($this->handle, $operation, $body, $optionsJson, $out)));
    }

    /**
     * create_va: a virtual account with its bill. POST
     * /virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va, success 2002700.
     * Body: partnerServiceId ("  888994": 8 characters, digits left-padded with spaces),
     * customerNo (up to 20 digits), virtualAccountNo (partnerServiceId followed by customerNo),
     * virtualAccountName, trxId, totalAmount; optional virtualAccountEmail, virtualAccountPhone,
     * virtualAccountTrxType, expiredDate, additionalInfo. Options: channelId, externalId, headers.
     *
     * @param string|array<mixed> $body
     * @param array{channelId?: string, externalId?: string, headers?: array<string, string>} $options
     * @throws InvalidArgumentException|ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function createVa(#[\SensitiveParameter] string|array $body, #[\SensitiveParameter] array $options = []): Response
    {
        return $this->call('create_va', $body, $options);
    }

    /**
     * update_va: changes a virtual account's bill (not once paid: 404, 4042814). PUT
     * /virtual-accounts/bi-snap-va/v1.1/transfer-va/update-va, success 2002800.
     * Body: as createVa()'s. Options: channelId, externalId, headers.
     *
     * @param string|array<mixed> $body
     * @param array{channelId?: string, externalId?: string, headers?: array<string, string>} $options
     * @throws InvalidArgumentException|ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function updateVa(#[\SensitiveParameter] string|array $body, #[\SensitiveParameter] array $options = []): Response
    {
        return $this->call('update_va', $body, $options);
    }

    /**
     * delete_va: deletes an unpaid virtual account (a paid one: 404, 4043114). DELETE
     * /virtual-accounts/bi-snap-va/v1.1/transfer-va/delete-va, success 2003100.
     * Body: partnerServiceId, customerNo, virtualAccountNo; optional trxId, additionalInfo.
     * Options: channelId, externalId, headers.
     *
     * @param string|array<mixed> $body
     * @param array{channelId?: string, externalId?: string, headers?: array<string, string>} $options
     * @throws InvalidArgumentException|ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function deleteVa(#[\SensitiveParameter] string|array $body, #[\SensitiveParameter] array $options = []): Response
    {
        return $this->call('delete_va', $body, $options);
    }

    /**
     * check_status_va: a virtual account's bill and whether it is paid (virtualAccountData's
     * paidAmount, paymentFlagReason). POST /orders/v1.0/transfer-va/status, success 2002600.
     * Body: partnerServiceId, customerNo, virtualAccountNo; optional inquiryRequestId,
     * paymentRequestId. Options: channelId, externalId, headers.
     *
     * @param string|array<mixed> $body
     * @param array{channelId?: string, externalId?: string, headers?: array<string, string>} $options
     * @throws InvalidArgumentException|ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function checkStatusVa(#[\SensitiveParameter] string|array $body, #[\SensitiveParameter] array $options = []): Response
    {
        return $this->call('check_status_va', $body, $options);
    }

    /**
     * account_binding: binds a customer's account for Direct Debit; the answer's
     * additionalInfo.authCode is good once for getTokenB2b2c(), the customer's token. POST
     * /direct-debit/core/v1/registration-account-binding, success 2000700.
     * Body: phoneNo, additionalInfo.channel, additionalInfo.custIdMerchant,
     * additionalInfo.successRegistrationUrl, additionalInfo.failedRegistrationUrl.
     * Options: ipAddress and deviceId (required); channelId, externalId, headers.
     *
     * @param string|array<mixed> $body
     * @param array{ipAddress: string, deviceId: string, channelId?: string, externalId?: string, headers?: array<string, string>} $options
     * @throws InvalidArgumentException|ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function accountBinding(#[\SensitiveParameter] string|array $body, #[\SensitiveParameter] array $options = []): Response
    {
        return $this->call('account_binding', $body, $options);
    }

    /**
     * account_unbinding: unbinds the account; the customer's tokens are revoked. POST
     * /direct-debit/core/v1/registration-account-unbinding, success 2000500.
     * Body: tokenId (the customer's token), additionalInfo.channel.
     * Options: ipAddress (required); channelId, externalId, headers.
     *
     * @param string|array<mixed> $body
     * @param array{ipAddress: string, channelId?: string, externalId?: string, headers?: array<string, string>} $options
     * @throws InvalidArgumentException|ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function accountUnbinding(#[\SensitiveParameter] string|array $body, #[\SensitiveParameter] array $options = []): Response
    {
        return $this->call('account_unbinding', $body, $options);
    }

    /**
     * card_registration: binds a customer's card; the answer's additionalInfo.authCode is good
     * once for getTokenB2b2c(). POST /direct-debit/core/v1/registration-card-bind, success 2000100.
     * Body: cardData, custIdMerchant, phoneNo, additionalInfo.channel,
     * additionalInfo.successRegistrationUrl, additionalInfo.failedRegistrationUrl.
     * Options: ipAddress, deviceId, channelId, externalId, headers.
     *
     * @param string|array<mixed> $body
     * @param array{ipAddress?: string, deviceId?: string, channelId?: string, externalId?: string, headers?: array<string, string>} $options
     * @throws InvalidArgumentException|ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function cardRegistration(#[\SensitiveParameter] string|array $body, #[\SensitiveParameter] array $options = []): Response
    {
        return $this->call('card_registration', $body, $options);
    }

    /**
     * card_unbinding: unbinds a card. POST /direct-debit/core/v1/registration-card-unbind,
     * success 2000500.
     * Body: tokenId (the customer's token), additionalInfo.channel.
     * Options: ipAddress, channelId, externalId, headers.
     *
     * @param string|array<mixed> $body
     * @param array{ipAddress?: string, channelId?: string, externalId?: string, headers?: array<string, string>} $options
     * @throws InvalidArgumentException|ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function cardUnbinding(#[\SensitiveParameter] string|array $body, #[\SensitiveParameter] array $options = []): Response
    {
        return $this->call('card_unbinding', $body, $options);
    }

    /**
     * payment (moves money): a Direct Debit payment from a bound account. POST
     * /direct-debit/core/v1/debit/payment-host-to-host, success 2005400.
     * Body: partnerReferenceNo, amount, additionalInfo.channel; optional payOptionDetails,
     * additionalInfo.remarks, additionalInfo.lineItems.
     * Options: customerToken and ipAddress (required); deviceId, channelId, externalId, headers.
     * Never retried once sent: an answer lost after sending is an OutcomeUnknownException; then
     * call checkStatus() with originalPartnerReferenceNo = partnerReferenceNo and serviceCode "54".
     *
     * @param string|array<mixed> $body
     * @param array{customerToken: string, ipAddress: string, deviceId?: string, channelId?: string, externalId?: string, headers?: array<string, string>} $options
     * @throws OutcomeUnknownException when it was sent and its answer lost
     * @throws InvalidArgumentException|ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function payment(#[\SensitiveParameter] string|array $body, #[\SensitiveParameter] array $options = []): Response
    {
        return $this->call('payment', $body, $options);
    }

    /**
     * payment_jump_app (moves money): a payment the customer approves in the provider's app
     * (no customer token; the answer's webRedirectUrl). POST
     * /direct-debit/core/v1/debit/payment-host-to-host, success 2005400.
     * Body: partnerReferenceNo, amount, urlParam, additionalInfo.channel; optional validUpTo,
     * pointOfInitiation.
     * Options: ipAddress and deviceId (required); channelId, externalId, headers.
     * Never retried once sent: an answer lost after sending is an OutcomeUnknownException.
     *
     * @param string|array<mixed> $body
     * @param array{ipAddress: string, deviceId: string, channelId?: string, externalId?: string, headers?: array<string, string>} $options
     * @throws OutcomeUnknownException when it was sent and its answer lost
     * @throws InvalidArgumentException|ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function paymentJumpApp(#[\SensitiveParameter] string|array $body, #[\SensitiveParameter] array $options = []): Response
    {
        return $this->call('payment_jump_app', $body, $options);
    }

    /**
     * refund (moves money): refunds a payment, in part or whole. POST
     * /direct-debit/core/v1/debit/refund, success 2000700 or 2005800.
     * Body: originalPartnerReferenceNo, partnerRefundNo, refundAmount, additionalInfo.channel;
     * optional originalExternalId, reason.
     * Options: customerToken and ipAddress (required); deviceId, channelId, externalId, headers.
     * Never retried once sent: an answer lost after sending is an OutcomeUnknownException.
     *
     * @param string|array<mixed> $body
     * @param array{customerToken: string, ipAddress: string, deviceId?: string, channelId?: string, externalId?: string, headers?: array<string, string>} $options
     * @throws OutcomeUnknownException when it was sent and its answer lost
     * @throws InvalidArgumentException|ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function refund(#[\SensitiveParameter] string|array $body, #[\SensitiveParameter] array $options = []): Response
    {
        return $this->call('refund', $body, $options);
    }

    /**
     * balance_inquiry: the bound account's balance. POST /direct-debit/core/v1/balance-inquiry,
     * success 2001100.
     * Body: additionalInfo.channel.
     * Options: customerToken and ipAddress (required); channelId, externalId, headers.
     *
     * @param string|array<mixed> $body
     * @param array{customerToken: string, ipAddress: string, channelId?: string, externalId?: string, headers?: array<string, string>} $options
     * @throws InvalidArgumentException|ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function balanceInquiry(#[\SensitiveParameter] string|array $body, #[\SensitiveParameter] array $options = []): Response
    {
        return $this->call('balance_inquiry', $body, $options);
    }

    /**
     * check_status: a Direct Debit payment's status (latestTransactionStatus "00" paid, "04"
     * refunded) and refunds; the call to make after an OutcomeUnknownException. POST
     * /orders/v1.0/debit/status, success 2005500.
     * Body: originalPartnerReferenceNo, serviceCode ("54" for a payment); optional amount,
     * originalExternalId. Options: channelId, externalId, headers.
     *
     * @param string|array<mixed> $body
     * @param array{channelId?: string, externalId?: string, headers?: array<string, string>} $options
     * @throws InvalidArgumentException|ApiException|NetworkException|TimeoutException|TlsException|ProtocolException
     */
    public function checkStatus(#[\SensitiveParameter] string|array $body, #[\SensitiveParameter] array $options = []): Response
    {
        return $this->call('check_status', $body, $options);
    }

    /**
     * Exchanges a customer's auth code for a B2B2C token (POST /authorization/v1/access-token/b2b2c,
     * 2007400). Not cached: customer tokens are per customer.
     *
     * @return array{accessToken: string, tokenType: string, accessTokenExpiryTime: string, refreshToken: string, refreshTokenExpiryTime: string}
     * @throws ApiException when DOKU refuses (e.g. 4017401 for an invalid code)
     * @throws InvalidArgumentException for an empty auth code
     * @throws NetworkException|TimeoutException|TlsException|ProtocolException|DokuException
     */
    public function getTokenB2b2c(#[\SensitiveParameter] string $authCode): array
    {
        Library::text('authCode', $authCode);
        $ffi = Library::ffi();
        return Library::decode('the B2B2C token', Library::takeString(fn ($out) => $ffi->doku_get_token_b2b2c($this->handle, $authCode, $out)));
    }

    /**
     * A new B2B2C token for a refresh token (grantType refresh_token); otherwise as getTokenB2b2c().
     *
     * @return array{accessToken: string, tokenType: string, accessTokenExpiryTime: string, refreshToken: string, refreshTokenExpiryTime: string}
     * @throws ApiException|InvalidArgumentException|NetworkException|TimeoutException|TlsException|ProtocolException|DokuException
     */
    public function refreshTokenB2b2c(#[\SensitiveParameter] string $refreshToken): array
    {
        Library::text('refreshToken', $refreshToken);
        $ffi = Library::ffi();
        return Library::decode('the B2B2C token', Library::takeString(fn ($out) => $ffi->doku_refresh_token_b2b2c($this->handle, $refreshToken, $out)));
    }

    /**
     * A body as the library takes it: an array encoded once, so that what the library minifies,
     * signs and sends is these bytes. $object: an empty array is {} (an operation's body is
     * always an object; request() sends [] as [], as it always has).
     */
    private static function bodyJson(#[\SensitiveParameter] string|array|null $body, bool $object = false): ?string
    {
        return is_array($body) ? Library::encode('body', $body, object: $object && $body === []) : $body;
    }

    /**
     * The options as a JSON object, or null for none.
     *
     * @param array<string, mixed> $options
     */
    private static function optionsJson(#[\SensitiveParameter] array $options): ?string
    {
        if ($options === []) {
            return null;
        }
        // JSON would carry a NUL intact, but the rule stays the same for every string sent to C.
        array_walk_recursive($options, static function (mixed $value, int|string $key): void {
            if (is_string($value)) {
                Library::text("options: {$key}", $value);
            }
        });
        // An empty headers array is still an object of headers, not a list.
        if (is_array($options['headers'] ?? null)) {
            $options['headers'] = (object) $options['headers'];
        }
        // The encoding error names "options", never a value (the customer token is a secret).
        return Library::encode('options', $options, object: true);
    }

    /** The library's answer JSON as a Response. */
    private static function response(string $json): Response
    {
        $answer = Library::decode('the response', $json);
        return new Response($answer['httpStatus'], $answer['responseCode'], $answer['body'], $answer['operation'], $answer['externalId']);
    }
}
