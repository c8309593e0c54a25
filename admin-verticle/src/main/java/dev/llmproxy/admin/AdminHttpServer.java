package dev.llmproxy.admin;

import dev.llmproxy.common.util.ListenErrors;
import dev.llmproxy.admin.api.AdminApi;
import dev.llmproxy.admin.api.Replies;
import dev.llmproxy.common.bus.AdminCall;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The admin API on its own address ({@code admin.listen}): turns each HTTP request into the same
 * {@link AdminCall.Request} the proxy relays, so one handler answers both. The client ip is the peer's: this
 * port is meant to be reached directly, not through a proxy.
 */
final class AdminHttpServer {

  private final Vertx vertx;
  private final AdminApi api;

  AdminHttpServer(Vertx vertx, AdminApi api) {
    this.vertx = vertx;
    this.api = api;
  }

  /** {@code host:port}; {@code :port} listens on every interface. */
  Future<HttpServer> listen(String address) {
    int colon = address.lastIndexOf(':');
    String host = address.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port = Integer.parseInt(address.substring(colon + 1));
    return vertx.createHttpServer().requestHandler(this::serve).listen(port, host.isEmpty() ? "0.0.0.0" : host)
        .recover(e -> Future.failedFuture(ListenErrors.of("admin.listen", address, e)));
  }

  private void serve(HttpServerRequest request) {
    String declared = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (declared != null && declared.matches("\\d{1,18}") && Long.parseLong(declared) > AdminApi.MAX_BODY_BYTES) {
      tooLarge(request);
      return;
    }
    Buffer body = Buffer.buffer();
    boolean[] refused = {false};
    request.handler(chunk -> {
      if (refused[0]) {
        return;
      }
      if (body.length() + chunk.length() > AdminApi.MAX_BODY_BYTES) {
        refused[0] = true;
        tooLarge(request);
        return;
      }
      body.appendBuffer(chunk);
    });
    request.endHandler(end -> {
      if (refused[0]) {
        return;
      }
      api.handle(toCall(request, body.toString())).onSuccess(response -> {
        response.headers().forEach(request.response()::putHeader);
        request.response().setStatusCode(response.status())
            .putHeader(HttpHeaders.CONTENT_TYPE, response.contentType())
            .end(response.body());
      });
    });
  }

  /**
   * Answers at once; the rest of the body is read and dropped, never kept. Closing instead would bound the
   * reading too, but clients still sending then see a broken pipe instead of this answer.
   */
  private static void tooLarge(HttpServerRequest request) {
    AdminCall.Response response = Replies.error(413, "body larger than " + AdminApi.MAX_BODY_BYTES + " bytes");
    if (!request.response().ended()) {
      request.response().setStatusCode(413)
          .putHeader(HttpHeaders.CONTENT_TYPE, response.contentType())
          .end(response.body());
    }
  }

  private static AdminCall.Request toCall(HttpServerRequest request, String body) {
    Map<String, String> headers = new LinkedHashMap<>();
    request.headers().forEach(h -> headers.putIfAbsent(h.getKey(), h.getValue()));
    return new AdminCall.Request(request.method().name(), request.path(), request.query(), headers, body,
        request.remoteAddress().hostAddress());
  }
}
