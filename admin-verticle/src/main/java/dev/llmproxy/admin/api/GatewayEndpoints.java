package dev.llmproxy.admin.api;

import dev.llmproxy.admin.api.AdminApi.Route;
import dev.llmproxy.admin.gateway.ConfigRedaction;
import dev.llmproxy.admin.gateway.RunningConfig;
import dev.llmproxy.common.bus.AdminCall;
import dev.llmproxy.common.bus.Addresses;
import io.vertx.core.Deployable;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.internal.deployment.DeploymentContext;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The gateway as a whole: {@code GET /admin/backends} (discovery's snapshot with the proxy's live view),
 * {@code GET /admin/config} (redacted), {@code POST /admin/config/reload} and {@code GET /admin/status}.
 */
public final class GatewayEndpoints {

  /** Both answers come from in-memory state; a verticle that takes longer is not answering. */
  private static final DeliveryOptions ASK = new DeliveryOptions().setSendTimeout(3_000);
  /** A reload replaces verticles and waits for their first discovery and health checks: give it time. */
  private static final DeliveryOptions RELOAD_WAIT = new DeliveryOptions().setSendTimeout(120_000);

  private final Vertx vertx;
  private final RunningConfig config;
  private final String version;
  private final Instant startedAt;

  public GatewayEndpoints(Vertx vertx, RunningConfig config, String version, Instant startedAt) {
    this.vertx = vertx;
    this.config = config;
    this.version = version;
    this.startedAt = startedAt;
  }

  public Map<String, Route> routes() {
    Map<String, Route> routes = new LinkedHashMap<>();
    routes.put("/admin/backends", Route.get(this::backends));
    routes.put("/admin/config", Route.get(this::config));
    routes.put("/admin/config/reload", Route.post(this::reload));
    routes.put("/admin/status", Route.get(this::status));
    return routes;
  }

  /**
   * Each backend of discovery's current snapshot with the proxy's stats for its URL. Without a proxy to ask the
   * snapshot still answers ({@code live_stats: false}); without discovery there is nothing to show (503). In a
   * cluster, {@code members} adds every proxy member's own view ({@link #proxyMembers}).
   */
  private Future<AdminCall.Response> backends(JsonObject ignored) {
    Future<JsonArray> members = vertx.isClustered() ? proxyMembers() : Future.succeededFuture(null);
    Future<JsonObject> merged = mergedView();
    return Future.all(members, merged).map(both -> {
      JsonObject data = merged.result();
      if (members.result() != null) {
        data.put("members", members.result());
      }
      return Replies.ok("ok", data);
    });
  }

  /** Discovery's snapshot with the live stats of one proxy (any member's: they differ by member in a cluster). */
  private Future<JsonObject> mergedView() {
    Future<JsonObject> snapshot = vertx.eventBus().<JsonObject>request(Addresses.BACKENDS_CURRENT, null, ASK)
        .map(reply -> reply.body())
        .recover(failure -> Future.failedFuture(new AdminError(503, "discovery is not answering: "
            + failure.getMessage())));
    Future<JsonObject> stats = vertx.eventBus().<JsonObject>request(Addresses.BACKENDS_STATS, new JsonObject(), ASK)
        .map(reply -> reply.body())
        .otherwise((JsonObject) null);
    return Future.all(snapshot, stats).map(both -> {
      Map<String, JsonObject> live = new HashMap<>();
      JsonObject liveStats = stats.result();
      if (liveStats != null) {
        for (Object o : liveStats.getJsonArray("backends", new JsonArray())) {
          if (o instanceof JsonObject s && s.getString("url") != null) {
            live.put(s.getString("url"), s);
          }
        }
      }
      JsonArray backends = new JsonArray();
      for (Object o : snapshot.result().getJsonArray("backends", new JsonArray())) {
        if (!(o instanceof JsonObject backend)) {
          continue;
        }
        // the headers the gateway adds for a backend are often its credentials
        JsonObject shown = ConfigRedaction.redact(new JsonObject().put("headers",
            backend.getJsonObject("headers", new JsonObject())));
        JsonObject merged = backend.copy().put("headers", shown.getJsonObject("headers"));
        JsonObject seen = live.get(backend.getString("url"));
        if (seen != null) {
          merged.put("in_flight", seen.getValue("in_flight"))
              .put("latency_ms", seen.getValue("latency_ms"))
              .put("ejected", seen.getValue("ejected"))
              .put("engine_load", seen.getValue("engine_load"));
        }
        backends.add(merged);
      }
      return new JsonObject().put("version", snapshot.result().getValue("version"))
          .put("live_stats", liveStats != null).put("backends", backends);
    });
  }

  /**
   * Every proxy member's own view of the backends ({@link Addresses#BACKENDS_STATS_MEMBER_PREFIX}), by member:
   * {@code [{"node_id", "host", "port", "reachable": true, "backends": [...]}]}; a member that does not answer its
   * member info or its stats within {@value #MEMBER_INFO_TIMEOUT_MS} ms is listed {@code "reachable": false} with why,
   * never waited for longer. Members that run no proxy are left out.
   */
  private Future<JsonArray> proxyMembers() {
    JsonArray nodes = new JsonArray();
    if (vertx instanceof VertxInternal internal && internal.clusterManager() != null) {
      internal.clusterManager().getNodes().stream().sorted().forEach(nodes::add);
    }
    DeliveryOptions quick = new DeliveryOptions().setSendTimeout(MEMBER_INFO_TIMEOUT_MS);
    return memberDetails(nodes).compose(details -> {
      List<Future<JsonObject>> views = new ArrayList<>();
      for (Object o : details) {
        JsonObject member = (JsonObject) o;
        String node = member.getString("node_id");
        if (member.containsKey("error")) {
          views.add(Future.succeededFuture(new JsonObject().put("node_id", node).put("reachable", false)
              .put("error", member.getString("error"))));
          continue;
        }
        if (!member.getJsonArray("roles", new JsonArray()).contains("proxy")) {
          continue;
        }
        JsonObject view = new JsonObject().put("node_id", node).put("host", member.getValue("host"))
            .put("port", member.getValue("port"));
        views.add(vertx.eventBus().<JsonObject>request(Addresses.BACKENDS_STATS_MEMBER_PREFIX + node, null, quick)
            .map(reply -> view.put("reachable", true)
                .put("backends", reply.body().getJsonArray("backends", new JsonArray())))
            .otherwise(failure -> view.put("reachable", false).put("error", "no answer from this member's proxy: "
                + failure.getMessage())));
      }
      return Future.join(views).map(done -> {
        JsonArray out = new JsonArray();
        views.forEach(f -> out.add(f.result()));
        return out;
      });
    });
  }

  private Future<AdminCall.Response> config(JsonObject ignored) {
    return Future.succeededFuture(Replies.ok("ok", ConfigRedaction.redact(config.current().toJson())));
  }

  /**
   * Asks the launcher of this JVM to read the file again and apply it everywhere; answers once it has taken effect
   * (or not, and then nothing changed): 200 applied, 400 an invalid file, 409 {@code reload_in_progress} another
   * reload held the cluster's reload lock longer than {@code reload.lock_timeout}, 500 a part that could not apply it.
   */
  private Future<AdminCall.Response> reload(JsonObject ignored) {
    if (config.path() == null) {
      throw AdminError.badRequest("the gateway was not started from a config file; nothing to reload");
    }
    return vertx.eventBus().<JsonObject>request(Addresses.CONFIG_APPLY, new JsonObject(), RELOAD_WAIT)
        .map(reply -> {
          JsonObject outcome = reply.body();
          if (outcome.getBoolean("ok", false)) {
            String message = outcome.getJsonArray("restart_required", new JsonArray()).isEmpty()
                ? "config reloaded: version " + outcome.getLong("version")
                : "config reloaded: version " + outcome.getLong("version") + "; some fields wait for a restart";
            return Replies.ok(message, outcome.put("path", config.path()));
          }
          if ("reload_in_progress".equals(outcome.getString("error_code"))) {
            return Replies.error(409, outcome.getString("error"), new JsonObject().put("code", "reload_in_progress"));
          }
          JsonArray errors = outcome.getJsonArray("errors");
          if (errors != null) {
            return Replies.error(400, "invalid config, the running one stays: " + join(errors),
                new JsonObject().put("errors", errors).put("warnings", outcome.getJsonArray("warnings")));
          }
          return Replies.error(500, "the reload could not be applied, the running config stays: "
              + outcome.getString("error"), outcome);
        })
        .recover(failure -> Future.succeededFuture(
            failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.TIMEOUT
                ? Replies.error(504, "the reload did not finish in time; it may still take effect: see GET /admin/status")
                : Replies.error(503, "config reload is not available in this process: " + failure.getMessage())));
  }

  private static String join(JsonArray values) {
    return String.join("; ", values.stream().map(String::valueOf).toList());
  }

  /** Each deployment's id, and the verticle class and instance count where Vert.x tells them. */
  private JsonArray deployments() {
    JsonArray out = new JsonArray();
    for (String id : vertx.deploymentIDs().stream().sorted().toList()) {
      JsonObject deployment = new JsonObject().put("id", id);
      DeploymentContext context = vertx instanceof VertxInternal internal
          ? internal.deploymentManager().deployment(id) : null;
      if (context != null) {
        Set<Deployable> instances = context.deployment().instances();
        deployment.put("verticle", instances.isEmpty() ? null : instances.iterator().next().getClass().getSimpleName())
            .put("instances", instances.size());
      }
      out.add(deployment);
    }
    return out;
  }

  private static final long MEMBER_INFO_TIMEOUT_MS = 2_000;

  private Future<AdminCall.Response> status(JsonObject ignored) {
    JsonArray members = new JsonArray();
    if (vertx.isClustered() && vertx instanceof VertxInternal internal && internal.clusterManager() != null) {
      internal.clusterManager().getNodes().forEach(members::add);
    }
    return memberDetails(members).map(details -> statusReply(members, details));
  }

  /** What each member runs, as its launcher answers; a member that does not answer in time says so. */
  private Future<JsonArray> memberDetails(JsonArray nodes) {
    DeliveryOptions quick = new DeliveryOptions().setSendTimeout(MEMBER_INFO_TIMEOUT_MS);
    List<Future<JsonObject>> asked = new ArrayList<>();
    for (Object node : nodes) {
      asked.add(vertx.eventBus().<JsonObject>request(Addresses.MEMBER_INFO_PREFIX + node, null, quick)
          .map(reply -> reply.body())
          .otherwise(failure -> new JsonObject().put("node_id", node).put("error", "no answer from this member")));
    }
    return Future.join(asked).map(done -> {
      JsonArray details = new JsonArray();
      asked.forEach(f -> details.add(f.result()));
      return details;
    });
  }

  private AdminCall.Response statusReply(JsonArray members, JsonArray details) {
    Instant now = Instant.now();
    JsonObject data = new JsonObject()
        .put("version", version)
        .put("started_at", startedAt.toString())
        .put("uptime_seconds", Duration.between(startedAt, now).toSeconds())
        .put("verticles", vertx.deploymentIDs().size())
        .put("deployments", deployments())
        .put("clustered", vertx.isClustered())
        .put("cluster_members", members)
        .put("members", details)
        .put("config_path", config.path())
        .put("config_version", config.version());
    return Replies.ok("ok", data);
  }
}
