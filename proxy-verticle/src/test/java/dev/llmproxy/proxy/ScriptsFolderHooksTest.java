package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The six hook scripts of the top-level {@code scripts/} folder, loaded by path as a config names them, each run once. */
@ExtendWith(VertxExtension.class)
class ScriptsFolderHooksTest {

  private static final Path SCRIPTS = Path.of("..", "scripts");
  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}";

  private CapturedLog luaLog;
  private MockLlmBackend backend;

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> message.reply(
        new AuthDecision(true, 200, null, null, "id-7", "static", "Team key", "user_7", null, null, null, null, 0)
            .toJson()));
    luaLog = CapturedLog.attach("llmproxy.lua");
  }

  @AfterEach
  void stop() {
    luaLog.detach();
    backend.close();
  }

  @Test
  void everyHookScriptLoadsByPathAndRuns(Vertx vertx) throws InterruptedException {
    JsonObject hooks = new JsonObject().put("enabled", true);
    for (String hook : List.of("on_request", "on_auth", "on_route", "on_response", "on_error", "on_complete")) {
      Path script = SCRIPTS.resolve(hook + ".lua");
      assertTrue(Files.isRegularFile(script), script + " is missing");
      hooks.put(hook, new JsonObject().put("enabled", true).put("path", script.toString()));
    }
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()
        .put("hooks", hooks)
        .put("auth", new JsonObject().put("enabled", true))
        .put("metrics", new JsonObject().put("enabled", true))));
    Map<String, String> key = Map.of("Authorization", "Bearer sk-team-key-7777", "Content-Type", "application/json");

    Http.Answer refused = Http.post(proxy.client, "/v1/completions", key, "{\"model\":\"mock\",\"prompt\":\"x\"}");
    assertEquals(403, refused.status(), "on_request refuses /v1/completions");
    assertEquals("Endpoint not supported", refused.body().toJsonObject().getJsonObject("error").getString("message"));

    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", key, CHAT).status());
    String traceId = backend.received().get(backend.received().size() - 1).headers().get("X-Request-ID");
    assertTrue(traceId.matches("[0-9a-f-]{36}"), "on_request's generate_uuid(): " + traceId);

    Http.Answer notAllowed = Http.call(proxy.client, HttpMethod.GET, "/v1/chat/completions", key, null);
    assertEquals(405, notAllowed.status());

    luaLog.await("\"status\":200"); // on_complete
    assertTrue(luaLog.await("Response status: ").endsWith("Response status: 200"));
    luaLog.await("error 405 on /v1/chat/completions");
    assertFalse(Http.call(proxy.client, HttpMethod.GET, "/metrics", Map.of(), null).text()
        .contains("llmproxy_hook_errors_total{"), "no hook failed");
  }
}
