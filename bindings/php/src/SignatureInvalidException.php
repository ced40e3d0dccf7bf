<?php

declare(strict_types=1);

namespace DokuSnap;

/** A signature did not verify (DOKU_ERR_SIGNATURE_INVALID). */
final class SignatureInvalidException extends DokuException
{
}
