package dev.llmproxy.auth;

import static dev.llmproxy.auth.AuthTesting.ask;
import static dev.llmproxy.auth.AuthTesting.deploy;
import static dev.llmproxy.auth.AuthTesting.key;
import static dev.llmproxy.auth.AuthTesting.staticProvider;
import static dev.llmproxy.auth.StaticPipelineTest.assertDenied;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.bus.AuthDecision;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Both modes with a provider down, and Lua in both styles, as lua providers and as post-processing. */
@ExtendWith(VertxExtension.class)
class PipelineModesAndScriptsTest {

  private static final JsonObject DOWN_REDIS = new JsonObject().put("caches", new JsonArray().add(new JsonObject()
      .put("name", "down").put("driver", "redis").put("addr", "127.0.0.1:1").put("dial_timeout", "1s")));

  private static JsonObject downProvider() {
    return new JsonObject().put("name", "down_redis").put("type", "redis")
        .put("redis", new JsonObject().put("storage", "down"));
  }

  private static JsonObject config(String mode, JsonObject... pipeline) {
    JsonArray list = new JsonArray();
    for (JsonObject p : pipeline) {
      list.add(p);
    }
    return new JsonObject().put("storage", DOWN_REDIS)
        .put("auth", new JsonObject().put("enabled", true).put("mode", mode).put("pipeline", list));
  }

  @Test
  void firstMatchAsksTheNextProviderWhenOneIsDown(Vertx vertx, VertxTestContext ctx) {
    JsonObject raw = config("first_match", downProvider(),
        staticProvider("s", key("sk-second-000001"), key("sk-off-00000001").put("status", "disabled")));
    deploy(vertx, AuthTesting.config(raw))
        .compose(id -> Future.all(ask(vertx, "sk-second-000001"), ask(vertx, "sk-off-00000001"),
            ask(vertx, "sk-nowhere-00001")))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          assertTrue(((AuthDecision) all.resultAt(0)).allow());
          assertDenied(all.resultAt(1), 403, "key_disabled", null);
          // the key might live in the store that is down: not "invalid", but "try later"
          assertDenied(all.resultAt(2), 503, "auth_unavailable", null);
          ctx.completeNow();
        })));
  }

  @Test
  void allNeedsEveryProvider(Vertx vertx, VertxTestContext ctx) {
    JsonObject both = config("all",
        staticProvider("a", key("sk-in-both-00001").put("name", "from-a"), key("sk-only-a-00001")),
        staticProvider("b", key("sk-in-both-00001").put("name", "from-b")));
    JsonObject withDown = config("all", staticProvider("a", key("sk-in-both-00001")), downProvider());
    deploy(vertx, AuthTesting.config(both))
        .compose(id -> Future.all(ask(vertx, "sk-in-both-00001"), ask(vertx, "sk-only-a-00001")))
        .compose(first -> vertx.undeploy(vertx.deploymentIDs().iterator().next())
            .compose(x -> deploy(vertx, AuthTesting.config(withDown)))
            .compose(id -> ask(vertx, "sk-in-both-00001"))
            .map(down -> List.of(first.resultAt(0), first.resultAt(1), down)))
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertTrue(((AuthDecision) d.get(0)).allow());
          assertEquals("from-a", ((AuthDecision) d.get(0)).keyName(), "the first provider's fields win");
          assertDenied((AuthDecision) d.get(1), 401, "invalid_api_key", null);
          assertDenied((AuthDecision) d.get(2), 503, "auth_unavailable", null);
          ctx.completeNow();
        })));
  }

  @Test
  void luaProviderInBothStyles(Vertx vertx, VertxTestContext ctx, @TempDir Path dir) throws Exception {
    Path seed001 = dir.resolve("process.lua");
    Files.writeString(seed001, """
        function process(ctx, data)
          if ctx.request.path ~= "/v1/chat/completions" then return {allowed = false, error = "wrong path"} end
          if ctx.api_key == "sk-skip-00000001" then return {skip = true} end
          return {allowed = ctx.api_key:sub(1, 6) == "sk-vip", user_id = "vip-user", error = "not vip"}
        end
        """);
    JsonObject globalsStyle = new JsonObject().put("name", "inline").put("type", "lua").put("lua", new JsonObject()
        .put("script", """
            if api_key == "sk-global-00001" then
              return {allow = true, metadata = {ip = request.ip, model = request.model}, user_id = "g"}
            end
            if api_key == "sk-global-no-01" then return false end
            return {skip = true}
            """));
    JsonObject processStyle = new JsonObject().put("name", "file").put("type", "lua")
        .put("lua", new JsonObject().put("path", seed001.toString()));
    deploy(vertx, AuthTesting.config(config("first_match", globalsStyle, processStyle)))
        .compose(id -> Future.all(List.of(ask(vertx, "sk-global-00001", "10.1.1.1"), ask(vertx, "sk-global-no-01"),
            ask(vertx, "sk-vip-000000001"), ask(vertx, "sk-plain-0000001"), ask(vertx, "sk-skip-00000001"))))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          List<AuthDecision> d = all.list();
          assertTrue(d.get(0).allow());
          assertEquals("g", d.get(0).userId());
          assertEquals(new JsonObject().put("ip", "10.1.1.1").put("model", "gpt-test"), d.get(0).metadata());
          assertEquals(0, d.get(0).cacheTtlMs(), "a scripted decision depends on the request");
          assertDenied(d.get(1), 403, "access_denied", "Access denied");
          assertTrue(d.get(2).allow());
          assertEquals("vip-user", d.get(2).userId());
          assertDenied(d.get(3), 403, "access_denied", "not vip");
          assertDenied(d.get(4), 401, "invalid_api_key", null);
          ctx.completeNow();
        })));
  }

  @Test
  void postProcessingScriptAndLegacyLuaScript(Vertx vertx, VertxTestContext ctx) {
    JsonObject withBlock = staticProvider("blocked", key("sk-block-000001")).put("script", new JsonObject()
        .put("enabled", true).put("script", "return {allow = data.user_id ~= 'user-sk-block-000001', message = 'no'}"));
    JsonObject legacy = staticProvider("legacy", key("sk-legacy-00001").put("user_id", "u1"))
        .put("lua_script", """
            function process(ctx, data)
              return {allowed = true, user_id = data.user_id .. "-checked", metadata = {via = "lua"}}
            end
            """);
    deploy(vertx, AuthTesting.config(config("first_match", withBlock, legacy)))
        .compose(id -> Future.all(ask(vertx, "sk-block-000001"), ask(vertx, "sk-legacy-00001")))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          assertDenied(all.resultAt(0), 403, "access_denied", "no");
          AuthDecision legacyDecision = all.resultAt(1);
          assertTrue(legacyDecision.allow());
          assertEquals("u1-checked", legacyDecision.userId());
          assertEquals(new JsonObject().put("via", "lua"), legacyDecision.metadata());
          ctx.completeNow();
        })));
  }

  @Test
  void runawayScriptIsStoppedAndTheLoopKeepsAnswering(Vertx vertx, VertxTestContext ctx) {
    JsonObject runaway = new JsonObject().put("name", "runaway").put("type", "lua").put("lua", new JsonObject()
        .put("script", "if api_key == 'sk-loop-0000001' then while true do end end return true")
        .put("timeout", "200ms"));
    long started = System.nanoTime();
    deploy(vertx, AuthTesting.config(config("first_match", runaway)))
        .compose(id -> Future.all(ask(vertx, "sk-loop-0000001"), ask(vertx, "sk-fine-0000001"),
            ask(vertx, "sk-loop-0000001"), ask(vertx, "sk-fine-0000002")))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          long ms = (System.nanoTime() - started) / 1_000_000;
          assertDenied(all.resultAt(0), 403, "access_denied", null);
          assertTrue(((AuthDecision) all.resultAt(1)).allow(), "the same verticle answers after the runaway");
          assertDenied(all.resultAt(2), 403, "access_denied", null);
          assertTrue(((AuthDecision) all.resultAt(3)).allow());
          // two runs of 200 ms each at most, plus deployment: far below the event bus's 30 s reply timeout
          assertTrue(ms < 5_000, "took " + ms + " ms");
          ctx.completeNow();
        })));
  }
}
