package dev.llmproxy.proxy.balance.engine;

/**
 * What one inference server reports of its load, as scraped from its Prometheus {@code /metrics}.
 * A figure the server does not report is NaN.
 *
 * @param engine         "vllm", "sglang", "tgi" or "llamacpp"
 * @param waiting        requests queued, not yet scheduled (summed over the server's label sets)
 * @param running        requests being decoded or prefilled (summed over the server's label sets)
 * @param kvCacheUsage   fraction 0..1 of the KV cache in use (the fullest label set's)
 * @param scrapedAtNanos {@link System#nanoTime()} of the scrape
 */
public record EngineLoad(String engine, double waiting, double running, double kvCacheUsage, long scrapedAtNanos) {

  /** One queued request weighs as much as this many running ones: it waits for a whole slot to free up. */
  public static final double WAITING_WEIGHT = 4.0;
  public static final double RUNNING_WEIGHT = 1.0;
  /** A full KV cache weighs as much as one running request: a tie-breaker between equally busy servers. */
  public static final double KV_WEIGHT = 1.0;

  /**
   * One comparable figure, lower is better:
   * {@code 4 * waiting + 1 * running + 1 * kvCacheUsage}, each figure NaN (not reported) counting as 0.
   * The KV term is at most 1, so it only separates servers whose queues are equally long; a waiting
   * request counts four running ones because a new request lands behind it.
   */
  public double score() {
    return WAITING_WEIGHT * orZero(waiting) + RUNNING_WEIGHT * orZero(running) + KV_WEIGHT * orZero(kvCacheUsage);
  }

  /** True when the scrape is no older than {@code maxAgeNanos} at {@code nowNanos} (both {@link System#nanoTime()}). */
  public boolean freshAt(long nowNanos, long maxAgeNanos) {
    return nowNanos - scrapedAtNanos <= maxAgeNanos;
  }

  private static double orZero(double value) {
    return Double.isNaN(value) ? 0 : value;
  }
}
