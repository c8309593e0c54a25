package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;

/**
 * One entry of {@code fault_injection.faults}: which exchanges it applies to ({@code paths}, {@code models},
 * {@code backends}; an empty list matches all) and what it does to each attempt on a matching backend: wait
 * {@code delay.fixed} first ({@code delay.percentage} of attempts), answer {@code abort.status} instead of the backend
 * ({@code abort.percentage} of attempts), cut a stream after {@code stream_cut_after} chunks (0: never).
 */
public record FaultConfig(String name, List<String> paths, List<String> models, List<String> backends, Delay delay,
    Abort abort, int streamCutAfter) {

  public FaultConfig {
    paths = Immutables.list(paths);
    models = Immutables.list(models);
    backends = Immutables.list(backends);
  }

  /** {@code delay}: a fixed wait before the attempt, for {@code percentage} (0 to 100) of attempts. */
  public record Delay(Duration fixed, double percentage) {

    static Delay read(ConfigReader r) {
      return new Delay(r.duration("fixed", Duration.ZERO), r.decimal("percentage", 100));
    }

    public boolean on() {
      return !fixed.isZero() && percentage > 0;
    }

    JsonObject toJson() {
      return new JsonObject().put("fixed", JsonOut.duration(fixed)).put("percentage", percentage);
    }
  }

  /** {@code abort}: the attempt is answered with {@code status} by the gateway, for {@code percentage} of attempts. */
  public record Abort(int status, double percentage) {

    static Abort read(ConfigReader r) {
      return new Abort(r.integer("status", 0), r.decimal("percentage", 100));
    }

    public boolean on() {
      return status != 0 && percentage > 0;
    }

    JsonObject toJson() {
      return new JsonObject().put("status", status).put("percentage", percentage);
    }
  }

  static FaultConfig read(ConfigReader r) {
    return new FaultConfig(
        r.string("name", ""),
        r.strings("paths", List.of()),
        r.strings("models", List.of()),
        r.strings("backends", List.of()),
        r.section("delay", Delay::read),
        r.section("abort", Abort::read),
        r.integer("stream_cut_after", 0));
  }

  String describe() {
    StringBuilder out = new StringBuilder(name.isEmpty() ? "fault" : name).append(" (");
    out.append("paths=").append(paths.isEmpty() ? "all" : paths)
        .append(" models=").append(models.isEmpty() ? "all" : models)
        .append(" backends=").append(backends.isEmpty() ? "all" : backends);
    if (delay.on()) {
      out.append(", delay ").append(Durations.format(delay.fixed())).append(" on ").append(delay.percentage()).append('%');
    }
    if (abort.on()) {
      out.append(", abort ").append(abort.status()).append(" on ").append(abort.percentage()).append('%');
    }
    if (streamCutAfter > 0) {
      out.append(", streams cut after ").append(streamCutAfter).append(" chunk(s)");
    }
    return out.append(')').toString();
  }

  JsonObject toJson() {
    return new JsonObject()
        .put("name", name)
        .put("paths", JsonOut.array(paths))
        .put("models", JsonOut.array(models))
        .put("backends", JsonOut.array(backends))
        .put("delay", delay.toJson())
        .put("abort", abort.toJson())
        .put("stream_cut_after", streamCutAfter);
  }
}
