package dev.llmproxy.discovery.source;

import dev.llmproxy.common.config.KubernetesDiscoveryConfig;
import dev.llmproxy.common.model.Backend;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.parsetools.RecordParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code type: kubernetes}: the ready endpoints of {@code service} in {@code namespace}, read from the API server's
 * EndpointSlices ({@code /apis/discovery.k8s.io/v1/namespaces/<ns>/endpointslices?labelSelector=
 * kubernetes.io/service-name=<svc>}, plus {@code label_selector}) and then followed with a {@code watch=true}
 * stream from the list's resourceVersion. A broken watch is reopened from the last version seen; a 410 Gone (or any
 * failure) leads to a fresh list one {@code interval} later. In a pod, the service account's token and CA
 * ({@value #SERVICE_ACCOUNT}) are used when present; the token is re-read before each list, as projected tokens
 * rotate. {@code port} picks the endpoint port with that number (0: each slice's first port).
 */
public final class KubernetesSource implements DiscoverySource {

  public static final String SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";
  private static final Logger LOG = LoggerFactory.getLogger(KubernetesSource.class);

  private final Vertx vertx;
  private final KubernetesDiscoveryConfig config;
  private final Duration interval;
  private final BackendEntries entries;
  private final String serviceAccount;
  private final String path;
  /** The slices of the service by name, as last seen. */
  private final Map<String, JsonObject> slices = new LinkedHashMap<>();
  private HttpClient client;
  private String base;
  private String token;
  private String resourceVersion;
  private SourceFeed feed;
  private HttpClientRequest watchRequest;
  private boolean stopped;
  private long retryTimer = -1;

  public KubernetesSource(Vertx vertx, KubernetesDiscoveryConfig config, Duration interval, BackendEntries entries,
                          String serviceAccount) {
    this.vertx = vertx;
    this.config = config;
    this.interval = interval;
    this.entries = entries;
    this.serviceAccount = serviceAccount;
    String selector = config.service().isEmpty() ? config.labelSelector()
        : "kubernetes.io/service-name=" + config.service() + (config.labelSelector().isEmpty() ? "" : "," + config.labelSelector());
    this.path = "/apis/discovery.k8s.io/v1/namespaces/" + config.namespace() + "/endpointslices"
        + (selector.isEmpty() ? "?" : "?labelSelector=" + URLEncoder.encode(selector, StandardCharsets.UTF_8) + "&");
  }

  @Override
  public Future<Void> start(SourceFeed feed) {
    this.feed = feed;
    return connect().compose(v -> {
      Promise<Void> first = Promise.promise();
      list(first);
      return first.future();
    }, failure -> {
      feed.fail(failure);
      return Future.succeededFuture();
    });
  }

  /** Where the API server is, and the client that trusts it. */
  private Future<Void> connect() {
    String host = System.getenv("KUBERNETES_SERVICE_HOST");
    String port = System.getenv("KUBERNETES_SERVICE_PORT");
    if (!config.apiServer().isEmpty()) {
      base = config.apiServer().endsWith("/") ? config.apiServer().substring(0, config.apiServer().length() - 1) : config.apiServer();
    } else if (host != null && !host.isEmpty()) {
      base = "https://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + (port == null || port.isEmpty() ? "443" : port);
    } else {
      return Future.failedFuture("kubernetes: no api_server set and not running in a cluster (KUBERNETES_SERVICE_HOST unset)");
    }
    String ca = serviceAccount + "/ca.crt";
    return vertx.fileSystem().exists(ca).map(hasCa -> {
      HttpClientOptions options = new HttpClientOptions().setSsl(base.startsWith("https:"));
      if (hasCa) {
        options.setTrustOptions(new PemTrustOptions().addCertPath(ca));
      }
      client = vertx.createHttpClient(options);
      return null;
    });
  }

  private Future<String> readToken() {
    String file = serviceAccount + "/token";
    return vertx.fileSystem().exists(file).compose(exists -> exists
        ? vertx.fileSystem().readFile(file).map(b -> b.toString().trim())
        : Future.succeededFuture((String) null));
  }

  private RequestOptions request(String query) {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(base + path + query)
        .putHeader("Accept", "application/json");
    if (token != null && !token.isEmpty()) {
      options.putHeader("Authorization", "Bearer " + token);
    }
    return options;
  }

  private void list(Promise<Void> first) {
    if (stopped) {
      return;
    }
    readToken()
        .compose(t -> {
          token = t;
          return client.request(request("").setTimeout(Math.max(5000, interval.toMillis())));
        })
        .compose(HttpClientRequest::send)
        .compose(response -> response.body().compose(body -> response.statusCode() == 200
            ? Future.succeededFuture(body.toJsonObject())
            : Future.failedFuture("kubernetes " + path + ": HTTP " + response.statusCode() + " " + brief(body))))
        .onComplete(answer -> {
          if (stopped) {
            return;
          }
          if (answer.failed()) {
            feed.fail(answer.cause());
            first.tryComplete();
            retryTimer = vertx.setTimer(interval.toMillis(), id -> list(first));
            return;
          }
          JsonObject list = answer.result();
          slices.clear();
          for (Object item : list.getJsonArray("items", new JsonArray())) {
            JsonObject slice = (JsonObject) item;
            slices.put(name(slice), slice);
          }
          resourceVersion = list.getJsonObject("metadata", new JsonObject()).getString("resourceVersion", "");
          publish();
          first.tryComplete();
          watch();
        });
  }

  private void watch() {
    if (stopped) {
      return;
    }
    boolean[] gone = {false};
    String query = "watch=true&allowWatchBookmarks=true&resourceVersion="
        + URLEncoder.encode(resourceVersion, StandardCharsets.UTF_8);
    client.request(request(query))
        .compose(request -> {
          watchRequest = request;
          return request.send();
        })
        .compose(response -> {
          if (response.statusCode() != 200) {
            gone[0] = true;
            return response.body().compose(b -> Future.failedFuture("watch: HTTP " + response.statusCode() + " " + brief(b)));
          }
          response.handler(RecordParser.newDelimited("\n", line -> {
            if (line.length() > 0 && !event(line.toJsonObject())) {
              gone[0] = true;
              response.request().reset();
            }
          }));
          return response.end();
        })
        .onComplete(ended -> {
          watchRequest = null;
          if (stopped) {
            return;
          }
          if (gone[0]) {
            LOG.debug("kubernetes watch of {} must start over: {}", path, ended.failed() ? ended.cause().getMessage() : "expired");
            retryTimer = vertx.setTimer(Math.min(1000, interval.toMillis()), id -> list(Promise.promise()));
          } else if (ended.failed()) {
            feed.fail(ended.cause());
            retryTimer = vertx.setTimer(interval.toMillis(), id -> list(Promise.promise()));
          } else {
            watch(); // the server closes watches after a while: go on from the last version seen
          }
        });
  }

  /** Applies one watch event; false when the watch has to start over from a fresh list. */
  private boolean event(JsonObject event) {
    String type = event.getString("type", "");
    JsonObject object = event.getJsonObject("object", new JsonObject());
    String version = object.getJsonObject("metadata", new JsonObject()).getString("resourceVersion");
    switch (type) {
      case "ADDED", "MODIFIED" -> slices.put(name(object), object);
      case "DELETED" -> slices.remove(name(object));
      case "BOOKMARK" -> {
      }
      default -> {
        return false; // ERROR, typically 410 Gone: the version is too old
      }
    }
    if (version != null) {
      resourceVersion = version;
    }
    if (!type.equals("BOOKMARK")) {
      publish();
    }
    return true;
  }

  private void publish() {
    try {
      feed.accept(backends());
    } catch (RuntimeException e) {
      feed.fail(e);
    }
  }

  /** Ready endpoints of every slice, in a stable order so that an unchanged set compares equal. */
  private List<Backend> backends() {
    Map<String, Backend> byUrl = new TreeMap<>();
    for (JsonObject slice : slices.values()) {
      Integer port = port(slice.getJsonArray("ports", new JsonArray()));
      if (port == null) {
        continue;
      }
      boolean ipv6 = "IPv6".equals(slice.getString("addressType"));
      for (Object e : slice.getJsonArray("endpoints", new JsonArray())) {
        JsonObject endpoint = (JsonObject) e;
        JsonObject conditions = endpoint.getJsonObject("conditions", new JsonObject());
        JsonArray addresses = endpoint.getJsonArray("addresses", new JsonArray());
        // ready unset means ready (API docs); an endpoint with several addresses is reached by its first
        if (Boolean.FALSE.equals(conditions.getBoolean("ready")) || addresses.isEmpty()) {
          continue;
        }
        String ip = addresses.getString(0);
        String url = "http://" + (ipv6 ? "[" + ip + "]" : ip) + ":" + port;
        JsonObject target = endpoint.getJsonObject("targetRef");
        String name = target != null && target.getString("name") != null ? target.getString("name") : ip + ":" + port;
        byUrl.put(url, entries.fromJson(new JsonObject().put("name", name).put("url", url), null));
      }
    }
    return new ArrayList<>(byUrl.values());
  }

  private Integer port(JsonArray ports) {
    Integer first = null;
    for (Object p : ports) {
      Integer number = ((JsonObject) p).getInteger("port");
      if (number == null) {
        continue;
      }
      if (config.port() == 0 || number == config.port()) {
        return number;
      }
      first = first == null ? number : first;
    }
    return config.port() != 0 && first != null ? Integer.valueOf(config.port()) : first;
  }

  private static String name(JsonObject slice) {
    return slice.getJsonObject("metadata", new JsonObject()).getString("name", "");
  }

  private static String brief(Buffer body) {
    String text = body.toString();
    return text.length() > 200 ? text.substring(0, 200) + "..." : text;
  }

  @Override
  public Future<Void> stop() {
    stopped = true;
    if (retryTimer >= 0) {
      vertx.cancelTimer(retryTimer);
    }
    if (watchRequest != null) {
      watchRequest.reset();
    }
    return client == null ? Future.succeededFuture() : client.close();
  }
}
