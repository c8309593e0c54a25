package dev.llmproxy.common.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code auth}. {@code mode} first_match or all. {@code statusCodes} always holds disabled, expired,
 * quota_exceeded and not_found. {@code forwardKey} passes the client's key on to the backend;
 * {@code cacheTtl}/{@code negativeCacheTtl} bound how long a positive/negative decision is cached.
 * {@code skipPaths} are the only paths that need no key; see {@link #skips}. {@code quotaEnforcement} (ours):
 * {@code settle} (the original's: a request admitted while the key has quota runs to its end and is charged in full)
 * or {@code strict} (the proxy ends a stream when the key's quota or TPM budget is spent, and caps a non-streaming
 * request's completion budget to what is left).
 */
public record AuthConfig(boolean enabled, String mode, List<String> skipPaths, List<String> headerNames,
    Map<String, StatusCodeConfig> statusCodes, List<AuthProviderConfig> pipeline, boolean forwardKey,
    Duration cacheTtl, Duration negativeCacheTtl, String quotaEnforcement) {

  public static final String QUOTA_SETTLE = "settle";
  public static final String QUOTA_STRICT = "strict";

  public static final Map<String, StatusCodeConfig> DEFAULT_STATUS_CODES = defaultStatusCodes();

  public AuthConfig {
    skipPaths = Immutables.list(skipPaths);
    headerNames = Immutables.list(headerNames);
    statusCodes = Immutables.map(statusCodes);
    pipeline = Immutables.list(pipeline);
  }

  /** {@code quota_enforcement: strict}: the proxy enforces the quota while the answer flows. */
  public boolean strictQuota() {
    return QUOTA_STRICT.equals(quotaEnforcement);
  }

  /** The code and message for a key status; unknown statuses get not_found's. */
  public StatusCodeConfig statusCode(String status) {
    return statusCodes.getOrDefault(status, statusCodes.get("not_found"));
  }

  /**
   * Whether a request path needs no key. An entry names one whole path ({@code /v1/models} is {@code /v1/models}
   * and {@code /v1/models/}, never {@code /v1/modelsX}); an entry ending in {@code /} names that path and every
   * path below it, segment by segment ({@code /v1/public/} covers {@code /v1/public/x}, never
   * {@code /v1/publicx}). Case-sensitive, as paths are. The path must already have passed the gateway's path check
   * (no dot segments, no encoded separators, no {@code ;}), so that what matches here is what a backend serves.
   */
  public boolean skips(String path) {
    for (String entry : skipPaths) {
      boolean matches = entry.endsWith("/")
          ? path.startsWith(entry) || path.length() == entry.length() - 1 && entry.startsWith(path)
          : path.equals(entry) || path.length() == entry.length() + 1 && path.endsWith("/") && path.startsWith(entry);
      if (matches) {
        return true;
      }
    }
    return false;
  }

  private static Map<String, StatusCodeConfig> defaultStatusCodes() {
    Map<String, StatusCodeConfig> codes = new LinkedHashMap<>();
    codes.put("disabled", new StatusCodeConfig(403, "API Key is disabled"));
    codes.put("expired", new StatusCodeConfig(403, "API Key has expired"));
    codes.put("quota_exceeded", new StatusCodeConfig(429, "Quota exceeded"));
    codes.put("not_found", new StatusCodeConfig(401, "Invalid API Key"));
    return Immutables.map(codes);
  }

  static AuthConfig read(ConfigReader r) {
    Map<String, StatusCodeConfig> codes = new LinkedHashMap<>(DEFAULT_STATUS_CODES);
    codes.putAll(r.namedSections("status_codes", s -> StatusCodeConfig.read(s,
        DEFAULT_STATUS_CODES.getOrDefault(lastSegment(s.path()), new StatusCodeConfig(403, "")))));
    return new AuthConfig(
        r.bool("enabled", false),
        r.string("mode", "first_match"),
        r.strings("skip_paths", List.of("/health", "/ready", "/metrics")),
        r.strings("header_names", List.of("Authorization", "X-API-Key")),
        codes,
        r.list("pipeline", AuthProviderConfig::read, List.of()),
        r.bool("forward_key", false),
        r.duration("cache_ttl", Duration.ofSeconds(30)),
        r.duration("negative_cache_ttl", Duration.ofSeconds(5)),
        r.string("quota_enforcement", QUOTA_SETTLE));
  }

  private static String lastSegment(String path) {
    return path.substring(path.lastIndexOf('.') + 1);
  }

  public JsonObject toJson() {
    JsonObject codes = new JsonObject();
    statusCodes.forEach((k, v) -> codes.put(k, v.toJson()));
    return new JsonObject()
        .put("enabled", enabled)
        .put("mode", mode)
        .put("skip_paths", JsonOut.array(skipPaths))
        .put("header_names", JsonOut.array(headerNames))
        .put("status_codes", codes)
        .put("pipeline", JsonOut.array(pipeline, AuthProviderConfig::toJson))
        .put("forward_key", forwardKey)
        .put("cache_ttl", JsonOut.duration(cacheTtl))
        .put("negative_cache_ttl", JsonOut.duration(negativeCacheTtl))
        .put("quota_enforcement", quotaEnforcement);
  }
}
