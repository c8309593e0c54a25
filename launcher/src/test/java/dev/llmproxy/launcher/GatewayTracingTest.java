package dev.llmproxy.launcher;

import dev.llmproxy.common.config.ConfigLoader;
import dev.llmproxy.common.config.GatewayConfig;
import dev.llmproxy.common.config.LoadedConfig;
import dev.llmproxy.testsupport.MockLlmBackend;
import dev.llmproxy.testsupport.Poll;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.internal.VertxInternal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import static dev.llmproxy.launcher.RunningGateway.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * tracing as users configure it: the whole gateway on a traced Vert.x, a {@link MockLlmBackend} and an OTLP/HTTP
 * receiver (decoding the collector protocol's protobuf) on a plain one, so that only the gateway's spans arrive.
 */
class GatewayTracingTest {

  private static final String KEY = "sk-trace-0123456789";
  private static final String CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String CLIENT_SPAN = "00f067aa0ba902b7";
  private static final String CHAT = "{\"model\":\"mock\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  private Vertx plain;
  private MockLlmBackend backend;
  private final List<Span> spans = new CopyOnWriteArrayList<>();
  private HttpServer collector;
  private Vertx traced;
  private Gateway gateway;
  private int port;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void backendAndCollector() throws Exception {
    plain = Vertx.vertx();
    backend = await(MockLlmBackend.start(plain, 0));
    collector = await(plain.createHttpServer().requestHandler(request -> request.body().onSuccess(body -> {
      try {
        ExportTraceServiceRequest export = ExportTraceServiceRequest.parseFrom(body.getBytes());
        export.getResourceSpansList().forEach(resource -> resource.getScopeSpansList()
            .forEach(scope -> spans.addAll(scope.getSpansList())));
        request.response().putHeader("Content-Type", "application/x-protobuf")
            .end(Buffer.buffer(ExportTraceServiceResponse.getDefaultInstance().toByteArray()));
      } catch (Exception notOtlp) {
        request.response().setStatusCode(400).end();
      }
    })).listen(0, "127.0.0.1"));
  }

  @AfterEach
  void stop() throws Exception {
    try {
      if (gateway != null) {
        await(gateway.stop(), 30);
      }
    } finally {
      if (traced != null) {
        await(traced.close(), 30);
      }
      await(plain.close(), 30);
    }
  }

  private void startGateway(Path dir, String collectorUrl) throws Exception {
    port = RunningGateway.freePort();
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, """
        server:
          listen: "127.0.0.1:%d"
        backends:
          - url: "%s"
        auth:
          enabled: true
          pipeline:
            - name: keys
              type: static
              static:
                keys:
                  - key: "%s"
                    name: "Team A"
        tracing:
          enabled: true
          endpoint: "%s"
          service_name: "llmproxy-test"
        """.formatted(port, backend.baseUrl(), KEY, collectorUrl));
    LoadedConfig loaded = await(ConfigLoader.load(plain, file.toString(), Map.of()), 10);
    assertTrue(loaded.ok(), loaded.errors()::toString);
    GatewayConfig config = loaded.config();
    PrometheusMeterRegistry registry = Gateway.newRegistry();
    traced = Gateway.createVertx(registry, config.metrics(), config.tracing());
    gateway = await(Gateway.start(traced, config, registry, file.toString()), 30);
  }

  @Test
  void theClientsTraceIsContinuedThroughTheGatewayToTheBackend(@TempDir Path dir) throws Exception {
    startGateway(dir, "http://127.0.0.1:" + collector.actualPort());
    HttpResponse<String> answer = chat("traceparent", "00-" + CLIENT_TRACE + "-" + CLIENT_SPAN + "-01");
    assertEquals(200, answer.statusCode(), answer.body());

    String sent = backend.received().get(0).headers().get("traceparent");
    assertEquals(1, backend.received().get(0).headers().getAll("traceparent").size(), "one traceparent: the gateway's");
    String[] parts = sent.split("-");
    assertEquals(CLIENT_TRACE, parts[1], sent);
    assertFalse(CLIENT_SPAN.equals(parts[2]), "the backend's parent is the gateway's span, not the client's");

    assertTrue(Poll.until(Duration.ofSeconds(30), () -> server().isPresent() && client().isPresent()), spans::toString);
    Span server = server().orElseThrow();
    Span client = client().orElseThrow();
    assertEquals(CLIENT_TRACE, hex(server.getTraceId().toByteArray()));
    assertEquals(CLIENT_SPAN, hex(server.getParentSpanId().toByteArray()), "the server span's parent: the client's");
    assertEquals(hex(server.getSpanId().toByteArray()), hex(client.getParentSpanId().toByteArray()),
        "the backend attempt's span is the server span's child");
    assertEquals(parts[2], hex(client.getSpanId().toByteArray()), "the backend's traceparent names the attempt's span");

    Map<String, AnyValue> attributes = attributes(server);
    assertEquals("mock", attributes.get("gen_ai.request.model").getStringValue());
    assertEquals(MockLlmBackend.PROMPT_TOKENS, attributes.get("gen_ai.usage.input_tokens").getIntValue());
    assertTrue(attributes.get("gen_ai.usage.output_tokens").getIntValue() > 0, attributes::toString);
    assertEquals("Team A", attributes.get("llmproxy.key_name").getStringValue());
    assertEquals(gatewayBackendName(), attributes.get("llmproxy.backend").getStringValue());
    assertEquals(0, attributes.get("llmproxy.retries").getIntValue());
    assertEquals(200, attributes.get("http.response.status_code").getIntValue());
    assertEquals(answer.headers().firstValue("X-Request-ID").orElseThrow(),
        attributes.get("llmproxy.request_id").getStringValue());
    assertFalse(server.toString().contains("0123456789"), "the key never reaches a span");
    List<String> events = server.getEventsList().stream().map(Span.Event::getName).collect(Collectors.toList());
    assertEquals(List.of("auth.check", "auth.answered", "rate_limit.admitted"), events);
  }

  @Test
  void everyBackendAttemptHasItsSpanAndTheRetriesAreCounted(@TempDir Path dir) throws Exception {
    startGateway(dir, "http://127.0.0.1:" + collector.actualPort());
    backend.failNext(1, 503, null);
    HttpResponse<String> answer = chat();
    assertEquals(200, answer.statusCode(), answer.body());

    assertTrue(Poll.until(Duration.ofSeconds(30), () -> server().isPresent() && attempts().size() == 2),
        spans::toString);
    Span server = server().orElseThrow();
    assertEquals(1, attributes(server).get("llmproxy.retries").getIntValue());
    List<String> statuses = attempts().stream()
        .peek(attempt -> assertEquals(hex(server.getSpanId().toByteArray()), hex(attempt.getParentSpanId().toByteArray())))
        .map(attempt -> attributes(attempt).get("http.response.status_code").getStringValue()).sorted().toList();
    assertEquals(List.of("200", "503"), statuses); // Vert.x tags are strings
  }

  @Test
  void withoutATraceparentANewTraceStarts(@TempDir Path dir) throws Exception {
    startGateway(dir, "http://127.0.0.1:" + collector.actualPort());
    HttpResponse<String> answer = chat();
    assertEquals(200, answer.statusCode(), answer.body());

    assertTrue(Poll.until(Duration.ofSeconds(30), () -> server().isPresent()), spans::toString);
    Span server = server().orElseThrow();
    assertTrue(server.getParentSpanId().isEmpty(), "a root span");
    String sent = backend.received().get(0).headers().get("traceparent");
    assertEquals(hex(server.getTraceId().toByteArray()), sent.split("-")[1]);
  }

  @Test
  void anUnreachableCollectorChangesNoAnswer(@TempDir Path dir) throws Exception {
    int closed = RunningGateway.freePort(); // nothing listens there
    startGateway(dir, "http://127.0.0.1:" + closed);
    long start = System.nanoTime();
    for (int i = 0; i < 20; i++) {
      HttpResponse<String> answer = chat("traceparent", "00-" + CLIENT_TRACE + "-" + CLIENT_SPAN + "-01");
      assertEquals(200, answer.statusCode(), answer.body());
      assertTrue(answer.body().contains("\"prompt_tokens\":" + MockLlmBackend.PROMPT_TOKENS), answer.body());
    }
    // Generous: 20 answers from a local mock take milliseconds; an export in the request's path would take seconds.
    assertTrue(Duration.ofNanos(System.nanoTime() - start).toSeconds() < 20, "answers were held up");
    assertEquals(20, backend.received().size());
    assertTrue(spans.isEmpty());
  }

  @Test
  void offMeansNoTracerAndTheClientsHeaderPassesUntouched(@TempDir Path dir) throws Exception {
    PrometheusMeterRegistry registry = Gateway.newRegistry();
    traced = Gateway.createVertx(registry, GatewayConfig.defaults().metrics(), GatewayConfig.defaults().tracing());
    assertNull(((VertxInternal) traced).tracer(), "tracing is off by default: no tracer");
    port = RunningGateway.freePort();
    GatewayConfig config = await(ConfigLoader.load(plain, write(dir, """
        server:
          listen: "127.0.0.1:%d"
        backends:
          - url: "%s"
        """.formatted(port, backend.baseUrl())), Map.of())).config();
    gateway = await(Gateway.start(traced, config, registry), 30);
    String traceparent = "00-" + CLIENT_TRACE + "-" + CLIENT_SPAN + "-01";
    assertEquals(200, chat("traceparent", traceparent).statusCode());
    assertEquals(List.of(traceparent), backend.received().get(0).headers().getAll("traceparent"));
  }

  private static String write(Path dir, String yaml) throws Exception {
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, yaml);
    return file.toString();
  }

  private String gatewayBackendName() {
    return gateway.config().backends().get(0).name();
  }

  /** The exchange's span (the event bus's request-reply, e.g. the auth check, makes server and client spans too). */
  private Optional<Span> server() {
    return spans.stream().filter(s -> s.getKind() == Span.SpanKind.SPAN_KIND_SERVER)
        .filter(s -> s.getName().equals("POST /v1/chat/completions")).findFirst();
  }

  /** The (first) backend attempt's span: Vert.x's HTTP client's. */
  private Optional<Span> client() {
    return attempts().stream().findFirst();
  }

  private List<Span> attempts() {
    return spans.stream().filter(s -> s.getKind() == Span.SpanKind.SPAN_KIND_CLIENT)
        .filter(s -> attributes(s).containsKey("http.request.method")).toList();
  }

  private static Map<String, AnyValue> attributes(Span span) {
    return span.getAttributesList().stream().collect(Collectors.toMap(KeyValue::getKey, KeyValue::getValue));
  }

  private static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }

  private HttpResponse<String> chat(String... headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
        .header("Authorization", "Bearer " + KEY)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(CHAT));
    for (int i = 0; i + 1 < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
