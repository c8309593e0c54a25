package dev.llmproxy.usage;

import static dev.llmproxy.usage.UsageTesting.config;
import static dev.llmproxy.usage.UsageTesting.deploy;
import static dev.llmproxy.usage.UsageTesting.freePort;
import static dev.llmproxy.usage.UsageTesting.record;
import static dev.llmproxy.usage.UsageTesting.send;
import static dev.llmproxy.usage.UsageTesting.usage;
import static dev.llmproxy.usage.UsageTesting.webhook;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmproxy.common.bus.Addresses;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.model.UsageBatch;
import dev.llmproxy.common.model.UsageRecord;
import dev.llmproxy.testsupport.Poll;
import dev.llmproxy.usage.journal.Journal;
import dev.llmproxy.usage.reporter.WebhookReporter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The webhook reporter against a real HTTP receiver in the test. */
@ExtendWith(VertxExtension.class)
class WebhookReporterTest {

  /** A receiver that keeps what it got: bodies and the headers that matter. */
  private static final class Receiver {
    final List<JsonObject> bodies = new CopyOnWriteArrayList<>();
    final List<String> idempotencyKeys = new CopyOnWriteArrayList<>();
    final List<String> authorizations = new CopyOnWriteArrayList<>();
    HttpServer server;

    Receiver start(Vertx vertx, int port) throws Exception {
      server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(port))
          .requestHandler(request -> request.body().onSuccess(body -> {
            bodies.add(body.toJsonObject());
            idempotencyKeys.add(request.getHeader("Idempotency-Key"));
            authorizations.add(request.getHeader("Authorization"));
            request.response().setStatusCode(200).end("{\"status\":\"ok\"}");
          }))
          .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      return this;
    }

    List<String> ids() {
      return bodies.stream().map(b -> b.getString("request_id")).toList();
    }
  }

  @Test
  void aReceiverThatIsDownGetsEveryRecordOnceWhenItComesUp(Vertx vertx, @TempDir Path dir) throws Exception {
    int port = freePort();
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    deploy(vertx, config(usage(dir, webhook("billing", "http://127.0.0.1:" + port + "/usage"))), registry)
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      String id = String.format("req-%03d", i);
      sent.add(id);
      send(vertx, record(id, "sk-live-abcdefgh1234", null, "llama", 10, i));
    }
    // Down: attempts fail and the backlog holds every record.
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> failures(registry) >= 3), "no failed attempts counted");
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> backlog(registry) == 30), "backlog " + backlog(registry));

    Receiver receiver = new Receiver().start(vertx, port);
    assertTrue(Poll.until(Duration.ofSeconds(30), () -> receiver.bodies.size() >= 30),
        "received " + receiver.bodies.size());
    // Nothing more trickles in: each exactly once (up to 16 at a time, so not necessarily in order).
    assertTrue(Poll.until(Duration.ofSeconds(2), () -> backlog(registry) == 0));
    assertEquals(sent, sorted(receiver.ids()));
    assertEquals(receiver.ids(), receiver.idempotencyKeys);
    assertEquals(30.0, registry.get("llmproxy_webhook_success").tag("reporter", "billing").counter().count());
    String scrape = registry.scrape();
    assertTrue(scrape.contains("llmproxy_webhook_success_total{reporter=\"billing\"} 30.0"), scrape);
    assertTrue(scrape.contains("llmproxy_webhook_failure_total{reporter=\"billing\"}"), scrape);
    assertTrue(scrape.contains("llmproxy_usage_journal_backlog{reporter=\"billing\"} 0.0"), scrape);
    assertTrue(scrape.contains("llmproxy_usage_journal_pending 0.0"), scrape);
    assertTrue(receiver.authorizations.stream().allMatch("Bearer test-token"::equals));

    JsonObject first = receiver.bodies.get(0);
    assertEquals("sk-...1234", first.getString("api_key"));
    assertEquals(Set.of("request_id", "user_id", "api_key", "model", "prompt_tokens", "completion_tokens",
        "total_tokens", "is_stream", "endpoint", "timestamp", "backend_url", "key_name", "status_code", "latency_ms",
        "ttft_ms", "estimated", "aborted", "cached"), first.fieldNames());
    assertEquals(false, first.getBoolean("cached"));
    assertEquals("user-1", first.getString("user_id"));
    assertEquals(10, first.getLong("total_tokens"));
    assertTrue(first.getBoolean("is_stream"));
    assertEquals("/v1/chat/completions", first.getString("endpoint"));
    assertEquals("2026-01-14T10:30:00Z", first.getString("timestamp"));
    assertEquals("http://backend:8000", first.getString("backend_url"));
    assertEquals(35, first.getLong("ttft_ms"));
    assertFalse(first.getBoolean("estimated"));
  }

  @Test
  void withOneInFlightAReceiverAnsweringErrorsGetsTheSameRecordAgainAndNothingOvertakesIt(Vertx vertx,
      @TempDir Path dir) throws Exception {
    Trouble trouble = receiverInTrouble(vertx, dir, 1);
    assertEquals(trouble.sent(), trouble.accepted());
    assertEquals(List.of("e-2", "e-2", "e-2", "e-2"), trouble.rejected());
  }

  @Test
  void withManyInFlightARecordThatFailsIsRetriedAloneAndEveryOtherArrivesOnce(Vertx vertx, @TempDir Path dir)
      throws Exception {
    Trouble trouble = receiverInTrouble(vertx, dir, 16);
    // The delivery failed on e-2 and was tried again: the records that had arrived were not sent a second time.
    assertEquals(trouble.sent(), sorted(trouble.accepted()));
    assertEquals(List.of("e-2", "e-2", "e-2", "e-2"), trouble.rejected());
  }

  @Test
  void theCursorFollowsTheRecordsThatArrivedWhileALaterOneKeepsFailing(Vertx vertx, @TempDir Path dir)
      throws Exception {
    HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(request -> request.body().onSuccess(body -> request.response()
            .setStatusCode(body.toJsonObject().getString("request_id").equals("p-2") ? 500 : 200).end()))
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    deploy(vertx, config(usage(dir, webhook("billing", "http://127.0.0.1:" + server.actualPort() + "/usage"))),
        registry).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    for (int i = 0; i < 6; i++) {
      send(vertx, record("p-" + i, "sk-live-abcdefgh1234", null, "llama", 1, 1));
    }
    // p-0 and p-1 (seqs 1 and 2) arrived: the saved cursor wants seq 3 though the delivery as a whole never ends.
    Path journal = dir.resolve("journal");
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> savedCursor(journal) == 3), "cursor " + savedCursor(journal));
    assertEquals(4.0, backlog(registry));
  }

  private record Trouble(List<String> sent, List<String> accepted, List<String> rejected) {
  }

  /** Six records to a receiver that answers the third one with 503 four times before it takes it. */
  private static Trouble receiverInTrouble(Vertx vertx, Path dir, int maxInFlight) throws Exception {
    List<String> rejected = new CopyOnWriteArrayList<>();
    List<String> accepted = new CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicInteger errorsLeft = new java.util.concurrent.atomic.AtomicInteger(4);
    HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(request -> request.body().onSuccess(body -> {
          String id = body.toJsonObject().getString("request_id");
          // The third record meets a receiver in trouble for a while.
          if (id.equals("e-2") && errorsLeft.getAndDecrement() > 0) {
            rejected.add(id);
            request.response().setStatusCode(503).end();
          } else {
            accepted.add(id);
            request.response().setStatusCode(202).end();
          }
        }))
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    JsonObject reporter = webhook("billing", "http://127.0.0.1:" + server.actualPort() + "/usage");
    reporter.getJsonObject("webhook").put("max_in_flight", maxInFlight);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    deploy(vertx, config(usage(dir, reporter)), registry)
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      sent.add("e-" + i);
      send(vertx, record("e-" + i, "sk-live-abcdefgh1234", null, "llama", 1, 1));
    }
    assertTrue(Poll.until(Duration.ofSeconds(15), () -> accepted.size() >= 6), "accepted " + accepted);
    // Delivered and the cursor past them: nothing more is coming.
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> backlog(registry) == 0), "backlog " + backlog(registry));
    return new Trouble(sent, List.copyOf(accepted), List.copyOf(rejected));
  }

  /** A receiver of batches ({@code batch_size} above 1): each body a JSON array. */
  private static final class BatchReceiver {
    final List<JsonArray> bodies = new CopyOnWriteArrayList<>();
    final List<String> idempotencyKeys = new CopyOnWriteArrayList<>();
    final List<String> accepted = new CopyOnWriteArrayList<>();
    final List<String> rejected = new CopyOnWriteArrayList<>();
    HttpServer server;

    /** @param rejectFirst how many requests carrying {@code troubled} are answered 503 before one is taken */
    BatchReceiver start(Vertx vertx, int port, String troubled, int rejectFirst) throws Exception {
      AtomicInteger errorsLeft = new AtomicInteger(rejectFirst);
      server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(port))
          .requestHandler(request -> request.body().onSuccess(body -> {
            JsonArray records = body.toJsonArray();
            List<String> ids = records.stream().map(r -> ((JsonObject) r).getString("request_id")).toList();
            if (ids.contains(troubled) && errorsLeft.getAndDecrement() > 0) {
              rejected.addAll(ids);
              request.response().setStatusCode(503).end();
              return;
            }
            bodies.add(records);
            idempotencyKeys.add(request.getHeader("Idempotency-Key"));
            accepted.addAll(ids);
            request.response().setStatusCode(200).end();
          }))
          .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      return this;
    }
  }

  @Test
  void withABatchSizeABacklogGoesAsJsonArraysOfThatManyRecordsEachOnceWithAKeyOfTheirIds(Vertx vertx,
      @TempDir Path dir) throws Exception {
    int port = freePort();
    JsonObject reporter = webhook("billing", "http://127.0.0.1:" + port + "/usage");
    reporter.getJsonObject("webhook").put("batch_size", 10).put("max_in_flight", 2);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    deploy(vertx, config(usage(dir, reporter)), registry)
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 45; i++) {
      String id = String.format("b-%03d", i);
      sent.add(id);
      send(vertx, record(id, "sk-live-abcdefgh1234", null, "llama", 10, i));
    }
    // The receiver is down until all 45 wait in the journal: the next delivery takes them at once.
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> backlog(registry) == 45), "backlog " + backlog(registry));
    BatchReceiver receiver = new BatchReceiver().start(vertx, port, null, 0);
    assertTrue(Poll.until(Duration.ofSeconds(30), () -> receiver.accepted.size() >= 45),
        "received " + receiver.accepted.size());
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> backlog(registry) == 0), "backlog " + backlog(registry));
    assertEquals(sent, sorted(receiver.accepted));
    // Batches of 10 but the last: five requests, or six when the delivery under way as the receiver came up had
    // begun with fewer records journaled (then it and the next one each end with a partial batch).
    List<Integer> sizes = receiver.bodies.stream().map(JsonArray::size).sorted().toList();
    assertTrue(sizes.size() <= 6 && sizes.stream().allMatch(n -> n <= 10), "batch sizes " + sizes);
    for (int i = 0; i < receiver.bodies.size(); i++) {
      JsonArray body = receiver.bodies.get(i);
      List<String> ids = body.stream().map(r -> ((JsonObject) r).getString("request_id")).toList();
      assertEquals(batchKey(ids), receiver.idempotencyKeys.get(i));
      // Each element is seed 004's one-record payload, key masked.
      assertEquals("sk-...1234", body.getJsonObject(0).getString("api_key"));
      assertEquals(10, body.getJsonObject(0).getLong("prompt_tokens"));
    }
    assertEquals(45.0, registry.get("llmproxy_webhook_success").tag("reporter", "billing").counter().count());
  }

  @Test
  void aBatchThatFailsIsSentAgainAsAWholeAndNoRecordArrivesTwice(Vertx vertx, @TempDir Path dir) throws Exception {
    BatchReceiver receiver = new BatchReceiver().start(vertx, 0, "e-5", 4);
    JsonObject reporter = webhook("billing", "http://127.0.0.1:" + receiver.server.actualPort() + "/usage");
    reporter.getJsonObject("webhook").put("batch_size", 3).put("max_in_flight", 4);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    deploy(vertx, config(usage(dir, reporter)), registry)
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      sent.add("e-" + (char) ('a' + i));
      send(vertx, record("e-" + (char) ('a' + i), "sk-live-abcdefgh1234", null, "llama", 1, 1));
    }
    sent.add("e-5");
    send(vertx, record("e-5", "sk-live-abcdefgh1234", null, "llama", 1, 1));
    for (int i = 0; i < 12; i++) {
      sent.add("f-" + i);
      send(vertx, record("f-" + i, "sk-live-abcdefgh1234", null, "llama", 1, 1));
    }
    assertTrue(Poll.until(Duration.ofSeconds(30), () -> receiver.accepted.size() >= sent.size()),
        "accepted " + receiver.accepted);
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> backlog(registry) == 0), "backlog " + backlog(registry));
    assertEquals(sorted(sent), sorted(receiver.accepted));
    assertEquals(4, receiver.rejected.stream().filter("e-5"::equals).count(), "rejected " + receiver.rejected);
    assertTrue(receiver.bodies.stream().allMatch(b -> b.size() <= 3));
  }

  /**
   * Without a script the body is written straight from each record; it must be, byte for byte, the encoding of the
   * payload object a script would see (seed 004's fields, in order): for one record and for a batch, with metadata
   * holding text beyond ASCII and beyond the BMP, a cut-off answer, a raw key masked.
   */
  @Test
  void theBodyWrittenStraightFromTheRecordIsThePayloadObjectsEncodingByteForByte(Vertx vertx, @TempDir Path dir)
      throws Exception {
    List<String> single = new CopyOnWriteArrayList<>();
    List<String> batched = new CopyOnWriteArrayList<>();
    HttpServer one = vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body -> {
      single.add(body.toString(StandardCharsets.UTF_8));
      request.response().end();
    })).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    HttpServer many = vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body -> {
      batched.add(body.toString(StandardCharsets.UTF_8));
      request.response().end();
    })).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    JsonObject batch = webhook("many", "http://127.0.0.1:" + many.actualPort() + "/usage");
    batch.getJsonObject("webhook").put("batch_size", 500);
    JsonObject raw = usage(dir, webhook("one", "http://127.0.0.1:" + one.actualPort() + "/usage"), batch);
    GatewayConfig config = config(raw);
    UsageRecord plain = record("plain-1", "sk-live-abcdefgh1234", null, "llama", 3, 4);
    UsageRecord rich = record("rich-2", "sk-live-abcdefgh5678", null, "m\u00fcnchen-\u2603", 5, 6)
        .withMetadata(new JsonObject().put("team", "caf\u00e9 \ud83d\ude80").put("n", 2)
            .put("nested", new JsonObject().put("ok", true)))
        .withCutOff("quota");
    deploy(vertx, config, new SimpleMeterRegistry()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    // One proxy batch: journaled in one group, so the batching reporter takes both in one delivery.
    vertx.eventBus().send(Addresses.USAGE_RECORD, new UsageBatch(List.of(plain, rich)));
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> single.size() >= 2 && batched.stream()
        .mapToInt(b -> new JsonArray(b).size()).sum() >= 2), "single " + single + ", batched " + batched);

    WebhookReporter payloads = new WebhookReporter("one", vertx,
        config.usage().reporters().get(0).webhook(), new SimpleMeterRegistry().counter("s"),
        new SimpleMeterRegistry().counter("f"));
    String plainJson = payloads.payload(plain).encode();
    String richJson = payloads.payload(rich).encode();
    assertTrue(richJson.contains("\"cut_off\":\"quota\"") && richJson.contains("\ud83d\ude80"), richJson);
    assertEquals(List.of(plainJson, richJson), sorted(single));
    assertEquals("[" + plainJson + "," + richJson + "]", String.join("", batched).replace("][", ","));
    payloads.close();
  }

  /** What the reporter sends as a batch's Idempotency-Key, computed here from the ids. */
  private static String batchKey(List<String> ids) throws Exception {
    java.security.MessageDigest sha256 = java.security.MessageDigest.getInstance("SHA-256");
    sha256.update(ids.stream().map(id -> id + "\n").collect(java.util.stream.Collectors.joining())
        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    return "batch-" + java.util.HexFormat.of().formatHex(sha256.digest());
  }

  @Test
  void aScriptSkipsAndReshapesRecordsAndTheRawKeyIsSentOnlyWhenAskedFor(Vertx vertx, @TempDir Path dir)
      throws Exception {
    Receiver shaped = new Receiver().start(vertx, 0);
    Receiver raw = new Receiver().start(vertx, 0);
    JsonObject scripted = webhook("shaped", "http://127.0.0.1:" + shaped.server.actualPort() + "/usage")
        .put("script", new JsonObject().put("enabled", true).put("script", """
            if record.model == "internal" then return false end
            if record.total_tokens == 0 then return { skip = true } end
            return { request_id = record.request_id, tokens = record.total_tokens, via = "script" }
            """));
    JsonObject rawKey = webhook("raw", "http://127.0.0.1:" + raw.server.actualPort() + "/usage");
    rawKey.getJsonObject("webhook").put("include_raw_key", true);
    // seed 001's style: a process(ctx, data) function
    rawKey.put("script", new JsonObject().put("enabled", true).put("script", """
        function process(ctx, data)
          data.reporter = ctx.reporter
          return data
        end
        """));
    deploy(vertx, config(usage(dir, scripted, rawKey)), new SimpleMeterRegistry())
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    send(vertx, record("a", "sk-live-abcdefgh1234", null, "llama", 3, 4));
    send(vertx, record("b", "sk-live-abcdefgh1234", null, "internal", 3, 4));
    send(vertx, record("c", "sk-live-abcdefgh1234", null, "llama", 0, 0));
    send(vertx, record("d", "sk-live-abcdefgh1234", null, "llama", 1, 1));

    assertTrue(Poll.until(Duration.ofSeconds(10), () -> raw.bodies.size() >= 4 && shaped.bodies.size() >= 2));
    assertEquals(List.of("a", "b", "c", "d"), sorted(raw.ids()));
    JsonObject rawA = raw.bodies.stream().filter(b -> b.getString("request_id").equals("a")).findFirst().get();
    assertEquals("sk-live-abcdefgh1234", rawA.getString("api_key"));
    assertEquals("raw", rawA.getString("reporter"));
    assertEquals(List.of("a", "d"), sorted(shaped.ids()));
    JsonObject shapedA = shaped.bodies.stream().filter(b -> b.getString("request_id").equals("a")).findFirst().get();
    assertEquals(new JsonObject().put("request_id", "a").put("tokens", 7).put("via", "script"), shapedA);
    assertTrue(shaped.bodies.stream().allMatch(b -> b.getString("api_key") == null));
  }

  @Test
  void aRestartWithoutACrashResumesFromTheCursorAndSegmentsEveryReaderPassedAreDeleted(Vertx vertx,
      @TempDir Path dir) throws Exception {
    Receiver receiver = new Receiver().start(vertx, 0);
    String url = "http://127.0.0.1:" + receiver.server.actualPort() + "/usage";
    // Two reporters; the second one is disabled and must not hold the journal back.
    JsonObject disabled = webhook("off", "http://127.0.0.1:1/usage").put("enabled", false);
    var config = config(usage(dir, webhook("billing", url), disabled));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    dev.llmproxy.common.verticle.JvmResources.of(vertx).put(io.micrometer.core.instrument.MeterRegistry.class, registry);
    String first = vertx.deployVerticle(() -> new UsageVerticle(config, 2048, java.util.Map.of()),
        new io.vertx.core.DeploymentOptions()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      sent.add("first-" + i);
      send(vertx, record("first-" + i, "sk-live-abcdefgh1234", null, "llama", 10, i));
    }
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> receiver.bodies.size() >= 60));
    vertx.undeploy(first).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);

    vertx.deployVerticle(() -> new UsageVerticle(config, 2048, java.util.Map.of()), new io.vertx.core.DeploymentOptions())
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    for (int i = 0; i < 60; i++) {
      sent.add("second-" + i);
      send(vertx, record("second-" + i, "sk-live-abcdefgh1234", null, "llama", 10, i));
    }
    assertTrue(Poll.until(Duration.ofSeconds(10), () -> receiver.bodies.size() >= 120));
    assertTrue(Poll.until(Duration.ofSeconds(2), () -> backlog(registry) == 0));
    assertEquals(sorted(sent), sorted(receiver.ids()));
    // 120 records of ~600 bytes make dozens of 2 KiB segments; all but the last one or two are gone.
    assertTrue(Poll.until(Duration.ofSeconds(5), () -> segments(dir.resolve("journal")) <= 2),
        "segments left: " + segments(dir.resolve("journal")));
  }

  private static long savedCursor(Path journal) {
    try {
      return Journal.peekCursor(journal, "reporter-billing");
    } catch (java.io.IOException e) {
      return -1;
    }
  }

  private static List<String> sorted(List<String> ids) {
    return ids.stream().sorted().toList();
  }

  private static long segments(Path journal) {
    try (var files = java.nio.file.Files.list(journal)) {
      return files.filter(p -> p.toString().endsWith(".seg")).count();
    } catch (java.io.IOException e) {
      return -1;
    }
  }

  private static double failures(MeterRegistry registry) {
    var counter = registry.find("llmproxy_webhook_failure").tag("reporter", "billing").counter();
    return counter == null ? 0 : counter.count();
  }

  private static double backlog(MeterRegistry registry) {
    var gauge = registry.find("llmproxy_usage_journal_backlog").tag("reporter", "billing").gauge();
    return gauge == null ? -1 : gauge.value();
  }
}
