package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/** One of {@code usage.reporters}: {@code type} builtin, webhook or database selects the block used. */
public record ReporterConfig(String name, String type, boolean enabled, BuiltinReporterConfig builtin,
    WebhookReporterConfig webhook, DatabaseReporterConfig database, ScriptConfig script) {

  static ReporterConfig read(ConfigReader r) {
    String type = r.string("type", "");
    return new ReporterConfig(
        r.string("name", type),
        type,
        r.bool("enabled", true),
        r.section("builtin", BuiltinReporterConfig::read),
        r.section("webhook", WebhookReporterConfig::read),
        r.section("database", DatabaseReporterConfig::read),
        ScriptConfig.postProcessing(r));
  }

  public JsonObject toJson() {
    return JsonOut.typedEntry(name, type, enabled)
        .put("builtin", builtin.toJson())
        .put("webhook", webhook.toJson())
        .put("database", database.toJson())
        .put("script", script.toJson());
  }
}
