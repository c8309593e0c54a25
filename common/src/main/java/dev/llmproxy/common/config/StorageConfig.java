package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Optional;

/** {@code storage}: named connection pools other sections refer to by {@code storage: "<name>"}. */
public record StorageConfig(List<DatabaseConfig> databases, List<CacheConfig> caches) {

  public StorageConfig {
    databases = Immutables.list(databases);
    caches = Immutables.list(caches);
  }

  public Optional<DatabaseConfig> database(String name) {
    return databases.stream().filter(d -> d.name().equals(name)).findFirst();
  }

  public Optional<CacheConfig> cache(String name) {
    return caches.stream().filter(c -> c.name().equals(name)).findFirst();
  }

  static StorageConfig read(ConfigReader r) {
    return new StorageConfig(
        r.list("databases", DatabaseConfig::read, List.of()),
        r.list("caches", CacheConfig::read, List.of()));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("databases", JsonOut.array(databases, DatabaseConfig::toJson))
        .put("caches", JsonOut.array(caches, CacheConfig::toJson));
  }
}
