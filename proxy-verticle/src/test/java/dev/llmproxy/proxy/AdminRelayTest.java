package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.AdminCall;
import dev.llmproxy.common.bus.Addresses;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** /admin/* on the main port travels to the admin verticle over the bus; the test answers as it would. */
@ExtendWith(VertxExtension.class)
class AdminRelayTest {

  private static JsonObject adminOn() {
    return new JsonObject().put("admin", new JsonObject().put("enabled", true).put("token", "secret-token"));
  }

  @Test
  void callsGoToTheAdminVerticleAndItsAnswerComesBack(Vertx vertx) {
    AtomicReference<AdminCall.Request> seen = new AtomicReference<>();
    vertx.eventBus().<JsonObject>consumer(Addresses.ADMIN_HTTP, message -> {
      seen.set(AdminCall.Request.fromJson(message.body()));
      message.reply(new AdminCall.Response(409, "application/json", "{\"success\":false,\"error\":\"exists\"}").toJson());
    });
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of("http://127.0.0.1:1"), adminOn()));

    Http.Answer answer = Http.call(proxy.client, HttpMethod.POST, "/admin/keys/create?x=1",
        Map.of("X-Admin-Token", "secret-token", "Content-Type", "application/json"), "{\"key\":\"sk-1\"}");
    assertEquals(409, answer.status());
    assertEquals("exists", answer.json().getString("error"));
    AdminCall.Request call = seen.get();
    assertEquals("POST", call.method());
    assertEquals("/admin/keys/create", call.path());
    assertEquals("x=1", call.query());
    assertEquals("{\"key\":\"sk-1\"}", call.body());
    assertEquals("secret-token", call.header("x-admin-token"));
    assertEquals("127.0.0.1", call.clientIp());
  }

  @Test
  void withoutAnAdminVerticleTheAnswerIs503(Vertx vertx) {
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of("http://127.0.0.1:1"), adminOn()));
    Http.Answer answer = Http.call(proxy.client, HttpMethod.POST, "/admin/keys/list", Map.of(), "{}");
    assertEquals(503, answer.status());
    assertEquals("admin_unavailable", answer.error().getString("code"));
  }

  @Test
  void withAdminOffTheAdminPathsDoNotExist(Vertx vertx) {
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of("http://127.0.0.1:1"), new JsonObject()));
    assertEquals(404, Http.call(proxy.client, HttpMethod.POST, "/admin/keys/list", Map.of(), "{}").status());
  }
}
