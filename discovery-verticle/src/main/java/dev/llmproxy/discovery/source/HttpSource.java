package dev.llmproxy.discovery.source;

import dev.llmproxy.common.config.HttpDiscoveryConfig;
import dev.llmproxy.common.model.Backend;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.Json;

import java.time.Duration;
import java.util.List;

/**
 * {@code type: http}: a registry that answers {@code method url} (with {@code headers}) with a JSON list of
 * backends, or {@code {"backends": [...]}}, within {@code timeout}. Anything but a 2xx with such a body is a failure.
 */
public final class HttpSource extends PollingSource {

  private final HttpDiscoveryConfig config;
  private final BackendEntries entries;
  private final HttpClient client;
  /** The registry's URL without credentials or query (tokens there must not reach the logs). */
  private final String where;

  public HttpSource(Vertx vertx, HttpDiscoveryConfig config, Duration interval, BackendEntries entries) {
    super(vertx, interval);
    this.config = config;
    this.entries = entries;
    this.client = vertx.createHttpClient();
    this.where = printable(config.url());
  }

  static String printable(String url) {
    try {
      java.net.URI uri = new java.net.URI(url);
      return uri.getScheme() + "://" + uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : "")
          + (uri.getRawPath() == null ? "" : uri.getRawPath());
    } catch (java.net.URISyntaxException e) {
      return "the registry";
    }
  }

  @Override
  protected Future<List<Backend>> fetch() {
    RequestOptions options = new RequestOptions()
        .setAbsoluteURI(config.url())
        .setMethod(HttpMethod.valueOf(config.method().toUpperCase(java.util.Locale.ROOT)))
        .setTimeout(config.timeout().toMillis())
        .putHeader("Accept", "application/json");
    config.headers().forEach(options::putHeader);
    return client.request(options)
        .compose(request -> request.send())
        .compose(response -> response.body().compose(body -> {
          if (response.statusCode() / 100 != 2) {
            return Future.failedFuture("HTTP " + response.statusCode() + " from " + where);
          }
          return Future.succeededFuture(entries.list(Json.decodeValue(body)));
        }));
  }

  @Override
  public Future<Void> stop() {
    return super.stop().compose(v -> client.close());
  }
}
