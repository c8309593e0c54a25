package dev.llmproxy.usage.reporter;

import dev.llmproxy.common.config.WebhookReporterConfig;
import dev.llmproxy.common.model.UsageRecord;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code type: webhook}: one HTTP request per record with the flat payload of the original (seed 004) plus what
 * billing needs to trust it; the key masked unless {@code include_raw_key}. {@code Idempotency-Key} carries the
 * request id. Each record gets up to {@code retry} attempts close together; after that the delivery loop backs
 * off and tries again, without limit, so a receiver that is down only delays records.
 *
 * <p>Up to {@code max_in_flight} records are on their way at once, each on a keep-alive connection of its own, taken
 * in journal order: one at a time, a receiver 20 ms away would take 50 records a second. With more than one, a
 * record may arrive before an earlier one that is being retried. The records of a delivery that did arrive are
 * remembered until the whole delivery has, so that retrying it does not send them again.
 */
public final class WebhookReporter implements Reporter {

  private static final long ATTEMPT_PAUSE_MS = 100;
  private static final Logger LOG = LoggerFactory.getLogger(WebhookReporter.class);
  /** Records per delivery; the cursor follows the records that arrived within one (see {@link #deliver}). */
  private static final int BATCH = 500;

  private final String name;
  private final Vertx vertx;
  private final WebhookReporterConfig config;
  private final HttpClient client;
  private final Counter success;
  private final Counter failure;
  private final long timeoutMs;
  private final int maxInFlight;
  /** Where and how every record goes; read, never changed, by each request. */
  private final RequestOptions options;
  /** Request ids of the unfinished delivery that did arrive; cleared once all of it has. */
  private final Set<String> arrived = new HashSet<>();

  public WebhookReporter(String name, Vertx vertx, WebhookReporterConfig config, Counter success, Counter failure) {
    if (config.url().isEmpty()) {
      throw new IllegalArgumentException("usage.reporters " + name + ": webhook.url is empty");
    }
    this.name = name;
    this.vertx = vertx;
    this.config = config;
    this.success = success;
    this.failure = failure;
    this.timeoutMs = Math.max(1, config.timeout().toMillis());
    this.maxInFlight = Math.max(1, config.maxInFlight());
    this.options = new RequestOptions().setAbsoluteURI(config.url())
        .setMethod(HttpMethod.valueOf(config.method().toUpperCase()))
        .setIdleTimeout(timeoutMs)
        .putHeader("Content-Type", "application/json");
    config.headers().forEach(options::putHeader);
    this.client = vertx.createHttpClient(new HttpClientOptions()
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMs)).setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(maxInFlight));
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public int maxBatch() {
    return BATCH;
  }

  @Override
  public JsonObject payload(UsageRecord record) {
    JsonObject payload = new JsonObject()
        .put("request_id", record.requestId())
        .put("user_id", record.userId())
        .put("api_key", apiKey(record))
        .put("model", record.model())
        .put("prompt_tokens", record.promptTokens())
        .put("completion_tokens", record.completionTokens())
        .put("total_tokens", record.totalTokens())
        .put("is_stream", record.stream())
        .put("endpoint", record.endpoint())
        .put("timestamp", record.timestamp().toString())
        .put("backend_url", record.backendUrl())
        .put("key_name", record.keyName())
        .put("status_code", record.statusCode())
        .put("latency_ms", record.latencyMs())
        .put("ttft_ms", record.ttftMs())
        .put("estimated", record.estimated())
        .put("aborted", record.aborted())
        .put("cached", record.cached());
    if (record.metadata() != null) {
      payload.put("metadata", record.metadata().copy());
    }
    if (record.cutOff() != null) {
      payload.put("cut_off", record.cutOff()); // auth.quota_enforcement: strict ended the answer early
    }
    return payload;
  }

  /**
   * Masked, or raw with {@code include_raw_key}. A record read back from the journal after a restart may have lost its
   * raw key (it rests there only hashed, masked and, with {@code LLMPROXY_JOURNAL_KEY}, encrypted): it goes masked,
   * and the log says so, rather than holding every later record back.
   */
  private String apiKey(UsageRecord record) {
    if (!config.includeRawKey() || !record.hasKey()) {
      return record.maskedKey();
    }
    if (record.apiKey() == null) {
      LOG.warn("usage reporter {}: record {} of key {} is sent with the key masked: its raw key was lost with a "
          + "restart (set LLMPROXY_JOURNAL_KEY to keep it encrypted in the journal)", name, record.requestId(),
          record.keyId());
      return record.maskedKey();
    }
    return record.apiKey();
  }

  @Override
  public Future<Void> deliver(List<JsonObject> payloads) {
    return deliver(payloads, count -> { });
  }

  /**
   * Succeeds once every payload has arrived; fails after the last attempt of any has failed. Each payload is taken
   * from the list when its turn comes (null: skipped). {@code arrivedFirst} hears each time the run of payloads
   * that arrived, from the first on, grows: a crash then repeats little more than the records on their way.
   */
  @Override
  public Future<Void> deliver(List<JsonObject> payloads, IntConsumer arrivedFirst) {
    Promise<Void> delivered = Promise.promise();
    new Window(payloads, arrivedFirst, delivered).fill();
    return delivered.future().onSuccess(v -> arrived.clear());
  }

  /** Walks a delivery's payloads in order, keeping up to {@code maxInFlight} of them on their way. */
  private final class Window {
    private final List<JsonObject> payloads;
    private final IntConsumer arrivedFirst;
    private final Promise<Void> delivered;
    private final boolean[] done;
    private int next;
    private int inFlight;
    /** Payloads [0, doneFirst) have all arrived. */
    private int doneFirst;
    private Throwable failure;

    Window(List<JsonObject> payloads, IntConsumer arrivedFirst, Promise<Void> delivered) {
      this.payloads = payloads;
      this.arrivedFirst = arrivedFirst;
      this.delivered = delivered;
      this.done = new boolean[payloads.size()];
    }

    void fill() {
      while (inFlight < maxInFlight && next < payloads.size() && failure == null) {
        int index = next++;
        JsonObject payload = payloads.get(index);
        String requestId = payload == null ? null : requestId(payload);
        if (payload == null || requestId != null && arrived.contains(requestId)) {
          markDone(index);
          continue;
        }
        inFlight++;
        attempt(payload, 1).onComplete(ar -> {
          inFlight--;
          if (ar.succeeded()) {
            if (requestId != null) {
              arrived.add(requestId);
            }
            markDone(index);
          } else if (failure == null) {
            failure = ar.cause();
          }
          fill();
        });
      }
      if (inFlight == 0 && (next >= payloads.size() || failure != null)) {
        if (failure == null) {
          delivered.tryComplete();
        } else {
          delivered.tryFail(failure);
        }
      }
    }

    private void markDone(int index) {
      done[index] = true;
      int before = doneFirst;
      while (doneFirst < done.length && done[doneFirst]) {
        doneFirst++;
      }
      if (doneFirst > before) {
        arrivedFirst.accept(doneFirst);
      }
    }
  }

  private Future<Void> attempt(JsonObject payload, int attempt) {
    return post(payload)
        .onSuccess(v -> success.increment())
        .recover(e -> {
          failure.increment();
          if (attempt >= Math.max(1, config.retry())) {
            return Future.failedFuture(e);
          }
          Promise<Void> later = Promise.promise();
          vertx.setTimer(ATTEMPT_PAUSE_MS << (attempt - 1), t -> attempt(payload, attempt + 1).onComplete(later));
          return later.future();
        });
  }

  private Future<Void> post(JsonObject payload) {
    String requestId = requestId(payload);
    return client.request(options)
        .compose(request -> {
          if (requestId != null) {
            request.putHeader("Idempotency-Key", requestId);
          }
          return request.send(payload.toBuffer());
        })
        .compose(response -> response.end().compose(end -> response.statusCode() / 100 == 2
            ? Future.<Void>succeededFuture()
            : Future.failedFuture("webhook answered " + response.statusCode())))
        .timeout(timeoutMs, TimeUnit.MILLISECONDS);
  }

  /** A script may have reshaped the payload: its request id is whatever it left there, if anything. */
  private static String requestId(JsonObject payload) {
    Object id = payload.getValue("request_id");
    return id == null ? null : id.toString();
  }

  @Override
  public Future<Void> close() {
    return client.close();
  }
}
