package dev.llmproxy.common.verticle;

import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * What the verticles of one Vert.x instance share (the metrics registry, the proxies' per-JVM state, what the launcher
 * knows about its start), so that no verticle needs a shared object handed to its constructor: a verticle is built
 * from its typed config alone and takes these in {@code start()}, through {@link GatewayVerticle#jvm()}.
 *
 * <p>One registry per Vert.x instance (not per class loader: the proxy's warm-up runs a private Vert.x beside the
 * gateway's, with state of its own). A value is created on first use ({@link #computeIfAbsent}) or put there before
 * the verticles deploy (the launcher puts its registry and lifecycle flags); it lives as long as the Vert.x instance:
 * the registry is dropped when it closes. Nothing in it is closed here: what runs something (timers, scrapers) is
 * stopped by the verticle that started it, as before, and what the launcher put there is the launcher's.
 *
 * <p>Keys are types: one value of each type per instance.
 */
public final class JvmResources {

  private static final Map<Vertx, JvmResources> BY_VERTX = new ConcurrentHashMap<>();

  private final Map<Class<?>, Object> values = new ConcurrentHashMap<>();

  private JvmResources() {
  }

  /** The registry of {@code vertx}, created on first use and dropped when {@code vertx} closes. */
  public static JvmResources of(Vertx vertx) {
    JvmResources existing = BY_VERTX.get(vertx);
    if (existing != null) {
      return existing;
    }
    return BY_VERTX.computeIfAbsent(vertx, v -> {
      JvmResources created = new JvmResources();
      if (v instanceof VertxInternal internal) {
        internal.addCloseHook(completion -> {
          BY_VERTX.remove(v);
          created.values.clear();
          completion.succeed();
        });
      }
      return created;
    });
  }

  /** The value of {@code type}, made by {@code create} if there is none yet (once, even when asked concurrently). */
  public <T> T computeIfAbsent(Class<T> type, Supplier<? extends T> create) {
    return type.cast(values.computeIfAbsent(type, t -> create.get()));
  }

  /** The value of {@code type}, if one was put or created. */
  public <T> Optional<T> get(Class<T> type) {
    return Optional.ofNullable(values.get(type)).map(type::cast);
  }

  /** Puts {@code value} as the one of {@code type} (the launcher, before it deploys the verticles); replaces any. */
  public <T> JvmResources put(Class<T> type, T value) {
    values.put(type, type.cast(value));
    return this;
  }

}
