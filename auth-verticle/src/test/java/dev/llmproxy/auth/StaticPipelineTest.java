package dev.llmproxy.auth;

import dev.llmproxy.common.bus.KeyHash;

import static dev.llmproxy.auth.AuthTesting.ask;
import static dev.llmproxy.auth.AuthTesting.authConfig;
import static dev.llmproxy.auth.AuthTesting.deploy;
import static dev.llmproxy.auth.AuthTesting.key;
import static dev.llmproxy.auth.AuthTesting.staticProvider;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import dev.llmproxy.common.model.StaticKeyUsage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class StaticPipelineTest {

  private static final Instant NOW = Instant.now();

  private static GatewayConfig rulesConfig() {
    return authConfig("first_match", staticProvider("keys",
        key("sk-active-0000001").put("status", "enabled").put("metadata_ignored", "x"),
        key("sk-disabled-00001").put("status", "disabled"),
        key("sk-int-disabled-1").put("status", "1"),
        key("sk-expired-000001").put("expires_at", NOW.minus(1, ChronoUnit.HOURS).toString()),
        key("sk-later-0000001").put("starts_at", NOW.plus(1, ChronoUnit.DAYS).toString()),
        key("sk-quota-full-001").put("total_quota", 100).put("used_quota", 100),
        key("sk-quota-left-001").put("total_quota", 100).put("used_quota", 99),
        key("sk-ip-allow-0001").put("allowed_ips", new JsonArray().add("10.0.0.0/8").add("2001:db8::/32")),
        key("sk-ip-deny-00001").put("denied_ips", new JsonArray().add("192.168.1.7").add("fe80::/10"))));
  }

  @Test
  void rulesDecide(Vertx vertx, VertxTestContext ctx) {
    AuthTesting.staticUsageLedger(vertx, Map.of()).compose(v -> deploy(vertx, rulesConfig())).compose(id -> Future.all(List.of(
        ask(vertx, "sk-active-0000001"),
        ask(vertx, "sk-disabled-00001"),
        ask(vertx, "sk-int-disabled-1"),
        ask(vertx, "sk-expired-000001"),
        ask(vertx, "sk-later-0000001"),
        ask(vertx, "sk-quota-full-001"),
        ask(vertx, "sk-quota-left-001"),
        ask(vertx, "sk-unknown-000001"),
        ask(vertx, "")))).onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          List<AuthDecision> d = all.list();
          AuthDecision ok = d.get(0);
          assertTrue(ok.allow());
          assertEquals(KeyHash.sha256Hex("sk-active-0000001").substring(0, 16), ok.keyId());
          assertEquals("name-sk-active-0000001", ok.keyName());
          assertEquals("keys", ok.keySource(), "the provider that found the key, for quota accounting");
          assertEquals("user-sk-active-0000001", ok.userId());
          assertTrue(ok.cacheTtlMs() > 0);
          assertDenied(d.get(1), 403, "key_disabled", "API Key is disabled");
          assertDenied(d.get(2), 403, "key_disabled", "API Key is disabled");
          assertDenied(d.get(3), 403, "key_expired", "API Key has expired");
          assertDenied(d.get(4), 403, "key_not_yet_valid", "API Key is not yet valid");
          assertDenied(d.get(5), 429, "quota_exceeded", "Quota exceeded");
          assertTrue(d.get(6).allow());
          assertDenied(d.get(7), 401, "invalid_api_key", "Invalid API Key");
          assertDenied(d.get(8), 401, "invalid_api_key", "Invalid API Key");
          ctx.completeNow();
        })));
  }

  /**
   * A static key's charges come from the ledger: what it has used since its configured used_quota counts, the
   * configured number wins once the operator changes it, and a new period (last reset before its start) starts
   * again. No ledger to ask is a failure, never a pass.
   */
  /** No object handed over: the verticle is deployed from its deployment's JSON config alone, as by class name. */
  @Test
  void deployedFromItsJsonConfigAloneItJudgesKeys(Vertx vertx, VertxTestContext ctx) {
    GatewayConfig config = authConfig("first_match", staticProvider("keys", key("sk-from-json-0001")));
    AuthTesting.staticUsageLedger(vertx, Map.of())
        .compose(v -> vertx.deployVerticle(() -> new AuthVerticle(),
            new io.vertx.core.DeploymentOptions().setConfig(config.toJson())))
        .compose(id -> Future.all(ask(vertx, "sk-from-json-0001"), ask(vertx, "sk-not-listed-0001")))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          assertTrue(((AuthDecision) all.resultAt(0)).allow());
          assertDenied(all.resultAt(1), 401, "invalid_api_key", "Invalid API Key");
          ctx.completeNow();
        })));
  }

  @Test
  void staticKeysAreJudgedByWhatTheLedgerCharged(Vertx vertx, VertxTestContext ctx) {
    String spent = "sk-static-spent-01";
    String rebased = "sk-static-rebased1";
    String lastPeriod = "sk-static-lastday";
    Instant yesterday = NOW.minus(2, ChronoUnit.DAYS);
    Map<String, JsonObject> ledger = Map.of(
        KeyHash.sha256Hex(spent), new StaticKeyUsage(114, NOW, 0).toJson(),
        KeyHash.sha256Hex(rebased), new StaticKeyUsage(114, NOW, 0).toJson(),
        KeyHash.sha256Hex(lastPeriod), new StaticKeyUsage(114, yesterday, 0).toJson());
    GatewayConfig config = authConfig("first_match", staticProvider("keys",
        key(spent).put("total_quota", 100),
        key(rebased).put("total_quota", 100).put("used_quota", 10),
        key(lastPeriod).put("total_quota", 100).put("quota_reset_period", "daily")));
    AuthTesting.staticUsageLedger(vertx, ledger).compose(v -> deploy(vertx, config))
        .compose(id -> Future.all(ask(vertx, spent), ask(vertx, rebased), ask(vertx, lastPeriod)))
        .onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          assertDenied(all.resultAt(0), 429, "quota_exceeded", "Quota exceeded");
          assertTrue(((AuthDecision) all.resultAt(1)).allow(), "used_quota changed in the config: it wins");
          assertTrue(((AuthDecision) all.resultAt(2)).allow(), "a new daily period starts the count again");
          ctx.completeNow();
        })));
  }

  @Test
  void aStaticKeyWithAQuotaIsNotLetThroughWithoutItsLedger(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, authConfig("first_match", staticProvider("keys", key("sk-static-noledger").put("total_quota", 5))))
        .compose(id -> ask(vertx, "sk-static-noledger"))
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertFalse(d.allow());
          assertEquals(503, d.status());
          ctx.completeNow();
        })));
  }

  @Test
  void ipListsWithCidrForBothFamilies(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, rulesConfig()).compose(id -> Future.all(List.of(
        ask(vertx, "sk-ip-allow-0001", "10.1.2.3"),
        ask(vertx, "sk-ip-allow-0001", "11.0.0.1"),
        ask(vertx, "sk-ip-allow-0001", "2001:db8:1::5"),
        ask(vertx, "sk-ip-allow-0001", "2001:db9::5"),
        ask(vertx, "sk-ip-deny-00001", "192.168.1.7"),
        ask(vertx, "sk-ip-deny-00001", "192.168.1.8"),
        ask(vertx, "sk-ip-deny-00001", "fe80::1"),
        ask(vertx, "sk-ip-allow-0001", "not-an-ip")))).onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          List<AuthDecision> d = all.list();
          assertTrue(d.get(0).allow());
          assertEquals(0, d.get(0).cacheTtlMs(), "an address-bound decision is not reusable by key alone");
          assertDenied(d.get(1), 403, "ip_not_allowed", null);
          assertTrue(d.get(2).allow());
          assertDenied(d.get(3), 403, "ip_not_allowed", null);
          assertDenied(d.get(4), 403, "ip_not_allowed", null);
          assertTrue(d.get(5).allow());
          assertDenied(d.get(6), 403, "ip_not_allowed", null);
          assertDenied(d.get(7), 403, "ip_not_allowed", null);
          ctx.completeNow();
        })));
  }

  @Test
  void statusCodesAreConfigurable(Vertx vertx, VertxTestContext ctx) {
    JsonObject raw = new JsonObject().put("auth", new JsonObject().put("enabled", true)
        .put("status_codes", new JsonObject()
            .put("disabled", new JsonObject().put("http_code", 451).put("message", "gone"))
            .put("not_found", new JsonObject().put("http_code", 407).put("message", "who?")))
        .put("pipeline", new JsonArray().add(staticProvider("s", key("sk-disabled-00001").put("status", 1)))));
    deploy(vertx, AuthTesting.config(raw)).compose(id -> Future.all(ask(vertx, "sk-disabled-00001"),
        ask(vertx, "sk-nobody-0000001"))).onComplete(ctx.succeeding(all -> ctx.verify(() -> {
          assertDenied(all.resultAt(0), 451, "key_disabled", "gone");
          assertDenied(all.resultAt(1), 407, "invalid_api_key", "who?");
          ctx.completeNow();
        })));
  }

  @Test
  void deprecatedApiKeysMapToAStaticProvider(Vertx vertx, VertxTestContext ctx) {
    JsonObject raw = new JsonObject()
        .put("api_keys", new JsonArray().add(new JsonObject().put("key", "sk-legacy-000001").put("user_id", "old")))
        .put("auth", new JsonObject().put("enabled", true).put("storage", "file"));
    GatewayConfig config = ConfigLoader.parse(raw, Map.of()).config();
    deploy(vertx, config).compose(id -> ask(vertx, "sk-legacy-000001"))
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertTrue(d.allow());
          assertEquals("old", d.userId());
          ctx.completeNow();
        })));
  }

  @Test
  void authDisabledAllowsAnonymously(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, GatewayConfig.defaults()).compose(id -> ask(vertx, null))
        .onComplete(ctx.succeeding(d -> ctx.verify(() -> {
          assertTrue(d.allow());
          assertNull(d.keyId());
          ctx.completeNow();
        })));
  }

  @Test
  void cacheDropsAKeyOnKeysChanged(Vertx vertx, VertxTestContext ctx) {
    // The static provider cannot change, so the cache is observed directly: filled by a check, emptied by a message.
    AuthVerticle verticle = new AuthVerticle(authConfig("first_match", staticProvider("s", key("sk-cached-000001"))));
    vertx.deployVerticle(verticle)
        .compose(id -> ask(vertx, "sk-cached-000001"))
        .onComplete(ctx.succeeding(first -> ctx.verify(() -> {
          assertTrue(first.allow());
          assertEquals(1, verticle.cachedDecisions());
          vertx.eventBus().publish(dev.llmproxy.common.bus.Addresses.KEYS_CHANGED,
              new JsonObject().put("key_hash", KeyHash.sha256Hex("sk-cached-000001")));
          ask(vertx, "sk-other-0000001").onComplete(ctx.succeeding(other -> ctx.verify(() -> {
            // the publication was delivered before this later request on the same event loop
            assertFalse(other.allow());
            assertEquals(1, verticle.cachedDecisions(), "only the negative answer for the other key remains");
            ctx.completeNow();
          })));
        })));
  }

  static void assertDenied(AuthDecision d, int status, String code, String message) {
    assertFalse(d.allow(), code);
    assertEquals(status, d.status(), code);
    assertEquals(code, d.code());
    if (message != null) {
      assertEquals(message, d.message());
    }
  }
}
