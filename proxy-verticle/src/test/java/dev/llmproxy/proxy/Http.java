package dev.llmproxy.proxy;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Blocking HTTP calls for tests, on a real connection; the test thread is never an event loop. */
final class Http {

  record Answer(int status, MultiMap headers, Buffer body) {
    JsonObject json() {
      return body.toJsonObject();
    }

    String text() {
      return body.toString();
    }

    /** Asserts OpenAI's error shape and returns the error object. */
    JsonObject error() {
      JsonObject error = json().getJsonObject("error");
      if (error == null || error.getString("message", "").isEmpty() || error.getString("type") == null
          || error.getString("code") == null) {
        throw new AssertionError("not an OpenAI error body: " + text());
      }
      return error;
    }
  }

  private Http() {
  }

  /**
   * Plain HTTP goes through the JDK's client, in its own threads: a Vert.x client sharing the gateway's event
   * loops occasionally lost an answer under heavy CPU load, which the gateway had sent (see TestClient).
   * TLS calls (client certificates) and calls that need raw control of {@code Connection} or
   * {@code Transfer-Encoding} use the Vert.x client.
   */
  static Answer call(TestClient client, HttpMethod method, String uri, Map<String, String> headers, String body) {
    boolean raw = headers.keySet().stream().anyMatch(h -> RESTRICTED.contains(h.toLowerCase()) || h.equalsIgnoreCase("transfer-encoding"));
    if (client.options().isSsl() || raw) {
      RequestOptions options = new RequestOptions().setMethod(method).setURI(uri);
      headers.forEach(options::putHeader);
      return client.request(options)
          .compose(request -> body == null ? request.send() : request.send(body))
          .compose(response -> response.body().map(b -> new Answer(response.statusCode(), response.headers(), b)))
          .toCompletionStage().toCompletableFuture().orTimeout(10, TimeUnit.SECONDS).join();
    }
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://" + client.options().getDefaultHost() + ":"
            + client.options().getDefaultPort() + uri))
        .timeout(Duration.ofSeconds(10))
        .method(method.name(), body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(request::header);
    try {
      HttpResponse<byte[]> response = JDK.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
      MultiMap answerHeaders = MultiMap.caseInsensitiveMultiMap();
      response.headers().map().forEach(answerHeaders::add);
      return new Answer(response.statusCode(), answerHeaders, Buffer.buffer(response.body()));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static final HttpClient JDK = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  /** Headers the JDK client sets itself and refuses from callers. */
  private static final java.util.Set<String> RESTRICTED = java.util.Set.of("connection", "content-length", "host",
      "upgrade", "expect");

  /** A future's result within 10 s, or the test fails. */
  static <T> T await(io.vertx.core.Future<T> future) {
    return future.toCompletionStage().toCompletableFuture().orTimeout(10, TimeUnit.SECONDS).join();
  }

  /** A stream in progress: its response once the first chunk has come, and when it ended. */
  record OpenStream(io.vertx.core.http.HttpClientResponse response, java.util.concurrent.CompletableFuture<Void> ended) {

    /** Cuts the stream as a client that goes away does. */
    void abort() {
      response.request().connection().close();
    }
  }

  /**
   * Starts a chat completion stream whose chunks the mock backend sends {@code intervalMs} apart (through the Vert.x
   * client: the test needs the connection to cut it) and waits for its first chunk.
   */
  static OpenStream openStream(TestClient client, String body, int intervalMs) {
    java.util.concurrent.CompletableFuture<io.vertx.core.http.HttpClientResponse> first =
        new java.util.concurrent.CompletableFuture<>();
    java.util.concurrent.CompletableFuture<Void> ended = new java.util.concurrent.CompletableFuture<>();
    client.request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/chat/completions")
            .putHeader("X-Mock-Interval-Ms", Integer.toString(intervalMs)))
        .compose(request -> request.send(body))
        .onSuccess(response -> response.handler(chunk -> first.complete(response)).endHandler(v -> ended.complete(null)));
    return new OpenStream(first.orTimeout(5, TimeUnit.SECONDS).join(), ended);
  }

  /** One chunk of a stream as it arrived, with its arrival time in ms after the request was sent. */
  record Arrival(long atMs, String text) {
  }

  /** Each chunk of a streamed answer as it arrived (through the Vert.x client, which shows chunk boundaries). */
  static List<Arrival> streamArrivals(TestClient client, String uri, String body, Map<String, String> headers) {
    List<Arrival> arrivals = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setURI(uri);
    headers.forEach(options::putHeader);
    long sent = System.nanoTime();
    client.request(options)
        .compose(request -> request.send(body))
        .onSuccess(response -> {
          response.handler(chunk -> arrivals.add(new Arrival((System.nanoTime() - sent) / 1_000_000, chunk.toString())));
          response.endHandler(v -> done.complete(null));
          response.exceptionHandler(done::completeExceptionally);
        })
        .onFailure(done::completeExceptionally);
    done.orTimeout(10, TimeUnit.SECONDS).join();
    return arrivals;
  }

  static String joined(List<Arrival> arrivals) {
    StringBuilder all = new StringBuilder();
    arrivals.forEach(a -> all.append(a.text()));
    return all.toString();
  }

  /** A plain POST without waiting for it, through the JDK's client: its status when it completes. */
  static java.util.concurrent.CompletableFuture<Integer> postAsync(TestClient client, String uri, String body) {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + client.options().getDefaultHost() + ":"
            + client.options().getDefaultPort() + uri))
        .timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    return JDK.sendAsync(request, HttpResponse.BodyHandlers.discarding()).thenApply(HttpResponse::statusCode);
  }

  static Answer post(TestClient client, String uri, String body) {
    return call(client, HttpMethod.POST, uri, Map.of("Content-Type", "application/json"), body);
  }

  static Answer post(TestClient client, String uri, Map<String, String> headers, String body) {
    return call(client, HttpMethod.POST, uri, headers, body);
  }
}
