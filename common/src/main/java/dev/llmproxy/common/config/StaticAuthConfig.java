package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/** {@code auth.pipeline[].static}: keys written in the config file. */
public record StaticAuthConfig(List<ApiKeyConfig> keys) {

  public StaticAuthConfig {
    keys = Immutables.list(keys);
  }

  static StaticAuthConfig read(ConfigReader r) {
    return new StaticAuthConfig(r.list("keys", ApiKeyConfig::read, List.of()));
  }

  public JsonObject toJson() {
    return new JsonObject().put("keys", JsonOut.array(keys, ApiKeyConfig::toJson));
  }
}
