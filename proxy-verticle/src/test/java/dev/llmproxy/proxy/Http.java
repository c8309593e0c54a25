package dev.llmproxy.proxy;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;

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

  static Answer call(HttpClient client, HttpMethod method, String uri, Map<String, String> headers, String body) {
    RequestOptions options = new RequestOptions().setMethod(method).setURI(uri);
    headers.forEach(options::putHeader);
    return client.request(options)
        .compose(request -> body == null ? request.send() : request.send(body))
        .compose(response -> response.body().map(b -> new Answer(response.statusCode(), response.headers(), b)))
        .toCompletionStage().toCompletableFuture().orTimeout(10, TimeUnit.SECONDS).join();
  }

  /** A future's result within 10 s, or the test fails. */
  static <T> T await(io.vertx.core.Future<T> future) {
    return future.toCompletionStage().toCompletableFuture().orTimeout(10, TimeUnit.SECONDS).join();
  }

  static Answer post(HttpClient client, String uri, String body) {
    return call(client, HttpMethod.POST, uri, Map.of("Content-Type", "application/json"), body);
  }

  static Answer post(HttpClient client, String uri, Map<String, String> headers, String body) {
    return call(client, HttpMethod.POST, uri, headers, body);
  }
}
