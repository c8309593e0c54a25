package dev.llmproxy.common.config;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Map;

// TEMPORARY STUB
public final class ConfigLoader {
  public static Future<LoadedConfig> load(Vertx vertx, String path) {
    ConfigRetriever r = ConfigRetriever.create(vertx, new ConfigRetrieverOptions().setScanPeriod(0).addStore(
        new ConfigStoreOptions().setType("file").setFormat("yaml").setConfig(new JsonObject().put("path", path))));
    return r.getConfig().map(j -> parse(j, System.getenv())).eventually(() -> { r.close(); return Future.succeededFuture(); });
  }
  public static LoadedConfig parse(JsonObject raw, Map<String, String> env) {
    return new LoadedConfig(GatewayConfig.fromJson(raw), List.of(), List.of());
  }
}
