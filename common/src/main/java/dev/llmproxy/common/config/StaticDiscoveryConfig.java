package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/** {@code discovery.sources[].static}. */
public record StaticDiscoveryConfig(List<BackendConfig> backends) {

  public StaticDiscoveryConfig {
    backends = Immutables.list(backends);
  }

  static StaticDiscoveryConfig read(ConfigReader r) {
    return new StaticDiscoveryConfig(r.list("backends", BackendConfig::read, List.of()));
  }

  public JsonObject toJson() {
    return new JsonObject().put("backends", JsonOut.array(backends, BackendConfig::toJson));
  }
}
