package dev.llmproxy.proxy;

import dev.llmproxy.common.config.BackendConfig;
import dev.llmproxy.common.model.Backend;
import dev.llmproxy.proxy.translate.ChatToAnthropic;
import dev.llmproxy.proxy.translate.MessagesToChat;
import dev.llmproxy.proxy.translate.ResponsesToChat;
import dev.llmproxy.proxy.upstream.ResponseTap;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * What one attempt sends to its backend when the client's dialect and the backend's differ (and how the answer comes
 * back): the path, the body rewritten once, the upstream credentials. The same dialect on both sides sends the
 * client's bytes untouched, as before.
 */
enum DialectBridge {
  /** Client and backend speak the same dialect: nothing is translated. */
  SAME,
  /** An OpenAI chat client, an Anthropic backend. */
  CHAT_TO_ANTHROPIC,
  /** An Anthropic Messages client, an OpenAI-compatible backend. */
  MESSAGES_TO_CHAT,
  /** A Responses API client, a backend with chat completions only ({@code openai_chat}). */
  RESPONSES_TO_CHAT;

  static final String ANTHROPIC = "anthropic";
  static final String AZURE = "azure_openai";
  /** An OpenAI-compatible server without the Responses API. */
  static final String OPENAI_CHAT = "openai_chat";
  /** Sent to Anthropic when the client did not say which version it speaks. */
  static final String ANTHROPIC_VERSION = "2023-06-01";

  /**
   * The bridge between this endpoint's dialect and the backend's. Chat completions and Messages are translated; every
   * other route reaches the backend as the client sent it (Anthropic answers those it does not have with its 404).
   */
  static DialectBridge between(Endpoint endpoint, Backend backend) {
    boolean anthropicBackend = ANTHROPIC.equals(backend.dialect());
    return switch (endpoint) {
      case CHAT_COMPLETIONS -> anthropicBackend ? CHAT_TO_ANTHROPIC : SAME;
      case MESSAGES -> anthropicBackend ? SAME : MESSAGES_TO_CHAT;
      case RESPONSES -> OPENAI_CHAT.equals(backend.dialect()) ? RESPONSES_TO_CHAT : SAME;
      default -> SAME;
    };
  }

  /** The request's URI on the backend (after the backend URL's own path). */
  String uri(ApiExchange exchange, Backend backend, BackendConfig access) {
    String uri = switch (this) {
      case SAME -> exchange.request.uri();
      case CHAT_TO_ANTHROPIC -> "/v1/messages";
      case MESSAGES_TO_CHAT, RESPONSES_TO_CHAT -> "/v1/chat/completions";
    };
    if (!AZURE.equals(backend.dialect()) || !uri.startsWith("/v1/")) {
      return uri;
    }
    // Azure: /openai/deployments/{deployment}/chat/completions?api-version=...; the deployment is named per model.
    String model = exchange.inspected.model() == null ? "" : exchange.inspected.model();
    String deployment = access == null ? model : access.deployments().getOrDefault(model, model);
    int query = uri.indexOf('?');
    String path = query < 0 ? uri.substring(3) : uri.substring(3, query);
    String version = access == null || access.apiVersion() == null ? "" : access.apiVersion();
    return "/openai/deployments/" + URLEncoder.encode(deployment, StandardCharsets.UTF_8) + path + "?api-version="
        + URLEncoder.encode(version, StandardCharsets.UTF_8) + (query < 0 ? "" : "&" + uri.substring(query + 1));
  }

  /** The body this attempt sends: the inspected body as it was, or its translation (made once per exchange). */
  Buffer body(ApiExchange exchange) {
    if (this == SAME) {
      return exchange.inspected.forwardBody();
    }
    if (exchange.translatedBody == null || exchange.translatedFor != this) {
      JsonObject json = exchange.body.toJsonObject();
      exchange.translatedBody = switch (this) {
        case CHAT_TO_ANTHROPIC ->
            ChatToAnthropic.request(json, exchange.context.translationDefaults.maxTokens(exchange.inspected.model()));
        case RESPONSES_TO_CHAT -> ResponsesToChat.request(json);
        default -> MessagesToChat.request(json);
      };
      exchange.translatedFor = this;
    }
    return exchange.translatedBody;
  }

  /**
   * The backend's own key in its dialect's header; the client's key never goes to a backend that has one. A backend
   * without a key gets the client's headers as before.
   */
  static void credentials(MultiMap headers, Backend backend, BackendConfig access) {
    if (ANTHROPIC.equals(backend.dialect()) && !headers.contains("anthropic-version")) {
      headers.set("anthropic-version", ANTHROPIC_VERSION);
    }
    if (access == null || access.apiKey() == null) {
      return;
    }
    headers.remove("Authorization").remove("x-api-key").remove("api-key");
    switch (backend.dialect()) {
      case ANTHROPIC -> headers.set("x-api-key", access.apiKey());
      case AZURE -> headers.set("api-key", access.apiKey());
      default -> headers.set("Authorization", "Bearer " + access.apiKey());
    }
  }

  /** The tap that turns the answer into the client's dialect. */
  ResponseTap tap(ApiExchange exchange, int status, boolean eventStream, BackendConfig access) {
    String key = access == null ? null : access.apiKey();
    return switch (this) {
      case SAME -> ResponseTap.NONE;
      case CHAT_TO_ANTHROPIC -> new ChatToAnthropic.Tap(eventStream, status, exchange.requestId, key,
          !exchange.inspected.usageInjected());
      case MESSAGES_TO_CHAT -> new MessagesToChat.Tap(eventStream, status, exchange.requestId, key,
          exchange.inspected.model());
      case RESPONSES_TO_CHAT -> new ResponsesToChat.Tap(eventStream, status, exchange.requestId, key,
          exchange.inspected.model());
    };
  }
}
