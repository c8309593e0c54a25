package dev.llmproxy.common.error;

/**
 * Every failure a client can see, with its HTTP status and OpenAI error {@code type} and {@code code}.
 * This table is the one place where a failure becomes a status.
 */
public enum ErrorKind {
  INVALID_JSON(400, "invalid_request_error", "invalid_json"),
  INVALID_REQUEST(400, "invalid_request_error", "invalid_request"),
  UNAUTHORIZED(401, "invalid_request_error", "invalid_api_key"),
  FORBIDDEN(403, "invalid_request_error", "forbidden"),
  NOT_FOUND(404, "invalid_request_error", "not_found"),
  MODEL_NOT_FOUND(404, "invalid_request_error", "model_not_found"),
  METHOD_NOT_ALLOWED(405, "invalid_request_error", "method_not_allowed"),
  REQUEST_TIMEOUT(408, "invalid_request_error", "request_timeout"),
  PAYLOAD_TOO_LARGE(413, "invalid_request_error", "request_too_large"),
  URI_TOO_LONG(414, "invalid_request_error", "uri_too_long"),
  /** A request body in a Content-Type or Content-Encoding the gateway does not read. */
  UNSUPPORTED_MEDIA_TYPE(415, "invalid_request_error", "unsupported_media_type"),
  HEADERS_TOO_LARGE(431, "invalid_request_error", "request_header_fields_too_large"),
  RATE_LIMITED(429, "rate_limit_exceeded", "rate_limit_exceeded"),
  /** {@code routing.flow_control}: every backend of the model is saturated and the gateway's queue shed the request. */
  OVERLOADED(429, "rate_limit_exceeded", "overloaded"),
  INTERNAL(500, "server_error", "internal_error"),
  UPSTREAM_UNREACHABLE(502, "server_error", "upstream_unreachable"),
  UPSTREAM_FAILED(502, "server_error", "upstream_error"),
  NO_BACKEND(503, "server_error", "no_backend_available"),
  NOT_READY(503, "server_error", "not_ready"),
  SHUTTING_DOWN(503, "server_error", "shutting_down"),
  UPSTREAM_TIMEOUT(504, "server_error", "upstream_timeout"),
  HTTP_VERSION_NOT_SUPPORTED(505, "invalid_request_error", "http_version_not_supported"),
  /** {@code fault_injection}'s abort: the status is the fault's own. */
  FAULT_INJECTED(503, "server_error", "fault_injected");

  private final int status;
  private final String type;
  private final String code;

  ErrorKind(int status, String type, String code) {
    this.status = status;
    this.type = type;
    this.code = code;
  }

  public int status() {
    return status;
  }

  public String type() {
    return type;
  }

  public String code() {
    return code;
  }
}
