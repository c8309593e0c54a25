package dev.llmproxy.auth.provider;

import dev.llmproxy.common.bus.AuthCheck;
import io.vertx.core.Future;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.Response;
import java.util.concurrent.TimeUnit;

/**
 * {@code type: redis}: the original's data as it is. The key {@code key_pattern} (with {@code {api_key}}) holds a
 * hash (HGETALL, every value a string) or else a JSON string (GET).
 */
public final class RedisProvider implements Provider {

  private final String name;
  private final RedisAPI redis;
  private final String keyPattern;
  private final long timeoutMs;

  public RedisProvider(String name, RedisAPI redis, String keyPattern, long timeoutMs) {
    this.name = name;
    this.redis = redis;
    this.keyPattern = keyPattern;
    this.timeoutMs = timeoutMs;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Future<Lookup> lookup(AuthCheck check, String keyHash) {
    String key = keyPattern.replace("{api_key}", check.apiKey());
    return redis.hgetall(key)
        .compose(hash -> hash == null || hash.size() == 0
            ? Future.succeededFuture(Lookup.NOT_FOUND)
            : Future.succeededFuture(Lookup.found(fromHash(hash))))
        .recover(e -> e.getMessage() != null && e.getMessage().startsWith("WRONGTYPE")
            ? redis.get(key).map(RedisProvider::fromString)
            : Future.failedFuture(e))
        .timeout(timeoutMs, TimeUnit.MILLISECONDS);
  }

  private static JsonObject fromHash(Response hash) {
    JsonObject record = new JsonObject();
    for (String field : hash.getKeys()) {
      Response value = hash.get(field);
      record.put(field, value == null ? null : value.toString());
    }
    return record;
  }

  private static Lookup fromString(Response value) {
    if (value == null) {
      return Lookup.NOT_FOUND;
    }
    try {
      return Lookup.found(new JsonObject(value.toString()));
    } catch (DecodeException | ClassCastException e) {
      throw new IllegalStateException("the key's value is neither a hash nor a JSON object");
    }
  }
}
