package dev.llmproxy.proxy;

import dev.llmproxy.testsupport.MockLlmBackend;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.ArrayList;
import java.util.List;

/**
 * The mock backends a test starts, closed after each test: {@code @RegisterExtension final MockBackends backends =
 * new MockBackends();}, then {@code backends.start(vertx)} and {@code MockBackends.entry(name, backend)} for the
 * config's {@code backends} list.
 */
final class MockBackends implements AfterEachCallback {

  private final List<MockLlmBackend> started = new ArrayList<>();

  /** A mock backend on a free port (or {@code port}, to bring one back where it was). */
  MockLlmBackend start(Vertx vertx, int port) {
    MockLlmBackend backend = Http.await(MockLlmBackend.start(vertx, port));
    started.add(backend);
    return backend;
  }

  MockLlmBackend start(Vertx vertx) {
    return start(vertx, 0);
  }

  static JsonObject entry(String name, MockLlmBackend backend) {
    return new JsonObject().put("name", name).put("url", backend.baseUrl());
  }

  @Override
  public void afterEach(ExtensionContext context) {
    started.forEach(MockLlmBackend::close);
    started.clear();
  }
}
