package dev.llmproxy.proxy.cache;

import dev.llmproxy.proxy.upstream.ResponseTap;
import dev.llmproxy.proxy.upstream.Usage;
import io.vertx.core.buffer.Buffer;

import java.util.function.Consumer;

/**
 * A cacheable answer's bytes collected as they are relayed (the client gets each chunk at once, as without the
 * cache), handed over once the backend ended the body. An answer that breaks never reaches {@link #onEnd()}, so
 * it is never stored. Only on the cache's path: the uncached relay has no such copy.
 */
public final class CollectingTap implements ResponseTap {

  private final ResponseTap delegate;
  private final long maxBytes;
  private final Consumer<Buffer> complete;
  private Buffer collected = Buffer.buffer();

  public CollectingTap(ResponseTap delegate, long maxBytes, Consumer<Buffer> complete) {
    this.delegate = delegate;
    this.maxBytes = maxBytes;
    this.complete = complete;
  }

  @Override
  public Buffer onChunk(Buffer chunk) {
    if (collected != null) {
      if (collected.length() + chunk.length() > maxBytes) {
        collected = null; // larger than the whole cache could hold: relayed, not kept
      } else {
        collected.appendBuffer(chunk);
      }
    }
    return delegate.onChunk(chunk);
  }

  @Override
  public Buffer onEnd() {
    Buffer rest = delegate.onEnd();
    if (collected != null) {
      complete.accept(collected);
      collected = null;
    }
    return rest;
  }

  @Override
  public Usage usage() {
    return delegate.usage();
  }

  @Override
  public long completionTokensEstimate() {
    return delegate.completionTokensEstimate();
  }

  @Override
  public boolean atFrameBoundary() {
    return delegate.atFrameBoundary();
  }
}
