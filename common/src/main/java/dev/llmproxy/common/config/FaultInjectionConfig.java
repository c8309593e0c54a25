package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * {@code fault_injection} (ours, after Envoy's fault filter): faults injected on purpose into live API traffic, to
 * prove retries, fallback, passive ejection and usage estimates. Off by default; never applied to {@code /admin} or
 * {@code /health} (those never walk the API chain).
 */
public record FaultInjectionConfig(boolean enabled, List<FaultConfig> faults) {

  public FaultInjectionConfig {
    faults = Immutables.list(faults);
  }

  /** On and with something to inject. */
  public boolean active() {
    return enabled && !faults.isEmpty();
  }

  static FaultInjectionConfig read(ConfigReader r) {
    return new FaultInjectionConfig(r.bool("enabled", false), r.list("faults", FaultConfig::read, List.of()));
  }

  /** One line for the loud warning at start and on reload. */
  public String describe() {
    StringBuilder out = new StringBuilder();
    for (FaultConfig f : faults) {
      out.append(out.length() == 0 ? "" : "; ").append(f.describe());
    }
    return out.toString();
  }

  public JsonObject toJson() {
    return new JsonObject().put("enabled", enabled).put("faults", JsonOut.array(faults, FaultConfig::toJson));
  }
}
