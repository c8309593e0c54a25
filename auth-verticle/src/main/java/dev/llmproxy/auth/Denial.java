package dev.llmproxy.auth;

/**
 * Why a key is refused. {@code statusName} selects the HTTP code and message in {@code auth.status_codes}
 * (null: fixed {@link #fixedStatus} and the default message here); {@code code} is the OpenAI-style error code
 * the proxy puts in the client's error.
 */
public enum Denial {
  NOT_FOUND("not_found", "invalid_api_key", 0, null),
  DISABLED("disabled", "key_disabled", 0, null),
  NOT_YET_VALID("disabled", "key_not_yet_valid", 0, "API Key is not yet valid"),
  EXPIRED("expired", "key_expired", 0, null),
  QUOTA_EXCEEDED("quota_exceeded", "quota_exceeded", 0, null),
  INSUFFICIENT_BALANCE("quota_exceeded", "insufficient_balance", 0, "Insufficient balance"),
  IP_NOT_ALLOWED(null, "ip_not_allowed", 403, "IP address not allowed for this API Key"),
  ACCESS_DENIED(null, "access_denied", 403, "Access denied"),
  UNAVAILABLE(null, "auth_unavailable", 503, "Authentication service unavailable, please retry later");

  private final String statusName;
  private final String code;
  private final int fixedStatus;
  private final String defaultMessage;

  Denial(String statusName, String code, int fixedStatus, String defaultMessage) {
    this.statusName = statusName;
    this.code = code;
    this.fixedStatus = fixedStatus;
    this.defaultMessage = defaultMessage;
  }

  public String statusName() {
    return statusName;
  }

  public String code() {
    return code;
  }

  public int fixedStatus() {
    return fixedStatus;
  }

  public String defaultMessage() {
    return defaultMessage;
  }
}
