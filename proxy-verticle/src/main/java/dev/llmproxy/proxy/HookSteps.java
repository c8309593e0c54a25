package dev.llmproxy.proxy;

import dev.llmproxy.common.bus.AuthDecision;
import dev.llmproxy.common.error.ErrorKind;
import dev.llmproxy.common.error.GatewayError;
import dev.llmproxy.common.lua.LuaSandbox;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.proxy.LifecycleHooks.Hook;
import dev.llmproxy.proxy.auth.AuthGate;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The lifecycle hooks as steps of the chain (seed 000, "Lifecycle Hooks"): {@code on_request} after the body is
 * read, {@code on_auth} after auth, {@code on_route} after routing, {@code on_response} on the answer's way back,
 * {@code on_complete} as an outcome sink, and {@code on_error} where the exchange renders an error. A hook that is
 * off is not in the chain. What a hook may change, and how its answer is read, is issue 15's table.
 */
final class HookSteps {

  private HookSteps() {
  }

  /** A hook's step: the shared hooks of its verticle instance. */
  private abstract static class HookStep implements ExchangeInterceptor {
    final LifecycleHooks hooks;

    HookStep(LifecycleHooks hooks) {
      this.hooks = hooks;
    }
  }

  /** {@code on_request}: may refuse, change the headers and body sent to the backend, and add metadata. */
  static final class OnRequest extends HookStep {
    OnRequest(LifecycleHooks hooks) {
      super(hooks);
    }

    @Override
    public Future<Void> handleRequest(ApiExchange exchange) {
      Map<String, Object> view = hooks.requestView(exchange);
      LuaSandbox.Result result = hooks.run(Hook.ON_REQUEST, Map.of("request", view), exchange.requestId,
          LifecycleHooks.READ_REQUEST);
      return goOn(Hook.ON_REQUEST, exchange, view, result);
    }
  }

  /** {@code on_auth}: sees auth's answer; may refuse, change headers and add metadata as {@code on_request}. */
  static final class OnAuth extends HookStep {
    OnAuth(LifecycleHooks hooks) {
      super(hooks);
    }

    @Override
    public Future<Void> handleRequest(ApiExchange exchange) {
      Map<String, Object> view = hooks.requestView(exchange);
      AuthDecision decision = exchange.decision;
      view.put("user_id", decision == null ? null : decision.userId());
      Map<String, Object> authResult = new HashMap<>();
      authResult.put("allowed", true);
      if (decision != null) {
        authResult.put("key_name", decision.keyName());
        authResult.put("user_id", decision.userId());
        authResult.put("metadata", decision.metadata());
        Map<String, Object> quota = new HashMap<>();
        quota.put("rpm", decision.rpm());
        quota.put("tpm", decision.tpm());
        quota.put("max_concurrent", decision.maxConcurrent());
        authResult.put("quota", quota);
      }
      LuaSandbox.Result result = hooks.run(Hook.ON_AUTH, Map.of("request", view, "auth_result", authResult),
          exchange.requestId, LifecycleHooks.READ_REQUEST);
      return goOn(Hook.ON_AUTH, exchange, view, result);
    }
  }

  /** The request goes on with what the hook changed, unless it refused; a hook that failed (null) changed nothing. */
  private static Future<Void> goOn(Hook hook, ApiExchange exchange, Map<String, Object> view,
      LuaSandbox.Result result) {
    GatewayError refusal = result == null ? null : applyToRequest(hook, exchange, view, result);
    return refusal != null ? Future.failedFuture(refusal) : exchange.sendRequest();
  }

  /**
   * {@code on_route}: {@code {backend = "name"}} picks, {@code {order = {...}}} prefers; else the strategy's choice.
   * It runs again before each retry or fallback attempt ({@link ForwardStep}), shown the backends not tried yet.
   */
  static final class OnRoute extends HookStep {
    OnRoute(LifecycleHooks hooks) {
      super(hooks);
    }

    @Override
    public Future<Void> handleRequest(ApiExchange exchange) {
      exchange.chosen = route(hooks, exchange, exchange.chosen);
      return exchange.sendRequest();
    }

    /**
     * The backend this attempt goes to: the hook's pick among the backends this exchange has not tried (the
     * strategy's {@code choice} alone when it chose one tried already), else {@code choice}. The hook's global
     * {@code attempt} is 0 for the first, 1 for the first retry...
     */
    static Backend route(LifecycleHooks hooks, ApiExchange exchange, Backend choice) {
      List<Backend> known = exchange.context.snapshot().backends();
      List<Backend> untried = new ArrayList<>(known.size());
      for (Backend backend : known) {
        if (!exchange.tried.contains(backend)) {
          untried.add(backend);
        }
      }
      if (untried.isEmpty()) {
        untried.add(choice);
      }
      List<Map<String, Object>> backends = new ArrayList<>(untried.size());
      long now = System.nanoTime();
      for (Backend backend : untried) {
        Map<String, Object> entry = new HashMap<>();
        entry.put("name", backend.name());
        entry.put("url", backend.url());
        entry.put("weight", backend.weight());
        entry.put("healthy", usable(exchange, backend, now));
        entry.put("in_flight", exchange.context.stats.of(backend).inFlight());
        entry.put("models", backend.models());
        backends.add(entry);
      }
      LuaSandbox.Result result = hooks.run(Hook.ON_ROUTE, Map.of("request", hooks.requestView(exchange),
          "backends", backends, "attempt", exchange.tried.size()), exchange.requestId, LifecycleHooks.READ_NOTHING);
      if (result != null && result.returned() instanceof JsonObject answer) {
        List<Object> wanted = answer.getValue("backend") != null ? List.of(answer.getValue("backend"))
            : answer.getValue("order") instanceof JsonArray order ? order.getList() : List.of();
        for (Object name : wanted) {
          Backend found = find(untried, name);
          if (found != null && usable(exchange, found, now)) {
            return found;
          }
        }
      }
      return choice;
    }

    private static boolean usable(ApiExchange exchange, Backend backend, long now) {
      return backend.healthy() && exchange.context.stats.of(backend).up(now);
    }

    private static Backend find(List<Backend> backends, Object name) {
      for (Backend backend : backends) {
        if (backend.name().equals(name)) {
          return backend;
        }
      }
      return null;
    }
  }

  /**
   * {@code on_response}: sees the answer's status and headers (and, for an answer that is not a stream, its body,
   * read whole first); its header changes reach the client, a stream's too (they leave before the first byte); a
   * non-streaming body it changes replaces the backend's. A stream is never buffered for it.
   */
  static final class OnResponse extends HookStep {
    OnResponse(LifecycleHooks hooks) {
      super(hooks);
    }

    @Override
    public Future<Void> handleResponse(ApiExchange exchange) {
      if (exchange.bufferedAnswer != null) {
        // Already read whole (a condensation check read an error's body): the hook sees it as it is.
        run(exchange, exchange.bufferedAnswer);
        return exchange.sendResponse();
      }
      if (exchange.eventStream || exchange.request.method() == HttpMethod.HEAD) {
        run(exchange, null);
        return exchange.sendResponse();
      }
      return exchange.readAnswerWhole().compose(whole -> {
        exchange.bufferedAnswer = whole;
        exchange.answerBody = whole;
        run(exchange, whole);
        return exchange.sendResponse();
      });
    }

    private void run(ApiExchange exchange, Buffer body) {
      Map<String, Object> response = new HashMap<>();
      response.put("status_code", exchange.response.getStatusCode());
      LifecycleHooks.Memo headers = new LifecycleHooks.Memo(() -> AuthGate.firstValues(exchange.response.headers()));
      response.put("headers", headers);
      response.put("latency_ms", (System.nanoTime() - exchange.startNanos) / 1_000_000);
      response.put("backend_url", exchange.backend == null ? null : exchange.backend.url());
      LifecycleHooks.Memo bodyView = new LifecycleHooks.Memo(() -> body == null ? null : jsonOrText(body));
      response.put("body", bodyView);
      LuaSandbox.Result result = hooks.run(Hook.ON_RESPONSE,
          Map.of("request", hooks.requestView(exchange), "response", response), exchange.requestId,
          LifecycleHooks.READ_RESPONSE);
      if (result == null) {
        return;
      }
      JsonObject answer = result.returned() instanceof JsonObject json ? json : null;
      JsonObject after = result.globals().get("response") instanceof JsonObject json ? json : null;
      MultiMap out = exchange.response.headers();
      Object editedHeaders = after == null ? null : after.getValue("headers");
      if (editedHeaders != null || answer != null && answer.getValue("headers") != null) {
        @SuppressWarnings("unchecked")
        Map<String, String> before = (Map<String, String>) headers.value();
        applyHeaders(before, editedHeaders, answer, out::set, out::remove);
      }
      if (body == null) {
        return;
      }
      Object edited = after == null ? null : after.getValue("body");
      Object replaced = answer != null && answer.getValue("body") != null ? answer.getValue("body")
          : edited != null && changed(bodyView.value(), edited) ? edited : null;
      if (replaced != null) {
        exchange.answerBody = replaced instanceof String text ? Buffer.buffer(text) : Buffer.buffer(Json.encode(replaced));
        out.remove("Content-Length");
      }
    }
  }

  /** {@code on_complete}: after the last byte, on the hooks' worker thread; it cannot delay or change the answer. */
  static final class OnComplete implements OutcomeSink {
    private final LifecycleHooks hooks;

    OnComplete(LifecycleHooks hooks) {
      this.hooks = hooks;
    }

    @Override
    public void ended(ExchangeOutcome outcome) {
      hooks.afterTheAnswer(() -> {
        Map<String, Object> response = new HashMap<>();
        response.put("status_code", outcome.status());
        response.put("latency_ms", outcome.latencyMs());
        response.put("ttft_ms", outcome.ttftMs());
        response.put("backend_url", outcome.backend() == null ? null : outcome.backend().url());
        response.put("aborted", outcome.aborted());
        Map<String, Object> usage = new HashMap<>();
        usage.put("prompt_tokens", outcome.usage().promptTokens());
        usage.put("completion_tokens", outcome.usage().completionTokens());
        usage.put("total_tokens", outcome.usage().totalTokens());
        usage.put("estimated", outcome.usageEstimated());
        hooks.run(Hook.ON_COMPLETE, Map.of("request", outcome.hookRequest(), "response", response, "usage", usage),
            outcome.requestId(), LifecycleHooks.READ_NOTHING);
      });
    }
  }

  /**
   * {@code on_error} for a backend's own error answer (a 5xx that stands once retries are spent): the answer is read
   * whole (unless it is a stream, or says it is over {@link #MAX_ERROR_BODY} bytes) and the hook sees its status and
   * message. A hook that changes either answers the client with the gateway's error JSON in the client's dialect;
   * one that changes nothing leaves the backend's answer as it came.
   */
  static final class OnBackendError extends HookStep {
    /** An error answer larger than this is relayed without the hook: it is not a message to shape. */
    static final long MAX_ERROR_BODY = 1 << 20;

    OnBackendError(LifecycleHooks hooks) {
      super(hooks);
    }

    @Override
    public Future<Void> handleResponse(ApiExchange exchange) {
      HttpClientResponse upstream = exchange.upstreamResponse;
      String length = upstream.getHeader("Content-Length");
      if (upstream.statusCode() < 500 || exchange.eventStream || exchange.request.method() == HttpMethod.HEAD
          || length != null && !small(length)) {
        return exchange.sendResponse();
      }
      // Read under the backend's silence watch, as every whole answer is; a failure has already been answered.
      return exchange.readAnswerWhole().compose(body -> {
        GatewayError backendError = new GatewayError(ErrorKind.UPSTREAM_FAILED, upstream.statusCode(),
            backendMessage(body, upstream.statusCode()), null);
        GatewayError shaped = shapeError(hooks, exchange, backendError);
        if (shaped == backendError) {
          exchange.bufferedAnswer = body;
          exchange.answerBody = body;
          return exchange.sendResponse();
        }
        exchange.pool.givenBack(upstream.request().connection());
        // The backend's head was copied for its own answer: the gateway's error replaces it whole.
        exchange.response.headers().clear();
        exchange.response.setStatusMessage(HttpResponseStatus.valueOf(shaped.status()).reasonPhrase());
        exchange.errorShaped = true;
        return Future.failedFuture(shaped);
      });
    }

    private static boolean small(String contentLength) {
      try {
        return Long.parseLong(contentLength.trim()) <= MAX_ERROR_BODY;
      } catch (NumberFormatException e) {
        return false;
      }
    }

    /** The message of an OpenAI- or Anthropic-shaped error body, else its text (cut), else its status. */
    static String backendMessage(Buffer body, int status) {
      String text = body.toString().trim();
      if (text.startsWith("{")) {
        try {
          JsonObject json = new JsonObject(text);
          Object error = json.getValue("error");
          Object message = error instanceof JsonObject details ? details.getValue("message")
              : error instanceof String ? error : json.getValue("message", json.getValue("detail"));
          if (message instanceof String found && !found.isBlank()) {
            return found;
          }
        } catch (DecodeException notJson) {
          // its text, below
        }
      }
      return text.isEmpty() ? "the backend answered " + status
          : text.length() <= 500 ? text : text.substring(0, 500) + "...";
    }
  }

  /** {@code on_error}: may change the status and the message of an error the gateway renders; what is absent stays. */
  static GatewayError shapeError(LifecycleHooks hooks, ApiExchange exchange, GatewayError error) {
    Map<String, Object> globals = new HashMap<>();
    globals.put("request", hooks.requestView(exchange));
    globals.put("error_message", error.getMessage());
    globals.put("status", error.status());
    LuaSandbox.Result result = hooks.run(Hook.ON_ERROR, globals, exchange.requestId, LifecycleHooks.READ_NOTHING);
    if (result == null || !(result.returned() instanceof JsonObject answer)) {
      return error;
    }
    int status = error.status();
    if (answer.getValue("status") instanceof Number wanted) {
      if (wanted.intValue() >= 400 && wanted.intValue() <= 599) {
        status = wanted.intValue();
      } else {
        hooks.failed(Hook.ON_ERROR, "answer", "status " + wanted + " is not an error status (400-599); kept " + status);
      }
    }
    String message = answer.getValue("error") instanceof String text ? text : error.getMessage();
    return status == error.status() && message.equals(error.getMessage()) ? error
        : new GatewayError(error.kind(), status, error.code(), message, null);
  }

  /**
   * Applies what {@code on_request} or {@code on_auth} answered: a refusal (returned), header and body changes,
   * metadata.
   */
  private static GatewayError applyToRequest(Hook hook, ApiExchange exchange, Map<String, Object> view,
      LuaSandbox.Result result) {
    JsonObject answer = result.returned() instanceof JsonObject json ? json : null;
    if (answer != null && Boolean.FALSE.equals(answer.getValue("continue"))) {
      int status = answer.getValue("status") instanceof Number n && n.intValue() >= 400 && n.intValue() <= 599
          ? n.intValue() : ErrorKind.FORBIDDEN.status();
      String message = answer.getValue("error") instanceof String text && !text.isEmpty() ? text
          : "the request was refused by hooks." + hook.configName;
      return new GatewayError(ErrorKind.FORBIDDEN, status, message, null);
    }
    // Fields the script never read are absent from what is read back: they did not change.
    JsonObject after = result.globals().get("request") instanceof JsonObject json ? json : null;
    Object editedHeaders = after == null ? null : after.getValue("headers");
    boolean returnedHeaders = answer != null && answer.getValue("headers") instanceof JsonObject;
    if (editedHeaders != null || returnedHeaders) {
      @SuppressWarnings("unchecked")
      Map<String, String> before = (Map<String, String>) LifecycleHooks.Memo.resolve(view.get("headers"));
      Map<String, String> headers = exchange.hookHeaders == null ? new LinkedHashMap<>() : exchange.hookHeaders;
      applyHeaders(before, editedHeaders, answer, headers::put, name -> headers.put(name, null));
      if (!headers.isEmpty()) {
        exchange.hookHeaders = headers;
      }
      // Later hooks see the headers as this one left them.
      if (editedHeaders instanceof JsonObject changedHeaders) {
        view.put("headers", stringValues(changedHeaders));
      }
    }
    if (answer != null && answer.getValue("metadata") instanceof JsonObject metadata) {
      exchange.hookMetadata = exchange.hookMetadata == null ? metadata.copy() : exchange.hookMetadata.mergeIn(metadata);
      view.put("metadata", exchange.hookMetadata);
    }
    if (after != null && after.getValue("body") != null
        && changed(LifecycleHooks.Memo.resolve(view.get("body")), after.getValue("body"))) {
      Object body = after.getValue("body");
      Buffer forward = body instanceof String text ? Buffer.buffer(text) : Buffer.buffer(Json.encode(body));
      try {
        exchange.replaceBody(forward);
      } catch (GatewayError invalid) {
        return invalid;
      }
      view.put("body", body);
    }
    return null;
  }

  /**
   * Header changes a hook made: a value changed or added in the table it was given, a name it removed, and the
   * {@code headers} table it returned (which wins).
   */
  private static void applyHeaders(Map<String, String> before, Object after, JsonObject answer,
      java.util.function.BiConsumer<String, String> set, java.util.function.Consumer<String> remove) {
    if (after instanceof JsonObject edited) {
      for (Map.Entry<String, Object> header : edited) {
        String value = header.getValue() == null ? null : String.valueOf(header.getValue());
        if (value != null && !value.equals(before.get(header.getKey()))) {
          set.accept(header.getKey(), value);
        }
      }
      for (String name : before.keySet()) {
        if (!edited.containsKey(name)) {
          remove.accept(name);
        }
      }
    }
    if (answer != null && answer.getValue("headers") instanceof JsonObject returned) {
      for (Map.Entry<String, Object> header : returned) {
        if (header.getValue() != null) {
          set.accept(header.getKey(), String.valueOf(header.getValue()));
        }
      }
    }
  }

  private static Map<String, String> stringValues(JsonObject headers) {
    Map<String, String> values = new HashMap<>();
    headers.forEach(e -> {
      if (e.getValue() != null) {
        values.put(e.getKey(), String.valueOf(e.getValue()));
      }
    });
    return values;
  }

  /**
   * The script changed a value it was given: compared as JSON, and when that differs, against the value as a
   * script returns it untouched (a Lua table cannot tell an empty array from an empty object).
   */
  private static boolean changed(Object given, Object after) {
    if (Objects.equals(given, after)) {
      return false;
    }
    String encoded = Json.encode(after);
    return !encoded.equals(Json.encode(given)) && !encoded.equals(Json.encode(LuaSandbox.asReturned(given)));
  }

  private static Object jsonOrText(Buffer body) {
    try {
      return Json.decodeValue(body);
    } catch (DecodeException e) {
      return body.toString();
    }
  }
}
