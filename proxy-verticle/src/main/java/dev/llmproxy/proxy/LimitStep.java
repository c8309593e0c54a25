package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.proxy.limit.Admission;
import dev.llmproxy.proxy.limit.Budget;
import dev.llmproxy.proxy.limit.Denial;
import dev.llmproxy.proxy.limit.LimitPlan;
import dev.llmproxy.proxy.limit.LimitRequest;
import dev.llmproxy.proxy.limit.RateLimiter;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

import java.util.List;

/**
 * Admits the request under {@code rate_limit} (RPM, TPM, concurrency) or refuses it with 429 and OpenAI's
 * {@code x-ratelimit-*} headers. What it admits is settled by the exchange ({@link ApiExchange#settleLimits}): the
 * slots go back before the answer's last byte, the TPM reservation becomes what the request used.
 */
final class LimitStep implements ExchangeInterceptor {

  @Override
  public Future<Void> handleRequest(ApiExchange exchange) {
    RateLimiter limiter = exchange.context.rateLimiter;
    if (limiter == null) {
      return strictQuota(exchange, null, 0);
    }
    HttpServerRequest request = exchange.request;
    AuthDecision decision = exchange.decision;
    String model = exchange.inspected.model();
    LimitRequest limited = decision == null
        ? new LimitRequest(null, null, null, null, null, null, null, model, request.path(),
            request.method().name(), exchange.clientIp, exchange::promptTokens)
        : new LimitRequest(decision.keyId(), decision.keyName(), decision.userId(), decision.metadata(), decision.rpm(),
            decision.tpm(), decision.maxConcurrent(), model, request.path(), request.method().name(),
            exchange.clientIp, exchange::promptTokens);
    LimitPlan plan = exchange.context.limitPlanner.plan(limited);
    Admission atOnce = limiter.admitAtOnce(plan);
    if (atOnce != null) {
      return decided(exchange, plan, atOnce); // in memory: no future, no callback per request
    }
    return limiter.admit(plan).transform(decided -> decided(exchange, plan,
        decided.succeeded() ? decided.result() : Admission.UNLIMITED));
  }

  private static Future<Void> decided(ApiExchange exchange, LimitPlan plan, Admission admitted) {
    if (exchange.finished) {
      admitted.complete(0);
      return ApiExchange.ENDED;
    }
    if (admitted.denial() != null) {
      return Future.failedFuture(refusal(exchange.response, admitted.denial(), admitted.storeUnavailable()));
    }
    exchange.admission = admitted;
    budgetHeaders(exchange.response, REQUESTS, admitted.requests());
    budgetHeaders(exchange.response, TOKENS, admitted.tokens());
    return strictQuota(exchange, admitted.tokens(), plan.reservedTokens());
  }

  /** {@code auth.quota_enforcement: strict}: the request's allowance, or its refusal. */
  private static Future<Void> strictQuota(ApiExchange exchange, Budget tokens, long reserved) {
    try {
      QuotaEnforcement.admit(exchange, tokens, reserved);
    } catch (GatewayError refused) {
      return Future.failedFuture(refused);
    }
    return exchange.sendRequest();
  }

  private static GatewayError refusal(HttpServerResponse response, Denial denial, boolean storeUnavailable) {
    response.putHeader("Retry-After", Long.toString(denial.retryAfterSeconds()));
    if (storeUnavailable) {
      return new GatewayError(ErrorKind.NOT_READY, 503, "rate_limit_unavailable",
          "Rate limits cannot be checked right now; retry after " + denial.retryAfterSeconds() + " s", null);
    }
    budgetHeaders(response, denial.tokens() ? TOKENS : REQUESTS,
        new Budget(denial.value(), denial.remaining(), denial.retryAfterSeconds()));
    return new GatewayError(ErrorKind.RATE_LIMITED, 429, "rate_limit_exceeded",
        "Rate limit reached: " + denial.limit() + " is " + denial.value() + "; retry after "
            + denial.retryAfterSeconds() + " s", null);
  }

  /**
   * The names of OpenAI's budget headers of one unit ({@code requests}, {@code tokens}): made once, not per request;
   * and the text of the unit's limit last sent.
   */
  record BudgetHeaders(String limit, String remaining, String reset, RecentText limitText) {
    static BudgetHeaders of(String unit) {
      return new BudgetHeaders("x-ratelimit-limit-" + unit, "x-ratelimit-remaining-" + unit, "x-ratelimit-reset-" + unit,
          new RecentText());
    }

    List<String> names() {
      return List.of(limit, remaining, reset);
    }
  }

  static final BudgetHeaders REQUESTS = BudgetHeaders.of("requests");
  static final BudgetHeaders TOKENS = BudgetHeaders.of("tokens");

  /**
   * OpenAI's {@code x-ratelimit-{limit,remaining,reset}-requests|tokens}. Every admitted request carries them: the
   * limit (the same number request after request) and the reset (seconds within a minute) are texts made once.
   */
  private static void budgetHeaders(HttpServerResponse response, BudgetHeaders names, Budget budget) {
    if (budget != null) {
      // Added, not set: nothing put them before (a request is limited once), and set searches for them first.
      response.headers().add(names.limit(), names.limitText().of(budget.limit()))
          .add(names.remaining(), Long.toString(budget.remaining()))
          .add(names.reset(), resetText(budget.resetSeconds()));
    }
  }

  /** "0s" to "120s": a per-minute window resets within 60 s. */
  private static final String[] RESET_TEXTS = java.util.stream.IntStream.rangeClosed(0, 120)
      .mapToObj(seconds -> seconds + "s").toArray(String[]::new);

  static String resetText(long seconds) {
    return seconds >= 0 && seconds < RESET_TEXTS.length ? RESET_TEXTS[(int) seconds] : seconds + "s";
  }

  /**
   * The decimal text of the number last asked for, kept: a limit repeats from one request to the next. Shared by every
   * event loop without a lock: a loop that reads an older entry (immutable) only makes the text again.
   */
  static final class RecentText {
    private record Entry(long value, String text) {
    }

    private Entry last = new Entry(0, "0");

    String of(long value) {
      Entry entry = last;
      if (entry.value() != value) {
        entry = new Entry(value, Long.toString(value));
        last = entry;
      }
      return entry.text();
    }
  }
}
