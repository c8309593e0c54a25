package dev.llmproxy.testsupport;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenAI-compatible inference server with exact, controllable timing, for tests and the benchmark.
 *
 * <p>Behaviour is steered per request by headers, so one instance serves every test case:
 * <ul>
 *   <li>{@code X-Mock-Chunks}: number of content chunks of a stream (default: the body's {@code max_tokens}, else 5)</li>
 *   <li>{@code X-Mock-Interval-Ms}: pause between chunks (default 0)</li>
 *   <li>{@code X-Mock-Status}: answer with this status and an OpenAI error body</li>
 *   <li>{@code X-Mock-Fail-After}: close the connection after this many chunks (a backend dying mid-stream)</li>
 *   <li>{@code X-Mock-No-Usage}: never report usage (a backend that ignores {@code include_usage})</li>
 * </ul>
 * Streams report usage in a final {@code "choices":[]} chunk only when the request asked with
 * {@code stream_options.include_usage}, as vLLM and OpenAI do. Every other path echoes the request as JSON.
 */
public final class MockLlmBackend implements AutoCloseable {

  public static final int PROMPT_TOKENS = 7;

  private static final Buffer SMALL_JSON = Buffer.buffer(completionJson("mock", 3).encode());

  private final Vertx vertx;
  private final boolean ownsVertx;
  private HttpServer server;
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final AtomicInteger streamsCutByClient = new AtomicInteger();
  private final AtomicInteger streamsFinished = new AtomicInteger();
  private volatile boolean recording = true;
  private volatile int answerDelayMs;
  private volatile int streamIntervalMs;
  private final AtomicInteger failuresLeft = new AtomicInteger();
  private volatile int failureStatus = 500;
  private volatile String failureRetryAfter;

  /** What the backend saw of one request. */
  public record Received(String method, String uri, io.vertx.core.MultiMap headers, Buffer body) {
    public JsonObject json() {
      return body.length() == 0 ? new JsonObject() : body.toJsonObject();
    }
  }

  private MockLlmBackend(Vertx vertx, boolean ownsVertx) {
    this.vertx = vertx;
    this.ownsVertx = ownsVertx;
  }

  public static Future<MockLlmBackend> start(Vertx vertx, int port) {
    MockLlmBackend backend = new MockLlmBackend(vertx, false);
    return backend.listen("127.0.0.1", port).map(backend);
  }

  private Future<HttpServer> listen(String host, int port) {
    HttpServerOptions options = new HttpServerOptions().setHost(host).setPort(port).setTcpNoDelay(true);
    return vertx.createHttpServer(options).requestHandler(this::handle).listen()
        .onSuccess(s -> server = s);
  }

  public int port() {
    return server.actualPort();
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + port();
  }

  /** Requests seen so far, in arrival order. */
  public List<Received> received() {
    return received;
  }

  /** The benchmark turns recording off: it would grow without bound. */
  public MockLlmBackend recording(boolean on) {
    this.recording = on;
    return this;
  }

  /** Every completion is answered this much later: a slow backend. */
  public MockLlmBackend answerDelay(int ms) {
    this.answerDelayMs = ms;
    return this;
  }

  /** Default pause between stream chunks when the request does not say (X-Mock-Interval-Ms). */
  public MockLlmBackend streamInterval(int ms) {
    this.streamIntervalMs = ms;
    return this;
  }

  /** The next {@code count} requests get {@code status} (with Retry-After when given) instead of an answer. */
  public MockLlmBackend failNext(int count, int status, String retryAfter) {
    this.failureStatus = status;
    this.failureRetryAfter = retryAfter;
    this.failuresLeft.set(count);
    return this;
  }

  /** Requests that reached a completion endpoint (failed ones included). */
  public int completions() {
    return (int) received.stream().filter(r -> r.uri().startsWith("/v1/chat/completions") || r.uri().startsWith("/v1/completions")).count();
  }

  /** Streams whose client (the gateway) went away before the last chunk was written. */
  public int streamsCutByClient() {
    return streamsCutByClient.get();
  }

  public int streamsFinished() {
    return streamsFinished.get();
  }

  @Override
  public void close() {
    if (server != null) {
      server.close().await();
    }
    if (ownsVertx) {
      vertx.close().await();
    }
  }

  private void handle(HttpServerRequest request) {
    request.body().onSuccess(body -> {
      if (recording) {
        received.add(new Received(request.method().name(), request.uri(), request.headers().copy(), body));
      }
      route(request, body);
    });
  }

  private void route(HttpServerRequest request, Buffer body) {
    HttpServerResponse response = request.response();
    String forcedStatus = request.getHeader("X-Mock-Status");
    boolean completion = request.path().equals("/v1/chat/completions") || request.path().equals("/v1/completions");
    if (forcedStatus == null && completion && failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      forcedStatus = Integer.toString(failureStatus);
      if (failureRetryAfter != null) {
        response.putHeader("Retry-After", failureRetryAfter);
      }
    }
    if (forcedStatus != null) {
      int status = Integer.parseInt(forcedStatus);
      response.setStatusCode(status).putHeader("Content-Type", "application/json")
          .end(new JsonObject().put("error", new JsonObject().put("message", "mock failure " + status)
              .put("type", "server_error")).encode());
      return;
    }
    String path = request.path();
    switch (path) {
      case "/health" -> response.end("{\"status\":\"ok\"}");
      case "/v1/models" -> response.putHeader("Content-Type", "application/json").end(new JsonObject()
          .put("object", "list")
          .put("data", new JsonArray().add(new JsonObject().put("id", "mock").put("object", "model"))).encode());
      case "/v1/chat/completions", "/v1/completions" -> {
        if (answerDelayMs > 0) {
          vertx.setTimer(answerDelayMs, t -> completion(request, body));
        } else {
          completion(request, body);
        }
      }
      case "/v1/embeddings" -> response.putHeader("Content-Type", "application/json").end(new JsonObject()
          .put("object", "list")
          .put("data", new JsonArray().add(new JsonObject().put("object", "embedding").put("index", 0)
              .put("embedding", new JsonArray().add(0.1).add(0.2))))
          .put("model", "mock")
          .put("usage", new JsonObject().put("prompt_tokens", 4).put("total_tokens", 4)).encode());
      default -> response.putHeader("Content-Type", "application/json").end(new JsonObject()
          .put("method", request.method().name())
          .put("path", path)
          .put("query", request.query())
          .put("body", body.toString()).encode());
    }
  }

  private void completion(HttpServerRequest request, Buffer body) {
    JsonObject json = body.length() == 0 ? new JsonObject() : body.toJsonObject();
    String model = json.getString("model", "mock");
    int chunks = intHeader(request, "X-Mock-Chunks", json.getInteger("max_tokens", 5));
    boolean noUsage = request.getHeader("X-Mock-No-Usage") != null;
    if (!json.getBoolean("stream", false)) {
      Buffer answer = chunks == 3 && "mock".equals(model) && !noUsage
          ? SMALL_JSON
          : Buffer.buffer(noUsage ? completionJson(model, chunks).put("usage", (Object) null).encode()
              : completionJson(model, chunks).encode());
      request.response().putHeader("Content-Type", "application/json").end(answer);
      return;
    }
    JsonObject streamOptions = json.getJsonObject("stream_options");
    boolean includeUsage = !noUsage && streamOptions != null && streamOptions.getBoolean("include_usage", false);
    new Stream(request.response(), model, chunks, intHeader(request, "X-Mock-Interval-Ms", streamIntervalMs),
        intHeader(request, "X-Mock-Fail-After", -1), includeUsage).begin();
  }

  private static int intHeader(HttpServerRequest request, String name, int orElse) {
    String value = request.getHeader(name);
    return value == null ? orElse : Integer.parseInt(value);
  }

  static JsonObject completionJson(String model, int completionTokens) {
    return new JsonObject()
        .put("id", "chatcmpl-mock")
        .put("object", "chat.completion")
        .put("created", 1700000000)
        .put("model", model)
        .put("choices", new JsonArray().add(new JsonObject().put("index", 0)
            .put("message", new JsonObject().put("role", "assistant").put("content", "tok ".repeat(completionTokens)))
            .put("finish_reason", "length")))
        .put("usage", usage(completionTokens));
  }

  private static JsonObject usage(int completionTokens) {
    return new JsonObject().put("prompt_tokens", PROMPT_TOKENS).put("completion_tokens", completionTokens)
        .put("total_tokens", PROMPT_TOKENS + completionTokens);
  }

  /** The content frame number {@code i} of a stream, exactly as the backend writes it. */
  public static String contentFrame(String model, int i) {
    return "data: " + new JsonObject().put("id", "chatcmpl-mock").put("object", "chat.completion.chunk")
        .put("model", model)
        .put("choices", new JsonArray().add(new JsonObject().put("index", 0)
            .put("delta", new JsonObject().put("content", "tok" + i + " ")).putNull("finish_reason")))
        .encode() + "\n\n";
  }

  public static String usageFrame(String model, int completionTokens) {
    return "data: " + new JsonObject().put("id", "chatcmpl-mock").put("object", "chat.completion.chunk")
        .put("model", model).put("choices", new JsonArray()).put("usage", usage(completionTokens)).encode() + "\n\n";
  }

  public static final String DONE_FRAME = "data: [DONE]\n\n";

  private final class Stream {
    private final HttpServerResponse response;
    private final String model;
    private final int chunks;
    private final int intervalMs;
    private final int failAfter;
    private final boolean includeUsage;
    private int sent;
    private boolean closed;

    Stream(HttpServerResponse response, String model, int chunks, int intervalMs, int failAfter, boolean includeUsage) {
      this.response = response;
      this.model = model;
      this.chunks = chunks;
      this.intervalMs = intervalMs;
      this.failAfter = failAfter;
      this.includeUsage = includeUsage;
    }

    void begin() {
      response.setChunked(true).putHeader("Content-Type", "text/event-stream").putHeader("Cache-Control", "no-cache");
      response.closeHandler(v -> {
        if (!closed) {
          closed = true;
          streamsCutByClient.incrementAndGet();
        }
      });
      next();
    }

    private void next() {
      if (closed) {
        return;
      }
      if (sent == failAfter) {
        closed = true;
        response.reset();
        return;
      }
      if (sent == chunks) {
        closed = true;
        StringBuilder tail = new StringBuilder();
        if (includeUsage) {
          tail.append(usageFrame(model, chunks));
        }
        tail.append(DONE_FRAME);
        response.end(tail.toString());
        streamsFinished.incrementAndGet();
        return;
      }
      response.write(contentFrame(model, sent++));
      if (intervalMs > 0) {
        vertx.setTimer(intervalMs, t -> next());
      } else {
        next();
      }
    }
  }

  /** {@code java -cp ... dev.llmproxy.testsupport.MockLlmBackend PORT}: the benchmark's upstream. */
  public static void main(String[] args) {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 9001;
    int instances = args.length > 1 ? Integer.parseInt(args[1]) : 1;
    Vertx vertx = Vertx.vertx();
    for (int i = 0; i < instances; i++) {
      MockLlmBackend backend = new MockLlmBackend(vertx, i == 0);
      backend.recording(false);
      vertx.deployVerticle(new io.vertx.core.VerticleBase() {
        @Override
        public Future<?> start() {
          return backend.listen("127.0.0.1", port);
        }
      }).await();
    }
    System.out.println("mock backend listening on 127.0.0.1:" + port);
  }
}
