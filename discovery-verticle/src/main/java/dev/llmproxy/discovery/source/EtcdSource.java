package dev.llmproxy.discovery.source;

import dev.llmproxy.common.config.EtcdDiscoveryConfig;
import dev.llmproxy.common.model.Backend;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.parsetools.RecordParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * {@code type: etcd}: every key under {@code prefix} holds one backend as JSON (a bare URL is accepted too; a
 * backend without a name is named after its key). Talks to etcd v3's JSON gateway over the Vert.x HTTP client
 * rather than jetcd's gRPC stack: {@code /v3/kv/range} reads the whole prefix, and a streaming {@code /v3/watch}
 * from the next revision asks for a new read whenever a key under the prefix changes; the interval read stays as
 * a safety net. {@code endpoints} are tried in turn; with a {@code username} a token from
 * {@code /v3/auth/authenticate} goes with each call.
 */
public final class EtcdSource extends PollingSource {

  private static final Logger LOG = LoggerFactory.getLogger(EtcdSource.class);
  private static final long REWATCH_DELAY_MS = 1000;
  private static final long RETRY_DELAY_MS = 2000;

  private final long intervalMs;
  private final EtcdDiscoveryConfig config;
  private final BackendEntries entries;
  private final HttpClient client;
  private final String key;
  private final String rangeEnd;
  private int endpoint;
  private String token;
  private boolean watching;
  private io.vertx.core.http.HttpClientRequest watchRequest;

  public EtcdSource(Vertx vertx, EtcdDiscoveryConfig config, Duration interval, BackendEntries entries) {
    super(vertx, interval);
    this.intervalMs = interval.toMillis();
    this.config = config;
    this.entries = entries;
    this.client = vertx.createHttpClient();
    byte[] prefix = config.prefix().getBytes(StandardCharsets.UTF_8);
    this.key = base64(prefix.length == 0 ? new byte[] {0} : prefix);
    this.rangeEnd = base64(prefixEnd(prefix));
  }

  @Override
  protected Future<List<Backend>> fetch() {
    String base = base();
    return call(base, "/v3/kv/range", new JsonObject().put("key", key).put("range_end", rangeEnd))
        .map(answer -> {
          List<Backend> list = backends(answer);
          long revision = Long.parseLong(answer.getJsonObject("header", new JsonObject()).getString("revision", "0"));
          if (!watching && !stopped()) {
            watch(base, revision + 1);
          }
          return list;
        })
        .onFailure(e -> {
          endpoint = (endpoint + 1) % config.endpoints().size();
          token = null;
          if (!watching && !stopped()) {
            // without a watch, changes would wait for the interval: try again soon, on the next endpoint
            vertx.setTimer(Math.min(RETRY_DELAY_MS, intervalMs), id -> refresh());
          }
        });
  }

  private List<Backend> backends(JsonObject answer) {
    List<Backend> list = new ArrayList<>();
    for (Object kv : answer.getJsonArray("kvs", new JsonArray())) {
      JsonObject pair = (JsonObject) kv;
      String name = decode(pair.getString("key"));
      String value = decode(pair.getString("value", "")).trim();
      String shortName = name.startsWith(config.prefix()) ? name.substring(config.prefix().length()) : name;
      shortName = shortName.startsWith("/") ? shortName.substring(1) : shortName;
      JsonObject entry = value.startsWith("{") ? new JsonObject(value) : new JsonObject().put("url", value);
      try {
        list.add(entries.fromJson(entry, shortName.isEmpty() ? name : shortName));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("etcd key " + name + ": " + e.getMessage());
      }
    }
    return list;
  }

  /** Opens the watch stream; any event under the prefix asks for a fresh read, and a broken stream is reopened. */
  private void watch(String base, long fromRevision) {
    watching = true;
    JsonObject create = new JsonObject().put("create_request",
        new JsonObject().put("key", key).put("range_end", rangeEnd).put("start_revision", Long.toString(fromRevision)));
    authenticated(base)
        .compose(auth -> client.request(options(base, "/v3/watch", auth)))
        .compose(request -> {
          watchRequest = request;
          return request.send(create.toBuffer());
        })
        .compose(response -> {
          if (response.statusCode() != 200) {
            return response.body().compose(b -> Future.failedFuture("watch: HTTP " + response.statusCode() + " " + b));
          }
          follow(response);
          return response.end();
        })
        .onComplete(ended -> {
          watching = false;
          watchRequest = null;
          if (stopped()) {
            return;
          }
          if (ended.failed()) {
            LOG.debug("etcd watch on {} ended: {}", base, ended.cause().getMessage());
          }
          // A read before the next watch: it reopens the watch from the revision it saw, so nothing is missed.
          vertx.setTimer(REWATCH_DELAY_MS, id -> refresh());
        });
  }

  private void follow(HttpClientResponse response) {
    RecordParser lines = RecordParser.newDelimited("\n", line -> {
      if (line.length() == 0) {
        return;
      }
      JsonObject message = new JsonObject(line);
      JsonObject result = message.getJsonObject("result", new JsonObject());
      if (!result.getJsonArray("events", new JsonArray()).isEmpty()) {
        refresh();
      }
      if (result.getBoolean("canceled", false) || message.containsKey("error")) {
        response.request().connection().close();
      }
    });
    response.handler(lines);
  }

  private Future<JsonObject> call(String base, String path, JsonObject body) {
    return authenticated(base).compose(auth -> client.request(options(base, path, auth).setTimeout(10_000)))
        .compose(request -> request.send(body.toBuffer()))
        .compose(response -> response.body().compose(answer -> {
          if (response.statusCode() != 200) {
            return Future.failedFuture("etcd " + base + path + ": HTTP " + response.statusCode() + " " + answer);
          }
          return Future.succeededFuture(answer.toJsonObject());
        }));
  }

  /** The token to send, or null without credentials. */
  private Future<String> authenticated(String base) {
    if (config.username().isEmpty() || token != null) {
      return Future.succeededFuture(token);
    }
    JsonObject credentials = new JsonObject().put("name", config.username()).put("password", config.password());
    return client.request(options(base, "/v3/auth/authenticate", null).setTimeout(10_000))
        .compose(request -> request.send(credentials.toBuffer()))
        .compose(response -> response.body().compose(answer -> {
          if (response.statusCode() != 200) {
            return Future.failedFuture("etcd authentication as " + config.username() + " failed: HTTP " + response.statusCode());
          }
          token = answer.toJsonObject().getString("token");
          return Future.succeededFuture(token);
        }));
  }

  private static RequestOptions options(String base, String path, String token) {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(base + path)
        .putHeader("Content-Type", "application/json");
    if (token != null) {
      options.putHeader("Authorization", token);
    }
    return options;
  }

  private String base() {
    String url = config.endpoints().get(endpoint % config.endpoints().size());
    url = url.contains("://") ? url : "http://" + url;
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }

  @Override
  public Future<Void> stop() {
    if (watchRequest != null) {
      watchRequest.reset();
    }
    return super.stop().compose(v -> client.close());
  }

  private static String decode(String base64) {
    return base64 == null ? "" : new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
  }

  private static String base64(byte[] bytes) {
    return Base64.getEncoder().encodeToString(bytes);
  }

  /** The smallest key after every key that starts with {@code prefix} (etcd's clientv3.GetPrefixRangeEnd). */
  static byte[] prefixEnd(byte[] prefix) {
    byte[] end = prefix.clone();
    for (int i = end.length - 1; i >= 0; i--) {
      if ((end[i] & 0xff) < 0xff) {
        end[i]++;
        return java.util.Arrays.copyOf(end, i + 1);
      }
    }
    return new byte[] {0}; // every key
  }
}
