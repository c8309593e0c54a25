package dev.llmproxy.discovery;

import dev.llmproxy.common.model.BackendSnapshot;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.mysqlclient.MySQLBuilder;
import io.vertx.mysqlclient.MySQLConnectOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static dev.llmproxy.discovery.DiscoveryTesting.byUrl;
import static dev.llmproxy.discovery.DiscoveryTesting.urls;
import static dev.llmproxy.discovery.DiscoveryTesting.withSources;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The original's {@code services} table on the real PostgreSQL and MariaDB of the test machine. */
@ExtendWith(VertxExtension.class)
class DatabaseSourceTest {

  private static final String COLUMNS = "id INT PRIMARY KEY, name VARCHAR(100), %s VARCHAR(200), type VARCHAR(20), "
      + "models VARCHAR(200), weight INT, priority INT, status VARCHAR(20), health_status VARCHAR(20)";

  private static String table() {
    return "services_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }

  private static void run(Pool pool, String... statements) throws Exception {
    for (String sql : statements) {
      pool.query(sql).execute().await(10, TimeUnit.SECONDS);
    }
  }

  private static JsonObject source(String storage, String table, JsonObject fields) {
    JsonObject database = new JsonObject().put("storage", storage).put("table", table);
    if (fields != null) {
      database.put("fields", fields);
    }
    return new JsonObject().put("name", "db").put("type", "database").put("interval", "100ms").put("database", database);
  }

  @Test
  void postgresRowsWithStatusEnabled(Vertx vertx) throws Exception {
    Pool pool = PgBuilder.pool().connectingTo(new PgConnectOptions().setHost("127.0.0.1").setPort(5432)
        .setUser("postgres").setDatabase("test")).using(vertx).build();
    String table = table();
    try {
      run(pool, "CREATE TABLE " + table + " (" + COLUMNS.formatted("url") + ")",
          "INSERT INTO " + table + " VALUES (1, 'vllm-1', 'http://10.5.0.1:8000', 'vllm', 'llama,qwen', 5, 1, 'enabled', 'healthy')",
          "INSERT INTO " + table + " VALUES (2, 'vllm-2', 'http://10.5.0.2:8000', 'vllm', NULL, 1, 1, 'disabled', 'healthy')",
          "INSERT INTO " + table + " VALUES (3, 'vllm-3', 'http://10.5.0.3:8000', 'vllm', '[\"mistral\"]', 2, 1, 'enabled', 'unhealthy')");
      JsonObject config = withSources(source("pg", table, null)).put("storage", new JsonObject().put("databases",
          new JsonArray().add(new JsonObject().put("name", "pg").put("driver", "postgres").put("host", "127.0.0.1")
              .put("user", "postgres").put("database", "test"))));
      try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, config)) {
        BackendSnapshot first = discovery.current();
        assertEquals(List.of("http://10.5.0.1:8000", "http://10.5.0.3:8000"), urls(first), "disabled rows are left out");
        assertEquals(List.of("llama", "qwen"), byUrl(first, "http://10.5.0.1:8000").models());
        assertEquals(5, byUrl(first, "http://10.5.0.1:8000").weight());
        assertEquals("vllm-1", byUrl(first, "http://10.5.0.1:8000").name());
        assertEquals(List.of("mistral"), byUrl(first, "http://10.5.0.3:8000").models());
        assertFalse(byUrl(first, "http://10.5.0.3:8000").healthy(), "health_status unhealthy");

        run(pool, "UPDATE " + table + " SET status = 'enabled' WHERE id = 2", "UPDATE " + table + " SET weight = 8 WHERE id = 1");
        discovery.awaitLatest(Duration.ofSeconds(10), s -> s.backends().size() == 3
            && byUrl(s, "http://10.5.0.1:8000").weight() == 8);
        run(pool, "DELETE FROM " + table + " WHERE id = 1");
        discovery.awaitLatest(Duration.ofSeconds(10), s -> byUrl(s, "http://10.5.0.1:8000") == null);

        run(pool, "DROP TABLE " + table);
        assertTrue(Poll.until(Duration.ofSeconds(10), () -> discovery.errors("db") >= 2), "a missing table is a failure");
        assertEquals(2, discovery.current().backends().size(), "and the last good list stays");
      }
    } finally {
      run(pool, "DROP TABLE IF EXISTS " + table);
      pool.close();
    }
  }

  @Test
  void mariadbWithRenamedColumns(Vertx vertx) throws Exception {
    Pool pool = MySQLBuilder.pool().connectingTo(new MySQLConnectOptions().setHost("127.0.0.1").setPort(3306)
        .setUser("root").setDatabase("test")).using(vertx).build();
    String table = table();
    try {
      run(pool, "CREATE TABLE " + table + " (" + COLUMNS.formatted("endpoint") + ")",
          "INSERT INTO " + table + " VALUES (1, 'tgi-1', 'http://10.6.0.1:8080', 'tgi', NULL, 3, 1, 'enabled', NULL)",
          "INSERT INTO " + table + " VALUES (2, 'tgi-2', 'http://10.6.0.2:8080', 'tgi', NULL, 3, 1, 'maintenance', NULL)");
      JsonObject config = withSources(source("maria", table, new JsonObject().put("url", "endpoint")))
          .put("storage", new JsonObject().put("databases", new JsonArray().add(new JsonObject().put("name", "maria")
              .put("driver", "mysql").put("dsn", "root:@tcp(127.0.0.1:3306)/test"))));
      try (DiscoveryTesting discovery = DiscoveryTesting.deploy(vertx, config)) {
        BackendSnapshot first = discovery.current();
        assertEquals(List.of("http://10.6.0.1:8080"), urls(first));
        assertEquals(3, first.backends().get(0).weight());
        run(pool, "INSERT INTO " + table + " VALUES (3, 'tgi-3', 'http://10.6.0.3:8080', 'tgi', 'phi', 1, 1, 'enabled', NULL)");
        BackendSnapshot next = discovery.awaitLatest(Duration.ofSeconds(10), s -> s.backends().size() == 2);
        assertEquals(List.of("phi"), byUrl(next, "http://10.6.0.3:8080").models());
      }
    } finally {
      run(pool, "DROP TABLE IF EXISTS " + table);
      pool.close();
    }
  }
}
