package dev.llmproxy.proxy;

import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SelfSignedCertificate;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

@ExtendWith(VertxExtension.class)
class TlsAndCorsTest {

  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":2,\"messages\":[]}";

  private MockLlmBackend backend;

  @BeforeEach
  void start(Vertx vertx) {
    backend = Http.await(MockLlmBackend.start(vertx, 0));
  }

  @AfterEach
  void stop() {
    backend.close();
  }

  @Test
  void mutualTlsAdmitsOnlyClientsWithACertificateFromTheConfiguredCa(Vertx vertx) {
    SelfSignedCertificate server = SelfSignedCertificate.create("localhost");
    SelfSignedCertificate clientIdentity = SelfSignedCertificate.create("client");
    JsonObject tls = new JsonObject().put("enabled", true)
        .put("cert_file", server.certificatePath()).put("key_file", server.privateKeyPath())
        .put("client_ca_file", clientIdentity.certificatePath()).put("client_auth", "require");
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()),
        new JsonObject().put("server", new JsonObject().put("tls", tls))));

    HttpClient withCertificate = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true)
        .setVerifyHost(false).setDefaultHost("127.0.0.1").setDefaultPort(proxy.port)
        .setKeyCertOptions(clientIdentity.keyCertOptions()));
    Http.Answer answer = Http.post(withCertificate, "/v1/chat/completions", CHAT);
    assertEquals(200, answer.status());
    assertEquals("https", backend.received().get(0).headers().get("X-Forwarded-Proto"));

    HttpClient anonymous = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true)
        .setVerifyHost(false).setDefaultHost("127.0.0.1").setDefaultPort(proxy.port));
    assertThrows(CompletionException.class, () -> Http.post(anonymous, "/v1/chat/completions", CHAT));

    HttpClient plain = vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(proxy.port));
    assertThrows(CompletionException.class, () -> Http.post(plain, "/v1/chat/completions", CHAT));
    assertEquals(1, backend.received().size());
  }

  @Test
  void corsAnswersPreflightsAndMarksAllowedOriginsOnly(Vertx vertx) {
    JsonObject cors = new JsonObject().put("enabled", true)
        .put("allowed_origins", new JsonArray().add("https://app.example.com"))
        .put("allow_credentials", true)
        .put("expose_headers", new JsonArray().add("X-Request-ID"));
    ProxyHarness proxy = Http.await(ProxyHarness.start(vertx, List.of(backend.baseUrl()),
        new JsonObject().put("server", new JsonObject().put("cors", cors))));

    Http.Answer preflight = Http.call(proxy.client, HttpMethod.OPTIONS, "/v1/chat/completions", Map.of(
        "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST"), null);
    assertEquals(204, preflight.status());
    assertEquals("https://app.example.com", preflight.headers().get("Access-Control-Allow-Origin"));
    assertEquals("true", preflight.headers().get("Access-Control-Allow-Credentials"));
    assertEquals("GET, POST, OPTIONS", preflight.headers().get("Access-Control-Allow-Methods"));
    assertEquals("86400", preflight.headers().get("Access-Control-Max-Age"));
    assertEquals(0, backend.received().size(), "a preflight never reaches a backend");

    Http.Answer allowed = Http.post(proxy.client, "/v1/chat/completions", Map.of("Origin", "https://app.example.com"), CHAT);
    assertEquals("https://app.example.com", allowed.headers().get("Access-Control-Allow-Origin"));
    assertEquals("X-Request-ID", allowed.headers().get("Access-Control-Expose-Headers"));

    Http.Answer foreign = Http.post(proxy.client, "/v1/chat/completions", Map.of("Origin", "https://evil.example"), CHAT);
    assertNull(foreign.headers().get("Access-Control-Allow-Origin"));
  }
}
