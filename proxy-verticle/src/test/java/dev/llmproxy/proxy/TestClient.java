package dev.llmproxy.proxy;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;

/**
 * A Vert.x HTTP client for tests that issues every request from one context. Driven from the test thread
 * directly, each request would get a fresh context on some event loop while reusing a pooled connection owned
 * by another; under heavy CPU load that occasionally lost a response (the gateway never does this: each of its
 * verticle instances issues its requests from its own loop).
 */
record TestClient(HttpClient client, Context context, HttpClientOptions options) {

  static TestClient create(Vertx vertx, HttpClientOptions options) {
    Context context = vertx.getOrCreateContext();
    Promise<HttpClient> created = Promise.promise();
    context.runOnContext(v -> created.complete(vertx.createHttpClient(options)));
    return new TestClient(Http.await(created.future()), context, options);
  }

  Future<HttpClientRequest> request(RequestOptions options) {
    Promise<HttpClientRequest> promise = Promise.promise();
    context.runOnContext(v -> client.request(options).onComplete(promise));
    return promise.future();
  }

  Future<HttpClientRequest> request(HttpMethod method, String uri) {
    return request(new RequestOptions().setMethod(method).setURI(uri));
  }
}
