package dev.llmproxy.proxy.limit;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Limits kept in Redis, shared by every gateway node that uses the same cache: one {@code EVALSHA} round trip
 * per request checks and counts every limit ({@link RedisLimitScript}), and one more, not waited for, settles
 * the TPM reservation and frees the concurrency slots. Redis failing or answering later than
 * {@code rate_limit.store_timeout} lets the request through or refuses it, as {@code on_store_error} says.
 * One per proxy verticle instance (a Redis client belongs to the context that made it).
 */
public final class RedisRateLimiter implements RateLimiter {

  /**
   * A held concurrency slot expires after this long unless its holder, alive, moves the expiry on (every third of
   * it); so the slots of a gateway that died come back within this time, and a long stream keeps its slot.
   */
  public static final long SLOT_LIFETIME_MS = 60_000L;
  private static final String NODE = UUID.randomUUID().toString().substring(0, 8);
  private static final AtomicLong SLOTS = new AtomicLong();

  private final Vertx vertx;
  private final Redis redis;
  private final String prefix;
  private final long timeoutMs;
  private final boolean denyOnError;
  private final RejectionCounter rejections;
  private final StoreHealth health;
  private final long slotLifetimeMs;

  /**
   * @param prefix         the key prefix, {@code llmproxy:ratelimit:} as the original's (tests use their own)
   * @param slotLifetimeMs {@link #SLOT_LIFETIME_MS} (tests use a shorter one)
   */
  public RedisRateLimiter(Vertx vertx, Redis redis, String prefix, long timeoutMs, String onStoreError,
      RejectionCounter rejections, StoreHealth health, long slotLifetimeMs) {
    this.slotLifetimeMs = slotLifetimeMs;
    this.vertx = vertx;
    this.redis = redis;
    this.prefix = prefix;
    this.timeoutMs = timeoutMs;
    this.denyOnError = "deny".equals(onStoreError);
    this.rejections = rejections;
    this.health = health;
  }

  @Override
  public Future<Admission> admit(LimitPlan plan) {
    if (!plan.limitsAnything()) {
      return Future.succeededFuture(Admission.UNLIMITED);
    }
    if (!health.worthAsking()) {
      health.skipped();
      return Future.succeededFuture(storeFailed());
    }
    List<Limits> scopeLimits = new ArrayList<>(3);
    List<String> scopeBases = new ArrayList<>(3);
    if (plan.global() != null) {
      scopeLimits.add(plan.global());
      scopeBases.add(prefix + "global");
    }
    if (plan.key() != null) {
      scopeLimits.add(plan.key());
      scopeBases.add(prefix + "key:" + plan.keyBucket());
    }
    // The route's scope is last: decide() finds it there.
    if (plan.route() != null) {
      scopeLimits.add(plan.route().limits());
      scopeBases.add(prefix + plan.route().bucket());
    }
    Limits[] limits = scopeLimits.toArray(Limits[]::new);
    String[] bases = scopeBases.toArray(String[]::new);
    String slot = NODE + ":" + SLOTS.incrementAndGet();
    Request request = keys(bases);
    request.arg("admit").arg(limits.length).arg(slot).arg(slotLifetimeMs).arg(plan.reservedTokens());
    for (Limits l : limits) {
      request.arg(l.perSecond()).arg(l.burst()).arg(l.perMinute()).arg(l.tokensPerMinute()).arg(l.maxConcurrent())
          .arg(l.perWindow()).arg(l.windowMillis());
    }
    Future<Response> call = evalsha(request);
    return withTimeout(call).transform(answer -> {
      if (answer.failed()) {
        health.failed(answer.cause(), denyOnError ? "deny" : "allow");
        // Redis may still count the request after we stopped waiting: give back what it took then.
        call.onSuccess(late -> decide(late, plan, limits, bases, slot, false).complete(0));
        return Future.succeededFuture(storeFailed());
      }
      health.answered();
      return Future.succeededFuture(decide(answer.result(), plan, limits, bases, slot, true));
    });
  }

  private Admission decide(Response answer, LimitPlan plan, Limits[] limits, String[] bases, String slot,
      boolean counted) {
    long minute = answer.get(4).toLong();
    long into = answer.get(5).toLong();
    long resetSeconds = Math.max(1, (60_000 - into + 999) / 1000);
    if (answer.get(0).toInteger() == 0) {
      int scope = answer.get(1).toInteger();
      Limits hit = limits[scope];
      boolean global = bases[scope].equals(prefix + "global");
      long retrySeconds = (answer.get(3).toLong() + 999) / 1000;
      Denial denial = switch (answer.get(2).toInteger()) {
        case 5 -> Denial.ofRoute(plan.route(), retrySeconds);
        case 1 -> Denial.of(Denial.Kind.RPS, global, hit.perSecond(), 0, retrySeconds);
        case 2 -> Denial.of(Denial.Kind.RPM, global, hit.perMinute(), 0, retrySeconds);
        case 3 -> Denial.of(Denial.Kind.TPM, global, hit.tokensPerMinute(),
            Math.max(0, hit.tokensPerMinute() - answer.get(6).toLong()), retrySeconds);
        default -> Denial.of(Denial.Kind.CONCURRENT, global, hit.maxConcurrent(), 0, retrySeconds);
      };
      return counted ? rejections.denied(denial) : Admission.denied(denial);
    }
    Budget requests = null;
    Budget tokens = null;
    // The key's numbers are the tightest that matter to its client: it comes after the gateway's, so it wins; a
    // route's limit wins when less of it is left.
    for (int i = 0; i < limits.length; i++) {
      Limits l = limits[i];
      if (l.perMinute() > 0) {
        requests = new Budget(l.perMinute(), Math.max(0, l.perMinute() - answer.get(6 + i * 4).toLong()), resetSeconds);
      }
      if (l.tokensPerMinute() > 0) {
        tokens = new Budget(l.tokensPerMinute(), Math.max(0, l.tokensPerMinute() - answer.get(7 + i * 4).toLong()),
            resetSeconds);
      }
      if (l.perWindow() > 0) {
        requests = Budget.tighter(requests, new Budget(l.perWindow(),
            Math.max(0, l.perWindow() - answer.get(8 + i * 4).toLong()), Math.max(1, (answer.get(9 + i * 4).toLong() + 999) / 1000)));
      }
    }
    return new Held(plan, limits, bases, slot, minute, requests, tokens);
  }

  /** EVALSHA of the script with the five keys of each scope ({@link RedisLimitScript}). */
  private static Request keys(String[] bases) {
    Request request = Request.cmd(Command.EVALSHA).arg(RedisLimitScript.SHA).arg(bases.length * 5);
    for (String base : bases) {
      request.arg(base + ":bucket").arg(base + ":rpm").arg(base + ":tpm").arg(base + ":conc").arg(base + ":win");
    }
    return request;
  }

  private Admission storeFailed() {
    if (!denyOnError) {
      return Admission.UNLIMITED;
    }
    return Admission.storeUnavailable(
        new Denial("the rate-limit store is unavailable", "store", "global", 0, 0, 1, false));
  }

  /** EVALSHA, and on NOSCRIPT (a restarted or flushed Redis) SCRIPT LOAD and once more. */
  private Future<Response> evalsha(Request request) {
    return redis.send(request).recover(failure -> {
      String message = failure.getMessage();
      if (message == null || !message.startsWith("NOSCRIPT")) {
        return Future.failedFuture(failure);
      }
      return redis.send(Request.cmd(Command.SCRIPT).arg("LOAD").arg(RedisLimitScript.SOURCE))
          .compose(loaded -> redis.send(request));
    });
  }

  private Future<Response> withTimeout(Future<Response> call) {
    Promise<Response> promise = Promise.promise();
    long timer = vertx.setTimer(timeoutMs, t -> promise.tryFail(
        new TimeoutException("no answer within " + timeoutMs + " ms")));
    call.onComplete(result -> {
      vertx.cancelTimer(timer);
      if (result.succeeded()) {
        promise.tryComplete(result.result());
      } else {
        promise.tryFail(result.cause());
      }
    });
    return promise.future();
  }

  private final class Held extends Admitted {

    private final LimitPlan plan;
    private final Limits[] limits;
    private final String[] bases;
    private final String slot;
    private final long minute;
    private final boolean slots;
    private final long heartbeat;

    Held(LimitPlan plan, Limits[] limits, String[] bases, String slot, long minute, Budget requests, Budget tokens) {
      super(requests, tokens);
      this.plan = plan;
      this.limits = limits;
      this.bases = bases;
      this.slot = slot;
      this.minute = minute;
      boolean holdsSlots = false;
      for (Limits l : limits) {
        holdsSlots |= l.maxConcurrent() > 0;
      }
      this.slots = holdsSlots;
      this.heartbeat = holdsSlots ? vertx.setPeriodic(slotLifetimeMs / 3, id -> refresh()) : -1;
    }

    private void refresh() {
      Request request = keys().arg("refresh").arg(limits.length).arg(slot).arg(slotLifetimeMs);
      evalsha(request).onFailure(failure -> health.failed(failure, denyOnError ? "deny" : "allow"));
    }

    private Request keys() {
      return RedisRateLimiter.keys(bases);
    }

    @Override
    void settle(long usedTokens) {
      if (heartbeat >= 0) {
        vertx.cancelTimer(heartbeat);
      }
      long correction = plan.countsTokens() ? usedTokens - plan.reservedTokens() : 0;
      if (!slots && correction == 0) {
        return;
      }
      Request request = keys();
      request.arg("complete").arg(limits.length).arg(slot).arg(minute).arg(correction);
      for (Limits l : limits) {
        request.arg(l.tokensPerMinute() > 0 ? "1" : "0");
      }
      // Not waited for: a slot that is never freed expires, a correction that is lost only errs for a minute.
      evalsha(request).onFailure(failure -> health.failed(failure, denyOnError ? "deny" : "allow"));
    }
  }
}
