package dev.llmproxy.common.bus;

import io.vertx.core.json.JsonObject;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@link Addresses#ADMIN_HTTP}: an {@code /admin/*} HTTP call the proxy relays to the admin verticle when
 * {@code admin.listen} is empty, and the answer it relays back. Bodies are text (the admin API speaks JSON).
 */
public final class AdminCall {

  private AdminCall() {
  }

  /** What the proxy sends. {@code headers} holds the first value of each header. */
  public record Request(String method, String path, String query, Map<String, String> headers, String body,
                        String clientIp) {

    public JsonObject toJson() {
      JsonObject h = new JsonObject();
      headers.forEach(h::put);
      return new JsonObject().put("method", method).put("path", path).put("query", query).put("headers", h)
          .put("body", body).put("client_ip", clientIp);
    }

    public static Request fromJson(JsonObject json) {
      Map<String, String> headers = new LinkedHashMap<>();
      json.getJsonObject("headers", new JsonObject()).forEach(e -> headers.put(e.getKey(), String.valueOf(e.getValue())));
      return new Request(json.getString("method"), json.getString("path"), json.getString("query"), headers,
          json.getString("body", ""), json.getString("client_ip"));
    }

    /** A header by name, ignoring case. */
    public String header(String name) {
      for (Map.Entry<String, String> e : headers.entrySet()) {
        if (e.getKey().equalsIgnoreCase(name)) {
          return e.getValue();
        }
      }
      return null;
    }
  }

  /** The admin console's static files (served without the admin token: they hold no data). */
  public static final String CONSOLE_PATH = "/admin/ui";

  /** Whether a path is the console's ({@code /admin/ui} or below it). */
  public static boolean isConsole(String path) {
    return path != null && (path.equals(CONSOLE_PATH) || path.startsWith(CONSOLE_PATH + "/"));
  }

  /** What the admin verticle answers; {@code headers} are extra response headers (the console's security ones). */
  public record Response(int status, String contentType, String body, Map<String, String> headers) {

    public Response {
      headers = headers == null ? Map.of() : Map.copyOf(headers);
    }

    public Response(int status, String contentType, String body) {
      this(status, contentType, body, Map.of());
    }

    public JsonObject toJson() {
      JsonObject json = new JsonObject().put("status", status).put("content_type", contentType).put("body", body);
      if (!headers.isEmpty()) {
        JsonObject h = new JsonObject();
        headers.forEach(h::put);
        json.put("headers", h);
      }
      return json;
    }

    public static Response fromJson(JsonObject json) {
      Map<String, String> headers = new LinkedHashMap<>();
      json.getJsonObject("headers", new JsonObject()).forEach(e -> headers.put(e.getKey(), String.valueOf(e.getValue())));
      return new Response(json.getInteger("status", 500), json.getString("content_type", "application/json"),
          json.getString("body", ""), headers);
    }
  }
}
