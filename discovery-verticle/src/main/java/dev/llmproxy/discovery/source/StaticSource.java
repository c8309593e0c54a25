package dev.llmproxy.discovery.source;

import dev.llmproxy.common.config.BackendConfig;
import dev.llmproxy.common.config.StaticDiscoveryConfig;
import dev.llmproxy.common.model.Backend;
import io.vertx.core.Future;

import java.util.ArrayList;
import java.util.List;

/** {@code type: static}: the source's own {@code backends}, read once. */
public final class StaticSource implements DiscoverySource {

  private final StaticDiscoveryConfig config;
  private final BackendEntries entries;

  public StaticSource(StaticDiscoveryConfig config, BackendEntries entries) {
    this.config = config;
    this.entries = entries;
  }

  @Override
  public Future<Void> start(SourceFeed feed) {
    try {
      List<Backend> list = new ArrayList<>();
      for (BackendConfig backend : config.backends()) {
        list.add(entries.of(backend));
      }
      feed.accept(list);
    } catch (RuntimeException e) {
      feed.fail(e);
    }
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> stop() {
    return Future.succeededFuture();
  }
}
