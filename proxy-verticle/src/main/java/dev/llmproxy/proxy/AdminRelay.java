package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.AdminCall;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;

import java.util.HashMap;
import java.util.Map;

/**
 * {@code /admin/*} on the main port when {@code admin.listen} is empty: the call goes to the admin verticle over
 * the event bus and its answer comes back as it is. The admin verticle checks the token and the client's address.
 */
final class AdminRelay {

  private static final int MAX_BODY = 64 * 1024;
  private static final DeliveryOptions DELIVERY = new DeliveryOptions().setSendTimeout(130_000);

  private final Vertx vertx;
  private final ClientAddress clientAddress;

  AdminRelay(Vertx vertx, ClientAddress clientAddress) {
    this.vertx = vertx;
    this.clientAddress = clientAddress;
  }

  void relay(HttpServerRequest request) {
    Buffer body = Buffer.buffer();
    boolean[] tooLarge = {false};
    request.handler(chunk -> {
      if (body.length() + chunk.length() > MAX_BODY) {
        tooLarge[0] = true;
      } else if (!tooLarge[0]) {
        body.appendBuffer(chunk);
      }
    });
    request.endHandler(v -> {
      if (tooLarge[0]) {
        GatewayHandler.error(request.response(), new GatewayError(ErrorKind.PAYLOAD_TOO_LARGE,
            "admin request bodies are limited to " + MAX_BODY + " bytes"));
        return;
      }
      Map<String, String> headers = new HashMap<>();
      request.headers().forEach(h -> headers.putIfAbsent(h.getKey(), h.getValue()));
      AdminCall.Request call = new AdminCall.Request(request.method().name(), request.path(), request.query(),
          headers, body.toString(), clientAddress.of(request));
      vertx.eventBus().<JsonObject>request(Addresses.ADMIN_HTTP, call.toJson(), DELIVERY).onComplete(reply -> {
        if (reply.failed()) {
          GatewayHandler.error(request.response(), new GatewayError(ErrorKind.NOT_READY, 503, "admin_unavailable",
              "the admin API is not available", reply.cause()));
          return;
        }
        AdminCall.Response answer = AdminCall.Response.fromJson(reply.result().body());
        answer.headers().forEach(request.response()::putHeader);
        request.response().setStatusCode(answer.status())
            .putHeader("Content-Type", answer.contentType() == null ? "application/json" : answer.contentType())
            .end(answer.body() == null ? "" : answer.body());
      });
    });
  }
}
