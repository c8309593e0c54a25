package dev.llmproxy.launcher;

import static dev.llmproxy.launcher.GatewayProcesses.chat;
import static dev.llmproxy.launcher.GatewayProcesses.chatStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three members on loopback, each its own JVM: the proxy alone, auth with admin (the builtin key store), usage with
 * discovery. A key created through the admin API of one member works through the proxy member; the usage member is
 * killed while the proxy member serves requests and started again, and every request is stored and charged once; then
 * the auth member is killed: an uncached key gets 503 {@code auth_unavailable} within the proxy's auth timeout, a
 * cached one works until its TTL, and both work again by themselves once the auth member is back.
 */
@ExtendWith(VertxExtension.class)
class ClusterThreeMembersTest {

  private static final String TOKEN = "admin-token-0123456789";
  /** A static key without a quota: never charged, so its cached decision is never dropped by a charge. */
  private static final String STATIC_KEY = "sk-static-three-0123456789";
  /** auth.cache_ttl of the test: how long a cached decision serves with no auth member up. */
  private static final Duration CACHE_TTL = Duration.ofSeconds(20);
  /** The proxy's auth timeout (AuthGate), and what a loaded machine may add to it. */
  /** Twice the event loops (proxy instances) of a proxy member on the test machine, taken in turn by connections. */
  private static final int LOOPS_COVERED = 2 * Runtime.getRuntime().availableProcessors();
  private static final Duration AUTH_TIMEOUT_AND_SLACK = Duration.ofSeconds(10 + 15);

  @Test
  void usageOutlivesItsMemberAndAuthFailsStaticThenRecovers(Vertx vertx, @TempDir Path dir) throws Exception {
    int proxyPort = RunningGateway.freePort();
    int adminPort = RunningGateway.freePort();
    int authCluster = RunningGateway.freePort();
    int usageCluster = RunningGateway.freePort();
    int proxyCluster = RunningGateway.freePort();
    Path config = dir.resolve("config.yaml");
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    try (MockLlmBackend backend = RunningGateway.await(MockLlmBackend.start(vertx, 0));
         GatewayProcesses members = new GatewayProcesses()) {
      Files.writeString(config, GatewayProcesses.gatewayYaml(proxyPort, backend.baseUrl())
          + GatewayProcesses.adminYaml(TOKEN, adminPort, dir) + """
        auth:
          enabled: true
          cache_ttl: %ds
          pipeline:
            - name: fixed
              type: static
              static:
                keys:
                  - key: "%s"
                    name: "fixed"
            - name: store
              type: builtin
        usage:
          enabled: true
          journal_path: "%s"
          reporters:
            - name: store
              type: builtin
        """.formatted(CACHE_TTL.toSeconds(), STATIC_KEY, dir.resolve("journal"))
          + GatewayProcesses.clusterYaml("three-test-" + proxyPort, authCluster, usageCluster, proxyCluster) + """
            usage_handover:
              ack_timeout: 3s
          """);
      Path authLog = dir.resolve("auth.log");
      Process auth = members.member(config, "auth,admin", authCluster, authLog);
      Path usageLog = dir.resolve("usage.log");
      Process usage = members.member(config, "usage,discovery", usageCluster, usageLog);
      GatewayProcesses.awaitJoined(authLog);
      GatewayProcesses.awaitJoined(usageLog);
      Path proxyLog = dir.resolve("proxy.log");
      Process proxy = members.member(config, "proxy", proxyCluster, proxyLog);
      GatewayProcesses.awaitReady(http, proxyPort, proxyLog);

      // A key created through the admin member works through the proxy member.
      HttpResponse<String> created = admin(http, adminPort, "/admin/keys/create",
          new JsonObject().put("name", "three").put("total_quota", 1_000_000));
      assertEquals(200, created.statusCode(), created.body());
      String key = new JsonObject(created.body()).getJsonObject("data").getString("key");
      HttpResponse<String> spare = admin(http, adminPort, "/admin/keys/create", new JsonObject().put("name", "spare"));
      String uncachedKey = new JsonObject(spare.body()).getJsonObject("data").getString("key");

      int sent = 0;
      for (; sent < 5; sent++) {
        assertEquals(200, chat(http, proxyPort, key, "three-" + sent).statusCode(), GatewayProcessTest.read(proxyLog));
      }

      // The usage member (and discovery with it: the proxy keeps its last backends) dies while requests go on.
      usage.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      for (; sent < 15; sent++) {
        assertEquals(200, chat(http, proxyPort, key, "three-" + sent).statusCode(), GatewayProcessTest.read(proxyLog));
      }
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> metric(http, proxyPort, "llmproxy_usage_handover_backlog") >= 10),
          "the proxy member does not keep the records no usage member took: " + GatewayProcessTest.read(proxyLog));

      // It comes back: what waited on the proxy member is handed over, and new records follow.
      Path againLog = dir.resolve("usage-again.log");
      members.member(config, "usage,discovery", usageCluster, againLog);
      for (; sent < 20; sent++) {
        assertEquals(200, chat(http, proxyPort, key, "three-" + sent).statusCode(), GatewayProcessTest.read(proxyLog));
      }
      int all = sent;
      assertTrue(Poll.until(Duration.ofSeconds(120), () -> usageTotals(http, adminPort, key).getLong("requests", 0L) == all),
          "stored " + usageTotals(http, adminPort, key) + " of " + all + " requests\n--- proxy:\n"
              + GatewayProcessTest.read(proxyLog) + "\n--- usage:\n" + GatewayProcessTest.read(againLog));
      long tokens = usageTotals(http, adminPort, key).getLong("total_tokens");
      assertTrue(tokens > 0);
      // Charged once per request: the quota used is exactly the tokens of the records stored.
      assertTrue(Poll.until(Duration.ofSeconds(60), () -> usedQuota(http, adminPort, key) == tokens),
          "used_quota " + usedQuota(http, adminPort, key) + ", stored tokens " + tokens);
      assertEquals(all, usageTotals(http, adminPort, key).getLong("requests"), "no record stored twice");
      assertTrue(Poll.until(Duration.ofSeconds(30), () -> metric(http, proxyPort, "llmproxy_usage_handover_backlog") == 0));
      assertEquals(0, metric(http, proxyPort, "llmproxy_usage_handover_dropped_total{reason=\"full\"}"));

      // The auth member dies: a cached decision serves until its TTL, a key without one gets 503 in time. Each
      // proxy instance (one per event loop) caches on its own: the key is used over fresh connections, which the
      // instances take in turn, so that every instance has its decision.
      long cachedAt = System.nanoTime();
      assertEquals(List.of(200), statusesOverFreshConnections(proxyPort, STATIC_KEY));
      auth.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      assertEquals(List.of(200), statusesOverFreshConnections(proxyPort, STATIC_KEY), "the cached key works on");
      assertTrue(System.nanoTime() - cachedAt < CACHE_TTL.toNanos(), "the check above ran within the TTL");
      long asked = System.nanoTime();
      HttpResponse<String> refused = chat(http, proxyPort, uncachedKey, "three-uncached");
      Duration waited = Duration.ofNanos(System.nanoTime() - asked);
      assertEquals(503, refused.statusCode(), refused.body());
      assertEquals("auth_unavailable", new JsonObject(refused.body()).getJsonObject("error").getString("code"));
      assertTrue(waited.compareTo(AUTH_TIMEOUT_AND_SLACK) < 0, "503 after " + waited);
      assertTrue(Poll.until(CACHE_TTL.plus(Duration.ofSeconds(40)),
              () -> statusesOverFreshConnections(proxyPort, STATIC_KEY).equals(List.of(503))),
          "the cached decision outlived its TTL");
      assertTrue(System.nanoTime() - cachedAt >= CACHE_TTL.toNanos(), "refused only once the TTL had passed");

      // An auth member returns: both keys work again, the proxy member never restarted.
      Path authAgainLog = dir.resolve("auth-again.log");
      members.member(config, "auth,admin", authCluster, authAgainLog);
      assertTrue(Poll.until(Duration.ofSeconds(90), () -> chatStatus(http, proxyPort, uncachedKey, "probe") == 200
              && chatStatus(http, proxyPort, STATIC_KEY, "probe") == 200),
          "no recovery: " + GatewayProcessTest.read(proxyLog) + "\n--- auth:\n" + GatewayProcessTest.read(authAgainLog));
      assertTrue(proxy.isAlive());
    }
  }

  /** The distinct statuses of the key's requests over {@code LOOPS_COVERED} fresh connections, one each. */
  private static List<Integer> statusesOverFreshConnections(int port, String key) {
    java.util.TreeSet<Integer> statuses = new java.util.TreeSet<>();
    for (int i = 0; i < LOOPS_COVERED; i++) {
      HttpClient fresh = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      statuses.add(chatStatus(fresh, port, key, "probe"));
    }
    return List.copyOf(statuses);
  }

  private static HttpResponse<String> admin(HttpClient http, int port, String path, JsonObject body)
      throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(30)).header("X-Admin-Token", TOKEN)
            .POST(HttpRequest.BodyPublishers.ofString(body.encode())).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static JsonObject usageTotals(HttpClient http, int adminPort, String key) {
    try {
      HttpResponse<String> answer = admin(http, adminPort, "/admin/usage/query", new JsonObject().put("key", key));
      return new JsonObject(answer.body()).getJsonObject("data").getJsonObject("totals");
    } catch (Exception e) {
      return new JsonObject();
    }
  }

  private static long usedQuota(HttpClient http, int adminPort, String key) {
    try {
      HttpResponse<String> got = admin(http, adminPort, "/admin/keys/get", new JsonObject().put("key", key));
      return new JsonObject(got.body()).getJsonObject("data").getLong("used_quota", -1L);
    } catch (Exception e) {
      return -1;
    }
  }

  /** One sample of the proxy member's {@code /metrics}; -1 when it cannot be read or is missing. */
  private static double metric(HttpClient http, int port, String sample) {
    try {
      String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      for (String line : body.split("\n")) {
        if (line.startsWith(sample + " ")) {
          return Double.parseDouble(line.substring(sample.length() + 1).trim());
        }
      }
      return -1;
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }
}
