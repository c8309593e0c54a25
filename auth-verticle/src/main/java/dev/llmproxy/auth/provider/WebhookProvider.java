package dev.llmproxy.auth.provider;

import dev.llmproxy.auth.Denial;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.config.WebhookAuthConfig;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;

/**
 * {@code type: webhook}: asks an external service. Sends {@code api_key, client_ip, method, path, model} as JSON;
 * a 2xx JSON object is what it found ({@code {"valid": false}} or {@code {"allow": false}} refuse), 401/404
 * mean not found, 403 refused; anything else, a body that is not JSON, or the timeout is an error.
 */
public final class WebhookProvider implements Provider {

  private static final int MAX_BODY = 1 << 20;

  private final String name;
  private final HttpClient client;
  private final WebhookAuthConfig config;

  public WebhookProvider(String name, HttpClient client, WebhookAuthConfig config) {
    this.name = name;
    this.client = client;
    this.config = config;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Future<Lookup> lookup(AuthCheck check, String keyHash) {
    long timeout = Math.max(1, config.timeout().toMillis());
    RequestOptions options = new RequestOptions()
        .setAbsoluteURI(config.url())
        .setMethod(HttpMethod.valueOf(config.method().toUpperCase()))
        .setIdleTimeout(timeout)
        .putHeader("Content-Type", "application/json");
    config.headers().forEach(options::putHeader);
    Buffer body = new JsonObject()
        .put("api_key", check.apiKey())
        .put("client_ip", check.clientIp())
        .put("method", check.method())
        .put("path", check.path())
        .put("model", check.model())
        .toBuffer();
    return client.request(options)
        .compose(request -> request.send(body))
        .compose(response -> response.body().map(b -> interpret(response, b)))
        .timeout(timeout, TimeUnit.MILLISECONDS);
  }

  private static Lookup interpret(HttpClientResponse response, Buffer body) {
    int status = response.statusCode();
    if (status == 401 || status == 404) {
      return Lookup.NOT_FOUND;
    }
    if (status == 403) {
      return new Lookup.Denied(Denial.ACCESS_DENIED, message(body));
    }
    if (status < 200 || status > 299) {
      throw new IllegalStateException("webhook answered HTTP " + status);
    }
    if (body.length() > MAX_BODY) {
      throw new IllegalStateException("webhook answer larger than " + MAX_BODY + " bytes");
    }
    JsonObject found;
    try {
      found = body.toJsonObject();
    } catch (DecodeException | ClassCastException e) {
      throw new IllegalStateException("webhook answered " + status + " without a JSON object");
    }
    if (found == null) {
      throw new IllegalStateException("webhook answered " + status + " with an empty body");
    }
    if (Boolean.FALSE.equals(found.getValue("valid")) || Boolean.FALSE.equals(found.getValue("allow"))
        || Boolean.FALSE.equals(found.getValue("allowed"))) {
      return new Lookup.Denied(Denial.ACCESS_DENIED, found.getString("message", found.getString("error")));
    }
    return Lookup.found(found);
  }

  private static String message(Buffer body) {
    try {
      JsonObject json = body.toJsonObject();
      Object m = json.getValue("message", json.getValue("error"));
      return m instanceof String s ? s : null;
    } catch (RuntimeException e) {
      return null;
    }
  }
}
