package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;

/**
 * {@code health_check}: active checks of every backend. A config with a {@code health_check} block has them on
 * unless it says {@code enabled: false}; a config without the block has them off, as the original (which never ran
 * them) behaved: the seed's minimal config points at Ollama, which has no {@code /health}, and must keep working.
 */
public record HealthCheckConfig(boolean enabled, Duration interval, Duration timeout, String method, String path,
    int expectedStatus, int unhealthyThreshold, int healthyThreshold, ScriptConfig script) {

  /** @param present whether the config has a {@code health_check} block at all */
  static HealthCheckConfig read(ConfigReader r, boolean present) {
    return new HealthCheckConfig(
        r.bool("enabled", present),
        r.duration("interval", Duration.ofSeconds(30)),
        r.duration("timeout", Duration.ofSeconds(5)),
        r.string("method", "GET"),
        r.string("path", "/health"),
        r.integer("expected_status", 200),
        r.integer("unhealthy_threshold", 3),
        r.integer("healthy_threshold", 2),
        r.section("script", s -> ScriptConfig.read(s, ScriptConfig.DEFAULT)));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("interval", JsonOut.duration(interval))
        .put("timeout", JsonOut.duration(timeout))
        .put("method", method)
        .put("path", path)
        .put("expected_status", expectedStatus)
        .put("unhealthy_threshold", unhealthyThreshold)
        .put("healthy_threshold", healthyThreshold)
        .put("script", script.toJson());
  }
}
