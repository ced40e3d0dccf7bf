<?php

declare(strict_types=1);

namespace DokuSnap;

/**
 * A money-moving call (payment, paymentJumpApp, refund) was sent and its answer was lost: a
 * timeout or a broken connection after sending (DOKU_ERR_OUTCOME_UNKNOWN). DOKU may have acted on
 * it, so never send it again blindly: the message names the status operation to call and the
 * originalPartnerReferenceNo to ask it with, e.g. `call check_status with
 * originalPartnerReferenceNo "ORDER-1"`.
 *
 * Not a TimeoutException or NetworkException on purpose: a handler that retries those must not
 * catch this one. Failing before anything was sent (DNS, connect, TLS handshake, a token fetch)
 * stays NetworkException, TimeoutException or TlsException.
 */
final class OutcomeUnknownException extends \RuntimeException implements DokuException
{
}
