package dev.llmproxy.admin.api;

import dev.llmproxy.common.bus.AdminCall;
import dev.llmproxy.common.util.IpRanges;
import dev.llmproxy.common.util.Secrets;
import io.vertx.core.Future;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API, one handler for both ways in (its own port and the proxy's relay over the event bus): client ip,
 * token, endpoint and method checks, then the endpoint's handler. Every failure is an answer in the original's shape;
 * only a store or a verticle that fails to answer gives a 5xx.
 */
public final class AdminApi {

  /** Bodies above this are refused before parsing; key records are small. */
  public static final int MAX_BODY_BYTES = 64 * 1024;
  private static final Logger LOG = LoggerFactory.getLogger(AdminApi.class);

  private final String token;
  private final IpRanges allowedIps;
  private final Map<String, Route> routes;
  private final ConsoleFiles console = new ConsoleFiles();

  /** {@code routes} by path ({@code /admin/keys/create}...). */
  public AdminApi(String token, IpRanges allowedIps, Map<String, Route> routes) {
    this.token = token;
    this.allowedIps = allowedIps;
    this.routes = Map.copyOf(routes);
  }

  /** One endpoint: the method it answers and what it does with the request's JSON body. */
  public record Route(String method, Function<JsonObject, Future<AdminCall.Response>> handler) {

    public static Route post(Function<JsonObject, Future<AdminCall.Response>> handler) {
      return new Route("POST", handler);
    }

    public static Route get(Function<JsonObject, Future<AdminCall.Response>> handler) {
      return new Route("GET", handler);
    }
  }

  /** Never fails: every outcome, a store failure included, is a response. */
  public Future<AdminCall.Response> handle(AdminCall.Request request) {
    Future<AdminCall.Response> answer;
    try {
      answer = dispatch(request);
    } catch (RuntimeException e) {
      answer = Future.failedFuture(e);
    }
    return answer.recover(failure -> {
      if (failure instanceof AdminError error) {
        return Future.succeededFuture(Replies.error(error.status(), error.getMessage()));
      }
      LOG.error("admin {} failed", request.path(), failure);
      return Future.succeededFuture(Replies.error(503, "admin store unavailable"));
    });
  }

  private Future<AdminCall.Response> dispatch(AdminCall.Request request) {
    if (!allowedIps.isEmpty() && !allowedIps.contains(request.clientIp())) {
      throw new AdminError(403, "client address not allowed");
    }
    if (AdminCall.isConsole(request.path())) {
      // the console's files hold no data; every call they make carries the token
      return Future.succeededFuture(console.serve(request.method(), request.path()));
    }
    String given = request.header("X-Admin-Token");
    if (given == null || given.isEmpty()) {
      throw new AdminError(401, "missing X-Admin-Token");
    }
    if (!Secrets.constantTimeEquals(token, given)) {
      throw new AdminError(403, "invalid admin token");
    }
    String path = request.path() == null ? "" : request.path().replaceAll("/+$", "");
    Route route = routes.get(path);
    if (route == null) {
      throw AdminError.notFound("unknown endpoint: " + path);
    }
    if (!route.method().equalsIgnoreCase(request.method())) {
      throw new AdminError(405, "method not allowed: use " + route.method());
    }
    return route.handler().apply(body(request.body()));
  }

  /** The JSON object of a body; an empty body is an empty object (list needs no fields). */
  static JsonObject body(String text) {
    if (text == null || text.isBlank()) {
      return new JsonObject();
    }
    if (text.length() > MAX_BODY_BYTES || text.getBytes(StandardCharsets.UTF_8).length > MAX_BODY_BYTES) {
      throw new AdminError(413, "body larger than " + MAX_BODY_BYTES + " bytes");
    }
    Object parsed;
    try {
      parsed = io.vertx.core.json.Json.decodeValue(text);
    } catch (DecodeException e) {
      throw AdminError.badRequest("body is not valid JSON");
    }
    if (!(parsed instanceof JsonObject object)) {
      throw AdminError.badRequest("body must be a JSON object");
    }
    return object;
  }

}
