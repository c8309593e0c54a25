package dev.llmproxy.discovery.source;

import dev.llmproxy.common.config.DiscoveryConfig;
import dev.llmproxy.common.config.DiscoverySourceConfig;
import dev.llmproxy.common.storage.Pools;
import io.vertx.core.Vertx;

import java.time.Duration;

/** Builds the source a {@code discovery.sources[]} entry names by its {@code type}. */
public final class Sources {

  private Sources() {
  }

  /**
   * @param serviceAccount where a pod's Kubernetes service account is mounted
   * @throws IllegalArgumentException for an unknown type or a database that {@code storage.databases} lacks
   */
  public static DiscoverySource create(Vertx vertx, DiscoveryConfig discovery, DiscoverySourceConfig source,
                                       Pools pools, BackendEntries entries, String serviceAccount) {
    return switch (source.type()) {
      case "static" -> new StaticSource(source.staticConfig(), entries);
      case "http" -> new HttpSource(vertx, source.http(), interval(discovery, source, source.http().interval()), entries);
      case "database" -> new DatabaseSource(vertx, pools.database(source.database().storage()), source.database(),
          interval(discovery, source, Duration.ZERO), entries);
      case "etcd" -> new EtcdSource(vertx, source.etcd(), interval(discovery, source, Duration.ZERO), entries);
      case "consul" -> new ConsulSource(vertx, source.consul(), interval(discovery, source, source.consul().interval()), entries);
      case "kubernetes" -> new KubernetesSource(vertx, source.kubernetes(), interval(discovery, source, Duration.ZERO),
          entries, serviceAccount);
      default -> throw new IllegalArgumentException("discovery source " + source.name() + ": unknown type '" + source.type() + "'");
    };
  }

  /** The type block's interval, else the source's, else {@code discovery.interval}. */
  static Duration interval(DiscoveryConfig discovery, DiscoverySourceConfig source, Duration own) {
    if (own != null && !own.isZero()) {
      return own;
    }
    if (source.interval() != null && !source.interval().isZero()) {
      return source.interval();
    }
    return discovery.interval();
  }
}
