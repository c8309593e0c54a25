package dev.llmproxy.discovery.health;

import dev.llmproxy.common.config.HealthCheckConfig;
import dev.llmproxy.common.lua.LuaSandbox;
import dev.llmproxy.common.lua.LuaScript;
import dev.llmproxy.common.model.Backend;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Active health checks ({@code health_check}): every {@code interval}, {@code method path} on each backend within
 * {@code timeout}; {@code expected_status} (or the Lua {@code script}, which sees the response) says whether it
 * passed. A backend's first check decides its health at once, so {@code /ready} means a backend answered; after
 * that it turns unhealthy after {@code unhealthy_threshold} failures in a row and healthy again after
 * {@code healthy_threshold} passes in a row. A backend never seen healthy (one started after the gateway, a model
 * still loading) is checked again after 1 s, then 2, 4, ... up to 15 s or the interval, and its first pass makes it
 * healthy at once: the thresholds guard against flapping of a backend that worked, not against one that starts.
 * Backends are known by URL. Lives on the discovery verticle's loop.
 */
public final class HealthChecker {

  private static final Logger LOG = LoggerFactory.getLogger(HealthChecker.class);
  /** A health endpoint's body is small; a script never needs more of it. */
  private static final int MAX_BODY = 64 * 1024;
  static final long FIRST_RETRY_MS = 1_000;
  static final long MAX_RETRY_MS = 15_000;

  private final Vertx vertx;
  private final HealthCheckConfig config;
  private final LuaScript script;
  private final LuaSandbox sandbox;
  private final Runnable onChange;
  private final HttpClient client;
  private final Map<String, State> states = new LinkedHashMap<>();
  private long timer = -1;

  /** One backend's standing. */
  private static final class State {
    Backend backend;
    boolean healthy;
    int passes;
    int failures;
    boolean checking;
    /** It passed a check once: from then on the thresholds apply. */
    boolean everHealthy;
    /** The wait before the next quick check of a backend never seen healthy. */
    long retryMs = FIRST_RETRY_MS;
    long retryTimer = -1;

    State(Backend backend) {
      this.backend = backend;
    }
  }

  /**
   * @param script   null without a {@code health_check.script}
   * @param onChange called when a backend's health flipped
   */
  public HealthChecker(Vertx vertx, HealthCheckConfig config, LuaScript script, LuaSandbox sandbox, Runnable onChange) {
    this.vertx = vertx;
    this.config = config;
    this.script = script;
    this.sandbox = sandbox;
    this.onChange = onChange;
    this.client = vertx.createHttpClient();
  }

  public void start() {
    timer = vertx.setPeriodic(config.interval().toMillis(), id -> checkAll());
  }

  /**
   * Follows exactly these backends from now on: new ones get their first check now (the future completes when
   * those are done), vanished ones are forgotten.
   */
  public Future<Void> track(List<Backend> backends) {
    Map<String, Backend> byUrl = new LinkedHashMap<>();
    backends.forEach(b -> byUrl.putIfAbsent(b.url(), b));
    states.entrySet().removeIf(entry -> {
      if (byUrl.containsKey(entry.getKey())) {
        return false;
      }
      cancelRetry(entry.getValue());
      return true;
    });
    List<Future<Void>> first = new ArrayList<>();
    byUrl.forEach((url, backend) -> {
      State state = states.get(url);
      if (state == null) {
        State fresh = new State(backend);
        states.put(url, fresh);
        first.add(check(fresh, true));
      } else {
        state.backend = backend;
      }
    });
    return Future.join(first).mapEmpty();
  }

  /** The backend's health as checked; true for a backend not (yet) tracked. */
  public boolean healthy(String url) {
    State state = states.get(url);
    return state == null || state.healthy;
  }

  private void checkAll() {
    for (State state : new ArrayList<>(states.values())) {
      if (!state.checking) {
        check(state, false);
      }
    }
  }

  /** A check's result; {@code cause} says why it failed (null when it passed). */
  private record Verdict(boolean passed, String cause) {

    static final Verdict PASSED = new Verdict(true, null);

    static Verdict failed(String cause) {
      return new Verdict(false, cause);
    }
  }

  private Future<Void> check(State state, boolean first) {
    state.checking = true;
    Backend backend = state.backend;
    long started = System.nanoTime();
    return probe(backend)
        .map(response -> judge(backend, response, (System.nanoTime() - started) / 1_000_000))
        .otherwise(failure -> Verdict.failed(failure.getMessage() == null ? failure.getClass().getSimpleName()
            : failure.getMessage()))
        .map(verdict -> {
          state.checking = false;
          if (states.get(backend.url()) != state) {
            return null; // forgotten meanwhile
          }
          if (!verdict.passed()) {
            LOG.debug("health check of {} failed: {}", backend.name(), verdict.cause());
          }
          boolean wasEverHealthy = state.everHealthy;
          if (record(state, verdict.passed(), first)) {
            logFlip(state, verdict, wasEverHealthy);
            if (!first) {
              onChange.run();
            }
          }
          if (!state.everHealthy) {
            retrySoon(state);
          }
          return null;
        });
  }

  private void logFlip(State state, Verdict verdict, boolean wasEverHealthy) {
    Backend backend = state.backend;
    if (state.healthy) {
      LOG.info("backend {} ({}) is healthy{} (health check)", backend.name(), backend.url(),
          wasEverHealthy ? " again" : "");
    } else if (!state.everHealthy) {
      long interval = config.interval().toMillis();
      String next = state.retryMs < interval
          ? "checking again in " + state.retryMs + " ms, then less often up to every " + Math.min(MAX_RETRY_MS, interval)
              + " ms until it answers"
          : "checking again every " + interval + " ms";
      LOG.warn("backend {} is unhealthy: {} {} failed: {}; {}", backend.name(),
          config.method().toUpperCase(java.util.Locale.ROOT), join(backend.url(), config.path()), verdict.cause(), next);
    } else {
      LOG.warn("backend {} is unhealthy after {} failed checks: {} {} failed: {}", backend.name(), state.failures,
          config.method().toUpperCase(java.util.Locale.ROOT), join(backend.url(), config.path()), verdict.cause());
    }
  }

  /** The next quick check of a backend never seen healthy, unless the steady interval comes as soon. */
  private void retrySoon(State state) {
    long delay = state.retryMs;
    if (state.retryTimer >= 0 || delay >= config.interval().toMillis()) {
      return;
    }
    state.retryMs = Math.min(delay * 2, MAX_RETRY_MS);
    state.retryTimer = vertx.setTimer(delay, id -> {
      state.retryTimer = -1;
      if (states.get(state.backend.url()) == state && !state.checking) {
        check(state, false);
      }
    });
  }

  private void cancelRetry(State state) {
    if (state.retryTimer >= 0) {
      vertx.cancelTimer(state.retryTimer);
      state.retryTimer = -1;
    }
  }

  /** Counts one result; true when the backend's health flipped. */
  private boolean record(State state, boolean passed, boolean first) {
    if (first) {
      state.healthy = passed;
      state.everHealthy = passed;
      state.passes = passed ? 1 : 0;
      state.failures = passed ? 0 : 1;
      return !passed;
    }
    if (passed && !state.everHealthy) {
      state.healthy = true;
      state.everHealthy = true;
      state.passes = 1;
      state.failures = 0;
      return true;
    }
    if (passed) {
      state.passes++;
      state.failures = 0;
      if (!state.healthy && state.passes >= config.healthyThreshold()) {
        state.healthy = true;
        return true;
      }
    } else {
      state.failures++;
      state.passes = 0;
      if (state.healthy && state.failures >= config.unhealthyThreshold()) {
        state.healthy = false;
        return true;
      }
    }
    return false;
  }

  /** A response as the checks see it: status, headers, the start of the body. */
  private record Probe(int status, Map<String, String> headers, String body) {
  }

  private Future<Probe> probe(Backend backend) {
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.valueOf(config.method().toUpperCase(java.util.Locale.ROOT)))
        .setAbsoluteURI(join(backend.url(), config.path()))
        .setConnectTimeout(config.timeout().toMillis())
        .setTimeout(config.timeout().toMillis());
    // hosted backends want their credentials on every call, health checks included
    backend.headers().forEach(options::putHeader);
    return client.request(options)
        .compose(request -> request.send())
        .compose(response -> body(response).map(body -> new Probe(response.statusCode(), headers(response), body)));
  }

  private Future<String> body(HttpClientResponse response) {
    if (script == null) {
      return response.end().map((String) null); // only the status matters: drain without keeping it
    }
    return response.body().map(b -> (b.length() > MAX_BODY ? b.getBuffer(0, MAX_BODY) : b).toString());
  }

  private static Map<String, String> headers(HttpClientResponse response) {
    Map<String, String> out = new HashMap<>();
    response.headers().forEach(e -> out.putIfAbsent(e.getKey().toLowerCase(java.util.Locale.ROOT), e.getValue()));
    return out;
  }

  /**
   * Without a script: the expected status. With one: its answer, a boolean or {@code {healthy = bool}}; the script
   * sees {@code response} ({@code status}, {@code status_code}, {@code headers}, {@code body}, {@code latency_ms}),
   * {@code backend} ({@code name}, {@code url}) and {@code expected_status}; seed 001's
   * {@code function process(ctx, data)} gets the backend as ctx and the response as data. A failing script fails
   * the check.
   */
  private Verdict judge(Backend backend, Probe probe, long latencyMs) {
    String statusCause = "answered " + probe.status() + ", expected " + config.expectedStatus();
    if (script == null) {
      return probe.status() == config.expectedStatus() ? Verdict.PASSED : Verdict.failed(statusCause);
    }
    JsonObject response = new JsonObject().put("status", probe.status()).put("status_code", probe.status())
        .put("headers", new JsonObject(new HashMap<>(probe.headers()))).put("body", probe.body())
        .put("latency_ms", latencyMs);
    JsonObject target = new JsonObject().put("name", backend.name()).put("url", backend.url());
    Map<String, Object> globals = new LinkedHashMap<>();
    globals.put("response", response);
    globals.put("backend", target);
    globals.put("expected_status", config.expectedStatus());
    try {
      Object verdict = sandbox.run(script, globals, "process", List.of(target, response));
      Verdict byScript = Verdict.failed("health_check.script judged it unhealthy (it answered " + probe.status() + ")");
      if (verdict instanceof Boolean b) {
        return b ? Verdict.PASSED : byScript;
      }
      if (verdict instanceof JsonObject object && object.getValue("healthy") instanceof Boolean b) {
        return b ? Verdict.PASSED : byScript;
      }
      if (verdict == null) {
        return probe.status() == config.expectedStatus() ? Verdict.PASSED : Verdict.failed(statusCause);
      }
      LOG.warn("{}: a health check script returns true/false or {{healthy = ...}}, not {}", script.name(), verdict);
      return Verdict.failed("health_check.script returned " + verdict);
    } catch (RuntimeException e) {
      LOG.warn("health check script failed for {}: {}", backend.name(), e.getMessage());
      return Verdict.failed("health_check.script failed: " + e.getMessage());
    }
  }

  /** The backend URL's path (an API prefix such as /v1) stays in front of the check's path. */
  static String join(String url, String path) {
    String base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    return base + path;
  }

  public Future<Void> stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    states.values().forEach(this::cancelRetry);
    return client.close();
  }
}
