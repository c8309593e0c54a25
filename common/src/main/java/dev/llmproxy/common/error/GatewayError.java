package dev.llmproxy.common.error;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

/**
 * The one failure type of the gateway. It renders itself as OpenAI's error JSON:
 * {@code {"error":{"message":"...","type":"...","code":"..."}}}.
 */
public final class GatewayError extends RuntimeException {

  private final ErrorKind kind;
  private final int status;
  private final String code;

  public GatewayError(ErrorKind kind, String message) {
    this(kind, kind.status(), message, null);
  }

  public GatewayError(ErrorKind kind, String message, Throwable cause) {
    this(kind, kind.status(), message, cause);
  }

  /** For configurable statuses, such as {@code auth.status_codes}. */
  public GatewayError(ErrorKind kind, int status, String message, Throwable cause) {
    this(kind, status, kind.code(), message, cause);
  }

  /** For failures decided elsewhere that carry their own status and code, such as an auth denial. */
  public GatewayError(ErrorKind kind, int status, String code, String message, Throwable cause) {
    super(message, cause, false, false);
    this.kind = kind;
    this.status = status;
    this.code = code == null ? kind.code() : code;
  }

  public ErrorKind kind() {
    return kind;
  }

  public int status() {
    return status;
  }

  public String code() {
    return code;
  }

  public JsonObject toJson() {
    return body(getMessage(), kind.type(), code);
  }

  public Buffer toBuffer() {
    return toJson().toBuffer();
  }

  public static JsonObject body(String message, String type, String code) {
    return new JsonObject().put("error", new JsonObject()
        .put("message", message)
        .put("type", type)
        .put("param", null)
        .put("code", code));
  }

  /** Any throwable as a gateway error; unknown ones are internal errors that do not leak their text. */
  public static GatewayError of(Throwable failure) {
    if (failure instanceof GatewayError error) {
      return error;
    }
    return new GatewayError(ErrorKind.INTERNAL, "internal error", failure);
  }
}
