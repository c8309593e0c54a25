package dev.llmproxy.usage;

import static dev.llmproxy.usage.UsageTesting.await;
import static dev.llmproxy.usage.UsageTesting.config;
import static dev.llmproxy.usage.UsageTesting.deploy;
import static dev.llmproxy.usage.UsageTesting.record;
import static dev.llmproxy.usage.UsageTesting.send;
import static dev.llmproxy.usage.UsageTesting.unique;
import static dev.llmproxy.usage.UsageTesting.usage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.storage.Pools;
import dev.llmproxy.common.storage.SqlDatabase;
import dev.llmproxy.common.util.Timestamps;
import dev.llmproxy.testsupport.Poll;
import dev.llmproxy.usage.journal.Journal;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code quota_reset_period} for keys in stores that no timer resets (Redis, a user's key table): the first charge
 * of a new period starts {@code used_quota} again from its tokens and stamps {@code last_reset_at}; a key with a
 * period but no stamp is stamped, not forgiven; within a period charges add up.
 */
class QuotaPeriodChargeTest {

  @ParameterizedTest
  @ValueSource(strings = {"sqlite", "postgres", "mysql"})
  void theFirstChargeOfANewPeriodStartsItAgain(String driver, @TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    String prefix = unique("llmproxy-test:period") + ":";
    String table = unique("period_keys_" + driver).replace('-', '_');
    String suffix = unique("").substring(1);
    String stale = "sk-period-stale-" + suffix;
    String unstamped = "sk-period-unstamped-" + suffix;
    String current = "sk-period-current-" + suffix;
    String dbKey = "sk-period-db-" + suffix;
    Instant twoDaysAgo = Instant.now().minus(2, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS);
    String thisMonth = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    GatewayConfig config = config(UsageTesting.keyStores(dir, driver, prefix, table));
    Pools pools = new Pools(vertx, config.storage());
    SqlDatabase db = pools.database("keydb");
    RedisAPI redis = RedisAPI.api(Redis.createClient(vertx, "redis://127.0.0.1:6379"));
    String stampType = switch (driver) {
      case "postgres" -> "TIMESTAMP";
      case "mysql" -> "DATETIME";
      default -> "TEXT";
    };
    Object staleStamp = driver.equals("sqlite") ? twoDaysAgo.toString().replace('T', ' ').replace("Z", "")
        : LocalDateTime.ofInstant(twoDaysAgo, ZoneOffset.UTC);
    try {
      await(redis.hset(List.of(prefix + stale, "used_quota", "500", "quota_reset_period", "daily",
          "last_reset_at", twoDaysAgo.toString())));
      await(redis.hset(List.of(prefix + unstamped, "used_quota", "50", "quota_reset_period", "daily")));
      await(redis.set(List.of(prefix + current, new JsonObject().put("used_quota", 10)
          .put("quota_reset_period", "monthly").put("last_reset_at", thisMonth).encode())));
      await(db.pool().query("CREATE TABLE " + table + " (api_key VARCHAR(128) PRIMARY KEY, used_quota BIGINT, "
          + "quota_reset_period VARCHAR(16), last_reset_at " + stampType + ")").execute());
      await(db.pool().preparedQuery("INSERT INTO " + table + " VALUES (" + db.dialect().placeholder(1) + ", 700, "
          + "'daily', " + db.dialect().placeholder(2) + ")").execute(Tuple.of(dbKey, staleStamp)));

      await(deploy(vertx, config, new SimpleMeterRegistry()));
      String id = unique("req");
      send(vertx, record(id + "-1", stale, "keys_redis", "m", 4, 5));
      send(vertx, record(id + "-2", unstamped, "keys_redis", "m", 4, 5));
      send(vertx, record(id + "-3", current, "keys_redis", "m", 4, 5));
      send(vertx, record(id + "-4", dbKey, "keys_db", "m", 4, 5));
      send(vertx, record(id + "-5", dbKey, "keys_db", "m", 1, 3));
      Path journal = dir.resolve("journal");
      assertTrue(Poll.until(Duration.ofSeconds(20), () -> cursor(journal) == 6), "cursor " + cursor(journal));

      LocalDate today = LocalDate.now(ZoneOffset.UTC);
      assertEquals("9", await(redis.hget(prefix + stale, "used_quota")).toString(), "a new day starts again");
      assertEquals(today, day(await(redis.hget(prefix + stale, "last_reset_at")).toString()));
      assertEquals("59", await(redis.hget(prefix + unstamped, "used_quota")).toString(), "stamped, not forgiven");
      assertEquals(today, day(await(redis.hget(prefix + unstamped, "last_reset_at")).toString()));
      JsonObject json = new JsonObject(await(redis.get(prefix + current)).toString());
      assertEquals(19, json.getLong("used_quota"), "within the month charges add up");
      assertEquals(thisMonth, json.getString("last_reset_at"));

      Row row = await(db.pool().preparedQuery("SELECT used_quota, last_reset_at FROM " + table + " WHERE api_key = "
          + db.dialect().placeholder(1)).execute(Tuple.of(dbKey))).iterator().next();
      assertEquals(13L, ((Number) row.getValue("used_quota")).longValue(), "reset to 9 by the first, then +4");
      assertEquals(today, Timestamps.of(row.getValue("last_reset_at")).orElseThrow().atZone(ZoneOffset.UTC)
          .toLocalDate());
    } finally {
      await(redis.keys(prefix + "*").compose(keys -> {
        List<String> names = keys.stream().map(Object::toString).toList();
        return names.isEmpty() ? Future.succeededFuture() : redis.del(names).mapEmpty();
      }).eventually(() -> db.pool().query("DROP TABLE IF EXISTS " + table).execute()));
      pools.close();
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  private static LocalDate day(String stamp) {
    return Timestamps.parse(stamp).orElseThrow().atZone(ZoneOffset.UTC).toLocalDate();
  }

  private static long cursor(Path journal) {
    try {
      return Journal.peekCursor(journal, "quota");
    } catch (Exception e) {
      return -1;
    }
  }
}
