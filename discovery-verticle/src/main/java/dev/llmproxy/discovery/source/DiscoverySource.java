package dev.llmproxy.discovery.source;

import io.vertx.core.Future;

/**
 * One of {@code discovery.sources}: follows an outside registry and hands every complete list it reads, and
 * every failure, to its {@link SourceFeed}. Runs on the discovery verticle's event loop.
 */
public interface DiscoverySource {

  /**
   * Starts following. The future completes once the first attempt has ended, successfully or not (a source
   * that is down at start is retried; it never fails the start).
   */
  Future<Void> start(SourceFeed feed);

  /** Stops timers, watches and clients. */
  Future<Void> stop();
}
