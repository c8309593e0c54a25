package dev.llmproxy.proxy;

import dev.llmproxy.common.model.Backend;
import dev.llmproxy.proxy.balance.Router;
import dev.llmproxy.proxy.upstream.BackendClients;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code GET /v1/models}: the union of the models of the usable backends, in OpenAI's list shape. A backend
 * that lists its models in the config is taken at its word; the others are asked (their answers kept for a
 * few seconds, and the last good one kept while a backend does not answer).
 */
final class ModelCatalog {

  private static final long FRESH_NANOS = 10_000_000_000L;
  private static final long ASK_TIMEOUT_MS = 3_000;

  private final Router router;
  private final BackendClients clients;
  private final Map<String, Known> asked = new HashMap<>();

  private record Known(List<String> models, long atNanos) {
  }

  ModelCatalog(Router router, BackendClients clients) {
    this.router = router;
    this.clients = clients;
  }

  Future<Buffer> list() {
    List<Future<List<String>>> parts = new ArrayList<>();
    for (Backend backend : router.usable()) {
      parts.add(backend.models().isEmpty() ? ask(backend) : Future.succeededFuture(backend.models()));
    }
    return Future.join(parts).transform(done -> {
      Set<String> union = new LinkedHashSet<>();
      for (Future<List<String>> part : parts) {
        if (part.succeeded()) {
          union.addAll(part.result());
        }
      }
      JsonArray data = new JsonArray();
      for (String id : union) {
        data.add(new JsonObject().put("id", id).put("object", "model").put("created", 0).put("owned_by", "llmproxy"));
      }
      return Future.succeededFuture(new JsonObject().put("object", "list").put("data", data).toBuffer());
    });
  }

  private Future<List<String>> ask(Backend backend) {
    Known known = asked.get(backend.url());
    long now = System.nanoTime();
    if (known != null && now - known.atNanos() < FRESH_NANOS) {
      return Future.succeededFuture(known.models());
    }
    BackendClients.Upstream upstream = clients.upstream(backend);
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setURI(upstream.basePath() + "/v1/models")
        .setIdleTimeout(ASK_TIMEOUT_MS).setConnectTimeout(ASK_TIMEOUT_MS);
    backend.headers().forEach(options::putHeader);
    return upstream.client().request(options)
        .compose(request -> request.send())
        .compose(response -> response.statusCode() == 200 ? response.body()
            : Future.failedFuture("status " + response.statusCode()))
        .map(body -> {
          List<String> ids = new ArrayList<>();
          for (Object entry : body.toJsonObject().getJsonArray("data", new JsonArray())) {
            if (entry instanceof JsonObject model && model.getString("id") != null) {
              ids.add(model.getString("id"));
            }
          }
          asked.put(backend.url(), new Known(List.copyOf(ids), System.nanoTime()));
          return (List<String>) ids;
        })
        .recover(failure -> Future.succeededFuture(known == null ? List.of() : known.models()));
  }
}
