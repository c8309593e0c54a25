package dev.llmproxy.proxy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
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
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The six hook scripts of the top-level {@code scripts/} folder, loaded by path as a config names them, each run once. */
@ExtendWith(VertxExtension.class)
class ScriptsFolderHooksTest {

  private static final Path SCRIPTS = Path.of("..", "scripts");
  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}";

  private final List<String> luaLog = new CopyOnWriteArrayList<>();
  private final AppenderBase<ILoggingEvent> capture = new AppenderBase<>() {
    @Override
    protected void append(ILoggingEvent event) {
      luaLog.add(event.getFormattedMessage());
    }
  };
  private MockLlmBackend backend;

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> message.reply(
        new AuthDecision(true, 200, null, null, "id-7", "static", "Team key", "user_7", null, null, null, null, 0)
            .toJson()));
    capture.start();
    ((Logger) LoggerFactory.getLogger("llmproxy.lua")).addAppender(capture);
  }

  @AfterEach
  void stop() {
    ((Logger) LoggerFactory.getLogger("llmproxy.lua")).detachAppender(capture);
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

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline && luaLog.stream().noneMatch(line -> line.contains("\"status\":200"))) {
      Thread.sleep(20);
    }
    assertTrue(luaLog.stream().anyMatch(line -> line.endsWith("Response status: 200")), luaLog::toString);
    assertTrue(luaLog.stream().anyMatch(line -> line.contains("error 405 on /v1/chat/completions")), luaLog::toString);
    assertTrue(luaLog.stream().anyMatch(line -> line.contains("\"status\":200")), "on_complete: " + luaLog);
    assertFalse(Http.call(proxy.client, HttpMethod.GET, "/metrics", Map.of(), null).text()
        .contains("llmproxy_hook_errors_total{"), "no hook failed");
  }
}
