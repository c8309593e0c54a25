package dev.llmproxy.launcher;

import com.sun.net.httpserver.HttpServer;
import dev.llmproxy.testsupport.Poll;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The receiver of a gateway's webhook usage reporter ({@link #url()} in its config): every delivery it got, and the
 * records of one request among them.
 */
final class UsageWebhook implements AutoCloseable {

  private final HttpServer server;
  private final List<String> deliveries = new CopyOnWriteArrayList<>();

  UsageWebhook() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/usage", exchange -> {
      deliveries.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/usage";
  }

  /**
   * The records delivered for {@code requestId}, counted once {@code later} (which sends another request and returns
   * its id) has had its record delivered too: a duplicate would have come before it. {@code atLeastOne}: the request's
   * own record is waited for first (and must come).
   */
  int records(String requestId, boolean atLeastOne, Callable<String> later) throws Exception {
    if (atLeastOne) {
      assertTrue(Poll.until(Duration.ofSeconds(20), () -> count(requestId) > 0), "a usage record for " + requestId);
    }
    String laterId = later.call();
    assertTrue(Poll.until(Duration.ofSeconds(20), () -> count(laterId) > 0), "a usage record for " + laterId);
    return count(requestId);
  }

  /** The record delivered for {@code requestId}. */
  JsonObject record(String requestId) {
    for (String delivery : deliveries) {
      Object parsed = Json.decodeValue(delivery);
      Iterable<?> records = parsed instanceof JsonArray array ? array : List.of(parsed);
      for (Object record : records) {
        if (record instanceof JsonObject json && requestId.equals(json.getString("request_id"))) {
          return json;
        }
      }
    }
    throw new AssertionError("no usage record for " + requestId);
  }

  private int count(String requestId) {
    String needle = "\"request_id\":\"" + requestId + "\"";
    int n = 0;
    for (String delivery : deliveries) {
      for (int at = delivery.indexOf(needle); at >= 0; at = delivery.indexOf(needle, at + 1)) {
        n++;
      }
    }
    return n;
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
