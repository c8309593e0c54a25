package dev.llmproxy.common.model;

import dev.llmproxy.common.bus.KeyHash;
import dev.llmproxy.common.util.Secrets;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;

/**
 * What one finished request used, as the proxy hands it to the usage verticle. Field names follow the
 * original's documented webhook payload (seed 004), plus what billing needs to trust a record.
 *
 * @param apiKey     the client's key in full, in memory only: the usage journal never writes it in clear, and it is
 *                   null in a record read back from the journal when the raw key could not be recovered (see the
 *                   usage verticle's README); null when the request carried no key
 * @param keySource  the auth provider whose store holds the key ({@code auth.pipeline[].name}); null when the
 *                   request was not authenticated. Quota accounting charges that store.
 * @param estimated  the backend reported no usage, so the counts were estimated
 * @param aborted    the client went away or the backend failed before the answer was complete
 * @param keyHash    the key's SHA-256 ({@link KeyHash}), how stores that keep keys hashed find it; derived from
 *                   {@code apiKey} when not given
 * @param maskedKey  the key masked ({@code sk-...abcd}); derived from {@code apiKey} when not given
 * @param cached     the answer came from the gateway's response cache: no backend was asked, and the tokens are 0
 *                   (absent, so false, in records written before the field existed)
 * @param metadata   what the lifecycle hooks returned as {@code metadata} ({@code on_request}, {@code on_auth}),
 *                   null when none did; a record written before it existed reads back with none
 * @param cutOff     why the gateway itself ended the answer early, its counts being what was relayed until then
 *                   ({@code quota_exceeded}: {@code auth.quota_enforcement: strict}); null when it did not
 */
public record UsageRecord(String requestId, String apiKey, String keySource, String keyName, String userId, String model,
                          long promptTokens, long completionTokens, long totalTokens, boolean stream,
                          String method, String endpoint, Instant timestamp, String backendUrl, int statusCode,
                          long latencyMs, long ttftMs, boolean estimated, boolean aborted, String clientIp,
                          String keyHash, String maskedKey, boolean cached, JsonObject metadata, String cutOff) {

  /** A record the gateway did not cut short. */
  public UsageRecord(String requestId, String apiKey, String keySource, String keyName, String userId, String model,
                     long promptTokens, long completionTokens, long totalTokens, boolean stream,
                     String method, String endpoint, Instant timestamp, String backendUrl, int statusCode,
                     long latencyMs, long ttftMs, boolean estimated, boolean aborted, String clientIp,
                     String keyHash, String maskedKey, boolean cached, JsonObject metadata) {
    this(requestId, apiKey, keySource, keyName, userId, model, promptTokens, completionTokens, totalTokens, stream,
        method, endpoint, timestamp, backendUrl, statusCode, latencyMs, ttftMs, estimated, aborted, clientIp, keyHash,
        maskedKey, cached, metadata, null);
  }

  /**
   * The last key a thread derived a hash and masked form for, with them: a proxy event loop makes a record per request,
   * mostly for the same few keys, and a SHA-256 (with its provider lookup) per record is not needed for that.
   */
  private static final ThreadLocal<String[]> LAST_KEY = ThreadLocal.withInitial(() -> new String[3]);

  public UsageRecord {
    boolean hasKey = apiKey != null && !apiKey.isEmpty();
    if (hasKey && (keyHash == null || maskedKey == null)) {
      String[] last = LAST_KEY.get();
      if (!apiKey.equals(last[0])) {
        last[1] = KeyHash.sha256Hex(apiKey);
        last[2] = Secrets.mask(apiKey);
        last[0] = apiKey;
      }
      keyHash = keyHash == null ? last[1] : keyHash;
      maskedKey = maskedKey == null ? last[2] : maskedKey;
    }
    if (metadata != null && metadata.isEmpty()) {
      metadata = null;
    }
  }

  /** As the proxy makes it: the key's hash and masked form are derived from the key. */
  public UsageRecord(String requestId, String apiKey, String keySource, String keyName, String userId, String model,
                     long promptTokens, long completionTokens, long totalTokens, boolean stream,
                     String method, String endpoint, Instant timestamp, String backendUrl, int statusCode,
                     long latencyMs, long ttftMs, boolean estimated, boolean aborted, String clientIp) {
    this(requestId, apiKey, keySource, keyName, userId, model, promptTokens, completionTokens, totalTokens, stream,
        method, endpoint, timestamp, backendUrl, statusCode, latencyMs, ttftMs, estimated, aborted, clientIp, null, null,
        false, null);
  }

  /** The same record marked as served from the response cache. */
  public UsageRecord asCached() {
    return new UsageRecord(requestId, apiKey, keySource, keyName, userId, model, promptTokens, completionTokens,
        totalTokens, stream, method, endpoint, timestamp, backendUrl, statusCode, latencyMs, ttftMs, estimated, aborted,
        clientIp, keyHash, maskedKey, true, metadata, cutOff);
  }

  /** The same record with the hooks' metadata (null or empty: none). */
  public UsageRecord withMetadata(JsonObject metadata) {
    return new UsageRecord(requestId, apiKey, keySource, keyName, userId, model, promptTokens, completionTokens,
        totalTokens, stream, method, endpoint, timestamp, backendUrl, statusCode, latencyMs, ttftMs, estimated, aborted,
        clientIp, keyHash, maskedKey, cached, metadata, cutOff);
  }

  /** The same record marked as ended early by the gateway ({@code reason}, e.g. {@code quota_exceeded}). */
  public UsageRecord withCutOff(String reason) {
    return new UsageRecord(requestId, apiKey, keySource, keyName, userId, model, promptTokens, completionTokens,
        totalTokens, stream, method, endpoint, timestamp, backendUrl, statusCode, latencyMs, ttftMs, estimated, aborted,
        clientIp, keyHash, maskedKey, cached, metadata, reason);
  }

  /** The key's public id (the first 16 hex digits of its hash), null when the request had no key. */
  public String keyId() {
    return keyHash == null ? null : KeyHash.keyId(keyHash);
  }

  /** True when the request carried a key (known by its hash even when the raw key is not at hand). */
  public boolean hasKey() {
    return keyHash != null;
  }

  /** The same record without the raw key: what may rest on disk. */
  public UsageRecord withoutRawKey() {
    return withRawKey(null);
  }

  /** The same record with the raw key (recovered for a record read back without it); null leaves it unknown. */
  public UsageRecord withRawKey(String rawKey) {
    return new UsageRecord(requestId, rawKey, keySource, keyName, userId, model, promptTokens, completionTokens,
        totalTokens, stream, method, endpoint, timestamp, backendUrl, statusCode, latencyMs, ttftMs, estimated, aborted,
        clientIp, keyHash, maskedKey, cached, metadata, cutOff);
  }

  /**
   * The record as JSON, the raw key included when known: for the event bus between cluster members and for in-memory
   * hand-overs, never for a file (see {@link #withoutRawKey()}).
   */
  public JsonObject toJson() {
    return Fields.object(this::writeFields);
  }

  /** Receives a record's fields in the order of its JSON form. */
  public interface Fields {
    void put(String name, String value) throws IOException;

    void put(String name, long value) throws IOException;

    void put(String name, int value) throws IOException;

    void put(String name, boolean value) throws IOException;

    void put(String name, JsonObject value) throws IOException;

    /** An instant as {@link Instant#toString()} writes it (ISO-8601 in UTC). */
    default void put(String name, Instant value) throws IOException {
      put(name, value.toString());
    }

    /** What writes a list of fields. */
    @FunctionalInterface
    interface Writer {
      void write(Fields out) throws IOException;
    }

    /** The object of the fields {@code writer} writes. */
    static JsonObject object(Writer writer) {
      JsonObject json = new JsonObject();
      try {
        writer.write(into(json));
      } catch (IOException e) {
        throw new UncheckedIOException(e); // a JsonObject does not throw it
      }
      return json;
    }

    /** Fields put into {@code json} (an object value as a copy of its own). */
    static Fields into(JsonObject json) {
      return new Fields() {
        @Override
        public void put(String name, String value) {
          json.put(name, value);
        }

        @Override
        public void put(String name, long value) {
          json.put(name, value);
        }

        @Override
        public void put(String name, int value) {
          json.put(name, value);
        }

        @Override
        public void put(String name, boolean value) {
          json.put(name, value);
        }

        @Override
        public void put(String name, JsonObject value) {
          json.put(name, value.copy());
        }
      };
    }
  }

  /** The record's fields, the raw key included when known: the one list its JSON object and its streamed bytes use. */
  public void writeFields(Fields out) throws IOException {
    writeFields(out, true);
  }

  /**
   * The record's fields; {@code api_key} null unless {@code withRawKey} (what {@link #withoutRawKey()} would write,
   * without the copy).
   */
  public void writeFields(Fields out, boolean withRawKey) throws IOException {
    out.put("request_id", requestId);
    out.put("api_key", withRawKey ? apiKey : null);
    out.put("key_hash", keyHash);
    out.put("key_id", keyId());
    out.put("api_key_masked", maskedKey);
    out.put("key_source", keySource);
    out.put("key_name", keyName);
    out.put("user_id", userId);
    out.put("model", model);
    out.put("prompt_tokens", promptTokens);
    out.put("completion_tokens", completionTokens);
    out.put("total_tokens", totalTokens);
    out.put("is_stream", stream);
    out.put("method", method);
    out.put("endpoint", endpoint);
    out.put("timestamp", timestamp);
    out.put("backend_url", backendUrl);
    out.put("status_code", statusCode);
    out.put("latency_ms", latencyMs);
    out.put("ttft_ms", ttftMs);
    out.put("estimated", estimated);
    out.put("aborted", aborted);
    out.put("client_ip", clientIp);
    out.put("cached", cached);
    if (metadata != null) {
      out.put("metadata", metadata);
    }
    if (cutOff != null) {
      out.put("cut_off", cutOff);
    }
  }

  public static UsageRecord fromJson(JsonObject json) {
    return new UsageRecord(
        json.getString("request_id"),
        json.getString("api_key"),
        json.getString("key_source"),
        json.getString("key_name"),
        json.getString("user_id"),
        json.getString("model"),
        json.getLong("prompt_tokens", 0L),
        json.getLong("completion_tokens", 0L),
        json.getLong("total_tokens", 0L),
        json.getBoolean("is_stream", false),
        json.getString("method"),
        json.getString("endpoint"),
        Instant.parse(json.getString("timestamp")),
        json.getString("backend_url"),
        json.getInteger("status_code", 0),
        json.getLong("latency_ms", 0L),
        json.getLong("ttft_ms", -1L),
        json.getBoolean("estimated", false),
        json.getBoolean("aborted", false),
        json.getString("client_ip"),
        json.getString("key_hash"),
        json.getString("api_key_masked"),
        json.getBoolean("cached", false),
        // Absent from records written before hooks could add it; anything but an object is not metadata.
        json.getValue("metadata") instanceof JsonObject metadata ? metadata : null,
        json.getString("cut_off"));
  }
}
