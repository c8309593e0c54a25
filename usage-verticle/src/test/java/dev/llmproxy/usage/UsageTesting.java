package dev.llmproxy.usage;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.UsageRecordCodec;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.common.model.UsageRecord;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/** Deploys the real usage verticle from a config document and feeds it records as the proxy does. */
final class UsageTesting {

  private UsageTesting() {
  }

  static GatewayConfig config(JsonObject raw) {
    LoadedConfig loaded = ConfigLoader.parse(raw, Map.of());
    if (!loaded.ok()) {
      throw new AssertionError("test config invalid: " + loaded.errors());
    }
    return loaded.config();
  }

  /** {@code usage} enabled with a journal in {@code dir} and these reporters; {@code extra} top-level sections. */
  static JsonObject usage(Path dir, JsonObject... reporters) {
    JsonArray list = new JsonArray();
    for (JsonObject r : reporters) {
      list.add(r);
    }
    return new JsonObject().put("usage", new JsonObject().put("enabled", true)
        .put("journal_path", dir.resolve("journal").toString()).put("reporters", list));
  }

  static JsonObject webhook(String name, String url) {
    return new JsonObject().put("name", name).put("type", "webhook").put("enabled", true)
        .put("webhook", new JsonObject().put("url", url).put("timeout", "2s").put("retry", 2)
            .put("headers", new JsonObject().put("Authorization", "Bearer test-token")));
  }

  static Future<String> deploy(Vertx vertx, GatewayConfig config, MeterRegistry registry) {
    return deploy(vertx, config, registry, Map.of());
  }

  /** With this environment (where {@code LLMPROXY_JOURNAL_KEY} is read from). */
  static Future<String> deploy(Vertx vertx, GatewayConfig config, MeterRegistry registry, Map<String, String> env) {
    dev.llmproxy.common.verticle.JvmResources.of(vertx).put(io.micrometer.core.instrument.MeterRegistry.class, registry);
    return vertx.deployVerticle(() -> new UsageVerticle(config, UsageVerticle.SEGMENT_BYTES, env),
        new io.vertx.core.DeploymentOptions());
  }

  /** A journal secret for tests. */
  static final Map<String, String> SEALING = Map.of("LLMPROXY_JOURNAL_KEY", "a-journal-secret-for-the-tests-0001");

  /** A unique id per test run, so that tables and Redis keys shared between runs never collide. */
  static String unique(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  static UsageRecord record(String requestId, String apiKey, String keySource, String model, long prompt,
      long completion) {
    return new UsageRecord(requestId, apiKey, keySource, "key-name", "user-1", model, prompt, completion,
        prompt + completion, true, "POST", "/v1/chat/completions", Instant.parse("2026-01-14T10:30:00Z"),
        "http://backend:8000", 200, 120, 35, false, false, "10.0.0.1");
  }

  static void send(Vertx vertx, UsageRecord record) {
    UsageRecordCodec.register(vertx.eventBus());
    vertx.eventBus().send(Addresses.USAGE_RECORD, record);
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /**
   * A {@code storage.databases} entry named {@code name} on the machine's PostgreSQL or MariaDB, or an SQLite file
   * {@code file} in {@code dir}.
   */
  static JsonObject database(String driver, String name, Path dir, String file) {
    return switch (driver) {
      case "postgres" -> new JsonObject().put("name", name).put("driver", "postgres").put("host", "127.0.0.1")
          .put("port", 5432).put("user", "postgres").put("database", "test");
      case "mysql" -> new JsonObject().put("name", name).put("driver", "mysql")
          .put("dsn", "root:@tcp(127.0.0.1:3306)/test");
      default -> new JsonObject().put("name", name).put("driver", "sqlite").put("path", dir.resolve(file).toString());
    };
  }

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
  }

  /**
   * Usage on in {@code dir}, with the key stores quota accounting charges: auth providers {@code keys_redis} (the
   * machine's Redis, keys {@code <prefix><api_key>}) and {@code keys_db} (table {@code table} of database
   * {@code keydb} on {@code driver}).
   */
  static JsonObject keyStores(Path dir, String driver, String prefix, String table) {
    return usage(dir)
        .put("storage", new JsonObject()
            .put("databases", new JsonArray().add(database(driver, "keydb", dir, "keys.db")))
            .put("caches", new JsonArray().add(new JsonObject().put("name", "cache").put("driver", "redis")
                .put("addr", "127.0.0.1:6379"))))
        .put("auth", new JsonObject().put("enabled", true).put("pipeline", new JsonArray()
            .add(new JsonObject().put("name", "keys_redis").put("type", "redis")
                .put("redis", new JsonObject().put("storage", "cache").put("key_pattern", prefix + "{api_key}")))
            .add(new JsonObject().put("name", "keys_db").put("type", "database")
                .put("database", new JsonObject().put("storage", "keydb").put("table", table)))));
  }
}
