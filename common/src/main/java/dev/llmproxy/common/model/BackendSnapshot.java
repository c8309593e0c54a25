package dev.llmproxy.common.model;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/** The whole backend set at one moment, as published by the discovery verticle. */
public record BackendSnapshot(long version, List<Backend> backends) {

  public static final BackendSnapshot EMPTY = new BackendSnapshot(0, List.of());

  public BackendSnapshot {
    backends = List.copyOf(backends);
  }

  public boolean hasUsable() {
    for (Backend backend : backends) {
      if (backend.usable()) {
        return true;
      }
    }
    return false;
  }

  public JsonObject toJson() {
    JsonArray list = new JsonArray();
    backends.forEach(b -> list.add(b.toJson()));
    return new JsonObject().put("version", version).put("backends", list);
  }

  public static BackendSnapshot fromJson(JsonObject json) {
    List<Backend> list = new ArrayList<>();
    for (Object o : json.getJsonArray("backends", new JsonArray())) {
      list.add(Backend.fromJson((JsonObject) o));
    }
    return new BackendSnapshot(json.getLong("version", 0L), list);
  }
}
