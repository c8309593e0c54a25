package dev.llmproxy.common.error;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

/**
 * The API dialect a client speaks, and how a {@link GatewayError} reaches it: as a reply body, and as the last frame
 * of a stream that broke after its head was sent. The status is always {@link GatewayError#status()} (chosen by
 * {@link ErrorKind}); a dialect only picks the shape.
 */
public enum Dialect {
  /** OpenAI's chat completions, completions and embeddings: {@code {"error":{"message","type","param","code"}}}. */
  OPENAI,
  /**
   * OpenAI's Responses API: the same error JSON as {@link #OPENAI}; its streams end on an {@code error} event
   * ({@code {"type":"error","code","message","param"}}).
   */
  OPENAI_RESPONSES,
  /**
   * Anthropic's Messages API: {@code {"type":"error","error":{"type","message"},"request_id"}} and a {@code request-id}
   * header, as Anthropic's SDKs read them; its streams end on an {@code event: error} frame of the same shape.
   */
  ANTHROPIC;

  /** The reply body for {@code error}; {@code requestId} is the gateway's request id. */
  public Buffer body(GatewayError error, String requestId) {
    if (this != ANTHROPIC) {
      return error.toBuffer();
    }
    return anthropicError(error).put("request_id", requestId).toBuffer();
  }

  /** Headers the dialect's clients read on an error reply besides {@code X-Request-ID}. */
  public void errorHeaders(MultiMap headers, String requestId) {
    if (this == ANTHROPIC) {
      headers.set("request-id", requestId);
    }
  }

  /** The frame that ends a stream the gateway cannot finish, so that the client sees a failure, not an end. */
  public Buffer streamErrorFrame(GatewayError error) {
    return switch (this) {
      case OPENAI -> Buffer.buffer("data: " + error.toJson().encode() + "\n\n");
      case OPENAI_RESPONSES -> Buffer.buffer("event: error\ndata: " + new JsonObject().put("type", "error")
          .put("code", error.code()).put("message", error.getMessage()).putNull("param").encode() + "\n\n");
      case ANTHROPIC -> Buffer.buffer("event: error\ndata: " + anthropicError(error).encode() + "\n\n");
    };
  }

  /**
   * A backend's error answer, translated from another dialect, in this one: the backend's status is kept (the
   * gateway chose nothing), its message too.
   */
  public Buffer upstreamErrorBody(int status, String message, String requestId) {
    if (this == ANTHROPIC) {
      return anthropicError(status, message).put("request_id", requestId).toBuffer();
    }
    return openAiError(status, message).toBuffer();
  }

  /** A backend's error event in a stream translated from another dialect, as this dialect's error frame. */
  public Buffer upstreamStreamError(String message) {
    return switch (this) {
      case OPENAI -> Buffer.buffer("data: " + openAiError(502, message).encode() + "\n\n");
      case OPENAI_RESPONSES -> Buffer.buffer("event: error\ndata: " + new JsonObject().put("type", "error")
          .put("code", "upstream_error").put("message", message).putNull("param").encode() + "\n\n");
      case ANTHROPIC -> Buffer.buffer("event: error\ndata: " + anthropicError(502, message).encode() + "\n\n");
    };
  }

  private static JsonObject openAiError(int status, String message) {
    String type = status == 429 ? "rate_limit_exceeded" : status >= 500 ? "server_error" : "invalid_request_error";
    return new JsonObject().put("error", new JsonObject().put("message", message).put("type", type)
        .putNull("param").putNull("code"));
  }

  private static JsonObject anthropicError(int status, String message) {
    return new JsonObject().put("type", "error").put("error", new JsonObject()
        .put("type", anthropicType(status)).put("message", message));
  }

  private static JsonObject anthropicError(GatewayError error) {
    return new JsonObject().put("type", "error").put("error", new JsonObject()
        .put("type", anthropicType(error.status()))
        .put("message", error.getMessage()));
  }

  /**
   * Anthropic's error {@code type} for a status, after its table of errors: other 4xx are
   * {@code invalid_request_error}, as Anthropic says; 503 is the gateway's "overloaded" (Anthropic's own is 529).
   */
  static String anthropicType(int status) {
    return switch (status) {
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      case 404 -> "not_found_error";
      case 413 -> "request_too_large";
      case 429 -> "rate_limit_error";
      case 503, 529 -> "overloaded_error";
      default -> status < 500 ? "invalid_request_error" : "api_error";
    };
  }
}
