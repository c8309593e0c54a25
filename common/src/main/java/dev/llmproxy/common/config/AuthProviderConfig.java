package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;

/**
 * One of {@code auth.pipeline}: {@code type} is builtin, redis, database, webhook, lua or static and
 * selects the block used. {@code lua} is the script of a lua provider (enabled by default);
 * {@code script} is the optional post-processing script of any provider (the legacy
 * {@code lua_script:} string lands here).
 */
public record AuthProviderConfig(String name, String type, boolean enabled, RedisAuthConfig redis,
    DatabaseAuthConfig database, WebhookAuthConfig webhook, ScriptConfig lua, StaticAuthConfig staticConfig,
    ScriptConfig script) {

  private static final ScriptConfig LUA_DEFAULT = new ScriptConfig(true, "", "", ScriptConfig.DEFAULT.timeout(),
      ScriptConfig.DEFAULT.maxMemory());

  static AuthProviderConfig read(ConfigReader r) {
    String type = r.string("type", "");
    return new AuthProviderConfig(
        r.string("name", type),
        type,
        r.bool("enabled", true),
        r.section("redis", RedisAuthConfig::read),
        r.section("database", DatabaseAuthConfig::read),
        r.section("webhook", WebhookAuthConfig::read),
        r.section("lua", s -> ScriptConfig.read(s, LUA_DEFAULT)),
        r.section("static", StaticAuthConfig::read),
        ScriptConfig.postProcessing(r));
  }

  public JsonObject toJson() {
    return JsonOut.typedEntry(name, type, enabled)
        .put("redis", redis.toJson())
        .put("database", database.toJson())
        .put("webhook", webhook.toJson())
        .put("lua", lua.toJson())
        .put("static", staticConfig.toJson())
        .put("script", script.toJson());
  }
}
