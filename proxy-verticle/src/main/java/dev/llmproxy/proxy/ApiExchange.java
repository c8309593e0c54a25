package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.config.AffinityConfig;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.proxy.auth.AuthGate;
import dev.llmproxy.proxy.balance.BackendStats;
import dev.llmproxy.proxy.balance.RetryPolicy.Reason;
import dev.llmproxy.common.tokens.PromptTokens;
import dev.llmproxy.common.tokens.TokenCounter;
import dev.llmproxy.proxy.limit.Admission;
import dev.llmproxy.proxy.limit.Budget;
import dev.llmproxy.proxy.limit.Denial;
import dev.llmproxy.proxy.limit.LimitRequest;
import dev.llmproxy.proxy.limit.RateLimiter;
import dev.llmproxy.proxy.metrics.ProxyMetrics;
import dev.llmproxy.proxy.upstream.BackendClients;
import dev.llmproxy.proxy.upstream.HopByHop;
import dev.llmproxy.proxy.upstream.ResponseTap;
import dev.llmproxy.proxy.upstream.Usage;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.RequestOptions;

import java.net.ConnectException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * One API request's way through the gateway, a method per step:
 * read the body, inspect it, authorize, choose a backend, forward, relay the answer through a usage tap
 * (retrying elsewhere while nothing has reached the client), finish.
 * Everything runs on the event loop of the proxy verticle instance that accepted the request.
 */
final class ApiExchange {

  /** A pooled connection the backend had closed without saying so is retried this often on a fresh one. */
  private static final int STALE_CONNECTION_RETRIES = 2;
  private static final Set<String> NOT_RELAYED_BACK = HopByHop.names("content-length", "x-request-id");
  private static final Usage NO_USAGE = new Usage(0, 0, 0);
  private static final GatewayError STREAM_BROKE = new GatewayError(ErrorKind.UPSTREAM_FAILED,
      "the backend failed before the answer was complete");

  private final ExchangeContext context;
  private final HttpServerRequest request;
  private final HttpServerResponse response;
  private final Endpoint endpoint;
  private final long startNanos = System.nanoTime();

  private String requestId;
  private String clientIp;
  private String apiKey;
  private AuthDecision decision;
  private Admission admission;
  /** The prompt counted from the request, once, when a TPM limit or an estimate needs it. */
  private PromptTokens prompt;
  /** The usage the record reports and the TPM limit settles to, decided once. */
  private Usage finalUsage;
  private boolean usageEstimated;
  private Buffer body;
  private InspectedRequest inspected;
  private Backend backend;
  private final List<Backend> tried = new ArrayList<>(2);
  private int retries;
  private BackendStats attempt;
  private long attemptStartNanos;
  private BackendClients.Upstream pool;
  private HttpClientRequest upstreamRequest;
  private HttpClientResponse upstreamResponse;
  private ResponseTap tap = ResponseTap.NONE;
  private long firstByteNanos = -1;
  private long lastByteNanos;
  private long idleTimer = -1;
  private boolean finished;
  /** The status of a request that ended without an answer: nginx's 499 for a client that left, 408 for a read timeout. */
  private int abortStatus = 499;
  private BodyCapture responseCopy;

  ApiExchange(ExchangeContext context, HttpServerRequest request, Endpoint endpoint) {
    this.context = context;
    this.request = request;
    this.response = request.response();
    this.endpoint = endpoint;
  }

  void start() {
    context.exchangeBegan();
    context.metrics.requestStarted();
    String given = request.getHeader("X-Request-ID");
    requestId = given == null || given.isEmpty() || given.length() > 200 ? RequestIds.next() : given;
    clientIp = context.clientAddress.of(request);
    response.closeHandler(v -> clientGone());
    if (!endpoint.allows(request.method())) {
      response.putHeader("Allow", endpoint.method().name());
      fail(new GatewayError(ErrorKind.METHOD_NOT_ALLOWED,
          request.method() + " is not allowed on " + request.path() + "; use " + endpoint.method()));
      return;
    }
    String declared = request.getHeader("Content-Length");
    if (declared != null && parseLength(declared) > context.maxBodySize) {
      tooLarge();
      return;
    }
    readBody();
  }

  private void readBody() {
    // server.read_timeout is ConnectionGuard's: it answers 408 and closes, and clientGone() learns of it.
    Buffer collected = Buffer.buffer();
    request.handler(chunk -> {
      if (finished) {
        return;
      }
      if (collected.length() + chunk.length() > context.maxBodySize) {
        tooLarge();
        return;
      }
      collected.appendBuffer(chunk);
    });
    request.endHandler(v -> {
      if (!finished) {
        body = collected;
        bodyRead();
      }
    });
  }

  private void bodyRead() {
    try {
      // dialect: what is read of the body (model, stream; usage injection for OpenAI chat only) depends on the endpoint
      inspected = RequestInspector.inspect(endpoint, body);
    } catch (GatewayError error) {
      fail(error);
      return;
    }
    authorize();
  }

  private void authorize() {
    if (!context.auth.guards(request.path())) {
      limit();
      return;
    }
    String key = context.auth.keyOf(request.headers());
    context.auth.check(key, () -> new AuthCheck(key, clientIp, request.method().name(), request.path(),
        inspected.model(), AuthGate.firstValues(request.headers()))).onComplete(answer -> {
      if (finished) {
        return;
      }
      if (answer.failed()) {
        fail(GatewayError.of(answer.cause()));
        return;
      }
      apiKey = key;
      decision = answer.result();
      limit();
    });
  }

  private void limit() {
    RateLimiter limiter = context.rateLimiter;
    if (limiter == null) {
      route();
      return;
    }
    LimitRequest limited = decision == null
        ? new LimitRequest(null, null, null, null, null, null, null, inspected.model(), request.path(),
            request.method().name(), this::promptTokens)
        : new LimitRequest(decision.keyId(), decision.keyName(), decision.userId(), decision.metadata(), decision.rpm(),
            decision.tpm(), decision.maxConcurrent(), inspected.model(), request.path(), request.method().name(),
            this::promptTokens);
    limiter.admit(context.limitPlanner.plan(limited)).onComplete(decided -> {
      Admission admitted = decided.succeeded() ? decided.result() : Admission.UNLIMITED;
      if (finished) {
        admitted.complete(0);
        return;
      }
      if (admitted.denial() != null) {
        refuse(admitted.denial(), admitted.storeUnavailable());
        return;
      }
      admission = admitted;
      budgetHeaders("requests", admitted.requests());
      budgetHeaders("tokens", admitted.tokens());
      route();
    });
  }

  private void refuse(Denial denial, boolean storeUnavailable) {
    response.putHeader("Retry-After", Long.toString(denial.retryAfterSeconds()));
    if (storeUnavailable) {
      fail(new GatewayError(ErrorKind.NOT_READY, 503, "rate_limit_unavailable",
          "Rate limits cannot be checked right now; retry after " + denial.retryAfterSeconds() + " s", null));
      return;
    }
    budgetHeaders(denial.tokens() ? "tokens" : "requests",
        new Budget(denial.value(), denial.remaining(), denial.retryAfterSeconds()));
    fail(new GatewayError(ErrorKind.RATE_LIMITED, 429, "rate_limit_exceeded",
        "Rate limit reached: " + denial.limit() + " is " + denial.value() + "; retry after "
            + denial.retryAfterSeconds() + " s", null));
  }

  /** OpenAI's {@code x-ratelimit-{limit,remaining,reset}-requests|tokens}. */
  private void budgetHeaders(String unit, Budget budget) {
    if (budget != null) {
      response.putHeader("x-ratelimit-limit-" + unit, Long.toString(budget.limit()))
          .putHeader("x-ratelimit-remaining-" + unit, Long.toString(budget.remaining()))
          .putHeader("x-ratelimit-reset-" + unit, budget.resetSeconds() + "s");
    }
  }

  private PromptTokens promptTokens() {
    if (prompt == null) {
      prompt = endpoint.inference() && body != null ? TokenCounter.prompt(body.getBytes()) : PromptTokens.NONE;
    }
    return prompt;
  }

  private void route() {
    if (endpoint == Endpoint.MODELS) {
      context.models.list().onComplete(list -> {
        if (!finished) {
          response.putHeader("Content-Type", "application/json").putHeader("X-Request-ID", requestId).end(list.result());
          finish(false);
        }
      });
      return;
    }
    Backend first;
    try {
      first = context.router.choose(inspected.model(), tried, affinityKey(), this::scriptView);
    } catch (GatewayError error) {
      fail(error);
      return;
    }
    beginAttempt(first);
  }

  /** The request as a routing script sees it. */
  private Map<String, Object> scriptView() {
    Map<String, Object> view = new HashMap<>();
    view.put("model", inspected.model());
    view.put("path", request.path());
    view.put("method", request.method().name());
    view.put("client_ip", clientIp);
    view.put("user_id", decision == null ? null : decision.userId());
    view.put("stream", inspected.stream());
    view.put("headers", AuthGate.firstValues(request.headers()));
    return view;
  }

  private String affinityKey() {
    AffinityConfig affinity = context.routing.affinity();
    if (!affinity.enabled()) {
      return null;
    }
    if (!affinity.header().isEmpty()) {
      String session = request.getHeader(affinity.header());
      if (session != null && !session.isEmpty()) {
        return session;
      }
    }
    return "user_id".equals(affinity.key()) && decision != null && decision.userId() != null ? decision.userId() : apiKey;
  }

  private void beginAttempt(Backend chosen) {
    backend = chosen;
    tried.add(chosen);
    attempt = context.stats.of(chosen);
    attempt.started();
    attemptStartNanos = System.nanoTime();
    forward(0);
  }

  private void forward(int staleRetries) {
    BackendClients.Upstream upstream = context.clients.upstream(backend);
    RequestOptions options = new RequestOptions()
        .setMethod(request.method())
        .setURI(upstream.basePath() + request.uri())
        .setConnectTimeout(backend.connectTimeoutMs())
        .setIdleTimeout(backend.timeoutMs());
    upstream.client().request(options).onComplete(created -> {
      if (created.succeeded()) {
        pool = upstream;
        upstream.taken(created.result().connection());
        send(created.result(), staleRetries);
      } else {
        upstreamFailed(created.cause(), staleRetries);
      }
    });
  }

  private void send(HttpClientRequest upstream, int staleRetries) {
    if (finished) {
      upstream.reset();
      return;
    }
    upstreamRequest = upstream;
    MultiMap headers = upstream.headers();
    Set<String> skipped = endpoint.inference() ? context.inferenceSkippedHeaders : context.passthroughSkippedHeaders;
    HopByHop.copy(request.headers(), headers, skipped);
    headers.set("X-Request-ID", requestId);
    String forwardedFor = request.getHeader("X-Forwarded-For");
    String peer = request.remoteAddress() == null ? "unknown" : request.remoteAddress().hostAddress();
    headers.set("X-Forwarded-For", forwardedFor == null ? peer : forwardedFor + ", " + peer);
    String forwardedProto = request.getHeader("X-Forwarded-Proto");
    headers.set("X-Forwarded-Proto", forwardedProto != null ? forwardedProto : request.isSSL() ? "https" : "http");
    backend.headers().forEach(headers::set);
    Buffer forwardBody = inspected.forwardBody();
    (forwardBody.length() == 0 ? upstream.send() : upstream.send(forwardBody)).onComplete(answered -> {
      if (answered.succeeded()) {
        relay(answered.result());
      } else {
        upstreamFailed(answered.cause(), staleRetries);
      }
    });
  }

  private void upstreamFailed(Throwable cause, int staleRetries) {
    if (finished) {
      return;
    }
    if (cause instanceof HttpClosedException && staleRetries < STALE_CONNECTION_RETRIES) {
      forward(staleRetries + 1);
      return;
    }
    GatewayError error;
    Reason reason;
    if (cause instanceof TimeoutException) {
      reason = Reason.TIMEOUT;
      error = new GatewayError(ErrorKind.UPSTREAM_TIMEOUT, "the backend did not answer within " + backend.timeoutMs() + " ms");
    } else if (cause instanceof ConnectException || cause.getCause() instanceof ConnectException) {
      reason = Reason.CONNECT_FAILURE;
      error = new GatewayError(ErrorKind.UPSTREAM_UNREACHABLE, "the backend could not be reached");
    } else {
      reason = Reason.RESET;
      error = new GatewayError(ErrorKind.UPSTREAM_FAILED, "the backend failed before answering");
    }
    endAttempt(false);
    if (!retry(reason, 0, -1)) {
      fail(error);
    }
  }

  /** Tries another backend (or the same after a wait) if the policy allows; false when the failure stands. */
  private boolean retry(Reason reason, int status, long retryAfterMs) {
    if (!context.retryPolicy.allows(retries, reason, status)) {
      return false;
    }
    Backend next;
    try {
      next = context.router.choose(inspected.model(), tried, affinityKey(), this::scriptView);
    } catch (GatewayError noneLeft) {
      return false;
    }
    retries++;
    context.metrics.retry(backend.name(), reason == Reason.STATUS ? Integer.toString(status) : reason.label());
    // Another backend is tried at once; the same one again only after its Retry-After, else the backoff.
    long waitMs = !tried.contains(next) ? 0 : retryAfterMs >= 0 ? retryAfterMs : context.retryPolicy.backoffMs(retries);
    if (waitMs <= 0) {
      beginAttempt(next);
    } else {
      context.vertx.setTimer(waitMs, t -> {
        if (!finished) {
          beginAttempt(next);
        }
      });
    }
    return true;
  }

  private void relay(HttpClientResponse upstream) {
    if (finished) {
      return;
    }
    long now = System.nanoTime();
    attempt.recordTtfb(now - attemptStartNanos, now);
    int status = upstream.statusCode();
    recordHealth(status < 500);
    if (status >= 500 || status == 429) {
      long retryAfterMs = status == 429 ? retryAfterMs(upstream.getHeader("Retry-After")) : -1;
      boolean waitable = status != 429 || retryAfterMs >= 0 && retryAfterMs <= context.retryPolicy.maxWaitMs();
      if (waitable && context.retryPolicy.allows(retries, Reason.STATUS, status)) {
        // Drained rather than reset, so that the connection goes back to the pool.
        BackendClients.Upstream drained = pool;
        upstream.body().onSuccess(drainedBody -> drained.givenBack(upstream.request().connection()));
        releaseAttempt();
        if (retry(Reason.STATUS, status, retryAfterMs)) {
          return;
        }
        attempt = context.stats.of(backend);
        attempt.started();
      }
    }
    upstreamResponse = upstream;
    String contentType = upstream.getHeader("Content-Type");
    boolean eventStream = contentType != null && contentType.regionMatches(true, 0, "text/event-stream", 0, 17);
    if (endpoint.inference() && status / 100 == 2) {
      tap = ResponseTap.forResponse(eventStream, inspected.usageInjected() && eventStream);
    }
    response.setStatusCode(status);
    String message = upstream.statusMessage();
    if (message != null) {
      response.setStatusMessage(message);
    }
    HopByHop.copy(upstream.headers(), response.headers(), NOT_RELAYED_BACK);
    response.putHeader("X-Request-ID", requestId);
    String length = upstream.getHeader("Content-Length");
    boolean bodyUnchanged = !(inspected.usageInjected() && eventStream);
    if (length != null && bodyUnchanged) {
      response.putHeader("Content-Length", length);
    } else if (request.method() != HttpMethod.HEAD) {
      response.setChunked(true);
    }
    if (eventStream) {
      // A streaming client learns that its request was accepted before the first token exists.
      response.writeHead();
    }
    upstream.handler(this::relayChunk);
    upstream.exceptionHandler(this::upstreamBroke);
    upstream.endHandler(v -> upstreamEnded());
    if (eventStream) {
      lastByteNanos = now;
      watchForIdle(backend.timeoutMs());
    }
  }

  /**
   * Once a stream flows, no total timeout applies: a long stream is fine. What is cut is a backend that goes
   * quiet for longer than its timeout. One timer per stream, moved on only when it fires, so a chunk costs a
   * time stamp. JSON answers, which arrive at once, are not watched.
   */
  private void watchForIdle(long delayMs) {
    idleTimer = context.vertx.setTimer(Math.max(1, delayMs), t -> {
      idleTimer = -1;
      if (finished) {
        return;
      }
      long quietMs = (System.nanoTime() - lastByteNanos) / 1_000_000;
      if (quietMs < backend.timeoutMs()) {
        watchForIdle(backend.timeoutMs() - quietMs);
        return;
      }
      upstreamRequest.reset();
      upstreamBroke(new TimeoutException("no byte from the backend for " + quietMs + " ms"));
    });
  }

  private void relayChunk(Buffer chunk) {
    lastByteNanos = System.nanoTime();
    if (firstByteNanos < 0) {
      firstByteNanos = lastByteNanos;
    }
    Buffer out = tap.onChunk(chunk);
    responseCopy = out == null ? responseCopy : context.logs.capture(responseCopy, out);
    if (out != null && out.length() > 0 && !finished) {
      response.write(out);
      if (response.writeQueueFull()) {
        upstreamResponse.pause();
        response.drainHandler(v -> upstreamResponse.resume());
      }
    }
  }

  private void upstreamEnded() {
    if (finished) {
      return;
    }
    Buffer rest = tap.onEnd();
    pool.givenBack(upstreamRequest.connection());
    // Slots go back before the last byte leaves: a client's next request must never find its own slot taken.
    releaseLimits(false);
    if (rest != null) {
      response.end(rest);
    } else {
      response.end();
    }
    finish(false);
  }

  private void upstreamBroke(Throwable cause) {
    if (finished) {
      return;
    }
    if (!response.headWritten()) {
      upstreamFailed(cause, STALE_CONNECTION_RETRIES);
      return;
    }
    recordHealth(false);
    if (tap.atFrameBoundary() || tap != ResponseTap.NONE && inspected.usageInjected()) {
      response.end(endpoint.dialect().streamErrorFrame(STREAM_BROKE)); // dialect: the client's error frame
    } else {
      // A truncated non-SSE body must not look complete to the client.
      response.reset();
    }
    finish(true);
  }

  private void clientGone() {
    if (finished) {
      return;
    }
    if (ConnectionGuard.readTimedOut(request.connection())) {
      abortStatus = ErrorKind.REQUEST_TIMEOUT.status();
    }
    if (upstreamRequest != null) {
      upstreamRequest.reset();
    }
    finish(true);
  }

  private void recordHealth(boolean ok) {
    if (ok) {
      if (attempt.succeeded()) {
        context.metrics.backendRecovered(backend.name());
      }
    } else if (attempt.failed(System.nanoTime())) {
      context.metrics.backendEjected(backend.name());
    }
  }

  private void endAttempt(boolean ok) {
    recordHealth(ok);
    releaseAttempt();
  }

  private void releaseAttempt() {
    if (attempt != null) {
      attempt.ended();
      attempt = null;
    }
  }

  /** Settles the TPM reservation to what the request used and gives the concurrency slots back. */
  private void releaseLimits(boolean aborted) {
    if (admission != null) {
      admission.complete(finalUsage(aborted).totalTokens());
      admission = null;
    }
  }

  /**
   * What the request used: the backend's report, else (an answer that came, or a request the backend had when
   * the client left or the stream broke) the prompt counted from the request and the completion counted from
   * what was relayed, marked estimated; else nothing.
   */
  private Usage finalUsage(boolean aborted) {
    if (finalUsage != null) {
      return finalUsage;
    }
    Usage reported = tap.usage();
    boolean answered = upstreamResponse != null && upstreamResponse.statusCode() / 100 == 2;
    if (reported != null) {
      finalUsage = reported;
    } else if (inspected != null && endpoint.inference() && (answered || aborted && upstreamRequest != null)) {
      long promptTokens = promptTokens().promptTokens();
      long completionTokens = tap.completionTokensEstimate();
      finalUsage = new Usage(promptTokens, completionTokens, promptTokens + completionTokens);
      usageEstimated = true;
    } else {
      finalUsage = NO_USAGE;
    }
    return finalUsage;
  }

  private void tooLarge() {
    response.putHeader("Connection", "close");
    fail(new GatewayError(ErrorKind.PAYLOAD_TOO_LARGE,
        "the request body is larger than the limit of " + context.maxBodySize + " bytes"));
  }

  private void fail(GatewayError error) {
    if (finished) {
      return;
    }
    releaseLimits(false);
    if (!response.headWritten()) {
      endpoint.dialect().errorHeaders(response.headers(), requestId); // dialect: the client's error shape
      response.setStatusCode(error.status())
          .putHeader("Content-Type", "application/json")
          .putHeader("X-Request-ID", requestId)
          .end(endpoint.dialect().body(error, requestId)); // dialect
    } else {
      response.reset();
    }
    finish(false);
  }

  private void finish(boolean aborted) {
    if (finished) {
      return;
    }
    finished = true;
    context.exchangeEnded();
    if (idleTimer >= 0) {
      context.vertx.cancelTimer(idleTimer);
      idleTimer = -1;
    }
    releaseAttempt();
    releaseLimits(aborted);
    long now = System.nanoTime();
    long latencyMs = (now - startNanos) / 1_000_000;
    long ttftMs = firstByteNanos < 0 ? -1 : (firstByteNanos - startNanos) / 1_000_000;
    int status = aborted && !response.headWritten() ? abortStatus : response.getStatusCode();
    boolean stream = inspected != null && inspected.stream();
    ProxyMetrics.Caller caller = decision == null ? context.metrics.caller(null, null, null)
        : context.metrics.caller(apiKey, decision.keyName(), decision.userId());
    context.metrics.requestEnded(endpoint.metricsLabel(), stream, backend == null ? "none" : backend.name(), status,
        latencyMs, stream ? ttftMs : -1, caller);
    context.logs.finished(request, endpoint, requestId, clientIp, apiKey, decision, inspected, backend, status, latencyMs,
        aborted, body, responseCopy);
    if (inspected != null && endpoint.inference()) {
      sendUsage(status, latencyMs, ttftMs, stream, aborted, caller);
    }
  }

  private void sendUsage(int status, long latencyMs, long ttftMs, boolean stream, boolean aborted,
      ProxyMetrics.Caller caller) {
    Usage usage = finalUsage(aborted);
    if (usage.totalTokens() > 0) {
      context.metrics.tokens(usage.promptTokens(), usage.completionTokens(), caller);
    }
    UsageRecord record = new UsageRecord(requestId, apiKey, decision == null ? null : decision.keySource(),
        decision == null ? null : decision.keyName(),
        decision == null ? null : decision.userId(), inspected.model(),
        usage.promptTokens(), usage.completionTokens(), usage.totalTokens(), stream, request.method().name(),
        request.path(), Instant.now().minusMillis(latencyMs), backend == null ? null : backend.url(), status, latencyMs,
        ttftMs, usageEstimated, aborted, clientIp);
    context.vertx.eventBus().send(Addresses.USAGE_RECORD, record);
  }

  /** {@code Retry-After} in seconds as milliseconds; -1 when absent or an HTTP date (not worth a wait here). */
  private static long retryAfterMs(String value) {
    if (value == null) {
      return -1;
    }
    try {
      return Math.max(0, Long.parseLong(value.trim())) * 1000;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static long parseLength(String value) {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
