package dev.llmproxy.launcher;

import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seed 002's {@code rate_limit.routes} on the whole gateway (every proxy instance of the JVM), and what a reload does
 * to it: a changed rate applies to the next request and keeps what was counted; a changed window starts afresh.
 */
class GatewayRouteLimitTest {

  private static final String TOKEN = "admin-token-for-route-limits";
  private static final String EMBED = "{\"model\":\"mock\",\"input\":\"hello\"}";
  private static final String CHAT = "{\"model\":\"mock\",\"messages\":[]}";

  private static String config(Path dir, String rateLimit) {
    return """
        server:
          listen: "{listen}"
        backends:
          - name: first
            url: "{backend}"
        admin:
          enabled: true
          token: "%s"
          db_path: "%s"
        usage:
          journal_path: "%s"
        auth:
          skip_paths: ["/health", "/ready", "/metrics", "/admin/"]
        %s
        """.formatted(TOKEN, dir.resolve("keys.db"), dir.resolve("journal"), rateLimit);
  }

  private static HttpResponse<String> reload(RunningGateway gateway, String from, String to) throws Exception {
    Files.writeString(gateway.configFile, Files.readString(gateway.configFile).replace(from, to));
    HttpResponse<String> reloaded = gateway.post("/admin/config/reload", "", "X-Admin-Token", TOKEN);
    assertEquals(200, reloaded.statusCode(), reloaded.body());
    assertTrue(reloaded.body().contains("rate_limit"), "the reply names what changed: " + reloaded.body());
    return reloaded;
  }

  /** {@code passing} requests on {@code path} pass, the next is refused (each time on whichever proxy instance). */
  private static void passThenRefused(RunningGateway gateway, String path, int passing, String said) throws Exception {
    for (int i = 0; i < passing; i++) {
      HttpResponse<String> ok = gateway.post(path, EMBED, "Content-Type", "application/json");
      assertEquals(200, ok.statusCode(), "request " + (i + 1) + " of " + passing + ": " + ok.body());
    }
    HttpResponse<String> refused = gateway.post(path, EMBED, "Content-Type", "application/json");
    assertEquals(429, refused.statusCode(), refused.body());
    assertTrue(refused.body().contains(said), refused.body());
    assertTrue(refused.headers().firstValue("Retry-After").isPresent());
    assertEquals("0", refused.headers().firstValue("x-ratelimit-remaining-requests").orElse(null));
  }

  @Test
  void inMemoryAReloadChangingTheRateKeepsTheCountAndOneChangingTheWindowStartsAfresh(@TempDir Path dir)
      throws Exception {
    String limits = """
        rate_limit:
          enabled: true
          routes:
            "/v1/embeddings": "2/minute"
        """;
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir, limits))) {
      passThenRefused(gateway, "/v1/embeddings", 2, "requests per minute on /v1/embeddings for this client address is 2");
      for (int i = 0; i < 8; i++) {
        assertEquals(200, gateway.chat(null, CHAT).statusCode(), "another route is not limited");
      }

      reload(gateway, "\"2/minute\"", "\"4/minute\"");
      // 2 of the 4 are used already: two more pass, on every proxy instance, then the new rate refuses.
      passThenRefused(gateway, "/v1/embeddings", 2, "requests per minute on /v1/embeddings for this client address is 4");

      reload(gateway, "\"4/minute\"", "\"1/hour\"");
      passThenRefused(gateway, "/v1/embeddings", 1, "requests per hour on /v1/embeddings for this client address is 1");

      reload(gateway, "    \"/v1/embeddings\": \"1/hour\"\n", "    \"/v1/chat/completions\": \"1/hour\"\n");
      for (int i = 0; i < 8; i++) {
        assertEquals(200, gateway.post("/v1/embeddings", EMBED, "Content-Type", "application/json").statusCode(),
            "the route's limit is gone");
      }
      String metrics = gateway.get("/metrics").body();
      assertTrue(metrics.contains("llmproxy_ratelimit_rejections_total{limit=\"requests_per_minute\",scope=\"route\"} 2.0"),
          metrics);
      assertTrue(metrics.contains("llmproxy_ratelimit_rejections_total{limit=\"requests_per_hour\",scope=\"route\"} 1.0"),
          metrics);
      JsonObject shown = new JsonObject(gateway.get("/admin/config", "X-Admin-Token", TOKEN).body()).getJsonObject("data");
      assertEquals(new JsonObject().put("/v1/chat/completions", "1/hour"),
          shown.getJsonObject("rate_limit").getJsonObject("routes"));
    }
  }

  /**
   * With {@code storage: redis} (the machine's Redis, 127.0.0.1:6379, under the gateway's own key prefix): the route
   * is one of this test alone, so that no other run shares its counter.
   */
  @Test
  void inRedisAReloadChangingTheRateKeepsTheCount(@TempDir Path dir) throws Exception {
    String route = "/v1/route-limit-test-" + UUID.randomUUID();
    String limits = """
        storage:
          caches:
            - name: limits
              driver: redis
              addr: "127.0.0.1:6379"
        rate_limit:
          enabled: true
          storage: redis
          redis: limits
          store_timeout: 5s
          routes:
            "%s": "2/minute"
        """.formatted(route);
    try (RunningGateway gateway = RunningGateway.start(dir, config(dir, limits))) {
      Redis redis = Redis.createClient(gateway.vertx, "redis://127.0.0.1:6379");
      try {
        passThenRefused(gateway, route, 2, "requests per minute on " + route + " for this client address is 2");
        assertEquals(200, gateway.post("/v1/embeddings", EMBED, "Content-Type", "application/json").statusCode());
        Response keys = RunningGateway.await(redis.send(Request.cmd(Command.KEYS)
            .arg("llmproxy:ratelimit:route:minute:" + route + "|*")));
        assertEquals(1, keys.size(), keys.toString());

        reload(gateway, "\"2/minute\"", "\"3/minute\"");
        passThenRefused(gateway, route, 1, "requests per minute on " + route + " for this client address is 3");
      } finally {
        Response keys = RunningGateway.await(redis.send(Request.cmd(Command.KEYS)
            .arg("llmproxy:ratelimit:route:*" + route + "*")));
        if (keys.size() > 0) {
          Request del = Request.cmd(Command.DEL);
          keys.forEach(k -> del.arg(k.toString()));
          RunningGateway.await(redis.send(del));
        }
        redis.close();
      }
    }
  }
}
