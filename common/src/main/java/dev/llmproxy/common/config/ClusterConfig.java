package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * {@code cluster} (ours): whether this JVM joins a Vert.x cluster (Hazelcast, TCP/IP join, no multicast), the
 * cluster's {@code name}, the {@code host} and {@code port} this member binds and advertises, the {@code members}
 * ("host:port") to join, and the {@code roles} (verticles) this JVM deploys. Off, one JVM deploys every verticle.
 * {@code usageHandover}: where a proxy member without the usage role keeps its records until a usage member takes them.
 */
public record ClusterConfig(boolean enabled, String name, String host, int port, List<String> members,
    List<String> roles, UsageHandoverConfig usageHandover) {

  public static final String PROXY = "proxy";
  public static final String AUTH = "auth";
  public static final String DISCOVERY = "discovery";
  /** The usage verticle and, with {@code logging.request}, the request log that goes with it. */
  public static final String USAGE = "usage";
  public static final String ADMIN = "admin";
  public static final List<String> ALL_ROLES = List.of(PROXY, AUTH, DISCOVERY, USAGE, ADMIN);

  public ClusterConfig {
    members = Immutables.list(members);
    roles = Immutables.list(roles);
  }

  static ClusterConfig read(ConfigReader r) {
    return new ClusterConfig(
        r.bool("enabled", false),
        r.string("name", "llmproxy"),
        r.string("host", "127.0.0.1"),
        r.integer("port", 5701),
        r.strings("members", List.of()),
        r.strings("roles", ALL_ROLES),
        r.section("usage_handover", UsageHandoverConfig::read));
  }

  /** Whether this JVM deploys {@code role}: always, when not clustered. */
  public boolean runs(String role) {
    return !enabled || roles.contains(role);
  }

  /** Whether this JVM keeps its proxies' usage records in a journal of its own: it runs proxy, not usage. */
  public boolean handsOverUsage() {
    return runs(PROXY) && !runs(USAGE);
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("enabled", enabled)
        .put("name", name)
        .put("host", host)
        .put("port", port)
        .put("members", JsonOut.array(members))
        .put("roles", JsonOut.array(roles))
        .put("usage_handover", usageHandover.toJson());
  }
}
