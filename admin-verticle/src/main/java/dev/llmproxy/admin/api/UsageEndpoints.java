package dev.llmproxy.admin.api;

import dev.llmproxy.admin.api.AdminApi.Route;
import dev.llmproxy.admin.usage.UsageQuery;
import dev.llmproxy.admin.usage.UsageStore;
import dev.llmproxy.common.bus.AdminCall;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.Map;

/** {@code /admin/usage/query}: totals of the builtin usage store, filtered and grouped. */
public final class UsageEndpoints {

  private final UsageStore store;

  public UsageEndpoints(UsageStore store) {
    this.store = store;
  }

  public Map<String, Route> routes() {
    return Map.of("/admin/usage/query", Route.post(this::query));
  }

  private Future<AdminCall.Response> query(JsonObject body) {
    return store.query(UsageQuery.parse(body)).map(result -> Replies.ok("ok", result));
  }
}
