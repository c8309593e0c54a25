package dev.llmproxy.discovery.registry;

import dev.llmproxy.common.model.Backend;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vertx.servicediscovery.types.HttpEndpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Mirrors each published backend set into vertx-service-discovery as {@code http-endpoint} records, so other
 * nodes (the records live in the cluster's shared data) and operators' tools can look the backends up. Metadata:
 * {@code llmproxy: true}, {@code url}, {@code weight}, {@code models}, {@code healthy}. Only the discovery verticle
 * reads or writes these; the proxy's hot path never does. Records are published, updated and withdrawn one by one
 * as the set changes, one change at a time.
 */
public final class ServiceRecords {

  public static final String MARKER = "llmproxy";
  private static final Logger LOG = LoggerFactory.getLogger(ServiceRecords.class);

  private final ServiceDiscovery discovery;
  /** Published records by backend URL. */
  private final Map<String, Record> published = new HashMap<>();
  private Future<Void> last = Future.succeededFuture();

  public ServiceRecords(Vertx vertx) {
    this.discovery = ServiceDiscovery.create(vertx);
  }

  /** Brings the records in line with {@code backends}; changes queue behind the previous ones. */
  public Future<Void> mirror(List<Backend> backends) {
    last = last.eventually(() -> apply(List.copyOf(backends))).otherwiseEmpty();
    return last;
  }

  private Future<Void> apply(List<Backend> backends) {
    Map<String, Backend> wanted = new HashMap<>();
    backends.forEach(b -> wanted.putIfAbsent(b.url(), b));
    List<Future<?>> steps = new ArrayList<>();
    for (String url : new ArrayList<>(published.keySet())) {
      if (!wanted.containsKey(url)) {
        Record gone = published.remove(url);
        steps.add(discovery.unpublish(gone.getRegistration()));
      }
    }
    wanted.forEach((url, backend) -> {
      Record existing = published.get(url);
      Record next = record(backend);
      if (existing == null) {
        steps.add(discovery.publish(next).onSuccess(r -> published.put(url, r)));
      } else if (!existing.getMetadata().equals(next.getMetadata()) || !existing.getName().equals(next.getName())) {
        next.setRegistration(existing.getRegistration());
        steps.add(discovery.update(next).onSuccess(r -> published.put(url, r)));
      }
    });
    return Future.join(steps).onFailure(e -> LOG.warn("service discovery records not updated: {}", e.getMessage()))
        .mapEmpty();
  }

  static Record record(Backend backend) {
    URI uri = backend.uri();
    boolean tls = "https".equalsIgnoreCase(uri.getScheme());
    int port = uri.getPort() > 0 ? uri.getPort() : tls ? 443 : 80;
    String root = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    JsonObject metadata = new JsonObject()
        .put(MARKER, true)
        .put("url", backend.url())
        .put("weight", backend.weight())
        .put("models", new JsonArray(new ArrayList<>(backend.models())))
        .put("healthy", backend.healthy());
    return HttpEndpoint.createRecord(backend.name(), tls, uri.getHost(), port, root, metadata);
  }

  /** Withdraws every record this instance published, then closes the discovery client. */
  public Future<Void> close() {
    return mirror(List.of()).eventually(() -> {
      discovery.close();
      return Future.succeededFuture();
    });
  }
}
