<?php

declare(strict_types=1);

namespace DokuSnap;

/**
 * A signature did not verify (DOKU_ERR_SIGNATURE_INVALID).
 *
 * A RuntimeException: the token or signature comes from outside (DOKU, a request) and
 * is judged at run time.
 */
final class SignatureInvalidException extends \RuntimeException implements DokuException
{
}
