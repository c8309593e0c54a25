package dev.llmproxy.auth.provider;

import dev.llmproxy.common.bus.KeyHash;
import dev.llmproxy.common.bus.AuthCheck;
import dev.llmproxy.common.config.ApiKeyConfig;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code type: static} (and the deprecated top-level {@code api_keys} / {@code auth.storage: file}, which the
 * config loader maps here). Keys are indexed by their hash, so the lookup never compares secrets directly.
 */
public final class StaticProvider implements Provider {

  private final String name;
  private final Map<String, JsonObject> byHash = new HashMap<>();

  public StaticProvider(String name, List<ApiKeyConfig> keys) {
    this.name = name;
    for (ApiKeyConfig key : keys) {
      JsonObject record = key.toJson();
      record.remove("key");
      byHash.putIfAbsent(KeyHash.sha256Hex(key.key()), record);
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Future<Lookup> lookup(AuthCheck check, String keyHash) {
    JsonObject record = byHash.get(keyHash);
    return Future.succeededFuture(record == null ? Lookup.NOT_FOUND : Lookup.found(record.copy()));
  }
}
