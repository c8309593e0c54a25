package dev.llmproxy.proxy.cache;

import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The response cache's key: the request's canonical JSON (keys sorted at every level, no insignificant space), its
 * path and model, and whose answer it is (the key's hash, or {@code *} when answers are {@code shared}), hashed
 * with SHA-256. Two requests that differ only in field order or spacing share an answer; nothing else does.
 */
public final class CacheKey {

  private CacheKey() {
  }

  /** The key, or null when {@code body} is not a JSON object (such a request is not cached). */
  public static String of(String path, String model, String scope, byte[] body) {
    Object json;
    try {
      json = Json.decodeValue(io.vertx.core.buffer.Buffer.buffer(body));
    } catch (RuntimeException e) {
      return null;
    }
    if (!(json instanceof JsonObject object)) {
      return null;
    }
    StringBuilder canonical = new StringBuilder(body.length);
    canonical.append(path).append('\n').append(model).append('\n').append(scope).append('\n');
    write(object, canonical);
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Canonical JSON of a decoded value: objects with their keys sorted. */
  static void write(Object value, StringBuilder out) {
    if (value instanceof JsonObject object) {
      List<String> names = new ArrayList<>(object.fieldNames());
      names.sort(null);
      out.append('{');
      for (int i = 0; i < names.size(); i++) {
        if (i > 0) {
          out.append(',');
        }
        out.append(Json.encode(names.get(i))).append(':');
        write(object.getValue(names.get(i)), out);
      }
      out.append('}');
    } else if (value instanceof JsonArray array) {
      out.append('[');
      for (int i = 0; i < array.size(); i++) {
        if (i > 0) {
          out.append(',');
        }
        write(array.getValue(i), out);
      }
      out.append(']');
    } else {
      out.append(Json.encode(value));
    }
  }
}
