package dev.llmproxy.launcher.reload;

import dev.llmproxy.common.config.GatewayConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a reload changes: the sections that differ, the fields that only a restart applies (kept at their running
 * value, and named in the reply), the config that will run, and which verticles must take it.
 */
public record ReloadPlan(List<String> changedSections, List<String> restartRequired, GatewayConfig effective,
    boolean proxy, boolean auth, boolean discovery, boolean logs) {

  /**
   * Fields fixed for the life of the process: the listening sockets and their options, the admin API (its own
   * server and store), the metrics registry, the cluster membership and the roles this member deploys, the file watcher, the tracer (built into the Vert.x
   * instance). A reload that changes one reports it and
   * applies the rest.
   */
  static final List<String> RESTART_ONLY = List.of("server.listen", "server.read_timeout", "server.write_timeout",
      "server.idle_timeout",
      "server.max_header_bytes", "server.tls", "server.http2", "server.h2c", "admin", "metrics", "usage", "logging.request", "cluster", "reload",
      "tracing");

  /**
   * The usage verticle and the request log are not replaced while running: a record sent at the moment their
   * consumer is unregistered would be discarded by the event bus, and usage must lose nothing. Quota charging reads
   * {@code auth.pipeline} and {@code storage} too, so a change there is named as waiting for a restart as well.
   */
  static final String QUOTA_CHARGING = "usage: quota charging keeps the auth.pipeline and storage it started with";

  public static ReloadPlan between(GatewayConfig running, GatewayConfig next) {
    JsonObject before = running.toJson();
    JsonObject after = next.toJson();
    List<String> restart = new ArrayList<>();
    for (String path : RESTART_ONLY) {
      Object was = at(before, path);
      Object now = at(after, path);
      if (!java.util.Objects.equals(was, now)) {
        restart.add(path);
        put(after, path, was);
      }
    }
    if (differs(chargingView(before), chargingView(after))) {
      restart.add(QUOTA_CHARGING);
    }
    GatewayConfig effective = GatewayConfig.fromJson(after);
    Set<String> changed = new TreeSet<>();
    for (String section : after.fieldNames()) {
      if (!java.util.Objects.equals(before.getValue(section), after.getValue(section))) {
        changed.add(section);
      }
    }
    return new ReloadPlan(List.copyOf(changed), List.copyOf(restart), effective,
        differs(proxyView(before), proxyView(after)),
        differs(view(before, "auth", "storage"), view(after, "auth", "storage")),
        differs(view(before, "backends", "providers", "discovery", "health_check", "routing", "storage"),
            view(after, "backends", "providers", "discovery", "health_check", "routing", "storage")),
        differs(view(before, "log", "logging"), view(after, "log", "logging")));
  }

  public boolean changesAnything() {
    return !changedSections.isEmpty();
  }

  /** Whether only restart-only fields changed: nothing is applied, the reply says what waits for a restart. */
  public boolean onlyRestartFields() {
    return !proxy && !auth && !discovery && !logs;
  }

  /**
   * The sections a proxy instance reads itself. Backends reach it as discovery's snapshots, usage as records it
   * sends, and the auth pipeline stays behind the auth verticle (its decisions are dropped when keys change).
   */
  private static JsonObject proxyView(JsonObject config) {
    JsonObject view = config.copy();
    // Backends reach a proxy as snapshots, but their upstream keys and Azure settings stay in its config.
    JsonArray access = new JsonArray();
    if (config.getValue("backends") instanceof JsonArray backends) {
      for (Object backend : backends) {
        if (backend instanceof JsonObject b) {
          access.add(new JsonObject().put("name", b.getValue("name")).put("url", b.getValue("url"))
              .put("api_key", b.getValue("api_key")).put("deployments", b.getValue("deployments"))
              .put("api_version", b.getValue("api_version")));
        }
      }
    }
    view.put("backends_access", access);
    for (String other : List.of("backends", "discovery", "health_check", "usage", "log", "admin")) {
      view.remove(other);
    }
    JsonObject auth = view.getJsonObject("auth");
    if (auth != null) {
      for (String providerSide : List.of("pipeline", "mode", "cache_ttl", "negative_cache_ttl")) {
        auth.remove(providerSide);
      }
    }
    return view;
  }

  /** What quota charging reads: {@code auth} and {@code storage}, less the proxy's own {@code quota_enforcement}. */
  private static JsonObject chargingView(JsonObject config) {
    JsonObject view = view(config, "auth", "storage").copy();
    if (view.getValue("auth") instanceof JsonObject auth) {
      auth.remove("quota_enforcement");
    }
    return view;
  }

  private static JsonObject view(JsonObject config, String... sections) {
    JsonObject view = new JsonObject();
    for (String section : sections) {
      view.put(section, config.getValue(section));
    }
    return view;
  }

  private static boolean differs(JsonObject a, JsonObject b) {
    return !a.equals(b);
  }

  private static Object at(JsonObject json, String path) {
    Object current = json;
    for (String part : path.split("\\.")) {
      if (!(current instanceof JsonObject object)) {
        return null;
      }
      current = object.getValue(part);
    }
    return current;
  }

  private static void put(JsonObject json, String path, Object value) {
    String[] parts = path.split("\\.");
    JsonObject current = json;
    for (int i = 0; i < parts.length - 1; i++) {
      current = current.getJsonObject(parts[i]);
    }
    current.put(parts[parts.length - 1], value);
  }
}
