<?php

// The config of a test request's Client, from the FastCGI parameters FpmTest sends.

declare(strict_types=1);

return [
    'client_id' => $_SERVER['DOKU_CLIENT_ID'],
    'private_key' => $_SERVER['DOKU_PRIVATE_KEY'],
    'base_url' => $_SERVER['DOKU_BASE_URL'],
    'ca_file' => $_SERVER['DOKU_CA_FILE'],
    'proxy' => '',
];
