package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.AdminCall;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code auth.skip_paths} are the only open paths, matched as whole paths, after one check that refuses every path
 * a backend could read differently. Requests go over a raw socket, so that the path arrives exactly as written.
 */
@ExtendWith(VertxExtension.class)
class OpenPathsTest {

  private static final String KEY = "sk-open-paths-0123456789";
  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}";

  private MockLlmBackend backend;
  private ProxyHarness proxy;
  private final List<String> askedPaths = new CopyOnWriteArrayList<>();
  private final List<AdminCall.Request> adminCalls = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
    vertx.eventBus().<JsonObject>consumer(Addresses.AUTH_CHECK, message -> {
      askedPaths.add(message.body().getString("path"));
      boolean known = KEY.equals(message.body().getString("api_key"));
      message.reply((known ? new AuthDecision(true, 200, null, null, "id-1", "static", "Team key", "user_7", null, null,
          null, null, 0) : AuthDecision.deny(401, "invalid_api_key", "Invalid API Key")).toJson());
    });
    vertx.eventBus().<JsonObject>consumer(Addresses.ADMIN_HTTP, message -> {
      adminCalls.add(AdminCall.Request.fromJson(message.body()));
      message.reply(new AdminCall.Response(200, "application/json", "{\"success\":true}").toJson());
    });
    JsonObject overrides = new JsonObject()
        // Models named in the config: GET /v1/models is answered without asking the backend.
        .put("backends", new JsonArray().add(new JsonObject().put("name", "b0").put("url", backend.baseUrl())
            .put("models", new JsonArray().add("mock"))))
        .put("admin", new JsonObject().put("enabled", true).put("token", "admin-secret"))
        .put("auth", new JsonObject().put("enabled", true)
            .put("skip_paths", new JsonArray().add("/health").add("/v1/models").add("/v1/public/"))
            .put("status_codes", new JsonObject().put("not_found",
                new JsonObject().put("http_code", 401).put("message", "Send your team key"))));
    proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()), overrides));
  }

  @AfterEach
  void stop() {
    backend.close();
  }

  private record Case(String method, String path, int status) {
  }

  @Test
  void trickyPathsWithoutAKeyNeverReachTheBackendOrTheAdminApi() throws IOException {
    List<Case> cases = List.of(
        new Case("GET", "/v1/modelsX", 401),
        new Case("POST", "/v1/models/..;/chat/completions", 400),
        new Case("GET", "/v1/models;x", 400),
        new Case("GET", "/v1/models%2f..%2fchat", 400),
        new Case("GET", "/v1/models%2F..%2Fchat", 400),
        new Case("GET", "/v1/models%5c..%5cchat", 400),
        new Case("GET", "//v1/models", 400),
        new Case("POST", "/v1//chat/completions", 400),
        new Case("POST", "/v1/models/%2e%2e/chat/completions", 400),
        new Case("POST", "/v1/models/%252e%252e/chat/completions", 400),
        new Case("POST", "/v1/models%252f..%252fchat/completions", 400),
        new Case("POST", "/v1/public/../chat/completions", 400),
        new Case("POST", "/v1/public/%2E%2E/chat/completions", 400),
        new Case("POST", "/v1/%63hat/completions", 400),
        new Case("GET", "/v1/models/%zz", 400),
        new Case("GET", "/V1/models", 401),
        new Case("GET", "/v1/publicx", 401),
        new Case("POST", "/v1/chat/completions", 401),
        new Case("GET", "/metrics", 401),
        new Case("GET", "/ready", 401),
        // The probe aliases are open exactly when their originals are.
        new Case("GET", "/health/ready", 401),
        new Case("GET", "/health/ready/", 401),
        new Case("GET", "/health/livex", 401),
        new Case("POST", "/admin/keys/list", 401),
        new Case("GET", "/no/such/path", 401),
        new Case("GET", "/v1/models", 200),
        new Case("GET", "/v1/models/", 200),
        new Case("GET", "/health", 200),
        new Case("GET", "/health/live", 200));
    List<String> wrong = new ArrayList<>();
    for (Case c : cases) {
      RawAnswer answer = raw(c.method(), c.path(), null);
      if (answer.status() != c.status()) {
        wrong.add(c.method() + " " + c.path() + " -> " + answer.status() + " " + answer.body());
      } else if (c.status() >= 400 && !answer.body().contains("\"error\"")) {
        wrong.add(c.method() + " " + c.path() + " is not an OpenAI error: " + answer.body());
      }
    }
    assertEquals(List.of(), wrong);
    assertEquals(List.of(), backend.received().stream().map(MockLlmBackend.Received::uri).toList(),
        "nothing reached the backend");
    assertEquals(0, adminCalls.size(), "nothing reached the admin API");
    assertEquals(List.of(), askedPaths, "without a key the auth verticle is not even asked");
  }

  @Test
  void aMissingKeyGetsTheConfiguredNotFoundMessageEverywhere() throws IOException {
    for (String path : List.of("/v1/chat/completions", "/metrics", "/no/such/path")) {
      RawAnswer answer = raw("POST", path, null);
      assertEquals(401, answer.status(), path);
      JsonObject error = new JsonObject(answer.body()).getJsonObject("error");
      assertEquals("Send your team key", error.getString("message"), path);
      assertEquals("invalid_api_key", error.getString("code"), path);
    }
  }

  @Test
  void withAKeyTheGatewaysOwnPathsAnswerAndUnknownOnesAre404() throws IOException {
    assertEquals(200, raw("GET", "/metrics", "Authorization: Bearer " + KEY).status());
    assertEquals(200, raw("GET", "/ready", "X-API-Key: " + KEY).status());
    assertEquals(404, raw("GET", "/no/such/path", "Authorization: Bearer " + KEY).status());
    assertEquals(401, raw("GET", "/metrics", "Authorization: Bearer sk-wrong-0123456789").status());
    assertEquals(400, raw("GET", "/v1/models;x", "Authorization: Bearer " + KEY).status(),
        "the path check comes before auth and does not depend on it");
  }

  @Test
  void theAdminApiNeedsAKeyAndItsBodyArrivesAfterTheCheck() throws IOException {
    String body = "{\"offset\":0,\"limit\":5,\"pad\":\"" + "x".repeat(20_000) + "\"}";
    RawAnswer answer = rawWithBody("POST", "/admin/keys/list", body, "Authorization: Bearer " + KEY,
        "X-Admin-Token: admin-secret");
    assertEquals(200, answer.status(), answer.body());
    assertEquals(1, adminCalls.size());
    assertEquals(body, adminCalls.get(0).body(), "the body waited for the key check and arrived whole");
    assertEquals(List.of("/admin/keys/list"), askedPaths);
  }

  @Test
  void aSkippedDirectoryOpensWholeSegmentsBelowIt() throws IOException {
    assertEquals(200, raw("GET", "/v1/public/report", null).status());
    assertEquals(List.of("/v1/public/report"), backend.received().stream().map(MockLlmBackend.Received::uri).toList());
    assertTrue(askedPaths.isEmpty());
  }

  private record RawAnswer(int status, String body) {
  }

  private RawAnswer raw(String method, String path, String header) throws IOException {
    String body = method.equals("POST") ? CHAT : null;
    return header == null ? rawWithBody(method, path, body) : rawWithBody(method, path, body, header);
  }

  /** One HTTP/1.1 exchange on its own connection, the request line exactly as given. */
  private RawAnswer rawWithBody(String method, String path, String body, String... headers) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", proxy.port)) {
      socket.setSoTimeout(10_000);
      StringBuilder request = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\n")
          .append("Host: 127.0.0.1\r\nConnection: close\r\n");
      for (String header : headers) {
        request.append(header).append("\r\n");
      }
      byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
      if (body != null) {
        request.append("Content-Type: application/json\r\nContent-Length: ").append(bytes.length).append("\r\n");
      }
      request.append("\r\n");
      OutputStream out = socket.getOutputStream();
      out.write(request.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.write(bytes);
      out.flush();
      String answer = readAll(socket.getInputStream());
      int status = Integer.parseInt(answer.substring(9, 12));
      int bodyStart = answer.indexOf("\r\n\r\n");
      return new RawAnswer(status, bodyStart < 0 ? "" : answer.substring(bodyStart + 4));
    }
  }

  private static String readAll(InputStream in) throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    in.transferTo(all);
    return all.toString(StandardCharsets.UTF_8);
  }
}
