package dev.llmproxy.auth.provider;

import dev.llmproxy.common.bus.AuthCheck;
import io.vertx.core.Future;

/** One entry of {@code auth.pipeline}: looks a key up in one store. Runs on the verticle's event loop. */
public interface Provider {

  /** The pipeline entry's name, for logs. */
  String name();

  /**
   * @param check   the request being authenticated (key, client ip, method, path, model, headers)
   * @param keyHash lower-case hex SHA-256 of the key, for stores that keep keys hashed
   * @return found / not found / denied; a failed future when the store could not answer
   */
  Future<Lookup> lookup(AuthCheck check, String keyHash);

  /** True when the answer depends on more than the key (scripts see the request), so it is cached per request. */
  default boolean dependsOnRequest() {
    return false;
  }
}
