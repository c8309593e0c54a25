package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;

/** {@code discovery}: {@code mode} merge (all sources) or first (first source that answers). */
public record DiscoveryConfig(boolean enabled, String mode, Duration interval, List<DiscoverySourceConfig> sources) {

  public DiscoveryConfig {
    sources = Immutables.list(sources);
  }

  static DiscoveryConfig read(ConfigReader r) {
    return new DiscoveryConfig(
        r.bool("enabled", false),
        r.string("mode", "merge"),
        r.duration("interval", Duration.ofSeconds(30)),
        r.list("sources", DiscoverySourceConfig::read, List.of()));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("mode", mode)
        .put("interval", JsonOut.duration(interval))
        .put("sources", JsonOut.array(sources, DiscoverySourceConfig::toJson));
  }
}
