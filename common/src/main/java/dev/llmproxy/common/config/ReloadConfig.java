package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;

/**
 * {@code reload} (ours): with {@code watch}, the member reads its config file every {@code scan_period} and, when the
 * file's content changed, reloads it as SIGHUP does (validated whole, then applied on every member of the cluster).
 * Off by default.
 */
public record ReloadConfig(boolean watch, Duration scanPeriod) {

  static ReloadConfig read(ConfigReader r) {
    return new ReloadConfig(
        r.bool("watch", false),
        r.duration("scan_period", Duration.ofSeconds(5)));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("watch", watch)
        .put("scan_period", JsonOut.duration(scanPeriod));
  }
}
