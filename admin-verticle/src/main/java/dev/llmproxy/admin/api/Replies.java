package dev.llmproxy.admin.api;

import dev.llmproxy.common.bus.AdminCall;
import io.vertx.core.json.JsonObject;

/** The original's reply shapes: {@code {success, message, data}} and {@code {success:false, message:"", error}}. */
public final class Replies {

  static final String JSON = "application/json";

  private Replies() {
  }

  public static AdminCall.Response ok(String message, Object data) {
    JsonObject body = new JsonObject().put("success", true).put("message", message).put("data", data);
    return new AdminCall.Response(200, JSON, body.encode());
  }

  public static AdminCall.Response error(int status, String error) {
    return error(status, error, new JsonObject());
  }

  /** The error shape with {@code extra} fields beside it (the list of config errors, for instance). */
  public static AdminCall.Response error(int status, String error, JsonObject extra) {
    JsonObject body = extra.copy().put("success", false).put("message", "").put("error", error);
    return new AdminCall.Response(status, JSON, body.encode());
  }
}
