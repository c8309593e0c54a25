package dev.llmproxy.proxy.cache;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;

/**
 * The response cache in a redis cache of {@code storage.caches}, shared by every gateway of a cluster: one string
 * per answer under {@code llmproxy:response:<key>}, expiring after {@code ttl}. Its size is Redis's to bound
 * ({@code maxmemory}); {@code max_size_mb} applies to memory storage only. A failed command is a miss.
 */
public final class RedisResponseCache implements ResponseCache {

  static final String PREFIX = "llmproxy:response:";
  private static final Logger LOG = LoggerFactory.getLogger(RedisResponseCache.class);

  private final Redis redis;
  private final long ttlMs;

  public RedisResponseCache(Redis redis, Duration ttl) {
    this.redis = redis;
    this.ttlMs = Math.max(1, ttl.toMillis());
  }

  @Override
  public Future<CachedAnswer> get(String key) {
    return redis.send(Request.cmd(Command.GET).arg(PREFIX + key))
        .map(value -> value == null ? null : CachedAnswer.decode(value.toBuffer()))
        .otherwise(e -> {
          LOG.debug("response cache: GET failed, answered as a miss ({})", e.getMessage());
          return null;
        });
  }

  @Override
  public void put(String key, CachedAnswer answer) {
    redis.send(Request.cmd(Command.SET).arg(PREFIX + key).arg(answer.encode()).arg("PX").arg(ttlMs))
        .onFailure(e -> LOG.debug("response cache: SET failed, the answer is not cached ({})", e.getMessage()));
  }
}
