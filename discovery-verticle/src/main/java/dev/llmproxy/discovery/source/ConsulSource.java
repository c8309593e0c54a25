package dev.llmproxy.discovery.source;

import dev.llmproxy.common.config.ConsulDiscoveryConfig;
import dev.llmproxy.common.model.Backend;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.consul.BlockingQueryOptions;
import io.vertx.ext.consul.ConsulClient;
import io.vertx.ext.consul.ConsulClientOptions;
import io.vertx.ext.consul.ServiceEntry;
import io.vertx.ext.consul.ServiceEntryList;
import io.vertx.ext.consul.ServiceQueryOptions;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code type: consul}: the instances of {@code service} (with {@code tag} when set) whose health checks all pass,
 * through vertx-consul-client's {@code /v1/health/service/<service>?passing} in blocking queries: each call waits
 * at Consul until the index moves past the last one seen (or {@code interval} passes), so changes arrive as they
 * happen. After a failure the next call comes one {@code interval} later. An instance's address is its service
 * address or else its node's; its service meta may carry {@code weight}, {@code models} (comma-separated) and
 * {@code scheme} (http/https).
 */
public final class ConsulSource implements DiscoverySource {

  private static final long UNCHANGED_PAUSE_MS = 1000;

  private final Vertx vertx;
  private final ConsulDiscoveryConfig config;
  private final Duration interval;
  private final BackendEntries entries;
  private final ConsulClient client;
  private SourceFeed feed;
  private long index;
  private boolean stopped;
  private long retryTimer = -1;

  public ConsulSource(Vertx vertx, ConsulDiscoveryConfig config, Duration interval, BackendEntries entries) {
    this.vertx = vertx;
    this.config = config;
    this.interval = interval;
    this.entries = entries;
    URI addr = URI.create(config.addr().contains("://") ? config.addr() : "http://" + config.addr());
    boolean tls = "https".equalsIgnoreCase(addr.getScheme());
    ConsulClientOptions options = new ConsulClientOptions()
        .setHost(addr.getHost())
        .setPort(addr.getPort() > 0 ? addr.getPort() : tls ? 443 : 8500)
        .setSsl(tls)
        // a blocking query legitimately takes up to its wait time (Consul adds up to 1/16 of jitter)
        .setTimeout(interval.toMillis() * 2 + 10_000);
    if (!config.token().isEmpty()) {
      options.setAclToken(config.token());
    }
    if (!config.datacenter().isEmpty()) {
      options.setDc(config.datacenter());
    }
    this.client = ConsulClient.create(vertx, options);
  }

  @Override
  public Future<Void> start(SourceFeed feed) {
    this.feed = feed;
    Promise<Void> first = Promise.promise();
    query(first);
    return first.future();
  }

  private void query(Promise<Void> first) {
    if (stopped) {
      return;
    }
    ServiceQueryOptions options = new ServiceQueryOptions().setBlockingOptions(
        new BlockingQueryOptions().setIndex(index).setWait(Math.max(1, interval.toSeconds()) + "s"));
    if (!config.tag().isEmpty()) {
      options.setTag(config.tag());
    }
    client.healthServiceNodesWithOptions(config.service(), true, options).onComplete(answer -> {
      if (stopped) {
        return;
      }
      if (answer.succeeded()) {
        ServiceEntryList list = answer.result();
        boolean moved = list.getIndex() != index;
        try {
          feed.accept(backends(list));
          // Consul's rules: an index that goes backwards (a restarted agent) starts over; zero is never waited on
          index = list.getIndex() < index ? 0 : Math.max(1, list.getIndex());
        } catch (RuntimeException e) {
          feed.fail(e);
        }
        first.tryComplete();
        if (moved) {
          vertx.runOnContext(v -> query(first));
        } else {
          // the wait ran out with nothing new, or a server that does not block: never spin
          retryTimer = vertx.setTimer(UNCHANGED_PAUSE_MS, id -> query(first));
        }
      } else {
        feed.fail(answer.cause());
        first.tryComplete();
        index = 0;
        retryTimer = vertx.setTimer(Math.max(100, interval.toMillis()), id -> query(first));
      }
    });
  }

  private List<Backend> backends(ServiceEntryList answer) {
    List<Backend> list = new ArrayList<>();
    for (ServiceEntry entry : answer.getList() == null ? List.<ServiceEntry>of() : answer.getList()) {
      var service = entry.getService();
      String host = service.getAddress() != null && !service.getAddress().isEmpty() ? service.getAddress()
          : entry.getNode().getAddress();
      Map<String, String> meta = service.getMeta() == null ? Map.of() : service.getMeta();
      String scheme = meta.getOrDefault("scheme", "http");
      String hostPart = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
      JsonObject json = new JsonObject()
          .put("name", service.getId() != null && !service.getId().isEmpty() ? service.getId() : host + ":" + service.getPort())
          .put("url", scheme + "://" + hostPart + ":" + service.getPort());
      if (meta.containsKey("weight")) {
        json.put("weight", Integer.parseInt(meta.get("weight").trim()));
      }
      if (meta.containsKey("models")) {
        JsonArray models = new JsonArray();
        for (String model : meta.get("models").split(",")) {
          if (!model.isBlank()) {
            models.add(model.trim());
          }
        }
        json.put("models", models);
      }
      list.add(entries.fromJson(json, null));
    }
    return list;
  }

  @Override
  public Future<Void> stop() {
    stopped = true;
    if (retryTimer >= 0) {
      vertx.cancelTimer(retryTimer);
    }
    client.close();
    return Future.succeededFuture();
  }
}
