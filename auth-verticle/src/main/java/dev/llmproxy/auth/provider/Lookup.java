package dev.llmproxy.auth.provider;

import dev.llmproxy.auth.Denial;
import io.vertx.core.json.JsonObject;

/**
 * What one provider says about a key. A provider that could not answer fails its future instead: an error is
 * never a "not found", so it can never let a key through.
 */
public sealed interface Lookup {

  /** The provider knows the key; {@code record} holds its fields (status, quotas, ips, user_id, ...). */
  record Found(JsonObject record) implements Lookup {
  }

  /** The provider does not know the key (the next provider may). */
  record NotFound() implements Lookup {
  }

  /** The provider knows better than the rules: a webhook's 403 or a script that said no. */
  record Denied(Denial denial, String message) implements Lookup {
  }

  Lookup NOT_FOUND = new NotFound();

  static Lookup found(JsonObject record) {
    return new Found(record);
  }
}
