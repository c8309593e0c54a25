package dev.llmproxy.admin;

import static dev.llmproxy.admin.AdminTesting.adminSection;
import static dev.llmproxy.admin.AdminTesting.deploy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The same API on its own port ({@code admin.listen}), and {@code admin.allowed_ips} on the peer address. */
@ExtendWith(VertxExtension.class)
class KeyApiOverHttpTest {

  @TempDir
  Path dir;

  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();

  @Test
  void crudTokenAndMethodChecksOnItsOwnPort(Vertx vertx, VertxTestContext ctx) throws Exception {
    int port = freePort();
    String base = "http://127.0.0.1:" + port;
    deploy(vertx, adminSection(dir).put("listen", "127.0.0.1:" + port))
        .compose(id -> vertx.executeBlocking(() -> {
          String key = "sk-http-00000000000001";
          HttpResponse<String> created = post(base + "/admin/keys/create", AdminTesting.TOKEN,
              new JsonObject().put("key", key).put("name", "over-http").encode());
          assertEquals(200, created.statusCode(), created.body());
          assertTrue(created.headers().firstValue("content-type").orElse("").startsWith("application/json"));
          assertEquals(409, post(base + "/admin/keys/create", AdminTesting.TOKEN,
              new JsonObject().put("key", key).encode()).statusCode());
          HttpResponse<String> got = post(base + "/admin/keys/get", AdminTesting.TOKEN,
              new JsonObject().put("key", key).encode());
          assertEquals("over-http", new JsonObject(got.body()).getJsonObject("data").getString("name"));
          HttpResponse<String> updated = post(base + "/admin/keys/update", AdminTesting.TOKEN,
              new JsonObject().put("key", key).put("status", "disabled").encode());
          assertEquals(1, new JsonObject(updated.body()).getJsonObject("data").getInteger("status"));
          HttpResponse<String> listed = post(base + "/admin/keys/list", AdminTesting.TOKEN, "{}");
          assertEquals(1, new JsonObject(listed.body()).getJsonObject("data").getInteger("total"));
          assertEquals(200, post(base + "/admin/keys/delete", AdminTesting.TOKEN,
              new JsonObject().put("key", key).encode()).statusCode());
          assertEquals(404, post(base + "/admin/keys/get", AdminTesting.TOKEN,
              new JsonObject().put("key", key).encode()).statusCode());
          assertEquals(401, post(base + "/admin/keys/list", null, "{}").statusCode());
          assertEquals(403, post(base + "/admin/keys/list", "wrong-token", "{}").statusCode());
          HttpResponse<String> viaGet = client.send(HttpRequest.newBuilder(URI.create(base + "/admin/keys/list"))
              .header("X-Admin-Token", AdminTesting.TOKEN).GET().build(), HttpResponse.BodyHandlers.ofString());
          assertEquals(405, viaGet.statusCode());
          assertEquals(false, new JsonObject(viaGet.body()).getBoolean("success"));
          HttpResponse<String> huge = post(base + "/admin/keys/create", AdminTesting.TOKEN,
              "{\"name\":\"" + "x".repeat(100_000) + "\"}");
          assertEquals(413, huge.statusCode());
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void theConsoleNeedsByHashAndSearch(Vertx vertx, VertxTestContext ctx) throws Exception {
    int port = freePort();
    String base = "http://127.0.0.1:" + port;
    deploy(vertx, adminSection(dir).put("listen", "127.0.0.1:" + port))
        .compose(id -> vertx.executeBlocking(() -> {
          // the console's files: no token, security headers, only the files of the jar
          HttpResponse<String> page = get(base + "/admin/ui/");
          assertEquals(200, page.statusCode());
          assertTrue(page.body().contains("data-testid=\"token\""), page.body());
          assertTrue(page.headers().firstValue("content-type").orElse("").startsWith("text/html"));
          String csp = page.headers().firstValue("content-security-policy").orElse("");
          assertTrue(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), csp);
          assertEquals("DENY", page.headers().firstValue("x-frame-options").orElse(""));
          assertEquals(200, get(base + "/admin/ui/console.js").statusCode());
          assertTrue(get(base + "/admin/ui/../keys.db").statusCode() >= 400);
          assertEquals(404, get(base + "/admin/ui/%2e%2e/keys.db").statusCode());
          assertEquals(404, get(base + "/admin/ui/AdminApi.class").statusCode());
          assertEquals(301, get(base + "/admin/ui").statusCode());
          assertEquals(405, post(base + "/admin/ui/", null, "{}").statusCode());
          // the API behind it still needs the token
          assertEquals(401, get(base + "/admin/status").statusCode());

          String first = new JsonObject(post(base + "/admin/keys/create", AdminTesting.TOKEN,
              new JsonObject().put("name", "alpha_1").put("user_id", "carol").encode()).body())
              .getJsonObject("data").getString("key_hash");
          post(base + "/admin/keys/create", AdminTesting.TOKEN, new JsonObject().put("name", "beta").encode());
          JsonObject found = new JsonObject(post(base + "/admin/keys/list", AdminTesting.TOKEN,
              new JsonObject().put("search", "ALPHA").encode()).body()).getJsonObject("data");
          assertEquals(1, found.getInteger("total"));
          assertEquals(first, found.getJsonArray("keys").getJsonObject(0).getString("key_hash"));
          assertEquals(1, new JsonObject(post(base + "/admin/keys/list", AdminTesting.TOKEN,
              new JsonObject().put("search", "carol").encode()).body()).getJsonObject("data").getInteger("total"));
          // LIKE's wildcards are literal: "_" matches only the underscore of alpha_1
          assertEquals(1, new JsonObject(post(base + "/admin/keys/list", AdminTesting.TOKEN,
              new JsonObject().put("search", "_").encode()).body()).getJsonObject("data").getInteger("total"));
          assertEquals(2, new JsonObject(post(base + "/admin/keys/list", AdminTesting.TOKEN,
              new JsonObject().put("search", " ").encode()).body()).getJsonObject("data").getInteger("total"));

          HttpResponse<String> disabled = post(base + "/admin/keys/update", AdminTesting.TOKEN,
              new JsonObject().put("key_hash", first.toUpperCase()).put("status", "disabled").encode());
          assertEquals(200, disabled.statusCode(), disabled.body());
          assertEquals(1, new JsonObject(disabled.body()).getJsonObject("data").getInteger("status"));
          assertEquals(200, post(base + "/admin/keys/reset_quota", AdminTesting.TOKEN,
              new JsonObject().put("key_hash", first).encode()).statusCode());
          assertEquals(400, post(base + "/admin/keys/get", AdminTesting.TOKEN,
              new JsonObject().put("key_hash", "abc").encode()).statusCode());
          assertEquals(200, post(base + "/admin/keys/delete", AdminTesting.TOKEN,
              new JsonObject().put("key_hash", first).encode()).statusCode());
          assertEquals(404, post(base + "/admin/keys/get", AdminTesting.TOKEN,
              new JsonObject().put("key_hash", first).encode()).statusCode());
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  private HttpResponse<String> get(String url) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void usageQueryAndStatusOnItsOwnPort(Vertx vertx, VertxTestContext ctx) throws Exception {
    int port = freePort();
    String base = "http://127.0.0.1:" + port;
    JsonObject record = new dev.llmproxy.common.model.UsageRecord("req-http-1", "sk-http-usage-000000001", "builtin",
        null, "u9", "m", 3, 4, 7, false, "POST", "/v1/completions", java.time.Instant.parse("2026-01-02T03:04:05Z"),
        "http://b", 200, 10, -1, false, false, "127.0.0.1").toJson();
    deploy(vertx, adminSection(dir).put("listen", "127.0.0.1:" + port))
        .compose(id -> vertx.eventBus().request(dev.llmproxy.common.bus.Addresses.USAGE_STORE,
            new JsonObject().put("records", new JsonArray().add(record))))
        .compose(stored -> vertx.executeBlocking(() -> {
          HttpResponse<String> totals = post(base + "/admin/usage/query", AdminTesting.TOKEN,
              new JsonObject().put("user", "u9").put("start", "2026-01-02").put("group_by", "day").encode());
          assertEquals(200, totals.statusCode(), totals.body());
          JsonObject data = new JsonObject(totals.body()).getJsonObject("data");
          assertEquals(7L, data.getJsonObject("totals").getLong("total_tokens"));
          assertEquals("2026-01-02", data.getJsonArray("groups").getJsonObject(0).getString("day"));
          HttpResponse<String> badDate = post(base + "/admin/usage/query", AdminTesting.TOKEN,
              new JsonObject().put("start", "02/01/2026").encode());
          assertEquals(400, badDate.statusCode());
          assertEquals(false, new JsonObject(badDate.body()).getBoolean("success"));
          HttpResponse<String> status = client.send(HttpRequest.newBuilder(URI.create(base + "/admin/status"))
              .header("X-Admin-Token", AdminTesting.TOKEN).GET().build(), HttpResponse.BodyHandlers.ofString());
          assertEquals(200, status.statusCode(), status.body());
          assertEquals(false, new JsonObject(status.body()).getJsonObject("data").getBoolean("clustered"));
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void callersOutsideAllowedIpsAreRefused(Vertx vertx, VertxTestContext ctx) throws Exception {
    int port = freePort();
    JsonObject admin = adminSection(dir).put("listen", "127.0.0.1:" + port)
        .put("allowed_ips", new JsonArray().add("10.0.0.0/8"));
    deploy(vertx, admin)
        .compose(id -> vertx.executeBlocking(() ->
            post("http://127.0.0.1:" + port + "/admin/keys/list", AdminTesting.TOKEN, "{}")))
        .onComplete(ctx.succeeding(response -> ctx.verify(() -> {
          assertEquals(403, response.statusCode());
          ctx.completeNow();
        })));
  }

  /** Issue 17: every number the admin API accepts is range-checked before it is narrowed; a 400 names the field. */
  @Test
  void numbersOutOfRangeAreRefusedByFieldAndNeverWrapped(Vertx vertx, VertxTestContext ctx) throws Exception {
    int port = freePort();
    String base = "http://127.0.0.1:" + port;
    String key = "sk-range-000000000000001";
    deploy(vertx, adminSection(dir).put("listen", "127.0.0.1:" + port))
        .compose(id -> vertx.executeBlocking(() -> {
          assertEquals(200, post(base + "/admin/keys/create", AdminTesting.TOKEN,
              "{\"key\":\"" + key + "\",\"rpm\":60}").statusCode());
          String[][] refused = {
              {"\"status\":4294967297", "status"}, {"\"status\":-4294967295", "status"}, {"\"status\":1.5", "status"},
              {"\"rpm\":-1", "rpm"}, {"\"rpm\":1e300", "rpm"}, {"\"tpm\":9223372036854775808", "tpm"},
              {"\"total_quota\":18446744073709551617", "total_quota"}, {"\"used_quota\":9007199254740992", "used_quota"},
              {"\"max_concurrent\":2147483648", "max_concurrent"}, {"\"rpm\":\"60\"", "rpm"}};
          for (String[] field : refused) {
            HttpResponse<String> update = post(base + "/admin/keys/update", AdminTesting.TOKEN,
                "{\"key\":\"" + key + "\"," + field[0] + "}");
            assertEquals(400, update.statusCode(), field[0] + ": " + update.body());
            assertTrue(update.body().contains(field[1] + " must be"), field[0] + ": " + update.body());
            HttpResponse<String> sync = post(base + "/admin/keys/sync", AdminTesting.TOKEN,
                "{\"mode\":\"incremental\",\"keys\":[{\"key\":\"" + key + "\"," + field[0] + "}]}");
            assertEquals(400, sync.statusCode(), field[0] + ": " + sync.body());
          }
          for (String list : new String[] {"{\"offset\":4294967297}", "{\"limit\":-4294967297}", "{\"limit\":2.5}"}) {
            HttpResponse<String> listed = post(base + "/admin/keys/list", AdminTesting.TOKEN, list);
            assertEquals(400, listed.statusCode(), list + ": " + listed.body());
          }
          JsonObject stored = new JsonObject(post(base + "/admin/keys/get", AdminTesting.TOKEN,
              "{\"key\":\"" + key + "\"}").body()).getJsonObject("data");
          assertEquals(0, stored.getInteger("status"), "nothing was stored: " + stored);
          assertEquals(60, stored.getLong("rpm"), stored.encode());
          HttpResponse<String> largest = post(base + "/admin/keys/update", AdminTesting.TOKEN,
              "{\"key\":\"" + key + "\",\"total_quota\":9007199254740991,\"status\":3.0,\"max_concurrent\":2147483647}");
          assertEquals(200, largest.statusCode(), largest.body());
          JsonObject data = new JsonObject(largest.body()).getJsonObject("data");
          assertEquals(9007199254740991L, data.getLong("total_quota"));
          assertEquals(3, data.getInteger("status"));
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  private HttpResponse<String> post(String url, String token, String body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5))
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      request.header("X-Admin-Token", token);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static int freePort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
