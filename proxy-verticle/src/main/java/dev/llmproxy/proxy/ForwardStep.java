package dev.llmproxy.proxy;

import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.proxy.balance.RetryPolicy.Reason;
import dev.llmproxy.proxy.upstream.BackendClients;
import dev.llmproxy.proxy.upstream.HopByHop;
import dev.llmproxy.proxy.upstream.QuotaCutTap;
import dev.llmproxy.proxy.upstream.ResponseTap;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;

import java.net.ConnectException;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * The last step of the request walk: sends the request to the chosen backend, and to others under
 * {@code routing.retry} while nothing has reached the client; its answer's head (status, headers) is the first
 * step of the response walk. A failure that stands fails the walk with the error the client gets.
 */
final class ForwardStep implements ExchangeInterceptor {

  /** A pooled connection the backend had closed without saying so is retried this often on a fresh one. */
  static final int STALE_CONNECTION_RETRIES = 2;
  /** {@code server}: what software a backend runs is not the client's business (nor an attacker's). */
  private static final Set<String> NOT_RELAYED_BACK = HopByHop.names("content-length", "x-request-id", "server");

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    if (exchange.endpoint == Endpoint.MESSAGES_COUNT_TOKENS && !DialectBridge.ANTHROPIC.equals(exchange.chosen.dialect())) {
      return CountTokens.answer(exchange);
    }
    exchange.answered = Promise.promise();
    beginAttempt(exchange, exchange.chosen);
    return exchange.answered.future();
  }

  /** The backend's status and headers become the client's; the usage tap is chosen. Nothing is written yet. */
  @Override
  public Future<Void> handleResponse(ApiExchange exchange) {
    HttpClientResponse upstream = exchange.upstreamResponse;
    HttpServerResponse response = exchange.response;
    InspectedRequest inspected = exchange.inspected;
    int status = upstream.statusCode();
    String contentType = upstream.getHeader("Content-Type");
    boolean eventStream = contentType != null && contentType.regionMatches(true, 0, "text/event-stream", 0, 17);
    exchange.eventStream = eventStream;
    boolean translated = exchange.bridge != DialectBridge.SAME && exchange.endpoint.inference();
    if (translated) {
      exchange.tap = exchange.bridge.tap(exchange, status, eventStream, exchange.access);
    } else if (exchange.endpoint.inference() && status / 100 == 2) {
      exchange.tap = ResponseTap.forResponse(eventStream, inspected.usageInjected() && eventStream);
    }
    if (exchange.quotaMeter != null && eventStream && status / 100 == 2 && exchange.tap != ResponseTap.NONE) {
      // auth.quota_enforcement: strict: the stream is counted as it passes, and cut when the allowance is spent.
      exchange.quotaMeter.promptRelayed(exchange.promptTokens().promptTokens());
      exchange.tap = new QuotaCutTap(exchange.tap, exchange.endpoint.dialect(), exchange.quotaMeter);
    }
    response.setStatusCode(status);
    String message = upstream.statusMessage();
    if (message != null && !message.equals(HttpResponseStatus.valueOf(status).reasonPhrase())) {
      // Only a reason of the backend's own: the standard one is already there, with its status line encoded once.
      response.setStatusMessage(message);
    }
    HopByHop.copy(upstream.headers(), response.headers(), gatewayBudgets(response));
    response.putHeader("X-Request-ID", exchange.requestId);
    String length = upstream.getHeader("Content-Length");
    boolean bodyUnchanged = !(inspected.usageInjected() && eventStream) && !translated;
    if (translated) {
      response.headers().set("Content-Type", eventStream && status / 100 == 2 ? "text/event-stream" : "application/json");
    }
    Relay.watchForIdle(exchange);
    if (length != null && bodyUnchanged) {
      response.putHeader("Content-Length", length);
    } else if (exchange.request.method() == HttpMethod.HEAD) {
      return exchange.sendResponse();
    } else if (exchange.request.version() == HttpVersion.HTTP_1_0) {
      // No chunked encoding in HTTP/1.0 (streams were refused earlier): an answer of unknown length is read whole
      // and sent with its length.
      return exchange.readAnswerWhole().compose(whole -> {
        exchange.bufferedAnswer = whole;
        exchange.answerBody = whole;
        return exchange.sendResponse();
      });
    } else {
      response.setChunked(true);
    }
    return exchange.sendResponse();
  }

  /** {@link #NOT_RELAYED_BACK} and the budget headers of the requests, the tokens, or both, which the gateway set. */
  private static final Set<String> NOT_RELAYED_BACK_REQUESTS = notRelayedBack(LimitStep.REQUESTS);
  private static final Set<String> NOT_RELAYED_BACK_TOKENS = notRelayedBack(LimitStep.TOKENS);
  private static final Set<String> NOT_RELAYED_BACK_BOTH = notRelayedBack(LimitStep.REQUESTS, LimitStep.TOKENS);

  private static Set<String> notRelayedBack(LimitStep.BudgetHeaders... units) {
    java.util.List<String> names = new java.util.ArrayList<>(NOT_RELAYED_BACK);
    for (LimitStep.BudgetHeaders unit : units) {
      names.addAll(unit.names());
    }
    return HopByHop.names(names);
  }

  /**
   * The gateway's own {@code x-ratelimit-*} headers (set when it admitted the request) win over a backend's of the
   * same name: a client must not get two values, one of them about a limit it is not under. {@link LimitStep} sets
   * a unit's three headers together, so its limit header tells which set applies (no set is built per request).
   */
  private static Set<String> gatewayBudgets(HttpServerResponse response) {
    MultiMap headers = response.headers();
    boolean requests = headers.contains(LimitStep.REQUESTS.limit());
    boolean tokens = headers.contains(LimitStep.TOKENS.limit());
    return requests ? (tokens ? NOT_RELAYED_BACK_BOTH : NOT_RELAYED_BACK_REQUESTS)
        : tokens ? NOT_RELAYED_BACK_TOKENS : NOT_RELAYED_BACK;
  }

  private static void beginAttempt(ApiExchange exchange, Backend chosen) {
    exchange.backend = chosen;
    exchange.tried.add(chosen);
    exchange.attempt = exchange.context.stats.of(chosen);
    exchange.attempt.started();
    exchange.attemptStartNanos = System.nanoTime();
    exchange.cutAfter = 0;
    if (exchange.faults != null) {
      injectFaults(exchange, FaultInjector.roll(exchange.faults, chosen));
      return;
    }
    forward(exchange, 0);
  }

  /**
   * {@code fault_injection} on this attempt: a delay before it, then either the fault's status as if the backend had
   * answered it (health, retry and fallback react as they would to the backend's own) or the real attempt, whose
   * stream the relay may cut.
   */
  private static void injectFaults(ApiExchange exchange, FaultInjector.Roll roll) {
    ExchangeContext context = exchange.context;
    if (roll.delayMs() > 0) {
      context.metrics.faultInjected(roll.delayedBy(), "delay");
      Backend backend = exchange.backend;
      context.vertx.setTimer(roll.delayMs(), t -> {
        if (!exchange.finished && exchange.backend == backend) {
          injectFaults(exchange, new FaultInjector.Roll(0, null, roll.abortStatus(), roll.abortedBy(), roll.cutAfter(),
              roll.cutBy()));
        }
      });
      return;
    }
    if (roll.abortedBy() != null) {
      context.metrics.faultInjected(roll.abortedBy(), "abort");
      injectedAnswer(exchange, roll.abortStatus(), roll.abortedBy());
      return;
    }
    exchange.cutAfter = roll.cutAfter();
    exchange.cutBy = roll.cutBy();
    exchange.relayedChunks = 0;
    forward(exchange, 0);
  }

  /** An injected abort stands for the backend's own answer: retried under the same policy as a real one. */
  private static void injectedAnswer(ApiExchange exchange, int status, String fault) {
    exchange.recordHealth(status < 500);
    exchange.releaseAttempt();
    if ((status >= 500 || status == 429) && retry(exchange, Reason.STATUS, status, -1)) {
      return;
    }
    GatewayError error = new GatewayError(ErrorKind.FAULT_INJECTED, status,
        "fault injected by fault_injection (" + fault + ")", null);
    if (!exchange.answered.tryFail(error)) {
      exchange.fail(error);
    }
  }

  private static void forward(ApiExchange exchange, int staleRetries) {
    Backend backend = exchange.backend;
    BackendClients.Upstream upstream = exchange.context.clients.upstream(backend);
    String uri;
    try {
      exchange.access = exchange.context.access(backend);
      exchange.bridge = DialectBridge.between(exchange.endpoint, backend);
      uri = exchange.bridge.uri(exchange, backend, exchange.access);
      exchange.bridge.body(exchange);
    } catch (RuntimeException e) {
      // A field of the wrong type in a request to translate (a number for a role, ...): the client's mistake.
      GatewayError refused = e instanceof GatewayError g ? g : new GatewayError(ErrorKind.INVALID_REQUEST,
          "the request could not be translated for backend '" + backend.name() + "': a field has the wrong type");
      exchange.releaseAttempt();
      if (!exchange.answered.tryFail(refused)) {
        exchange.fail(refused);
      }
      return;
    }
    RequestOptions options = new RequestOptions()
        .setMethod(exchange.request.method())
        .setURI(upstream.basePath() + uri)
        .setConnectTimeout(BackendClients.acquireTimeoutMs(backend))
        .setIdleTimeout(backend.timeoutMs());
    upstream.client().request(options).onComplete(created -> {
      if (created.succeeded()) {
        exchange.pool = upstream;
        upstream.taken(created.result().connection());
        send(exchange, created.result(), staleRetries);
      } else if (created.cause() instanceof TimeoutException) {
        noConnectionInTime(exchange);
      } else {
        failed(exchange, created.cause(), staleRetries);
      }
    });
  }

  /**
   * No connection came from the gateway's own pool within {@link BackendClients#acquireTimeoutMs}: the request waited
   * behind {@code max_connections} (or the gateway's loop was too busy to hand one over). The TCP connect has its own,
   * shorter {@code connect_timeout}, which fails as a connect failure, so this wait is the gateway's and never counts
   * against the backend's passive health: a burst of streams must not eject the backend it is queued for.
   */
  private static void noConnectionInTime(ApiExchange exchange) {
    if (exchange.finished || exchange.clientLeft) {
      return;
    }
    Backend backend = exchange.backend;
    exchange.releaseAttempt();
    GatewayError error = new GatewayError(ErrorKind.OVERLOADED, "no connection to backend '" + backend.name()
        + "' came free within " + BackendClients.acquireTimeoutMs(backend) + " ms (backends[].max_connections)");
    if (!exchange.answered.tryFail(error)) {
      exchange.fail(error);
    }
  }

  private static void send(ApiExchange exchange, HttpClientRequest upstream, int staleRetries) {
    if (exchange.finished) {
      upstream.reset();
      return;
    }
    exchange.upstreamRequest = upstream;
    HttpServerRequest request = exchange.request;
    ExchangeContext context = exchange.context;
    MultiMap headers = upstream.headers();
    Set<String> skipped = exchange.endpoint.inference() ? context.inferenceSkippedHeaders
        : context.passthroughSkippedHeaders;
    HopByHop.copy(request.headers(), headers, skipped);
    if (exchange.endpoint.routedByModel()) {
      // BodyReadStep inflated a gzip or deflate body: the backend gets it as read (its length is set by send).
      headers.remove("Content-Encoding");
    }
    headers.set("X-Request-ID", exchange.requestId);
    String forwardedFor = request.getHeader("X-Forwarded-For");
    String peer = exchange.peer == null ? "unknown" : exchange.peer;
    headers.set("X-Forwarded-For", forwardedFor == null ? peer : forwardedFor + ", " + peer);
    String forwardedProto = request.getHeader("X-Forwarded-Proto");
    headers.set("X-Forwarded-Proto", forwardedProto != null ? forwardedProto : request.isSSL() ? "https" : "http");
    exchange.backend.headers().forEach(headers::set);
    DialectBridge.credentials(headers, exchange.backend, exchange.access);
    if (exchange.hookHeaders != null) {
      exchange.hookHeaders.forEach((name, value) -> {
        if (value == null) {
          headers.remove(name);
        } else {
          headers.set(name, value);
        }
      });
    }
    Buffer forwardBody = exchange.bridge.body(exchange);
    (forwardBody.length() == 0 ? upstream.send() : upstream.send(forwardBody)).onComplete(answered -> {
      if (answered.succeeded()) {
        answered(exchange, answered.result());
      } else {
        failed(exchange, answered.cause(), staleRetries);
      }
    });
  }

  /** The backend failed before its answer's head came (or, with staleRetries spent, before its body's first byte). */
  static void failed(ApiExchange exchange, Throwable cause, int staleRetries) {
    if (exchange.finished || exchange.clientLeft) {
      return;
    }
    if (exchange.idleTimer >= 0) {
      // The failed answer's watch ends with it: a retry's answer gets its own.
      exchange.context.vertx.cancelTimer(exchange.idleTimer);
      exchange.idleTimer = -1;
    }
    if (cause instanceof HttpClosedException && staleRetries < STALE_CONNECTION_RETRIES) {
      forward(exchange, staleRetries + 1);
      return;
    }
    GatewayError error;
    Reason reason;
    if (cause instanceof TimeoutException) {
      reason = Reason.TIMEOUT;
      error = new GatewayError(ErrorKind.UPSTREAM_TIMEOUT,
          "the backend did not answer within " + exchange.backend.timeoutMs() + " ms");
    } else if (cause instanceof ConnectException || cause.getCause() instanceof ConnectException) {
      reason = Reason.CONNECT_FAILURE;
      error = new GatewayError(ErrorKind.UPSTREAM_UNREACHABLE, "the backend could not be reached");
    } else {
      reason = Reason.RESET;
      error = new GatewayError(ErrorKind.UPSTREAM_FAILED, "the backend failed before answering");
    }
    if (reason == Reason.CONNECT_FAILURE) {
      exchange.recordConnectFailure();
    } else {
      exchange.recordHealth(false);
    }
    exchange.releaseAttempt();
    if (!retry(exchange, reason, 0, -1) && !exchange.answered.tryFail(error)) {
      // The answer had been accepted and broke before its first byte left: the walk is over, so fail here.
      exchange.fail(error);
    }
  }

  /** Tries another backend (or the same after a wait) if the policy allows; false when the failure stands. */
  private static boolean retry(ApiExchange exchange, Reason reason, int status, long retryAfterMs) {
    ExchangeContext context = exchange.context;
    if (!context.retryPolicy.allows(exchange.retries, reason, status)) {
      return false;
    }
    Backend strategyChoice;
    try {
      strategyChoice = RouteStep.choose(exchange);
    } catch (GatewayError noneLeft) {
      return false;
    }
    Backend next = context.hooks.has(LifecycleHooks.Hook.ON_ROUTE)
        ? HookSteps.OnRoute.route(context.hooks, exchange, strategyChoice) : strategyChoice;
    exchange.retries++;
    context.metrics.retry(exchange.backend.name(), reason == Reason.STATUS ? Integer.toString(status) : reason.label());
    // Another backend is tried at once; the same one again only after its Retry-After, else the backoff.
    long waitMs = !exchange.tried.contains(next) ? 0
        : retryAfterMs >= 0 ? retryAfterMs : context.retryPolicy.backoffMs(exchange.retries);
    if (waitMs <= 0) {
      beginAttempt(exchange, next);
    } else {
      context.vertx.setTimer(waitMs, t -> {
        if (!exchange.finished) {
          beginAttempt(exchange, next);
        }
      });
    }
    return true;
  }

  /** A head came: a 5xx or 429 is retried elsewhere if the policy allows, else the answer is the client's. */
  private static void answered(ApiExchange exchange, HttpClientResponse upstream) {
    if (exchange.finished) {
      return;
    }
    ExchangeContext context = exchange.context;
    long now = System.nanoTime();
    exchange.attempt.recordTtfb(now - exchange.attemptStartNanos, now);
    int status = upstream.statusCode();
    exchange.recordHealth(status < 500);
    if (status >= 500 || status == 429) {
      long retryAfterMs = status == 429 ? retryAfterMs(upstream.getHeader("Retry-After")) : -1;
      boolean waitable = status != 429 || retryAfterMs >= 0 && retryAfterMs <= context.retryPolicy.maxWaitMs();
      if (waitable && context.retryPolicy.allows(exchange.retries, Reason.STATUS, status)) {
        // Drained rather than reset, so that the connection goes back to the pool.
        BackendClients.Upstream drained = exchange.pool;
        upstream.body().onSuccess(drainedBody -> drained.givenBack(upstream.request().connection()));
        exchange.releaseAttempt();
        if (retry(exchange, Reason.STATUS, status, retryAfterMs)) {
          return;
        }
        exchange.attempt = context.stats.of(exchange.backend);
        exchange.attempt.started();
      }
    }
    if (status == 400 && !exchange.condensed && context.config.condensation().enabled()
        && exchange.endpoint == Endpoint.CHAT_COMPLETIONS) {
      condenseOrAccept(exchange, upstream);
      return;
    }
    accept(exchange, upstream, now);
  }

  /**
   * {@code condensation}: a 400 is read whole (an error is small); a context-length error is retried once on the
   * same backend with the oldest messages dropped; any other answer goes to the client as it came.
   */
  private static void condenseOrAccept(ApiExchange exchange, HttpClientResponse upstream) {
    BackendClients.Upstream pool = exchange.pool;
    // Read under the backend's silence watch; a failure has already been answered (or the exchange had ended).
    exchange.readAnswerWhole(upstream).onComplete(read -> {
      if (read.failed()) {
        return;
      }
      var config = exchange.context.config.condensation();
      Buffer shorter = Condensation.contextLengthError(config, read.result())
          ? Condensation.shorter(config, exchange.body) : null;
      if (shorter == null) {
        exchange.bufferedAnswer = read.result();
        exchange.answerBody = read.result();
        accept(exchange, upstream, System.nanoTime());
        return;
      }
      exchange.condensed = true;
      pool.givenBack(upstream.request().connection());
      exchange.releaseAttempt();
      try {
        exchange.replaceBody(shorter);
      } catch (GatewayError invalid) {
        exchange.answered.tryFail(invalid);
        return;
      }
      exchange.context.metrics.retry(exchange.backend.name(), "condensed");
      beginAttempt(exchange, exchange.backend);
    });
  }

  private static void accept(ApiExchange exchange, HttpClientResponse upstream, long now) {
    exchange.upstreamResponse = upstream;
    exchange.lastByteNanos = now;
    if (!exchange.answered.tryComplete()) {
      // A retry after an accepted answer broke before its first byte left: this one goes back through the chain.
      exchange.respondAgain();
    }
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
}
