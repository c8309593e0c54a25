package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/** {@code usage}: every record goes to the journal at {@code journalPath} first, then to the reporters. */
public record UsageConfig(boolean enabled, String journalPath, List<ReporterConfig> reporters) {

  public UsageConfig {
    reporters = Immutables.list(reporters);
  }

  static UsageConfig read(ConfigReader r) {
    return new UsageConfig(
        r.bool("enabled", false),
        r.string("journal_path", "./data/usage-journal"),
        r.list("reporters", ReporterConfig::read, List.of()));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("journal_path", journalPath)
        .put("reporters", JsonOut.array(reporters, ReporterConfig::toJson));
  }
}
