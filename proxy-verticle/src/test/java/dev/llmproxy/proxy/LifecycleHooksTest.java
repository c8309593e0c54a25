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

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Seed 000's lifecycle hooks on a real port, with the mock backend behind. */
@ExtendWith(VertxExtension.class)
class LifecycleHooksTest {

  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final String STREAM = "{\"model\":\"mock\",\"stream\":true,\"max_tokens\":2,\"messages\":[]}";

  private CapturedLog luaLog;
  private MockLlmBackend backend;
  private MockLlmBackend other;

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    other = Http.await(MockLlmBackend.start(vertx, 0));
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> {
      String key = message.body().getString("api_key");
      AuthDecision decision = key != null && key.endsWith("8888")
          ? new AuthDecision(true, 200, null, null, "id-8", "static", "Intern", "user_8", null, null, null, null, 0)
          : new AuthDecision(true, 200, null, null, "id-7", "static", "Team key", "user_7", null, null, null, null, 0);
      message.reply(decision.toJson());
    });
    luaLog = CapturedLog.attach("llmproxy.lua");
  }

  @AfterEach
  void stop() {
    luaLog.detach();
    backend.close();
    other.close();
  }

  private ProxyHarness proxy(Vertx vertx, JsonObject hooks, JsonObject more) {
    hooks.put("enabled", true);
    return Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl(), other.baseUrl()),
        new JsonObject().put("hooks", hooks).put("metrics", new JsonObject().put("enabled", true)).mergeIn(more, true)));
  }

  private static JsonObject hook(String script) {
    return new JsonObject().put("enabled", true).put("script", script);
  }

  private static String metrics(ProxyHarness proxy) {
    return Http.call(proxy.client, HttpMethod.GET, "/metrics", Map.of(), null).text();
  }

  @Test
  void onRequestRefusesWithItsMessageAndStatus(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("on_request", hook("""
        if request.path == "/v1/completions" then
          return { continue = false, error = "Endpoint not supported" }
        end
        if request.body.model == "blocked" then
          return { continue = false, error = "not this model", status = 451 }
        end
        return { continue = true }
        """)), new JsonObject());

    Http.Answer refused = Http.post(proxy.client, "/v1/completions", "{\"model\":\"mock\",\"prompt\":\"x\"}");
    assertEquals(403, refused.status());
    assertEquals("Endpoint not supported", refused.body().toJsonObject().getJsonObject("error").getString("message"));
    Http.Answer blocked = Http.post(proxy.client, "/v1/chat/completions", "{\"model\":\"blocked\",\"messages\":[]}");
    assertEquals(451, blocked.status());
    assertEquals("not this model", blocked.body().toJsonObject().getJsonObject("error").getString("message"));
    assertEquals(0, backend.completions() + other.completions(), "a refused request never reaches a backend");
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
  }

  @Test
  void onRequestHeadersAndBodyReachTheBackend(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("on_request", hook("""
        request.headers["X-Request-ID"] = generate_uuid()
        request.headers["X-Drop-Me"] = nil
        request.body.max_tokens = 7
        return { continue = true, headers = { ["X-Team"] = "blue" } }
        """)), new JsonObject().put("routing", new JsonObject().put("load_balance", "weighted")));
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions",
        Map.of("Content-Type", "application/json", "X-Drop-Me", "1", "X-Request-ID", "client-id"), CHAT);
    assertEquals(200, answer.status());

    MockLlmBackend.Received seen = received();
    assertEquals("blue", seen.headers().get("X-Team"));
    assertNull(seen.headers().get("X-Drop-Me"));
    String traceId = seen.headers().get("X-Request-ID");
    assertTrue(traceId.matches("[0-9a-f-]{36}"), "the hook's generate_uuid() replaces the id: " + traceId);
    assertEquals(7, seen.json().getInteger("max_tokens"));
    assertEquals("hi", seen.json().getJsonArray("messages").getJsonObject(0).getString("content"));
  }

  @Test
  void onAuthSeesTheKeysUserAndMayRefuse(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("on_auth", hook("""
        if auth_result.user_id == "user_8" then
          return { continue = false, error = "interns may not call " .. request.path }
        end
        return { continue = true }
        """)), new JsonObject().put("auth", new JsonObject().put("enabled", true)));
    Http.Answer refused = Http.post(proxy.client, "/v1/chat/completions",
        Map.of("Authorization", "Bearer sk-intern-key-8888"), CHAT);
    assertEquals(403, refused.status());
    assertEquals("interns may not call /v1/chat/completions",
        refused.body().toJsonObject().getJsonObject("error").getString("message"));
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions",
        Map.of("Authorization", "Bearer sk-team-key-7777"), CHAT).status());
  }

  @Test
  void onRoutePicksTheBackend(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("on_route", hook("""
        for _, b in ipairs(backends) do
          if b.name == "b1" and b.healthy then return { backend = "b1" } end
        end
        return {}
        """)), new JsonObject());
    for (int i = 0; i < 4; i++) {
      assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    }
    assertEquals(0, backend.completions());
    assertEquals(4, other.completions());
  }

  @Test
  void onRouteRunsAgainOnARetryShownOnlyTheBackendsNotTried(Vertx vertx) throws InterruptedException {
    String dead = "http://127.0.0.1:" + ProxyHarness.freePort();
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(dead, backend.baseUrl(), other.baseUrl()),
        new JsonObject().put("hooks", new JsonObject().put("enabled", true).put("on_route", hook("""
            local names = {}
            for _, b in ipairs(backends) do names[#names + 1] = b.name end
            log("route attempt " .. attempt .. ": " .. table.concat(names, ","))
            if attempt == 0 then return { backend = "b0" } end
            return { backend = "b2" }
            """)))));
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status());
    assertTrue(luaLog.await("route attempt 0").endsWith("route attempt 0: b0,b1,b2"));
    assertTrue(luaLog.await("route attempt 1").endsWith("route attempt 1: b1,b2"),
        "the retry after b0's connect failure asks the hook again, without b0");
    assertEquals(0, backend.completions(), "the hook's pick for the retry, not the strategy's");
    assertEquals(1, other.completions());
  }

  private static final String SHAPE_ERRORS = """
      if status == 502 then return { status = 503, error = "all backends down: " .. error_message } end
      return { error = "shaped " .. status .. ": " .. error_message .. " (" .. request.path .. ")" }
      """;

  @Test
  void onErrorShapesTheGatewaysErrorWhenNoBackendCanBeReached(Vertx vertx) {
    // Connect failures on every backend, retries spent: the gateway's 502, reshaped. (One proxy a test: proxies of
    // one Vert.x share the backend list.)
    String dead = "http://127.0.0.1:" + ProxyHarness.freePort();
    ProxyHarness unreachable = Http.await(ProxyHarness.start(vertx, List.of(dead, dead + "/again"), new JsonObject()
        .put("hooks", new JsonObject().put("enabled", true).put("on_error", hook(SHAPE_ERRORS)))
        .put("routing", new JsonObject().put("retry", new JsonObject().put("initial_wait", "10ms")))));
    Http.Answer down = Http.post(unreachable.client, "/v1/chat/completions", CHAT);
    assertEquals(503, down.status(), down.body().toString());
    JsonObject error = down.body().toJsonObject().getJsonObject("error");
    assertTrue(error.getString("message").startsWith("all backends down: the backend could not be reached"),
        error.encode());
    assertEquals("server_error", error.getString("type"), "still OpenAI's error JSON");
  }

  @Test
  void onErrorShapesTheGatewaysErrorWhenTheBackendTimesOut(Vertx vertx) {
    backend.answerDelay(3_000);
    ProxyHarness slow = Http.await(ProxyHarness.start(vertx, List.of(), new JsonObject()
        .put("hooks", new JsonObject().put("enabled", true).put("on_error", hook(SHAPE_ERRORS)))
        .put("backends", new io.vertx.core.json.JsonArray().add(new JsonObject().put("name", "slow")
            .put("url", backend.baseUrl()).put("timeout", "300ms")))
        .put("routing", new JsonObject().put("retry", new JsonObject().put("enabled", false)))));
    Http.Answer late = Http.post(slow.client, "/v1/chat/completions", CHAT);
    assertEquals(504, late.status(), late.body().toString());
    assertEquals("shaped 504: the backend did not answer within 300 ms (/v1/chat/completions)",
        late.body().toJsonObject().getJsonObject("error").getString("message"));
  }

  @Test
  void onErrorShapesABackendsErrorAnswerOnceRetriesAreSpent(Vertx vertx) {
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), new JsonObject()
        .put("hooks", new JsonObject().put("enabled", true).put("on_error", hook("""
            if request.body.model == "untouched" then return {} end
            if status == 500 then return { status = 502, error = "upstream trouble: " .. error_message } end
            return {}
            """)))
        .put("routing", new JsonObject().put("retry", new JsonObject().put("max_retries", 1)
            .put("initial_wait", "10ms")))));
    // Two 500s: the first is retried, the second stands.
    backend.failNext(2, 500, null);
    Http.Answer shaped = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(502, shaped.status(), shaped.body().toString());
    JsonObject error = shaped.body().toJsonObject().getJsonObject("error");
    assertEquals("upstream trouble: mock failure 500", error.getString("message"));
    assertEquals("server_error", error.getString("type"), "the gateway's OpenAI error JSON");
    assertEquals(2, backend.completions(), "the hook saw the answer that stood after the retry");

    // A hook that changes nothing leaves the backend's answer as it came.
    backend.failNext(2, 500, null);
    Http.Answer untouched = Http.post(proxy.client, "/v1/chat/completions",
        "{\"model\":\"untouched\",\"messages\":[]}");
    assertEquals(500, untouched.status());
    assertEquals(new JsonObject().put("error", new JsonObject().put("message", "mock failure 500")
        .put("type", "server_error")), untouched.body().toJsonObject());
    assertEquals(200, Http.post(proxy.client, "/v1/chat/completions", CHAT).status(), "the connection went back");
  }

  @Test
  void onResponseHeadersReachAStreamBeforeItsFirstByte(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("on_response", hook("""
        response.headers["X-Hooked"] = tostring(response.status_code)
        return { headers = { ["X-Backend"] = response.backend_url } }
        """)), new JsonObject());
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", STREAM);
    assertEquals(200, answer.status());
    assertEquals("200", answer.headers().get("X-Hooked"));
    assertNotNull(answer.headers().get("X-Backend"));
    assertTrue(answer.body().toString().contains("data: [DONE]"), "the stream is relayed whole: " + answer.body());
  }

  @Test
  void onResponseSeesTheBackendsDialectAndATranslatedClientGetsItsOwn(Vertx vertx) throws InterruptedException {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("on_response", hook("""
        response.body.id = "rewritten-" .. response.body.id
        return {}
        """)), new JsonObject());
    Http.Answer answer = Http.post(proxy.client, "/v1/messages", DialectEndpointsTest.messages("mock", 3, false));
    assertEquals(200, answer.status(), answer.text());
    JsonObject message = answer.body().toJsonObject();
    assertEquals("message", message.getString("type"), "Anthropic's shape: " + message.encode());
    assertEquals("msg_rewritten-chatcmpl-mock", message.getString("id"), "the hook's change, translated");
    assertEquals(MockLlmBackend.PROMPT_TOKENS + 3, proxy.usage.poll(5, TimeUnit.SECONDS).totalTokens());
  }

  @Test
  void onResponseMayReplaceANonStreamingBody(Vertx vertx) throws InterruptedException {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("on_response", hook("""
        response.body.id = "rewritten-" .. response.body.id
        response.body.gateway = "llmproxy"
        return {}
        """)), new JsonObject());
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(200, answer.status());
    JsonObject body = answer.body().toJsonObject();
    assertTrue(body.getString("id").startsWith("rewritten-"), body.encode());
    assertEquals("llmproxy", body.getString("gateway"));
    assertTrue(proxy.usage.poll(5, TimeUnit.SECONDS).totalTokens() > 0, "usage is read from the backend's answer");
  }

  @Test
  void onErrorShapesTheErrorTheClientGets(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("on_error", hook("""
        if status == 405 then return { status = 418, error = "custom: " .. error_message } end
        return {}
        """)), new JsonObject());
    Http.Answer shaped = Http.call(proxy.client, HttpMethod.GET, "/v1/chat/completions", Map.of(), null);
    assertEquals(418, shaped.status());
    JsonObject error = shaped.body().toJsonObject().getJsonObject("error");
    assertTrue(error.getString("message").startsWith("custom: GET is not allowed"), error.encode());
    assertEquals("invalid_request_error", error.getString("type"), "still OpenAI's error JSON");
  }

  @Test
  void onCompleteRunsAfterTheEndWithMetadataFromOnRequest(Vertx vertx) throws InterruptedException {
    ProxyHarness proxy = proxy(vertx, new JsonObject()
        .put("on_request", hook("return { continue = true, metadata = { team = \"blue\" } }"))
        .put("on_complete", hook("""
            log("complete " .. response.status_code .. " tokens=" .. usage.total_tokens .. " team="
              .. request.metadata.team)
            """)), new JsonObject());
    Http.Answer answer = Http.post(proxy.client, "/v1/chat/completions", CHAT);
    assertEquals(200, answer.status());
    String line = luaLog.await("complete ");
    String tag = "[hooks.on_complete " + answer.headers().get("X-Request-ID") + "] ";
    assertTrue(line.startsWith(tag), "log() names the hook and the request: " + line);
    assertTrue(line.substring(tag.length()).matches("complete 200 tokens=[1-9][0-9]* team=blue"), line);
  }

  @Test
  void aRunawayHookIsCutWithinItsTimeoutWhileOtherRequestsFlow(Vertx vertx) {
    ProxyHarness proxy = proxy(vertx, new JsonObject().put("on_request", hook("""
        if request.body.model == "spin" then
          while true do end
        end
        return { continue = true }
        """).put("timeout", "300ms")), new JsonObject());
    long started = System.nanoTime();
    CompletableFuture<Integer> runaway = Http.postAsync(proxy.client, "/v1/chat/completions",
        "{\"model\":\"spin\",\"messages\":[]}");
    List<CompletableFuture<Integer>> others = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      others.add(Http.postAsync(proxy.client, "/v1/chat/completions", CHAT));
    }
    assertEquals(200, runaway.join(), "a hook that is cut lets the request go on");
    long tookMs = (System.nanoTime() - started) / 1_000_000;
    others.forEach(other -> assertEquals(200, other.join()));
    // Cut at its 300 ms: well under the 10 s a stalled loop would take to fail the client's own timeout.
    assertTrue(tookMs < 5_000, "took " + tookMs + " ms");
    assertTrue(metrics(proxy).contains("llmproxy_hook_errors_total{hook=\"on_request\",reason=\"timeout\"} 1.0"),
        metrics(proxy));
  }

  private MockLlmBackend.Received received() {
    List<MockLlmBackend.Received> all = new ArrayList<>(backend.received());
    all.addAll(other.received());
    return all.stream().filter(r -> r.uri().startsWith("/v1/chat")).findFirst().orElseThrow();
  }
}
