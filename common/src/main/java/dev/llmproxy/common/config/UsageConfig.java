package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;

/**
 * {@code usage}: every record goes to the journal at {@code journalPath} first, then to the reporters.
 * {@code journalFsyncInterval} (ours): the journal fsyncs at most once per interval, every record received
 * meanwhile in the same write.
 */
public record UsageConfig(boolean enabled, String journalPath, Duration journalFsyncInterval,
    List<ReporterConfig> reporters) {

  public static final Duration DEFAULT_JOURNAL_FSYNC_INTERVAL = Duration.ofMillis(5);

  public UsageConfig {
    reporters = Immutables.list(reporters);
  }

  static UsageConfig read(ConfigReader r) {
    return new UsageConfig(
        r.bool("enabled", false),
        r.string("journal_path", "./data/usage-journal"),
        r.duration("journal_fsync_interval", DEFAULT_JOURNAL_FSYNC_INTERVAL),
        r.list("reporters", ReporterConfig::read, List.of()));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("journal_path", journalPath)
        .put("journal_fsync_interval", JsonOut.duration(journalFsyncInterval))
        .put("reporters", JsonOut.array(reporters, ReporterConfig::toJson));
  }
}
