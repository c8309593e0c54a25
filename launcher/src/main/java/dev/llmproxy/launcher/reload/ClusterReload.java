package dev.llmproxy.launcher.reload;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.GatewayConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The member where a reload is asked for coordinates it over the whole cluster (one JVM is a cluster of one): it
 * publishes the validated config on {@link Addresses#CONFIG_CHANGED}, waits for every member's outcome, and when a
 * member failed (or did not answer in time) asks every member that applied it to go back to what it ran before. The
 * reply names each member's outcome; it is ok only when every member applied the config.
 */
public final class ClusterReload {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterReload.class);
  /** Under the admin API's wait for a reload (120 s), so that a member that never answers is reported by name. */
  static final long APPLY_WAIT_MS = 90_000;
  static final long ROLL_BACK_WAIT_MS = 25_000;

  private final Vertx vertx;
  private final Supplier<Collection<String>> members;
  private Future<?> coordinating = Future.succeededFuture();

  /** @param members the node ids of the cluster's members now (this one included) */
  public ClusterReload(Vertx vertx, Supplier<Collection<String>> members) {
    this.vertx = vertx;
    this.members = members;
  }

  /**
   * Applies {@code next} (read and validated whole) on every member, all or nothing; one reload coordinated here at
   * a time.
   *
   * @param version the version the members take (a member already past it takes its own next one)
   */
  public synchronized Future<JsonObject> reload(GatewayConfig next, long version) {
    Promise<JsonObject> result = Promise.promise();
    coordinating = coordinating.eventually(() -> run(next, version).onComplete(result));
    return result.future();
  }

  private Future<JsonObject> run(GatewayConfig next, long version) {
    String id = UUID.randomUUID().toString();
    Set<String> expected = new TreeSet<>(members.get());
    JsonObject apply = new JsonObject().put("phase", "apply").put("config", next.toJson()).put("version", version);
    return phase(id, expected, apply, APPLY_WAIT_MS).compose(results -> {
      List<JsonObject> failed = results.values().stream().filter(r -> !ok(r)).toList();
      if (failed.isEmpty()) {
        return Future.succeededFuture(summary(true, results, null));
      }
      String why = failed.stream().map(ClusterReload::describe).reduce((a, b) -> a + "; " + b).orElse("");
      Set<String> toRollBack = new TreeSet<>();
      results.forEach((node, r) -> {
        if (ok(r)) {
          toRollBack.add(node);
        }
      });
      LOG.error("config reload {} failed on {} member(s), every member goes back to the previous config: {}", id,
          failed.size(), why);
      return phase(id, toRollBack, new JsonObject().put("phase", "roll_back"), ROLL_BACK_WAIT_MS).map(back -> {
        List<String> stuck = back.values().stream().filter(r -> !ok(r)).map(ClusterReload::describe).toList();
        String error = "not applied: " + why + "; every member went back to its previous config"
            + (stuck.isEmpty() ? "" : ", except: " + String.join("; ", stuck));
        JsonObject summary = summary(false, results, error);
        back.forEach((node, r) -> summary.getJsonArray("members").stream().map(JsonObject.class::cast)
            .filter(m -> node.equals(m.getString("node_id")))
            .forEach(m -> m.put("rolled_back", ok(r)).put("version", r.getJsonObject("outcome").getLong("version"))));
        return summary.put("version", summary.getJsonArray("members").stream()
            .mapToLong(m -> ((JsonObject) m).getLong("version", 0L)).max().orElse(0));
      });
    });
  }

  /**
   * Publishes one phase and gathers one answer from each expected member; a member that has not answered within
   * {@code waitMs} counts as failed.
   */
  private Future<Map<String, JsonObject>> phase(String id, Set<String> expected, JsonObject body, long waitMs) {
    if (expected.isEmpty()) {
      return Future.succeededFuture(Map.of());
    }
    String phase = body.getString("phase");
    String replyTo = Addresses.CONFIG_RESULT_PREFIX + id + "." + phase;
    Map<String, JsonObject> results = new LinkedHashMap<>();
    Promise<Map<String, JsonObject>> done = Promise.promise();
    MessageConsumer<JsonObject> answers = vertx.eventBus().consumer(replyTo, message -> {
      synchronized (results) {
        results.put(message.body().getString("node_id"), message.body());
        if (results.keySet().containsAll(expected)) {
          done.tryComplete(new LinkedHashMap<>(results));
        }
      }
    });
    long timer = vertx.setTimer(waitMs, t -> {
      synchronized (results) {
        for (String node : expected) {
          results.computeIfAbsent(node, n -> new JsonObject().put("node_id", n).put("outcome", new JsonObject()
              .put("ok", false).put("error", "no answer to " + phase + " within " + waitMs / 1000 + " s")));
        }
        done.tryComplete(new LinkedHashMap<>(results));
      }
    });
    answers.completion()
        .onSuccess(v -> vertx.eventBus().publish(Addresses.CONFIG_CHANGED,
            body.copy().put("reload_id", id).put("reply_to", replyTo)))
        .onFailure(done::tryFail);
    return done.future().andThen(v -> {
      vertx.cancelTimer(timer);
      answers.unregister();
    });
  }

  private static boolean ok(JsonObject result) {
    return result.getJsonObject("outcome", new JsonObject()).getBoolean("ok", false);
  }

  private static String describe(JsonObject result) {
    JsonObject outcome = result.getJsonObject("outcome", new JsonObject());
    JsonArray roles = result.getJsonArray("roles");
    return "member " + result.getString("node_id") + (roles == null ? "" : " (" + String.join(",",
        roles.stream().map(String::valueOf).toList()) + ")") + ": " + outcome.getString("error", "failed");
  }

  /**
   * The reply: each member's outcome, and over all of them the sections that changed, the fields that wait for a
   * restart, the verticles that applied it, and the highest version a member now runs.
   */
  private static JsonObject summary(boolean ok, Map<String, JsonObject> results, String error) {
    Set<String> changed = new TreeSet<>();
    Set<String> restart = new LinkedHashSet<>();
    Set<String> applied = new LinkedHashSet<>();
    long version = 0;
    JsonArray members = new JsonArray();
    List<JsonObject> ordered = new ArrayList<>(results.values());
    for (JsonObject result : ordered) {
      JsonObject outcome = result.getJsonObject("outcome", new JsonObject());
      strings(outcome, "changed", changed);
      strings(outcome, "restart_required", restart);
      strings(outcome, "applied", applied);
      version = Math.max(version, outcome.getLong("version", 0L));
      members.add(outcome.copy().put("node_id", result.getString("node_id"))
          .put("roles", result.getJsonArray("roles", new JsonArray())));
    }
    JsonObject summary = new JsonObject().put("ok", ok).put("version", version).put("changed", new JsonArray(
            new ArrayList<>(changed))).put("restart_required", new JsonArray(new ArrayList<>(restart)))
        .put("applied", new JsonArray(new ArrayList<>(applied))).put("members", members);
    return error == null ? summary : summary.put("error", error);
  }

  private static void strings(JsonObject outcome, String field, Collection<String> into) {
    outcome.getJsonArray(field, new JsonArray()).forEach(v -> into.add(String.valueOf(v)));
  }
}
