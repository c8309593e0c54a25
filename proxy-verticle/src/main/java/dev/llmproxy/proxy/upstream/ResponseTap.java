package dev.llmproxy.proxy.upstream;

import io.vertx.core.buffer.Buffer;

/**
 * Watches a backend's response body on its way to the client to learn the usage, without holding it back.
 */
public interface ResponseTap {

  /** What to send to the client for this chunk: the chunk itself in every tap but the filter. */
  Buffer onChunk(Buffer chunk);

  /** What is still to be sent once the backend has ended its body, or null. */
  Buffer onEnd();

  /** The usage the backend reported, or null when it reported none. */
  Usage usage();

  /**
   * The tokens of the generated text the client received, counted when {@link #usage()} is null (the backend
   * reported none, or the stream broke before it did); 0 when nothing was relayed.
   */
  default long completionTokensEstimate() {
    return 0;
  }

  /**
   * True when the backend sent a {@code usage} whose counts are no counts (negative, strings): it is ignored, the
   * request estimated, and the gateway counts it ({@code llmproxy_usage_reports_rejected_total}).
   */
  default boolean usageRejected() {
    return false;
  }

  /**
   * True when the tap has ended the client's stream itself ({@code auth.quota_enforcement: strict}, see
   * {@link QuotaCutTap}): the relay ends the response and cancels the backend's request.
   */
  default boolean cutShort() {
    return false;
  }

  /** True when the client has received only whole SSE frames, so that one more frame can follow cleanly. */
  boolean atFrameBoundary();

  /** For responses whose usage nobody reads (passthrough paths, errors). */
  ResponseTap NONE = new ResponseTap() {
    @Override
    public Buffer onChunk(Buffer chunk) {
      return chunk;
    }

    @Override
    public Buffer onEnd() {
      return null;
    }

    @Override
    public Usage usage() {
      return null;
    }

    @Override
    public boolean atFrameBoundary() {
      return false;
    }
  };

  static ResponseTap forResponse(boolean eventStream, boolean stripUsageFrame) {
    if (!eventStream) {
      return new JsonBodyTap();
    }
    return stripUsageFrame ? new SseUsageFilter() : new SseUsageTap();
  }
}
