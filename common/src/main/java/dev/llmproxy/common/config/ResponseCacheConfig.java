package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;

/**
 * {@code caching.response_cache}: an exact-match cache of non-streaming inference answers.
 *
 * @param maxSizeMb how many MiB of answers (keys and bodies, by their bytes) a memory cache holds at most
 * @param ttl       how long an answer is served from the cache
 * @param storage   {@code memory} (in this process, Caffeine) or the name of a redis cache of {@code storage.caches}
 *                  (shared by every gateway of a cluster)
 * @param shared    answers are shared between API keys; by default each key sees only the answers to its own requests
 */
public record ResponseCacheConfig(boolean enabled, int maxSizeMb, Duration ttl, String storage, boolean shared) {

  public static final String MEMORY = "memory";

  public boolean inMemory() {
    return MEMORY.equals(storage);
  }

  static ResponseCacheConfig read(ConfigReader r) {
    return new ResponseCacheConfig(r.bool("enabled", true), r.integer("max_size_mb", 256),
        r.duration("ttl", Duration.ofHours(1)), r.string("storage", MEMORY), r.bool("shared", false));
  }

  public JsonObject toJson() {
    return new JsonObject().put("enabled", enabled).put("max_size_mb", maxSizeMb).put("ttl", JsonOut.duration(ttl))
        .put("storage", storage).put("shared", shared);
  }
}
