package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.KeyHash;
import dev.llmproxy.common.config.ResponseCacheConfig;
import dev.llmproxy.proxy.cache.CacheKey;
import dev.llmproxy.proxy.cache.CachedAnswer;
import dev.llmproxy.proxy.cache.CollectingTap;
import dev.llmproxy.proxy.cache.ResponseCache;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerResponse;

/**
 * {@code caching.response_cache}: after auth and the limits, a non-streaming chat, completions or embeddings request
 * whose exact answer is cached is answered from the cache ({@code X-Cache: HIT}; no backend asked, a usage record
 * with {@code cached: true} and 0 tokens, so the TPM reservation settles to 0 while the request still counted for
 * RPM). Otherwise ({@code X-Cache: MISS}) a 200 answer is collected as it is relayed and stored. A client's
 * {@code Cache-Control: no-cache} or {@code no-store} bypasses the cache both ways; streaming requests always do.
 * In the chain only when the cache is on.
 */
final class CacheStep implements ExchangeInterceptor {

  /** One answer is kept up to 64 MiB whatever the cache's size: a Redis value is read whole. */
  private static final long MAX_ENTRY_BYTES = 64L << 20;

  private final ResponseCache cache;
  private final boolean shared;
  private final long maxEntryBytes;

  CacheStep(ResponseCache cache, ResponseCacheConfig config) {
    this.cache = cache;
    this.shared = config.shared();
    this.maxEntryBytes = Math.min((long) config.maxSizeMb() << 20, MAX_ENTRY_BYTES);
  }

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    if (!cacheable(exchange)) {
      return exchange.sendRequest();
    }
    String scope = shared ? "*" : exchange.apiKey == null ? "-" : KeyHash.sha256Hex(exchange.apiKey);
    String key = CacheKey.of(exchange.endpoint.metricsLabel(), exchange.inspected.model(), scope,
        exchange.body.getBytes());
    if (key == null) {
      return exchange.sendRequest();
    }
    return cache.get(key).compose(found -> {
      if (exchange.finished) {
        return ApiExchange.ENDED;
      }
      exchange.context.metrics.responseCache(found == null ? "miss" : "hit");
      if (found == null) {
        exchange.cacheKey = key;
        return exchange.sendRequest();
      }
      serve(exchange, found);
      return ApiExchange.ENDED;
    });
  }

  /** The answer's head: a miss says so, and a 200 answer that is not a stream is collected for the cache. */
  @Override
  public Future<Void> handleResponse(ApiExchange exchange) {
    if (exchange.cacheKey != null) {
      exchange.response.putHeader("X-Cache", "MISS");
      if (exchange.upstreamResponse.statusCode() == 200 && !exchange.eventStream) {
        String key = exchange.cacheKey;
        String contentType = exchange.response.headers().get("Content-Type");
        exchange.tap = new CollectingTap(exchange.tap, maxEntryBytes,
            body -> cache.put(key, new CachedAnswer(contentType, body)));
      }
    }
    return exchange.sendResponse();
  }

  private static boolean cacheable(ApiExchange exchange) {
    Endpoint endpoint = exchange.endpoint;
    boolean cachedRoute = endpoint == Endpoint.CHAT_COMPLETIONS || endpoint == Endpoint.COMPLETIONS
        || endpoint == Endpoint.EMBEDDINGS;
    if (!cachedRoute || exchange.inspected.stream()) {
      return false;
    }
    String control = exchange.request.getHeader("Cache-Control");
    if (control != null) {
      String lower = control.toLowerCase(java.util.Locale.ROOT);
      if (lower.contains("no-cache") || lower.contains("no-store")) {
        exchange.response.putHeader("X-Cache", "MISS");
        exchange.context.metrics.responseCache("bypass");
        return false;
      }
    }
    return true;
  }

  private static void serve(ApiExchange exchange, CachedAnswer answer) {
    HttpServerResponse response = exchange.response;
    exchange.servedFromCache = true;
    exchange.firstByteNanos = exchange.lastByteNanos = System.nanoTime();
    exchange.responseCopy = exchange.context.logs.capture(exchange.responseCopy, answer.body());
    exchange.settleLimits(false);
    response.setStatusCode(200).putHeader("X-Cache", "HIT").putHeader("X-Request-ID", exchange.requestId);
    if (answer.contentType() != null) {
      response.putHeader("Content-Type", answer.contentType());
    }
    response.end(answer.body());
    exchange.finish(false);
  }
}
