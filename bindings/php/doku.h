#define FFI_SCOPE "DOKU"
#define FFI_LIB "libdoku.so.0.1"

typedef enum DokuStatus {
  DOKU_OK = 0,
  DOKU_ERR_NULL_ARGUMENT = 1,
  DOKU_ERR_INVALID_ARGUMENT = 2,
  DOKU_ERR_KEY = 3,
  DOKU_ERR_CRYPTO = 4,
  DOKU_ERR_NETWORK = 5,
  DOKU_ERR_TIMEOUT = 6,
  DOKU_ERR_TLS = 7,
  DOKU_ERR_API = 8,
  DOKU_ERR_PROTOCOL = 9,
  DOKU_ERR_SIGNATURE_INVALID = 10,
  DOKU_ERR_OUTCOME_UNKNOWN = 11,
  DOKU_ERR_PANIC = 99,
} DokuStatus;

typedef enum DokuLogLevel {
  DOKU_LOG_ERROR = 1,
  DOKU_LOG_WARN = 2,
  DOKU_LOG_INFO = 3,
  DOKU_LOG_DEBUG = 4,
} DokuLogLevel;

typedef struct DokuClient DokuClient;

typedef void (*DokuLogCallback)(void *user_data,
                                enum DokuLogLevel level,
                                const char *event,
                                const char *message);

enum DokuStatus doku_client_new(const char *config_json, struct DokuClient **client_out);

enum DokuStatus doku_get_token(const struct DokuClient *client, char **access_token_out);

enum DokuStatus doku_token_info(const struct DokuClient *client, char **json_out);

enum DokuStatus doku_client_stats(const struct DokuClient *client, char **stats_json_out);

enum DokuStatus doku_client_invalidate_token(struct DokuClient *client);

void doku_client_free(struct DokuClient *client);

enum DokuStatus doku_client_request_headers(const struct DokuClient *client,
                                            const char *method,
                                            const char *path,
                                            const char *body,
                                            char **headers_json_out);

enum DokuStatus doku_client_request(const struct DokuClient *client,
                                    const char *method,
                                    const char *path,
                                    const char *body,
                                    const char *options_json,
                                    char **response_json_out);

enum DokuStatus doku_client_call(const struct DokuClient *client,
                                 const char *operation,
                                 const char *body_json,
                                 const char *options_json,
                                 char **response_json_out);

enum DokuStatus doku_operations(char **json_out);

enum DokuStatus doku_get_token_b2b2c(const struct DokuClient *client,
                                     const char *auth_code,
                                     char **json_out);

enum DokuStatus doku_refresh_token_b2b2c(const struct DokuClient *client,
                                         const char *refresh_token,
                                         char **json_out);

void doku_free(char *s);

enum DokuStatus doku_set_log_callback(DokuLogCallback callback, void *user_data, int min_level);

enum DokuStatus doku_issue_token(const char *options_json,
                                 const char *headers_json,
                                 const char *body,
                                 int *http_status_out,
                                 char **response_json_out);

enum DokuStatus doku_validate_token(const char *bearer_or_jwt,
                                    const char *merchant_public_key,
                                    char **claims_json_out);

enum DokuStatus doku_merchant_verify(const char *options_json,
                                     const char *method,
                                     const char *path,
                                     const char *headers_json,
                                     const char *body,
                                     size_t body_len,
                                     char **verdict_json_out);

enum DokuStatus doku_merchant_answer(const char *operation,
                                     const char *request_json,
                                     const char *result_json,
                                     char **response_json_out);

enum DokuStatus doku_timestamp(char **timestamp_out);

enum DokuStatus doku_sign(const char *client_id,
                          const char *timestamp,
                          const char *private_key,
                          char **signature_out);

enum DokuStatus doku_minify(const char *json_body, char **minified_out);

enum DokuStatus doku_sign_request(const char *client_secret,
                                  const char *method,
                                  const char *path,
                                  const char *access_token,
                                  const char *body,
                                  const char *timestamp,
                                  char **signature_out);

enum DokuStatus doku_verify(const char *client_id,
                            const char *timestamp,
                            const char *signature,
                            const char *public_key);

enum DokuStatus doku_verify_request(const char *client_secret,
                                    const char *method,
                                    const char *path,
                                    const char *access_token,
                                    const char *body,
                                    const char *timestamp,
                                    const char *signature);

const char *doku_version(void);

const char *doku_last_error(void);

const char *doku_last_response_code(void);

const char *doku_status_name(int status);
