package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.bus.UsageRecordCodec;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.model.BackendSnapshot;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Drives the proxy's own request path for {@code server.warmup} before the gateway reports ready, so that the
 * JIT has compiled it when the first clients arrive (cold, the gateway needs 25–30 s of traffic to reach speed).
 *
 * <p>It runs in a Vert.x instance of its own, with its own metrics and an in-process backend: compiled code is
 * shared by the whole JVM, but none of the warm-up's requests reach a real backend, the gateway's metrics, the
 * usage journal or the logs. Auth is answered on the private bus, so the gate's code runs too.
 */
public final class ProxyWarmup {

  private static final Logger LOG = LoggerFactory.getLogger(ProxyWarmup.class);
  private static final int CONCURRENCY = 8;
  private static final String KEY = "sk-warmup-0000000000000000";
  private static final Buffer JSON_REQUEST = Buffer.buffer(
      "{\"model\":\"warmup\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello, warm-up\"}],\"max_tokens\":8}");
  private static final Buffer STREAM_REQUEST = Buffer.buffer(
      "{\"model\":\"warmup\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello, warm-up\"}],\"stream\":true}");

  private final GatewayConfig config;
  private final Duration budget;
  private final AtomicLong completed = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private Vertx vertx;
  private HttpClient client;
  private long deadlineNanos;

  private ProxyWarmup(GatewayConfig config, Duration budget) {
    this.config = config;
    this.budget = budget;
  }

  /** How many requests the warm-up completed, and how many failed. */
  public record Result(long completed, long failed) {
  }

  /**
   * Warms for {@code server.warmup}; completes on {@code caller}'s context when done. Never fails: a warm-up
   * problem only costs speed.
   */
  public static Future<Result> run(Vertx caller, GatewayConfig config) {
    Duration budget = config.server().warmup();
    if (budget.isZero() || budget.isNegative()) {
      return Future.succeededFuture(new Result(0, 0));
    }
    return new ProxyWarmup(config, budget).run(caller.getOrCreateContext());
  }

  private Future<Result> run(Context caller) {
    long started = System.nanoTime();
    Promise<Result> outcome = Promise.promise();
    // Created off any Vert.x thread: the private instance is none of the caller's business.
    CompletableFuture.supplyAsync(() -> Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2)))
        .whenComplete((created, failure) -> {
          if (failure != null) {
            caller.runOnContext(v -> outcome.complete(new Result(0, 0)));
            return;
          }
          vertx = created;
          startBackend()
              .compose(this::deployProxy)
              .compose(this::drive)
              .otherwise(problem -> {
                LOG.warn("warm-up stopped early: {}", problem.getMessage());
                return null;
              })
              .onComplete(done -> {
                Result result = new Result(completed.get(), failed.get());
                LOG.info("warm-up: {} request(s) through the proxy in {} ms ({} failed)", result.completed(),
                    (System.nanoTime() - started) / 1_000_000, result.failed());
                // The private instance closes on its own; nothing waits on it, nothing runs on it after this.
                vertx.close();
                caller.runOnContext(v -> outcome.complete(result));
              });
        });
    return outcome.future();
  }

  private Future<Integer> startBackend() {
    return vertx.createHttpServer()
        .requestHandler(ProxyWarmup::answer)
        .listen(0, "127.0.0.1")
        .map(HttpServer::actualPort);
  }

  /** An OpenAI-shaped answer: JSON with usage, or a short SSE stream ending in a usage frame. */
  private static void answer(HttpServerRequest request) {
    request.body().onSuccess(body -> {
      if (body.toString().contains("\"stream\":true")) {
        request.response().setChunked(true).putHeader("content-type", "text/event-stream");
        for (int i = 0; i < 4; i++) {
          request.response().write("data: {\"id\":\"w\",\"object\":\"chat.completion.chunk\",\"model\":\"warmup\","
              + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok" + i + "\"}}]}\n\n");
        }
        request.response().write("data: {\"id\":\"w\",\"object\":\"chat.completion.chunk\",\"model\":\"warmup\","
            + "\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":4,\"total_tokens\":9}}\n\n");
        request.response().end("data: [DONE]\n\n");
      } else {
        request.response().putHeader("content-type", "application/json").end("{\"id\":\"w\","
            + "\"object\":\"chat.completion\",\"model\":\"warmup\",\"choices\":[{\"index\":0,\"message\":"
            + "{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}");
      }
    });
  }

  /** One proxy instance on a free loopback port, configured as the real one except what must stay private. */
  private Future<Integer> deployProxy(int backendPort) {
    JsonObject raw = config.toJson();
    raw.getJsonObject("server")
        .put("listen", "127.0.0.1:0")
        .put("warmup", "0s")
        .put("tls", new JsonObject().put("enabled", false));
    raw.put("backends", new JsonArray().add(new JsonObject()
        .put("name", "warmup").put("url", "http://127.0.0.1:" + backendPort)));
    raw.getJsonObject("rate_limit").put("enabled", false);
    raw.getJsonObject("logging").put("enabled", false);
    raw.getJsonObject("routing").put("strategy", "round_robin");
    GatewayConfig warmConfig = GatewayConfig.fromJson(raw);
    BackendSnapshot snapshot = new BackendSnapshot(1, java.util.List.of(
        dev.llmproxy.common.model.Backend.of(warmConfig.backends().get(0), warmConfig.routing(), true)));

    UsageRecordCodec.register(vertx.eventBus());
    vertx.eventBus().consumer(Addresses.BACKENDS_CURRENT, message -> message.reply(snapshot.toJson()));
    vertx.eventBus().consumer(Addresses.AUTH_CHECK, message -> message.reply(
        new AuthDecision(true, 200, null, null, "warmup", null, "warmup", null, null, null, null, null, 60_000)
            .toJson()));
    vertx.eventBus().consumer(Addresses.USAGE_RECORD, message -> { });

    // The private instance's own environment, metrics and decisions: nothing of the gateway's.
    ProxyEnvironment environment = new ProxyEnvironment(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
        warmConfig.metrics()).register(vertx);
    environment.markStarted();
    ProxyVerticle proxy = new ProxyVerticle(warmConfig);
    return vertx.deployVerticle(proxy).map(id -> proxy.actualPort());
  }

  private Future<Void> drive(int proxyPort) {
    client = vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(proxyPort)
        .setKeepAlive(true), new PoolOptions().setHttp1MaxSize(CONCURRENCY));
    deadlineNanos = System.nanoTime() + budget.toNanos();
    Promise<Void> done = Promise.promise();
    AtomicLong running = new AtomicLong(CONCURRENCY);
    for (int i = 0; i < CONCURRENCY; i++) {
      loop(i, () -> {
        if (running.decrementAndGet() == 0) {
          done.tryComplete();
        }
      });
    }
    return done.future();
  }

  private void loop(long n, Runnable finished) {
    if (System.nanoTime() >= deadlineNanos) {
      finished.run();
      return;
    }
    once(n).onComplete(result -> {
      if (result.succeeded()) {
        completed.incrementAndGet();
      } else {
        failed.incrementAndGet();
      }
      loop(n + CONCURRENCY, finished);
    });
  }

  /** Mostly JSON and streamed chat, now and then a model list: the shapes of real traffic. */
  private Future<Void> once(long n) {
    boolean models = n % 16 == 7;
    boolean stream = n % 2 == 0;
    RequestOptions options = new RequestOptions()
        .setMethod(models ? HttpMethod.GET : HttpMethod.POST)
        .setURI(models ? "/v1/models" : "/v1/chat/completions")
        .putHeader("content-type", "application/json");
    String header = config.auth().headerNames().isEmpty() ? "Authorization" : config.auth().headerNames().get(0);
    options.putHeader(header, "authorization".equalsIgnoreCase(header) ? "Bearer " + KEY : KEY);
    return client.request(options)
        .compose(request -> models ? request.send() : request.send(stream ? STREAM_REQUEST : JSON_REQUEST))
        .compose(response -> response.body().map(body -> {
          if (response.statusCode() != 200) {
            throw new IllegalStateException("status " + response.statusCode());
          }
          return (Void) null;
        }));
  }
}
