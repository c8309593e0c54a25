package dev.llmproxy.proxy;

import dev.llmproxy.common.model.Backend;
import dev.llmproxy.proxy.balance.BackendStats;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code /ready} (and {@code /health/ready}): started, not draining, and a backend that can serve. Active health
 * (discovery's checks) removes a backend from the snapshot; passive health counts too (ejected, or its last attempt
 * failed). Without a {@code health_check} block and without a recent answer from any backend, nothing has shown one
 * to be up, so the check opens a TCP connection to each (at most one probe round per second, shared by every caller:
 * an open endpoint must not become a way to flood the backends).
 */
final class ReadyCheck {

  private static final long RECENT_ANSWER_NANOS = 10_000_000_000L;
  private static final long PROBE_REUSE_NANOS = 1_000_000_000L;
  private static final int PROBE_TIMEOUT_MS = 1_000;

  /** The answer: its status and its JSON body. */
  record Answer(int status, JsonObject body) {
  }

  private final ExchangeContext context;
  private NetClient probes;
  private Future<Boolean> lastProbe;
  private long lastProbeNanos;

  ReadyCheck(ExchangeContext context) {
    this.context = context;
  }

  Future<Answer> check() {
    JsonObject body = new JsonObject();
    if (!context.environment.accepting()) {
      return Future.succeededFuture(notReady(body, "starting or stopping"));
    }
    long now = System.nanoTime();
    List<Backend> usable = context.router.usable();
    JsonArray backends = new JsonArray();
    List<Backend> candidates = new ArrayList<>();
    boolean answeredRecently = false;
    for (Backend backend : usable) {
      BackendStats stats = context.stats.of(backend);
      boolean down = stats.passivelyDown(now);
      backends.add(new JsonObject().put("name", backend.name()).put("ejected", stats.ejectedAt(now)).put("up", !down));
      if (!down) {
        candidates.add(backend);
        answeredRecently |= stats.answeredWithin(now, RECENT_ANSWER_NANOS);
      }
    }
    body.put("backends", backends).put("active_health_checks", context.config.healthCheck().enabled());
    if (usable.isEmpty()) {
      return Future.succeededFuture(notReady(body, "no usable backend"));
    }
    if (candidates.isEmpty()) {
      return Future.succeededFuture(notReady(body, "every backend is ejected or failing (passive health)"));
    }
    if (context.config.healthCheck().enabled() || answeredRecently) {
      return Future.succeededFuture(ready(body));
    }
    return probe(candidates, now).map(reachable -> {
      body.put("probed", true);
      return reachable ? ready(body) : notReady(body, "no backend accepts connections");
    });
  }

  private Future<Boolean> probe(List<Backend> candidates, long now) {
    if (lastProbe != null && (!lastProbe.isComplete() || now - lastProbeNanos < PROBE_REUSE_NANOS)) {
      return lastProbe;
    }
    if (probes == null) {
      probes = context.vertx.createNetClient(new NetClientOptions().setConnectTimeout(PROBE_TIMEOUT_MS));
    }
    Promise<Boolean> reachable = Promise.promise();
    int[] pending = {candidates.size()};
    for (Backend backend : candidates) {
      URI url;
      try {
        url = URI.create(backend.url());
      } catch (IllegalArgumentException e) {
        if (--pending[0] == 0) {
          reachable.tryComplete(false);
        }
        continue;
      }
      int port = url.getPort() > 0 ? url.getPort() : "https".equalsIgnoreCase(url.getScheme()) ? 443 : 80;
      probes.connect(port, url.getHost()).onComplete(connected -> {
        if (connected.succeeded()) {
          connected.result().close();
          reachable.tryComplete(true);
        } else if (--pending[0] == 0) {
          reachable.tryComplete(false);
        }
      });
    }
    lastProbeNanos = now;
    lastProbe = reachable.future();
    return lastProbe;
  }

  void close() {
    if (probes != null) {
      probes.close();
    }
  }

  private static Answer ready(JsonObject body) {
    return new Answer(200, new JsonObject().put("status", "ready").put("ready", true).mergeIn(body));
  }

  private static Answer notReady(JsonObject body, String why) {
    return new Answer(503, new JsonObject().put("status", why).put("ready", false).mergeIn(body));
  }
}
