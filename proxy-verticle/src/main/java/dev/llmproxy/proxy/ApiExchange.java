package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.common.tokens.PromptTokens;
import dev.llmproxy.common.tokens.TokenCounter;
import dev.llmproxy.proxy.balance.BackendStats;
import dev.llmproxy.proxy.limit.Admission;
import dev.llmproxy.proxy.metrics.ProxyMetrics;
import dev.llmproxy.proxy.upstream.BackendClients;
import dev.llmproxy.proxy.upstream.BodyBytes;
import dev.llmproxy.proxy.upstream.ResponseTap;
import dev.llmproxy.proxy.upstream.Usage;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One API request's way through the gateway: the state of one exchange, walked through its
 * {@link ExchangeChain} (request id, body, inspection, auth, limits, routing, forward) and back (the answer's head,
 * then the relay), and ended once ({@link #finish}) with one {@link ExchangeOutcome} for metrics, logs and usage.
 * The steps are shared singletons; this object is the only thing an exchange allocates for its own bookkeeping.
 * Everything runs on the event loop of the proxy verticle instance that accepted the request.
 */
final class ApiExchange implements Handler<AsyncResult<Void>> {

  /** What a step returns once the exchange has ended under it (answered, failed, or the client left): nothing more to do. */
  static final Future<Void> ENDED = Future.failedFuture(new Ended());
  private static final Usage NO_USAGE = new Usage(0, 0, 0);

  final ExchangeContext context;
  final HttpServerRequest request;
  final HttpServerResponse response;
  final Endpoint endpoint;
  final long startNanos = System.nanoTime();
  private final ExchangeInterceptor[] steps;
  /** The next step of the request walk; on the way back, one past the next step of the response walk. */
  private int next;
  private boolean responding;

  String requestId;
  /** The address of the connection's other end (null when unknown); {@link #clientIp} may be another, behind a proxy. */
  String peer;
  String clientIp;
  String apiKey;
  AuthDecision decision;
  Admission admission;
  /** The prompt counted from the request, once, when a TPM limit or an estimate needs it. */
  private PromptTokens prompt;
  /** The usage the record reports and the TPM limit settles to, decided once. */
  private Usage finalUsage;
  private boolean usageEstimated;
  Buffer body;
  InspectedRequest inspected;
  /** The routing step's choice, which the forward step tries first. */
  Backend chosen;
  /** The backend of the current (or last) attempt. */
  Backend backend;
  final List<Backend> tried = new ArrayList<>(2);
  int retries;
  BackendStats attempt;
  long attemptStartNanos;
  /** Completed by the forward step when a backend's answer is accepted (no retry left or wanted). */
  Promise<Void> answered;
  BackendClients.Upstream pool;
  /** How the current attempt's backend is spoken to, and its configured key (null for a discovered backend). */
  DialectBridge bridge = DialectBridge.SAME;
  dev.llmproxy.common.config.BackendConfig access;
  /** The request translated for a backend of another dialect, once; and for which bridge. */
  Buffer translatedBody;
  DialectBridge translatedFor;
  HttpClientRequest upstreamRequest;
  HttpClientResponse upstreamResponse;
  /** The answer is a server-sent event stream. */
  boolean eventStream;
  ResponseTap tap = ResponseTap.NONE;
  long firstByteNanos = -1;
  long lastByteNanos;
  long idleTimer = -1;
  boolean finished;
  /**
   * The client went away: the upstream request is reset by us, and what that reset makes the backend's side report
   * (synchronously, before the exchange has finished) is neither the backend's failure nor a reason to retry.
   */
  boolean clientLeft;
  /** The status of a request that ended without an answer: nginx's 499 for a client that left, 408 for a read timeout. */
  private int abortStatus = 499;
  BodyCapture responseCopy;
  /** The {@code request} table the lifecycle hooks share, once one has run; null otherwise. */
  Map<String, Object> hookRequest;
  /** Metadata the hooks returned: visible to later hooks. */
  JsonObject hookMetadata;
  /** Headers the hooks set (null value: removed) on the request to the backend. */
  Map<String, String> hookHeaders;
  /** The error to render has been through {@code on_error} already (a backend's error answer). */
  boolean errorShaped;
  /** A non-streaming answer read whole for {@code on_response}, and what the client gets of it. */
  Buffer bufferedAnswer;
  /** The server span ({@link ExchangeTracing}), when tracing is on; null otherwise. */
  io.opentelemetry.api.trace.Span span;
  Buffer answerBody;
  /** The response cache's key of this request when it missed (its answer may be stored); null otherwise. */
  String cacheKey;
  /** The answer came from the response cache. */
  boolean servedFromCache;
  /** The request was retried once with its oldest messages dropped ({@code condensation}). */
  boolean condensed;
  /** {@code fault_injection}: the faults this request's path and model selected; null when none. */
  List<dev.llmproxy.common.config.FaultConfig> faults;
  /** A fault cuts the current attempt's stream after this many relayed chunks (0: never), naming itself by cutBy. */
  int cutAfter;
  String cutBy;
  int relayedChunks;
  /** The key's {@code QuotaTally} count when auth's decision (and its quota left) was had. */
  long quotaMark;
  /** {@code auth.quota_enforcement: strict}: this request's allowance; null when nothing is enforced. */
  QuotaMeter quotaMeter;
  /** Why the gateway itself ended the answer early ({@code quota_exceeded}), or null. */
  String cutOff;
  /** Waiting in {@code routing.flow_control}'s queue, or null. */
  FlowControlStep.Waiter flowWaiter;
  /** The client left while the request waited in flow control's queue: nothing was used, nothing is metered. */
  private boolean leftQueue;

  ApiExchange(ExchangeContext context, HttpServerRequest request, Endpoint endpoint) {
    this.context = context;
    this.request = request;
    this.response = request.response();
    this.endpoint = endpoint;
    this.steps = context.chain.steps();
  }

  void start() {
    context.exchangeBegan();
    context.metrics.requestStarted();
    response.closeHandler(v -> clientGone());
    Future<Void> walked;
    try {
      walked = sendRequest();
    } catch (RuntimeException defect) {
      // A step's defect still ends the exchange (an internal error, its text not shown): a retired context waits for it.
      walked = Future.failedFuture(defect);
    }
    walked.onComplete(this);
  }

  /** Hands the request to the next step; the last one forwards it. */
  Future<Void> sendRequest() {
    return finished ? ENDED : steps[next++].handleRequest(this);
  }

  /** Hands the answer to the previous step; the first one relays it. */
  Future<Void> sendResponse() {
    return finished ? ENDED : steps[--next].handleResponse(this);
  }

  /** The request walk, then the response walk, has completed: go back through the chain, or render the error. */
  @Override
  public void handle(AsyncResult<Void> walked) {
    if (finished) {
      return;
    }
    if (walked.failed()) {
      fail(GatewayError.of(walked.cause()));
    } else if (!responding) {
      responding = true;
      sendResponse().onComplete(this);
    }
  }

  /** A later attempt's answer replaces one that broke before any byte reached the client: the response walk again. */
  void respondAgain() {
    next = steps.length;
    sendResponse().onComplete(this);
  }

  /**
   * The backend's whole answer body, for the steps that need it at once (an {@code on_response} hook, an HTTP/1.0
   * client). Each chunk moves the idle watch on, as when it is relayed; a failure is the forward step's (retried
   * while nothing has reached the client) and ends the walk.
   */
  Future<Buffer> readAnswerWhole() {
    return readAnswerWhole(upstreamResponse);
  }

  /** {@code upstream}: an answer not yet accepted as the exchange's own (condensation reads a 400 before it is). */
  Future<Buffer> readAnswerWhole(HttpClientResponse upstream) {
    Promise<Buffer> read = Promise.promise();
    Buffer whole = Buffer.buffer();
    upstream.handler(chunk -> {
      lastByteNanos = System.nanoTime();
      whole.appendBuffer(chunk);
    });
    upstream.exceptionHandler(cause -> {
      if (!finished && !read.future().isComplete()) {
        ForwardStep.failed(this, cause, ForwardStep.STALE_CONNECTION_RETRIES);
      }
      read.tryFail(ENDED.cause());
    });
    upstream.endHandler(v -> read.tryComplete(whole));
    return read.future().transform(done -> finished || done.failed() ? Future.<Buffer>failedFuture(ENDED.cause())
        : Future.succeededFuture(done.result()));
  }

  PromptTokens promptTokens() {
    if (prompt == null) {
      prompt = endpoint.inference() && body != null ? TokenCounter.prompt(BodyBytes.readOnly(body)) : PromptTokens.NONE;
    }
    return prompt;
  }

  /**
   * The one way the body sent upstream is replaced (a hook's edit, {@code model_overrides}, condensation): it is
   * inspected again, as the client's was.
   *
   * @throws GatewayError when the new body is not a valid request
   */
  void replaceBody(Buffer replaced) {
    inspected = RequestInspector.inspect(endpoint, replaced, context.prefixChars);
    body = replaced;
    prompt = null;
  }

  /** {@code server.max_body_size} exceeded: refused, and the connection closed (the rest of the body is not read). */
  GatewayError tooLarge() {
    if (request.version() != io.vertx.core.http.HttpVersion.HTTP_2) {
      // HTTP/2 has no Connection header (a stream is reset instead): sending one there is a protocol error.
      response.putHeader("Connection", "close");
    }
    return new GatewayError(ErrorKind.PAYLOAD_TOO_LARGE,
        "the request body is larger than the limit of " + context.maxBodySize + " bytes");
  }

  void recordHealth(boolean ok) {
    if (clientLeft) {
      return;
    }
    if (ok) {
      if (attempt.succeeded()) {
        context.metrics.backendRecovered(backend.name());
      }
    } else if (attempt.failed(System.nanoTime())) {
      context.metrics.backendEjected(backend.name());
    }
  }

  /** This attempt's connect failed: counted against the backend unless it answered others meanwhile (congestion). */
  void recordConnectFailure() {
    if (!clientLeft && attempt.connectFailed(System.nanoTime(), attemptStartNanos)) {
      context.metrics.backendEjected(backend.name());
    }
  }

  void releaseAttempt() {
    if (attempt != null) {
      attempt.ended();
      attempt = null;
    }
  }

  /** Settles the TPM reservation to what the request used and gives the concurrency slots back. */
  void settleLimits(boolean aborted) {
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
    if (reported == null && tap.usageRejected()) {
      context.metrics.usageReportRejected();
    }
    boolean answeredOk = upstreamResponse != null && upstreamResponse.statusCode() / 100 == 2;
    if (reported != null) {
      finalUsage = reported;
    } else if (inspected != null && endpoint.inference() && (answeredOk || aborted && upstreamRequest != null)) {
      long promptTokens = promptTokens().promptTokens();
      long completionTokens = tap.completionTokensEstimate();
      finalUsage = new Usage(promptTokens, completionTokens, promptTokens + completionTokens);
      usageEstimated = true;
    } else {
      finalUsage = NO_USAGE;
    }
    return finalUsage;
  }

  private void clientGone() {
    if (finished) {
      return;
    }
    if (ConnectionGuard.readTimedOut(request.connection())) {
      abortStatus = ErrorKind.REQUEST_TIMEOUT.status();
    }
    clientLeft = true;
    if (upstreamRequest != null) {
      upstreamRequest.reset();
    }
    if (flowWaiter != null) {
      leftQueue = true;
      flowWaiter.clientLeft();
    }
    finish(true);
  }

  /** The one place an error reaches the client: its JSON before any byte of an answer, else a reset. */
  void fail(GatewayError error) {
    if (finished) {
      return;
    }
    settleLimits(false);
    if (response.ended() || response.closed()) {
      // The client left (an HTTP/2 stream reset, a closed connection) while the failure was on its way: nobody to tell.
    } else if (!response.headWritten()) {
      if (context.hooks.has(LifecycleHooks.Hook.ON_ERROR) && !errorShaped) {
        error = HookSteps.shapeError(context.hooks, this, error);
      }
      endpoint.dialect().errorHeaders(response.headers(), requestId); // the client's dialect shapes the error
      response.setStatusCode(error.status())
          .putHeader("Content-Type", "application/json")
          .putHeader("X-Request-ID", requestId)
          .end(endpoint.dialect().body(error, requestId));
    } else {
      response.reset();
    }
    finish(false);
  }

  /** Ends the exchange, once: releases what it holds and hands its outcome to every sink. */
  void finish(boolean aborted) {
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
    settleLimits(aborted);
    long now = System.nanoTime();
    long latencyMs = (now - startNanos) / 1_000_000;
    long ttftMs = firstByteNanos < 0 ? -1 : (firstByteNanos - startNanos) / 1_000_000;
    int status = aborted && !response.headWritten() ? abortStatus : response.getStatusCode();
    ProxyMetrics.Caller caller = decision == null ? context.metrics.caller(null, null, null)
        : context.metrics.caller(apiKey, decision.keyName(), decision.userId());
    Usage usage = finalUsage(aborted);
    if (quotaMeter != null) {
      quotaMeter.settle(usage.totalTokens());
    }
    Map<String, Object> hookView = context.hooks.has(LifecycleHooks.Hook.ON_COMPLETE) ? context.hooks.requestView(this)
        : hookRequest;
    ExchangeOutcome outcome = new ExchangeOutcome(request, endpoint, requestId, clientIp, apiKey, decision, inspected,
        backend, status, Instant.now().minusMillis(latencyMs), latencyMs, ttftMs, aborted, usage, usageEstimated,
        caller, body, responseCopy, hookView, servedFromCache, retries, span, leftQueue, cutOff);
    for (OutcomeSink sink : context.chain.outcomeSinks()) {
      sink.ended(outcome);
    }
  }

  /** The failure {@link #ENDED} carries; never rendered (an ended exchange ignores it), so it has no stack. */
  private static final class Ended extends RuntimeException {
    Ended() {
      super("the exchange has ended", null, false, false);
    }
  }
}
