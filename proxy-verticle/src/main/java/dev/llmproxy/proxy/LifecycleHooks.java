package dev.llmproxy.proxy;

import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.HooksConfig;
import dev.llmproxy.common.config.ScriptConfig;
import dev.llmproxy.common.lua.LuaSandbox;
import dev.llmproxy.common.lua.LuaScript;
import dev.llmproxy.common.lua.LuaScriptException;
import dev.llmproxy.common.lua.ScriptLoader;
import dev.llmproxy.common.util.Secrets;
import dev.llmproxy.proxy.auth.AuthGate;
import dev.llmproxy.proxy.metrics.ProxyMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Seed 000's lifecycle hooks ({@code hooks.*}) of one proxy verticle instance: the compiled scripts, the sandbox
 * that runs them (on the event loop, under each hook's {@code timeout} and {@code max_memory}), and what happens
 * when one fails: it is cut, logged at most once a minute per hook, counted in
 * {@code llmproxy_hook_errors_total{hook,reason}}, and the request goes on as if it had returned
 * {@code {continue = true}}. {@code on_complete} runs on a worker thread of its own, with a sandbox of its own, so
 * that it costs the event loop a hand-over only.
 */
final class LifecycleHooks {

  /** The hooks, in the order a request meets them. */
  enum Hook {
    ON_REQUEST("on_request"), ON_AUTH("on_auth"), ON_ROUTE("on_route"), ON_RESPONSE("on_response"),
    ON_ERROR("on_error"), ON_COMPLETE("on_complete");

    final String configName;

    Hook(String configName) {
      this.configName = configName;
    }
  }

  static final LifecycleHooks NONE = new LifecycleHooks(new LuaScript[Hook.values().length], null, Set.of(), null);
  /** One thread for every instance's {@code on_complete}: each has its own sandbox, and they never run at once. */
  private static final String COMPLETE_WORKER = "llmproxy-hooks-on-complete";

  private static final Logger LOG = LoggerFactory.getLogger("llmproxy.hooks");
  private static final long LOG_EVERY_NANOS = 60_000_000_000L;
  static final List<String> READ_NOTHING = List.of();
  static final List<String> READ_REQUEST = List.of("request");
  static final List<String> READ_RESPONSE = List.of("response");

  private final LuaScript[] scripts;
  private final ProxyMetrics metrics;
  /** Header names whose values a hook sees masked (the auth headers: the key is the gateway's to know). */
  private final Set<String> secretHeaders;
  private final LuaSandbox sandbox;
  /** {@code on_complete}'s sandbox, used on {@link #completeWorker} only; null when that hook is off. */
  private final LuaSandbox completeSandbox;
  private final WorkerExecutor completeWorker;
  private final long[] lastLoggedNanos = new long[Hook.values().length];

  private LifecycleHooks(LuaScript[] scripts, ProxyMetrics metrics, Set<String> secretHeaders,
      WorkerExecutor completeWorker) {
    this.scripts = scripts;
    this.metrics = metrics;
    this.secretHeaders = secretHeaders;
    boolean onLoop = false;
    for (Hook hook : Hook.values()) {
      onLoop |= hook != Hook.ON_COMPLETE && scripts[hook.ordinal()] != null;
    }
    this.sandbox = onLoop ? new LuaSandbox() : null;
    this.completeWorker = completeWorker;
    this.completeSandbox = completeWorker == null ? null : new LuaSandbox();
    java.util.Arrays.fill(lastLoggedNanos, System.nanoTime() - LOG_EVERY_NANOS);
  }

  /** Compiles the hooks that are on; a hook that does not load fails the start, as every other script does. */
  static Future<LifecycleHooks> load(Vertx vertx, GatewayConfig config, ProxyMetrics metrics) {
    HooksConfig hooks = config.hooks();
    if (!hooks.enabled()) {
      return Future.succeededFuture(NONE);
    }
    LuaScript[] scripts = new LuaScript[Hook.values().length];
    List<Future<?>> loading = new ArrayList<>();
    Map<String, ScriptConfig> byName = hooks.byName();
    for (Hook hook : Hook.values()) {
      ScriptConfig script = byName.get(hook.configName);
      if (script.enabled() && script.hasSource()) {
        loading.add(ScriptLoader.load(vertx, script, "hooks." + hook.configName)
            .onSuccess(compiled -> scripts[hook.ordinal()] = compiled));
      }
    }
    Set<String> secret = new HashSet<>();
    config.auth().headerNames().forEach(name -> secret.add(name.toLowerCase(Locale.ROOT)));
    return Future.all(loading).map(v -> new LifecycleHooks(scripts, metrics, secret,
        scripts[Hook.ON_COMPLETE.ordinal()] == null ? null : vertx.createSharedWorkerExecutor(COMPLETE_WORKER, 1)));
  }

  /** Runs {@code work} (an {@code on_complete}) on the hooks' own worker thread, after what was handed over before. */
  void afterTheAnswer(Runnable work) {
    completeWorker.executeBlocking(() -> {
      work.run();
      return null;
    });
  }

  /** Lets go of the worker thread (a context retired by a reload, or the verticle stopping). */
  void close() {
    if (completeWorker != null) {
      completeWorker.close();
    }
  }

  boolean has(Hook hook) {
    return scripts[hook.ordinal()] != null;
  }

  /**
   * Runs {@code hook}; null when it failed (then cut, logged, counted). The globals named in {@code readBack} are
   * read back as the script left them.
   */
  LuaSandbox.Result run(Hook hook, Map<String, ?> globals, String requestId, List<String> readBack) {
    LuaScript script = scripts[hook.ordinal()];
    try {
      LuaSandbox runner = hook == Hook.ON_COMPLETE ? completeSandbox : sandbox;
      return runner.runReading(script, globals, "hooks." + hook.configName + " " + requestId, readBack);
    } catch (LuaScriptException e) {
      failed(hook, e.reason().label(), e.getMessage());
      return null;
    }
  }

  /** A hook whose answer made no sense is a failure too: counted, and the request goes on. */
  void failed(Hook hook, String reason, String message) {
    metrics.hookFailed(hook.configName, reason);
    long now = System.nanoTime();
    if (now - lastLoggedNanos[hook.ordinal()] >= LOG_EVERY_NANOS) {
      lastLoggedNanos[hook.ordinal()] = now;
      LOG.warn("hooks.{} failed ({}), the request goes on as if it had returned {{continue = true}}: {}"
          + " (logged at most once a minute)", hook.configName, reason, message);
    }
  }

  /** The {@code request} table every hook sees, built once per exchange (and then kept as hooks change it). */
  Map<String, Object> requestView(ApiExchange exchange) {
    if (exchange.hookRequest != null) {
      return exchange.hookRequest;
    }
    Map<String, Object> view = new HashMap<>();
    view.put("method", exchange.request.method().name());
    view.put("path", exchange.request.path());
    view.put("client_ip", exchange.clientIp);
    // Converted for a script only if it reads them: a hook that looks at the path costs no body decoding.
    view.put("headers", new Memo(() -> headersView(exchange)));
    view.put("body", new Memo(() -> bodyView(exchange)));
    String key = exchange.apiKey != null ? exchange.apiKey : exchange.context.auth.keyOf(exchange.request.headers());
    view.put("api_key", key == null ? null : Secrets.mask(key));
    view.put("user_id", exchange.decision == null ? null : exchange.decision.userId());
    view.put("model", exchange.inspected == null ? null : exchange.inspected.model());
    view.put("stream", exchange.inspected != null && exchange.inspected.stream());
    view.put("request_id", exchange.requestId);
    view.put("metadata", exchange.hookMetadata == null ? new JsonObject() : exchange.hookMetadata);
    exchange.hookRequest = view;
    return view;
  }

  /** A view field computed once, when a script (or the gateway comparing a script's changes) first needs it. */
  static final class Memo implements LuaSandbox.Lazy {
    private java.util.function.Supplier<Object> compute;
    private Object value;

    Memo(java.util.function.Supplier<Object> compute) {
      this.compute = compute;
    }

    @Override
    public Object value() {
      if (compute != null) {
        value = compute.get();
        compute = null;
      }
      return value;
    }

    /** {@code field} itself, or its value when it is a memo. */
    static Object resolve(Object field) {
      return field instanceof Memo memo ? memo.value() : field;
    }
  }

  private Map<String, String> headersView(ApiExchange exchange) {
    Map<String, String> headers = AuthGate.firstValues(exchange.request.headers());
    if (!secretHeaders.isEmpty()) {
      headers.replaceAll((name, value) -> secretHeaders.contains(name.toLowerCase(Locale.ROOT))
          ? Secrets.mask(value) : value);
    }
    return headers;
  }

  /** A JSON body as a table; any other body as its text (none when empty). */
  private static Object bodyView(ApiExchange exchange) {
    if (exchange.body == null || exchange.body.length() == 0) {
      return null;
    }
    if (exchange.endpoint.inference()) {
      try {
        return Json.decodeValue(exchange.body);
      } catch (DecodeException e) {
        return exchange.body.toString();
      }
    }
    return exchange.body.toString();
  }
}
