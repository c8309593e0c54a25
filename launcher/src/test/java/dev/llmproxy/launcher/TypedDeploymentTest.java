package dev.llmproxy.launcher;

import dev.llmproxy.admin.AdminVerticle;
import dev.llmproxy.auth.AuthVerticle;
import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.discovery.DiscoveryVerticle;
import dev.llmproxy.proxy.ProxyVerticle;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import dev.llmproxy.usage.UsageVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every verticle deployed from its typed config alone, on a plain Vert.x instance with no launcher: nothing is handed
 * to a constructor but the config (auth by class name, with the config as the deployment's JSON), and what they share
 * is found by each at its start. Then the gateway answers over HTTP as the launcher's does.
 */
class TypedDeploymentTest {

  private static final String KEY = "sk-typed-deployment-0001";
  private static final String ADMIN_TOKEN = "typed-admin-token-0001";

  @Test
  void everyVerticleStartsFromItsConfigAloneAndTheProxiesShareOneDecisionCache(@TempDir Path dir) throws Exception {
    Vertx backendVertx = Vertx.vertx();
    Vertx vertx = Vertx.vertx();
    try {
      MockLlmBackend backend = await(MockLlmBackend.start(backendVertx, 0));
      int port = RunningGateway.freePort();
      GatewayConfig config = config(dir, """
          server: {listen: "127.0.0.1:%d"}
          backends: [{name: mock, url: "%s"}]
          auth:
            enabled: true
            cache_ttl: 60s
            skip_paths: ["/health", "/ready", "/metrics", "/admin/"]
            pipeline: [{name: keys, type: static, static: {keys: [{key: "%s"}]}}]
          admin: {enabled: true, token: "%s", db_path: "%s"}
          usage: {journal_path: "%s"}
          """.formatted(port, backend.baseUrl(), KEY, ADMIN_TOKEN, dir.resolve("keys.db"), dir.resolve("journal")));
      // What the auth verticle is asked, counted on the bus: the proxies' shared cache should ask once per key.
      AtomicInteger authChecks = new AtomicInteger();
      vertx.eventBus().addOutboundInterceptor(delivery -> {
        String address = delivery.message().address();
        if (address.equals(Addresses.AUTH_CHECK) || address.equals(Addresses.AUTH_CHECK_LOCAL)) {
          authChecks.incrementAndGet();
        }
        delivery.next();
      });

      await(vertx.deployVerticle(() -> new UsageVerticle(config), new DeploymentOptions()));
      await(vertx.deployVerticle(() -> new AdminVerticle(config), new DeploymentOptions()));
      await(vertx.deployVerticle(AuthVerticle.class.getName(), new DeploymentOptions().setConfig(config.toJson())));
      await(vertx.deployVerticle(() -> new DiscoveryVerticle(config), new DeploymentOptions()));
      await(vertx.deployVerticle(() -> new ProxyVerticle(config), new DeploymentOptions().setInstances(2)));

      // Discovery over the bus: its snapshot holds the configured backend.
      JsonObject snapshot = await(vertx.eventBus().<JsonObject>request(Addresses.BACKENDS_CURRENT, null)).body();
      assertEquals("mock", snapshot.getJsonArray("backends").getJsonObject(0).getString("name"));

      // The proxies over HTTP: /ready says ready once they listen (no launcher to say so), then the keyed chat works.
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> get(port, "/ready", null).statusCode() == 200),
          "the proxies never became ready");
      for (int i = 0; i < 6; i++) {
        // A client of its own each time: a new connection, handed to the two proxy instances in turn.
        assertEquals(200, chat(port, KEY), "request " + i);
      }
      assertEquals(1, authChecks.get(), "a key checked on one event loop is cached for the other");
      assertEquals(6, backend.completions());

      // The admin verticle over HTTP (through the proxy's port), with the proxies' live view of the backend.
      HttpResponse<String> backends = get(port, "/admin/backends", ADMIN_TOKEN);
      assertEquals(200, backends.statusCode(), backends.body());
      JsonObject data = new JsonObject(backends.body());
      assertTrue(data.encode().contains("\"live_stats\":true"), data.encode());
      HttpResponse<String> status = get(port, "/admin/status", ADMIN_TOKEN);
      assertEquals(200, status.statusCode(), status.body());
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      backendVertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static GatewayConfig config(Path dir, String yaml) throws Exception {
    return LocalCluster.load(dir, yaml);
  }

  private static int chat(int port, String key) throws Exception {
    {
      // A client of its own: a new connection (Java 17's client is not closeable; it goes with its last reference).
      HttpClient client = HttpClient.newHttpClient();
      return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
              .header("Authorization", "Bearer " + key)
              .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"mock\",\"messages\":[]}")).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    }
  }

  private static HttpResponse<String> get(int port, String path, String adminToken) {
    try {
      HttpClient client = HttpClient.newHttpClient();
      HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
      if (adminToken != null) {
        request.header("X-Admin-Token", adminToken);
      }
      return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
