package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;

/**
 * {@code reload} (ours): with {@code watch}, the member reads its config file every {@code scan_period} and, when the
 * file's content changed, reloads it as SIGHUP does (validated whole, then applied on every member of the cluster).
 * Off by default. {@code lock_timeout}: reloads are ordered cluster-wide by one lock; a reload asked for while another
 * runs (on any member) waits for it this long, then is refused ({@code 409 reload_in_progress}).
 */
public record ReloadConfig(boolean watch, Duration scanPeriod, Duration lockTimeout) {

  /**
   * The longest {@code lock_timeout}: with the longest wait for the members' outcomes (90 s) it stays under the admin
   * API's wait for a reload's reply (120 s), so that a queued reload is answered, not timed out.
   */
  public static final Duration MAX_LOCK_TIMEOUT = Duration.ofSeconds(25);

  static ReloadConfig read(ConfigReader r) {
    return new ReloadConfig(
        r.bool("watch", false),
        r.duration("scan_period", Duration.ofSeconds(5)),
        r.duration("lock_timeout", Duration.ofSeconds(20)));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("watch", watch)
        .put("scan_period", JsonOut.duration(scanPeriod))
        .put("lock_timeout", JsonOut.duration(lockTimeout));
  }
}
