package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/**
 * {@code routing.affinity}: keep requests of one session on one backend (good for KV-cache reuse).
 * The session is the value of request header {@code header} when set, else {@code key}: api_key or
 * user_id.
 */
public record AffinityConfig(boolean enabled, String header, String key) {

  static AffinityConfig read(ConfigReader r) {
    return new AffinityConfig(r.bool("enabled", false), r.string("header", ""), r.string("key", "api_key"));
  }

  public JsonObject toJson() {
    return new JsonObject().put("enabled", enabled).put("header", header).put("key", key);
  }
}
