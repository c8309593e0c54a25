package dev.llmproxy.proxy.balance;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the gateway has seen of one backend, shared by every proxy verticle instance of the JVM: requests in
 * flight, a decaying average of time to first byte, and passive health (consecutive failures eject it for a
 * cooldown that grows while it keeps failing).
 */
public final class BackendStats {

  static final int FAILURES_TO_EJECT = 3;
  static final long FIRST_COOLDOWN_NANOS = 5_000_000_000L;
  static final long MAX_COOLDOWN_NANOS = 300_000_000_000L;
  /** Weight of a new sample in the average: about the last ten requests count. */
  private static final double EWMA_ALPHA = 0.2;

  private final String name;
  private final AtomicInteger inFlight = new AtomicInteger();
  // The average is written by every event loop without a lock: a lost sample does not matter to an average.
  private volatile double ttfbEwmaMs = -1;
  private volatile long lastTtfbNanos;
  private volatile int consecutiveFailures;
  private volatile long lastFailureNanos;
  private long ejectedUntilNanos;
  private long cooldownNanos = FIRST_COOLDOWN_NANOS;
  private volatile boolean ejected;
  private volatile boolean healthy = true;
  private volatile double engineScore = Double.NaN;
  private volatile long engineScoredAtNanos;
  private volatile Scraped scraped;
  /** Requests the engine runs at once, as it reports them (llama.cpp's slots); 0 when unknown. */
  private volatile int engineSlots;

  BackendStats(String name) {
    this.name = name;
  }

  public String name() {
    return name;
  }

  public int inFlight() {
    return inFlight.get();
  }

  public void started() {
    inFlight.incrementAndGet();
  }

  public void ended() {
    inFlight.decrementAndGet();
  }

  public void recordTtfb(long nanos, long nowNanos) {
    double ms = nanos / 1e6;
    ttfbEwmaMs = ttfbEwmaMs < 0 ? ms : ttfbEwmaMs + EWMA_ALPHA * (ms - ttfbEwmaMs);
    lastTtfbNanos = nowNanos;
  }

  /**
   * The average time to first byte, decayed toward zero while no new sample comes (half-life 10 s), so that a
   * backend that was slow once is tried again and can win its traffic back. -1 when never measured.
   */
  public double ttfbScoreMs(long nowNanos) {
    double average = ttfbEwmaMs;
    if (average < 0) {
      return -1;
    }
    double ageSeconds = (nowNanos - lastTtfbNanos) / 1e9;
    return average * Math.pow(0.5, ageSeconds / 10);
  }

  /** @return true when this failure ejected the backend */
  public synchronized boolean failed(long nowNanos) {
    consecutiveFailures++;
    lastFailureNanos = nowNanos;
    if (consecutiveFailures < FAILURES_TO_EJECT || ejected && nowNanos < ejectedUntilNanos) {
      return false;
    }
    ejectedUntilNanos = nowNanos + cooldownNanos;
    cooldownNanos = Math.min(MAX_COOLDOWN_NANOS, cooldownNanos * 2);
    ejected = true;
    return true;
  }

  /**
   * A connect to the backend that failed (refused, or not completed within {@code connect_timeout}) for an attempt that
   * began at {@code attemptStartNanos}. When the backend answered another request in the meantime it is alive and
   * accepting: the connect fell to congestion (a burst of the gateway's own connects overflowing its accept queue),
   * and that is not counted toward ejection or {@code /ready} (nginx does not even mark a lone upstream down).
   *
   * @return true when this failure ejected the backend
   */
  public boolean connectFailed(long nowNanos, long attemptStartNanos) {
    long answered = lastTtfbNanos;
    if (answered != 0 && answered - attemptStartNanos > 0) {
      return false;
    }
    return failed(nowNanos);
  }

  /** @return true when this success brought an ejected backend back */
  public boolean succeeded() {
    if (consecutiveFailures == 0 && !ejected) {
      // The common case, on every request of every event loop: no lock.
      return false;
    }
    synchronized (this) {
      return reset();
    }
  }

  private boolean reset() {
    consecutiveFailures = 0;
    cooldownNanos = FIRST_COOLDOWN_NANOS;
    boolean wasEjected = ejected;
    ejected = false;
    return wasEjected;
  }

  /** Ejected and still cooling down. Once the cooldown is over the next request is its trial. */
  public boolean ejectedAt(long nowNanos) {
    if (!ejected) {
      return false;
    }
    synchronized (this) {
      return ejected && nowNanos < ejectedUntilNanos;
    }
  }

  /**
   * What passive health says for {@code /ready}: ejected and cooling down, or its last attempt failed within the
   * first cooldown. Either clears by itself, so a gateway taken out of a load balancer comes back to be tried.
   */
  public boolean passivelyDown(long nowNanos) {
    return ejectedAt(nowNanos) || consecutiveFailures > 0 && nowNanos - lastFailureNanos < FIRST_COOLDOWN_NANOS;
  }

  /** It answered (any status) within {@code windowNanos} and has not failed since. */
  public boolean answeredWithin(long nowNanos, long windowNanos) {
    long last = lastTtfbNanos;
    return consecutiveFailures == 0 && last != 0 && nowNanos - last < windowNanos;
  }

  public boolean up(long nowNanos) {
    return healthy && !ejectedAt(nowNanos);
  }

  /** Active health as discovery last reported it (ejection aside). */
  public boolean healthy() {
    return healthy;
  }

  public void healthy(boolean healthy) {
    this.healthy = healthy;
  }

  /** A load score from the backend's own metrics (lower is better), with the time it was read. */
  public void engineScore(double score, long scoredAtNanos) {
    this.engineScoredAtNanos = scoredAtNanos;
    this.engineScore = score;
  }

  /** The engine's own figures as last scraped (flow control's saturation reads them), or null. */
  public void engineLoad(dev.llmproxy.proxy.balance.engine.EngineLoad load) {
    this.scraped = load == null ? null : new Scraped(load, inFlight.get());
  }

  /** The engine's figures with {@link #inFlight} when they arrived: what this gateway had at the engine then. */
  private record Scraped(dev.llmproxy.proxy.balance.engine.EngineLoad load, int inFlightThen) {
  }

  /**
   * The requests at the engine now (running and waiting), as best known: with figures scraped within
   * {@code maxAgeNanos}, its running + waiting at the scrape plus what this gateway sent since, minus what of it
   * ended since; never fewer than this gateway's own in flight, which are at the engine whatever it reported (one
   * it had not counted yet at the scrape); without figures, those alone.
   */
  public int atEngine(long nowNanos, long maxAgeNanos) {
    int mine = inFlight.get();
    Scraped last = scraped;
    if (last == null || !last.load.freshAt(nowNanos, maxAgeNanos) || Double.isNaN(last.load.running())) {
      return mine;
    }
    double waiting = Double.isNaN(last.load.waiting()) ? 0 : last.load.waiting();
    long estimate = Math.round(last.load.running() + waiting) + mine - last.inFlightThen;
    return (int) Math.max(mine, Math.min(Integer.MAX_VALUE, estimate));
  }

  /** The engine's slot count as it last reported it (llama.cpp's {@code /props}); 0 when unknown. */
  public int engineSlots() {
    return engineSlots;
  }

  public void engineSlots(int slots) {
    this.engineSlots = Math.max(0, slots);
  }

  /** The engine's figures when scraped within {@code maxAgeNanos}, else null. */
  public dev.llmproxy.proxy.balance.engine.EngineLoad engineLoad(long nowNanos, long maxAgeNanos) {
    Scraped last = scraped;
    return last != null && last.load.freshAt(nowNanos, maxAgeNanos) ? last.load : null;
  }

  /** The engine's score when read within {@code maxAgeNanos}, else NaN. */
  public double engineScore(long nowNanos, long maxAgeNanos) {
    double score = engineScore;
    return !Double.isNaN(score) && nowNanos - engineScoredAtNanos <= maxAgeNanos ? score : Double.NaN;
  }
}
