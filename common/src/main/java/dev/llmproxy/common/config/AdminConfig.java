package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * {@code admin}: an empty {@code listen} mounts the admin API on the main server; {@code allowedIps}
 * (IPs or CIDRs), when not empty, restricts who may call it.
 */
public record AdminConfig(boolean enabled, String token, String listen, String dbPath, List<String> allowedIps) {

  public AdminConfig {
    allowedIps = Immutables.list(allowedIps);
  }

  static AdminConfig read(ConfigReader r) {
    return new AdminConfig(
        r.bool("enabled", false),
        r.string("token", ""),
        r.string("listen", ""),
        r.string("db_path", "./data/keys.db"),
        r.strings("allowed_ips", List.of()));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("token", token)
        .put("listen", listen)
        .put("db_path", dbPath)
        .put("allowed_ips", JsonOut.array(allowedIps));
  }
}
