package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;

/**
 * One of {@code storage.caches}: redis (addr, password, db, pool) or memory (maxSize, ttl). Which consumers accept
 * a memory cache is {@link CacheConsumer}'s decision.
 */
public record CacheConfig(String name, boolean enabled, String driver, String addr, String password, int db,
    int poolSize, int minIdleConns, Duration dialTimeout, Duration readTimeout, Duration writeTimeout, int maxSize,
    Duration ttl) {

  public static final String MEMORY = "memory";

  public boolean isMemory() {
    return MEMORY.equals(driver);
  }

  /**
   * How long one Redis command may take in all: the Vert.x client times neither the connect of a pooled
   * connection, nor the write, nor the reply apart, so a command is bounded by the sum of the three deadlines.
   */
  public Duration commandTimeout() {
    return dialTimeout.plus(writeTimeout).plus(readTimeout);
  }

  static CacheConfig read(ConfigReader r) {
    return new CacheConfig(
        r.string("name", ""),
        r.bool("enabled", true),
        r.string("driver", ""),
        r.string("addr", ""),
        r.string("password", ""),
        r.integer("db", 0),
        r.integer("pool_size", 100),
        r.integer("min_idle_conns", 0),
        r.duration("dial_timeout", Duration.ofSeconds(5)),
        r.duration("read_timeout", Duration.ofSeconds(3)),
        r.duration("write_timeout", Duration.ofSeconds(3)),
        r.integer("max_size", 10_000),
        r.duration("ttl", Duration.ofMinutes(5)));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("name", name)
        .put("enabled", enabled)
        .put("driver", driver)
        .put("addr", addr)
        .put("password", password)
        .put("db", db)
        .put("pool_size", poolSize)
        .put("min_idle_conns", minIdleConns)
        .put("dial_timeout", JsonOut.duration(dialTimeout))
        .put("read_timeout", JsonOut.duration(readTimeout))
        .put("write_timeout", JsonOut.duration(writeTimeout))
        .put("max_size", maxSize)
        .put("ttl", JsonOut.duration(ttl));
  }
}
