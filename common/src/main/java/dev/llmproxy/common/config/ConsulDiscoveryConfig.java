package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;

/** {@code discovery.sources[].consul}; a zero {@code interval} means {@code discovery.interval}. */
public record ConsulDiscoveryConfig(String addr, String service, String tag, Duration interval, String token,
    String datacenter) {

  static ConsulDiscoveryConfig read(ConfigReader r) {
    return new ConsulDiscoveryConfig(
        r.string("addr", ""),
        r.string("service", ""),
        r.string("tag", ""),
        r.duration("interval", Duration.ZERO),
        r.string("token", ""),
        r.string("datacenter", ""));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("addr", addr)
        .put("service", service)
        .put("tag", tag)
        .put("interval", JsonOut.duration(interval))
        .put("token", token)
        .put("datacenter", datacenter);
  }
}
