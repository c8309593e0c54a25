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
 *   <li>{@code X-Mock-Provider-Headers}: answer with a {@code Server} header and the provider's own
 *   {@code x-ratelimit-*-requests}</li>
 * </ul>
 * Streams report usage in a final {@code "choices":[]} chunk only when the request asked with
 * {@code stream_options.include_usage}, as vLLM and OpenAI do.
 *
 * <p>It also speaks Anthropic's Messages API ({@code /v1/messages}: the message JSON, or the SSE sequence
 * {@code message_start} (input tokens), {@code content_block_*}, {@code message_delta} (output tokens),
 * {@code message_stop}) and OpenAI's Responses API ({@code /v1/responses}: the response JSON, or
 * {@code response.created}, {@code response.output_text.delta}..., {@code response.completed} with the usage), each
 * always with usage unless {@code X-Mock-No-Usage}; {@code /v1/messages/count_tokens} answers
 * {@code {"input_tokens":7}}. Every other path echoes the request as JSON.
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
  /** What {@code GET /metrics} answers, as an inference server's Prometheus text; null: 404. */
  private volatile String engineMetrics;
  private volatile int streamIntervalMs;
  private final AtomicInteger failuresLeft = new AtomicInteger();
  private volatile int failureStatus = 500;
  private volatile String failureRetryAfter;
  private volatile int maxMessages = Integer.MAX_VALUE;

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

  /** {@code GET /metrics} answers this Prometheus text (e.g. {@code vllm:num_requests_waiting 3}): an engine's own figures. */
  public MockLlmBackend engineMetrics(String prometheusText) {
    this.engineMetrics = prometheusText;
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

  /**
   * A chat request with more than {@code messages} messages is refused as vLLM refuses a prompt longer than its
   * context: 400 with OpenAI's {@code context_length_exceeded}.
   */
  public MockLlmBackend contextLimit(int messages) {
    this.maxMessages = messages;
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
    if (request.getHeader("X-Mock-Provider-Headers") != null) {
      // What a hosted provider sends besides its answer: its software and its own rate-limit budget.
      response.putHeader("Server", "mock-llm/1.0 (Ubuntu)")
          .putHeader("x-ratelimit-limit-requests", "10000")
          .putHeader("x-ratelimit-remaining-requests", "9999");
    }
    String forcedStatus = request.getHeader("X-Mock-Status");
    boolean completion = request.path().equals("/v1/chat/completions") || request.path().equals("/v1/completions")
        || request.path().equals("/v1/messages") || request.path().equals("/v1/responses");
    if (forcedStatus == null && completion && failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      forcedStatus = Integer.toString(failureStatus);
      if (failureRetryAfter != null) {
        response.putHeader("Retry-After", failureRetryAfter);
      }
    }
    if (forcedStatus == null && request.path().equals("/v1/chat/completions") && maxMessages < Integer.MAX_VALUE) {
      JsonArray messages = body.length() == 0 ? null : body.toJsonObject().getJsonArray("messages");
      if (messages != null && messages.size() > maxMessages) {
        response.setStatusCode(400).putHeader("Content-Type", "application/json")
            .end(new JsonObject().put("error", new JsonObject()
                .put("message", "This model's maximum context length is 64 tokens. However, you requested more.")
                .put("type", "invalid_request_error").put("code", "context_length_exceeded")).encode());
        return;
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
      case "/metrics" -> {
        String metrics = engineMetrics;
        if (metrics == null) {
          response.setStatusCode(404).end();
        } else {
          response.putHeader("Content-Type", "text/plain; version=0.0.4").end(metrics);
        }
      }
      case "/v1/models" -> response.putHeader("Content-Type", "application/json").end(new JsonObject()
          .put("object", "list")
          .put("data", new JsonArray().add(new JsonObject().put("id", "mock").put("object", "model"))).encode());
      case "/v1/chat/completions", "/v1/completions", "/v1/messages", "/v1/responses" -> {
        if (answerDelayMs > 0) {
          vertx.setTimer(answerDelayMs, t -> completion(request, body));
        } else {
          completion(request, body);
        }
      }
      case "/v1/messages/count_tokens" -> response.putHeader("Content-Type", "application/json")
          .end(new JsonObject().put("input_tokens", PROMPT_TOKENS).encode());
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
    int chunks = intHeader(request, "X-Mock-Chunks", json.getInteger("max_tokens", json.getInteger("max_output_tokens", 5)));
    boolean noUsage = request.getHeader("X-Mock-No-Usage") != null;
    StreamFormat format = switch (request.path()) {
      case "/v1/messages" -> StreamFormat.ANTHROPIC;
      case "/v1/responses" -> StreamFormat.RESPONSES;
      default -> StreamFormat.OPENAI;
    };
    if (format != StreamFormat.OPENAI) {
      if (!Boolean.TRUE.equals(json.getValue("stream"))) { // "stream": null is no stream
        JsonObject answer = format == StreamFormat.ANTHROPIC ? anthropicMessage(model, chunks, !noUsage)
            : responsesAnswer(model, chunks, !noUsage);
        request.response().putHeader("Content-Type", "application/json").end(answer.encode());
      } else {
        new Stream(request.response(), format, model, chunks, intHeader(request, "X-Mock-Interval-Ms", streamIntervalMs),
            intHeader(request, "X-Mock-Fail-After", -1), !noUsage).begin();
      }
      return;
    }
    if (!Boolean.TRUE.equals(json.getValue("stream"))) { // "stream": null is no stream
      Buffer answer = chunks == 3 && "mock".equals(model) && !noUsage
          ? SMALL_JSON
          : Buffer.buffer(noUsage ? completionJson(model, chunks).put("usage", (Object) null).encode()
              : completionJson(model, chunks).encode());
      request.response().putHeader("Content-Type", "application/json").end(answer);
      return;
    }
    JsonObject streamOptions = json.getJsonObject("stream_options");
    boolean includeUsage = !noUsage && streamOptions != null && streamOptions.getBoolean("include_usage", false);
    new Stream(request.response(), StreamFormat.OPENAI, model, chunks,
        intHeader(request, "X-Mock-Interval-Ms", streamIntervalMs), intHeader(request, "X-Mock-Fail-After", -1),
        includeUsage).begin();
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

  /** Anthropic's answer to a non-streaming {@code /v1/messages}, as its API documents it. */
  public static JsonObject anthropicMessage(String model, int outputTokens, boolean withUsage) {
    JsonObject message = new JsonObject()
        .put("id", "msg_mock").put("type", "message").put("role", "assistant").put("model", model)
        .put("content", new JsonArray().add(new JsonObject().put("type", "text").put("text", "tok ".repeat(outputTokens))))
        .put("stop_reason", "max_tokens").putNull("stop_sequence");
    return withUsage ? message.put("usage", anthropicUsage(PROMPT_TOKENS, outputTokens)) : message;
  }

  private static JsonObject anthropicUsage(int input, int output) {
    return new JsonObject().put("input_tokens", input).put("cache_creation_input_tokens", 0)
        .put("cache_read_input_tokens", 0).put("output_tokens", output);
  }

  /** OpenAI's Responses API answer to a non-streaming {@code /v1/responses}. */
  public static JsonObject responsesAnswer(String model, int outputTokens, boolean withUsage) {
    JsonObject response = new JsonObject()
        .put("id", "resp_mock").put("object", "response").put("created_at", 1700000000).put("status", "completed")
        .put("model", model)
        .put("output", new JsonArray().add(new JsonObject().put("type", "message").put("id", "msg_mock")
            .put("status", "completed").put("role", "assistant")
            .put("content", new JsonArray().add(new JsonObject().put("type", "output_text")
                .put("text", "tok ".repeat(outputTokens)).put("annotations", new JsonArray())))));
    if (!withUsage) {
      return response.putNull("usage");
    }
    return response.put("usage", new JsonObject().put("input_tokens", PROMPT_TOKENS)
        .put("input_tokens_details", new JsonObject().put("cached_tokens", 0)).put("output_tokens", outputTokens)
        .put("output_tokens_details", new JsonObject().put("reasoning_tokens", 0))
        .put("total_tokens", PROMPT_TOKENS + outputTokens));
  }

  private static String event(String name, JsonObject data) {
    return "event: " + name + "\ndata: " + data.encode() + "\n\n";
  }

  /** The frames of a stream in one API's format. */
  private enum StreamFormat {
    OPENAI {
      @Override
      String opening(String model, boolean usage) {
        return "";
      }

      @Override
      String content(String model, int i) {
        return contentFrame(model, i);
      }

      @Override
      String closing(String model, int chunks, boolean usage) {
        return (usage ? usageFrame(model, chunks) : "") + DONE_FRAME;
      }
    },
    ANTHROPIC {
      @Override
      String opening(String model, boolean usage) {
        JsonObject message = new JsonObject().put("id", "msg_mock").put("type", "message").put("role", "assistant")
            .put("model", model).put("content", new JsonArray()).putNull("stop_reason").putNull("stop_sequence");
        if (usage) {
          message.put("usage", anthropicUsage(PROMPT_TOKENS, 1));
        }
        return event("message_start", new JsonObject().put("type", "message_start").put("message", message))
            + event("content_block_start", new JsonObject().put("type", "content_block_start").put("index", 0)
                .put("content_block", new JsonObject().put("type", "text").put("text", "")))
            + event("ping", new JsonObject().put("type", "ping"));
      }

      @Override
      String content(String model, int i) {
        return event("content_block_delta", new JsonObject().put("type", "content_block_delta").put("index", 0)
            .put("delta", new JsonObject().put("type", "text_delta").put("text", "tok" + i + " ")));
      }

      @Override
      String closing(String model, int chunks, boolean usage) {
        JsonObject delta = new JsonObject().put("type", "message_delta")
            .put("delta", new JsonObject().put("stop_reason", "max_tokens").putNull("stop_sequence"));
        if (usage) {
          delta.put("usage", new JsonObject().put("output_tokens", chunks));
        }
        return event("content_block_stop", new JsonObject().put("type", "content_block_stop").put("index", 0))
            + event("message_delta", delta)
            + event("message_stop", new JsonObject().put("type", "message_stop"));
      }
    },
    RESPONSES {
      @Override
      String opening(String model, boolean usage) {
        JsonObject response = new JsonObject().put("id", "resp_mock").put("object", "response")
            .put("status", "in_progress").put("model", model).put("output", new JsonArray()).putNull("usage");
        return event("response.created", new JsonObject().put("type", "response.created").put("response", response));
      }

      @Override
      String content(String model, int i) {
        return event("response.output_text.delta", new JsonObject().put("type", "response.output_text.delta")
            .put("item_id", "msg_mock").put("output_index", 0).put("content_index", 0).put("delta", "tok" + i + " "));
      }

      @Override
      String closing(String model, int chunks, boolean usage) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < chunks; i++) {
          text.append("tok").append(i).append(' ');
        }
        JsonObject done = responsesAnswer(model, chunks, usage);
        done.getJsonArray("output").getJsonObject(0).getJsonArray("content").getJsonObject(0).put("text", text.toString());
        return event("response.output_text.done", new JsonObject().put("type", "response.output_text.done")
            .put("item_id", "msg_mock").put("output_index", 0).put("content_index", 0).put("text", text.toString()))
            + event("response.completed", new JsonObject().put("type", "response.completed").put("response", done));
      }
    };

    abstract String opening(String model, boolean usage);

    abstract String content(String model, int i);

    abstract String closing(String model, int chunks, boolean usage);
  }

  private final class Stream {
    private final HttpServerResponse response;
    private final StreamFormat format;
    private final String model;
    private final int chunks;
    private final int intervalMs;
    private final int failAfter;
    private final boolean includeUsage;
    private int sent;
    private boolean closed;

    Stream(HttpServerResponse response, StreamFormat format, String model, int chunks, int intervalMs, int failAfter,
        boolean includeUsage) {
      this.response = response;
      this.format = format;
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
      String opening = format.opening(model, includeUsage);
      if (!opening.isEmpty()) {
        response.write(opening);
      }
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
        response.end(format.closing(model, chunks, includeUsage));
        streamsFinished.incrementAndGet();
        return;
      }
      response.write(format.content(model, sent++));
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
