package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;

/** {@code routing.retry}: exponential backoff; {@code retryOn} holds 5xx, connect_failure, timeout (or exact codes). */
public record RetryConfig(boolean enabled, int maxRetries, Duration initialWait, Duration maxWait, double multiplier,
    List<String> retryOn) {

  public RetryConfig {
    retryOn = Immutables.list(retryOn);
  }

  static RetryConfig read(ConfigReader r) {
    return new RetryConfig(
        r.bool("enabled", true),
        r.integer("max_retries", 3),
        r.duration("initial_wait", Duration.ofSeconds(1)),
        r.duration("max_wait", Duration.ofSeconds(10)),
        r.decimal("multiplier", 2.0),
        r.strings("retry_on", List.of("5xx", "connect_failure", "timeout")));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("max_retries", maxRetries)
        .put("initial_wait", JsonOut.duration(initialWait))
        .put("max_wait", JsonOut.duration(maxWait))
        .put("multiplier", multiplier)
        .put("retry_on", JsonOut.array(retryOn));
  }
}
