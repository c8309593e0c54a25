package dev.llmproxy.proxy.balance.engine;

import dev.llmproxy.common.model.Backend;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;

/**
 * Scrapes every tracked backend's Prometheus {@code /metrics} on a timer and hands the parsed load to a
 * sink. Never on the request path: the strategy only reads what the sink stored.
 *
 * <p>All state lives on the event loop of the context that created the scraper: the timer, every
 * response and the sink run there. {@link #track}, {@link #start} and {@link #stop} may be called from
 * anywhere; off that context they hop onto it.
 *
 * <p>Each round scrapes the backends concurrently; a backend whose previous scrape is still in flight is
 * skipped that round, so a slow backend never has two requests open and never delays the others. A
 * scrape ends after {@code timeout} at the latest (connection, headers and body together).
 */
public final class EngineMetricsScraper {

  private static final Logger LOG = LoggerFactory.getLogger(EngineMetricsScraper.class);

  /** A larger body is not a metrics page of an inference server: the scrape fails. */
  public static final int MAX_BODY_BYTES = 2 * 1024 * 1024;
  private static final int KEEP_ALIVE_SECONDS = 4;
  /** How often a llama.cpp server's slot count is read again (it changes only when the server restarts). */
  static final long SLOTS_REFRESH_NANOS = 60_000_000_000L;

  private final Vertx vertx;
  private final Context context;
  private final long intervalMs;
  private final long timeoutMs;
  private final BiConsumer<String, EngineLoad> sink;
  private final BiConsumer<String, Integer> slotsSink;
  private final HttpClient client;
  private Map<String, Target> targets = new LinkedHashMap<>();
  private long timerId = -1;
  private boolean stopped;

  /**
   * @param interval time between rounds
   * @param timeout  the longest one scrape may take
   * @param sink     called on the caller's event loop with (backend url, load) after each successful scrape,
   *                 and (url, null) when a scrape fails or the text has no known metric
   */
  public EngineMetricsScraper(Vertx vertx, Duration interval, Duration timeout, BiConsumer<String, EngineLoad> sink) {
    this(vertx, interval, timeout, sink, (url, slots) -> { });
  }

  /**
   * @param slotsSink called on the caller's event loop with (backend url, slots) when a llama.cpp server's
   *                  {@code GET /props} was read (its {@code total_slots}; 0 when it has none or the read failed):
   *                  after its first successful scrape, then every minute. The other engines publish no slot count
   *                  (vLLM's {@code max_num_seqs} is not in its documented metrics; TGI's {@code /info}
   *                  {@code max_concurrent_requests} is its admission cap, not its batch; SGLang's
   *                  {@code max_running_requests} server argument is unset unless given at launch): for them
   *                  {@code routing.flow_control.max_in_flight} stands in.
   */
  public EngineMetricsScraper(Vertx vertx, Duration interval, Duration timeout, BiConsumer<String, EngineLoad> sink,
      BiConsumer<String, Integer> slotsSink) {
    if (interval.toMillis() < 1 || timeout.toMillis() < 1) {
      throw new IllegalArgumentException("interval and timeout must be at least 1 ms");
    }
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.intervalMs = interval.toMillis();
    this.timeoutMs = timeout.toMillis();
    this.sink = sink;
    this.slotsSink = slotsSink;
    HttpClientOptions options = new HttpClientOptions()
        .setName("engine-metrics")
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMs))
        .setKeepAlive(true)
        // below the 5 s after which uvicorn (vLLM, SGLang) and llama.cpp drop an idle connection, so that a
        // scrape seldom meets one they are closing
        .setKeepAliveTimeout(KEEP_ALIVE_SECONDS)
        .setTcpNoDelay(true)
        .setMaxHeaderSize(64 * 1024);
    this.client = vertx.createHttpClient(options, new PoolOptions().setHttp1MaxSize(4).setMaxWaitQueueSize(-1));
  }

  /** Replaces the set of backends to scrape, by url; a backend kept keeps its in-flight scrape and outage state. */
  public void track(List<Backend> backends) {
    onContext(() -> {
      Map<String, Target> next = new LinkedHashMap<>();
      for (Backend backend : backends) {
        Target target = targets.get(backend.url());
        if (target == null) {
          target = new Target(backend);
        } else {
          target.update(backend);
        }
        next.put(backend.url(), target);
      }
      targets = next;
    });
  }

  /** Scrapes every tracked backend now, then every interval. */
  public void start() {
    onContext(() -> {
      if (stopped || timerId >= 0) {
        return;
      }
      round();
      timerId = vertx.setPeriodic(intervalMs, id -> round());
    });
  }

  /** Stops the timer and closes the client; scrapes in flight end without reaching the sink. Final. */
  public void stop() {
    onContext(() -> {
      stopped = true;
      if (timerId >= 0) {
        vertx.cancelTimer(timerId);
        timerId = -1;
      }
      client.close();
    });
  }

  private void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  private void round() {
    if (stopped) {
      return;
    }
    for (Target target : targets.values()) {
      if (!target.inFlight) {
        scrape(target);
      }
    }
  }

  private void scrape(Target target) {
    target.inFlight = true;
    String url = target.backend.url();
    // the client may complete on a connection's event loop rather than ours: hop back before touching state
    fetch(target, target.path).onComplete(result -> onContext(() -> {
      target.inFlight = false;
      if (stopped || targets.get(url) != target) {
        return;
      }
      EngineLoad load = null;
      String problem;
      if (result.succeeded()) {
        load = EngineMetricsParser.parse(new Latin1Chars(result.result()), System.nanoTime()).orElse(null);
        problem = load == null ? "no known inference-server metric in its /metrics" : null;
      } else {
        problem = String.valueOf(result.cause().getMessage());
      }
      report(target, problem);
      try {
        sink.accept(url, load);
      } catch (RuntimeException e) {
        LOG.error("engine load sink failed for {}", url, e);
      }
      if (load != null && "llamacpp".equals(load.engine()) && !target.slotsInFlight
          && load.scrapedAtNanos() - target.slotsReadAtNanos >= 0) {
        readSlots(target);
      }
    }));
  }

  /** A llama.cpp server's {@code total_slots} from {@code GET /props}, to the slots sink. */
  private void readSlots(Target target) {
    target.slotsInFlight = true;
    String url = target.backend.url();
    fetch(target, target.propsPath()).onComplete(result -> onContext(() -> {
      target.slotsInFlight = false;
      target.slotsReadAtNanos = System.nanoTime() + SLOTS_REFRESH_NANOS;
      if (stopped || targets.get(url) != target) {
        return;
      }
      int slots = 0;
      if (result.succeeded()) {
        try {
          Object total = new JsonObject(result.result()).getValue("total_slots");
          slots = total instanceof Number n && n.intValue() > 0 ? n.intValue() : 0;
        } catch (RuntimeException e) {
          LOG.debug("backend {}: /props is not JSON", target.backend.name());
        }
      }
      try {
        slotsSink.accept(url, slots);
      } catch (RuntimeException e) {
        LOG.error("engine slots sink failed for {}", url, e);
      }
    }));
  }

  /** Logs a backend's failure when it starts and its recovery when it ends, not every round. */
  private static void report(Target target, String problem) {
    if (problem == null) {
      if (target.failing) {
        target.failing = false;
        LOG.info("metrics of backend {} readable again", target.backend.name());
      }
    } else if (!target.failing) {
      target.failing = true;
      LOG.warn("cannot read the load of backend {} from {}: {}", target.backend.name(), target.metricsUrl(), problem);
    }
  }

  /** The body of one GET of the target's {@code path}, failed on a non-200, a too-large body or the deadline. */
  private Future<Buffer> fetch(Target target, String path) {
    Promise<Buffer> promise = Promise.promise();
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.GET)
        .setHost(target.host)
        .setPort(target.port)
        .setSsl(target.ssl)
        .setURI(path)
        .setConnectTimeout(timeoutMs)
        .setIdleTimeout(timeoutMs)
        .putHeader(HttpHeaders.ACCEPT, path.equals(target.path) ? "text/plain" : "application/json");
    target.backend.headers().forEach(options::putHeader);
    AtomicReference<HttpClientRequest> request = new AtomicReference<>();
    long deadline = vertx.setTimer(timeoutMs, id -> {
      HttpClientRequest open = request.get();
      if (promise.tryFail(new TimeoutException("no answer within " + timeoutMs + " ms")) && open != null) {
        open.reset();
      }
    });
    client.request(options)
        .compose(req -> {
          request.set(req);
          if (promise.future().isComplete()) {
            // the deadline passed while connecting
            req.reset();
          }
          return req.send();
        })
        .onComplete(ar -> {
          if (ar.failed()) {
            promise.tryFail(ar.cause());
          } else {
            read(ar.result(), request.get(), promise);
          }
        });
    return promise.future().onComplete(ar -> vertx.cancelTimer(deadline));
  }

  private static void read(HttpClientResponse response, HttpClientRequest request, Promise<Buffer> promise) {
    response.exceptionHandler(promise::tryFail);
    if (response.statusCode() != 200) {
      promise.tryFail(new IllegalStateException("status " + response.statusCode()));
      request.reset();
      return;
    }
    String declared = response.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (declared != null && tooLarge(declared)) {
      promise.tryFail(new IllegalStateException("body of " + declared + " bytes, more than " + MAX_BODY_BYTES));
      request.reset();
      return;
    }
    Buffer body = Buffer.buffer(declared != null ? (int) Math.max(0, Long.parseLong(declared.trim())) : 16 * 1024);
    response.handler(chunk -> {
      if (body.length() + chunk.length() > MAX_BODY_BYTES) {
        if (promise.tryFail(new IllegalStateException("body larger than " + MAX_BODY_BYTES + " bytes"))) {
          request.reset();
        }
      } else {
        body.appendBuffer(chunk);
      }
    });
    response.endHandler(v -> promise.tryComplete(body));
  }

  private static boolean tooLarge(String contentLength) {
    try {
      return Long.parseLong(contentLength.trim()) > MAX_BODY_BYTES;
    } catch (NumberFormatException e) {
      return true;
    }
  }

  /** One backend to scrape; touched only on the scraper's context. */
  private static final class Target {
    Backend backend;
    String host;
    int port;
    boolean ssl;
    String path;
    boolean inFlight;
    boolean failing;
    boolean slotsInFlight;
    /** {@link System#nanoTime()} from which its slot count is due to be read (again). */
    long slotsReadAtNanos = System.nanoTime();

    Target(Backend backend) {
      update(backend);
    }

    /** Takes the backend's current settings (its url is the same); the next scrape uses them. */
    void update(Backend backend) {
      this.backend = backend;
      URI uri = backend.uri();
      ssl = "https".equalsIgnoreCase(uri.getScheme());
      host = uri.getHost();
      port = uri.getPort() > 0 ? uri.getPort() : ssl ? 443 : 80;
      String base = uri.getRawPath() == null ? "" : uri.getRawPath();
      while (base.endsWith("/")) {
        base = base.substring(0, base.length() - 1);
      }
      path = base + "/metrics";
    }

    String propsPath() {
      return path.substring(0, path.length() - "/metrics".length()) + "/props";
    }

    String metricsUrl() {
      return (ssl ? "https://" : "http://") + host + ":" + port + path;
    }
  }
}
