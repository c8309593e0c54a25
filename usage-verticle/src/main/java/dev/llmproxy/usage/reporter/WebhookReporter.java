package dev.llmproxy.usage.reporter;

import dev.llmproxy.common.config.WebhookReporterConfig;
import dev.llmproxy.common.model.StreamedJson;
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
import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.json.JsonObject;
import io.vertx.core.json.jackson.JacksonCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code type: webhook}: one HTTP request per record with the flat payload of the original (seed 004) plus what
 * billing needs to trust it; the key masked unless {@code include_raw_key}. {@code Idempotency-Key} carries the
 * request id. With {@code batch_size} above 1 a request carries a JSON array of up to that many such payloads (what
 * the journal holds at the moment, never waiting for a batch to fill), and its {@code Idempotency-Key} is derived
 * from their request ids ({@link #idempotencyKey}): a POST per record costs the gateway about what proxying the
 * request did. Each request gets up to {@code retry} attempts close together; after that the delivery loop backs
 * off and tries again, without limit, so a receiver that is down only delays records.
 *
 * <p>Up to {@code max_in_flight} requests are on their way at once, each on a keep-alive connection of its own,
 * taken in journal order: one at a time, a receiver 20 ms away would take 50 requests a second. With more than one,
 * a record may arrive before an earlier one that is being retried. The records of a delivery that did arrive are
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
  private final int batchSize;
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
    this.batchSize = Math.max(1, Math.min(BATCH, config.batchSize()));
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
    return UsageRecord.Fields.object(out -> writePayload(record, out));
  }

  /**
   * The payload's fields, in order: the one list that the object a script sees and the body streamed without a
   * script both use.
   */
  private void writePayload(UsageRecord record, UsageRecord.Fields out) throws IOException {
    out.put("request_id", record.requestId());
    out.put("user_id", record.userId());
    out.put("api_key", apiKey(record));
    out.put("model", record.model());
    out.put("prompt_tokens", record.promptTokens());
    out.put("completion_tokens", record.completionTokens());
    out.put("total_tokens", record.totalTokens());
    out.put("is_stream", record.stream());
    out.put("endpoint", record.endpoint());
    out.put("timestamp", record.timestamp());
    out.put("backend_url", record.backendUrl());
    out.put("key_name", record.keyName());
    out.put("status_code", record.statusCode());
    out.put("latency_ms", record.latencyMs());
    out.put("ttft_ms", record.ttftMs());
    out.put("estimated", record.estimated());
    out.put("aborted", record.aborted());
    out.put("cached", record.cached());
    if (record.metadata() != null) {
      out.put("metadata", record.metadata());
    }
    if (record.cutOff() != null) {
      out.put("cut_off", record.cutOff()); // auth.quota_enforcement: strict ended the answer early
    }
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
    return deliver(payloads.stream().map(payload -> new Outgoing(null, payload)).toList(), count -> { });
  }

  /**
   * Succeeds once every record has arrived; fails after the last attempt of any has failed. Each record is taken
   * from the list when its turn comes (null: skipped). {@code arrivedFirst} hears each time the run of payloads
   * that arrived, from the first on, grows: a crash then repeats little more than the records on their way.
   */
  @Override
  public Future<Void> deliver(List<Outgoing> records, IntConsumer arrivedFirst) {
    Promise<Void> delivered = Promise.promise();
    new Window(records, arrivedFirst, delivered).fill();
    return delivered.future().onSuccess(v -> arrived.clear());
  }

  /**
   * Walks a delivery's payloads in order, keeping up to {@code maxInFlight} requests on their way, each carrying the
   * next {@code batch_size} payloads still to send (skipped ones and ones that already arrived left out).
   */
  private final class Window {
    private final List<Outgoing> payloads;
    private final IntConsumer arrivedFirst;
    private final Promise<Void> delivered;
    private final boolean[] done;
    private int next;
    private int inFlight;
    /** Payloads [0, doneFirst) have all arrived. */
    private int doneFirst;
    private Throwable failure;

    Window(List<Outgoing> payloads, IntConsumer arrivedFirst, Promise<Void> delivered) {
      this.payloads = payloads;
      this.arrivedFirst = arrivedFirst;
      this.delivered = delivered;
      this.done = new boolean[payloads.size()];
    }

    void fill() {
      while (inFlight < maxInFlight && next < payloads.size() && failure == null) {
        Batch batch = nextBatch();
        if (batch == null) {
          continue;
        }
        inFlight++;
        attempt(batch, 1).onComplete(ar -> {
          inFlight--;
          if (ar.succeeded()) {
            batch.requestIds().forEach(id -> {
              if (id != null) {
                arrived.add(id);
              }
            });
            for (int index : batch.indexes()) {
              markDone(index);
            }
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

    /** The next payloads to send, up to {@code batch_size}; null when those looked at were all skipped. */
    private Batch nextBatch() {
      List<Outgoing> taken = new ArrayList<>(batchSize);
      List<String> ids = new ArrayList<>(batchSize);
      int[] indexes = new int[batchSize];
      while (taken.size() < batchSize && next < payloads.size()) {
        int index = next++;
        Outgoing payload = payloads.get(index);
        String requestId = payload == null ? null : payload.requestId();
        if (payload == null || requestId != null && arrived.contains(requestId)) {
          markDone(index);
          continue;
        }
        indexes[taken.size()] = index;
        taken.add(payload);
        ids.add(requestId);
      }
      if (taken.isEmpty()) {
        return null;
      }
      return new Batch(body(taken), idempotencyKey(ids), ids, Arrays.copyOf(indexes, taken.size()));
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

  /** One request's worth: its encoded body, its Idempotency-Key (null: none), and which payloads it carries. */
  private record Batch(Buffer body, String idempotencyKey, List<String> requestIds, int[] indexes) {
  }

  /**
   * {@code batch_size: 1}: seed 004's one-record object; more: a JSON array of them, even when one is left. Written
   * straight to UTF-8, each record's fields from the record itself unless a script made its payload.
   */
  private Buffer body(List<Outgoing> taken) {
    ByteBuf bytes = Unpooled.buffer(taken.size() * PAYLOAD_BYTES);
    try (JsonGenerator out = StreamedJson.generator(new ByteBufOutputStream(bytes))) {
      if (batchSize > 1) {
        out.writeStartArray();
      }
      for (Outgoing outgoing : taken) {
        if (outgoing.scripted() != null) {
          JacksonCodec.encodeJson(outgoing.scripted(), out);
        } else {
          out.writeStartObject();
          writePayload(outgoing.record(), new StreamedJson(out));
          out.writeEndObject();
        }
      }
      if (batchSize > 1) {
        out.writeEndArray();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e); // into memory: not expected
    }
    return BufferInternal.buffer(bytes);
  }

  /** About one payload's size: a batch's body is made that large at first and seldom grows. */
  private static final int PAYLOAD_BYTES = 480;

  /**
   * One record: its request id. A batch: {@code batch-} and the SHA-256 of its records' request ids, so that an
   * attempt repeated with the same records carries the same key and any other set of records another one. A
   * delivery tried again later (after a failure or a restart) may group the records differently: receivers dedupe
   * by each record's {@code request_id}.
   */
  private String idempotencyKey(List<String> ids) {
    if (batchSize == 1) {
      return ids.get(0);
    }
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    for (String id : ids) {
      sha256.update(String.valueOf(id).getBytes(StandardCharsets.UTF_8));
      sha256.update((byte) '\n');
    }
    return "batch-" + HexFormat.of().formatHex(sha256.digest());
  }

  private Future<Void> attempt(Batch batch, int attempt) {
    return post(batch)
        .onSuccess(v -> success.increment(batch.indexes().length))
        .recover(e -> {
          failure.increment();
          if (attempt >= Math.max(1, config.retry())) {
            return Future.failedFuture(e);
          }
          Promise<Void> later = Promise.promise();
          vertx.setTimer(ATTEMPT_PAUSE_MS << (attempt - 1), t -> attempt(batch, attempt + 1).onComplete(later));
          return later.future();
        });
  }

  private Future<Void> post(Batch batch) {
    return client.request(options)
        .compose(request -> {
          if (batch.idempotencyKey() != null) {
            request.putHeader("Idempotency-Key", batch.idempotencyKey());
          }
          return request.send(batch.body());
        })
        .compose(response -> response.end().compose(end -> response.statusCode() / 100 == 2
            ? Future.<Void>succeededFuture()
            : Future.failedFuture("webhook answered " + response.statusCode())))
        .timeout(timeoutMs, TimeUnit.MILLISECONDS);
  }

  @Override
  public Future<Void> close() {
    return client.close();
  }
}
