package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/** {@code auth.pipeline[].redis}: key records at {@code keyPattern} ({@code {api_key}} is replaced) in a cache. */
public record RedisAuthConfig(String storage, String keyPattern) {

  static RedisAuthConfig read(ConfigReader r) {
    return new RedisAuthConfig(r.string("storage", ""), r.string("key_pattern", "llmproxy:key:{api_key}"));
  }

  public JsonObject toJson() {
    return new JsonObject().put("storage", storage).put("key_pattern", keyPattern);
  }
}
