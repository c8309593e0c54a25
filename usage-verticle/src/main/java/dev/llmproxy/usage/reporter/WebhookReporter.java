package dev.llmproxy.usage.reporter;

import dev.llmproxy.common.config.WebhookReporterConfig;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.common.util.Secrets;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code type: webhook}: one HTTP request per record with the flat payload of the original (seed 004) plus what
 * billing needs to trust it; the key masked unless {@code include_raw_key}. {@code Idempotency-Key} carries the
 * request id. Each delivery makes up to {@code retry} attempts close together; after that the delivery loop backs
 * off and tries again, without limit, so a receiver that is down only delays records.
 */
public final class WebhookReporter implements Reporter {

  private static final long ATTEMPT_PAUSE_MS = 100;

  private final String name;
  private final Vertx vertx;
  private final WebhookReporterConfig config;
  private final HttpClient client;
  private final Counter success;
  private final Counter failure;
  private final long timeoutMs;

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
    this.client = vertx.createHttpClient(new HttpClientOptions()
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMs)).setKeepAlive(true));
  }

  @Override
  public String name() {
    return name;
  }

  /** One at a time: a record is never sent again because a later one in its batch failed. */
  @Override
  public int maxBatch() {
    return 1;
  }

  @Override
  public JsonObject payload(UsageRecord record) {
    return new JsonObject()
        .put("request_id", record.requestId())
        .put("user_id", record.userId())
        .put("api_key", config.includeRawKey() ? record.apiKey() : Secrets.mask(record.apiKey()))
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
        .put("aborted", record.aborted());
  }

  @Override
  public Future<Void> deliver(List<JsonObject> payloads) {
    Future<Void> chain = Future.succeededFuture();
    for (JsonObject payload : payloads) {
      chain = chain.compose(v -> attempt(payload, 1));
    }
    return chain;
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
    RequestOptions options = new RequestOptions().setAbsoluteURI(config.url())
        .setMethod(HttpMethod.valueOf(config.method().toUpperCase()))
        .setIdleTimeout(timeoutMs)
        .putHeader("Content-Type", "application/json");
    config.headers().forEach(options::putHeader);
    String requestId = payload.getString("request_id");
    if (requestId != null) {
      options.putHeader("Idempotency-Key", requestId);
    }
    return client.request(options)
        .compose(request -> request.send(payload.toBuffer()))
        .compose(response -> response.body().compose(body -> response.statusCode() / 100 == 2
            ? Future.<Void>succeededFuture()
            : Future.failedFuture("webhook answered " + response.statusCode())))
        .timeout(timeoutMs, TimeUnit.MILLISECONDS);
  }

  @Override
  public Future<Void> close() {
    return client.close();
  }
}
