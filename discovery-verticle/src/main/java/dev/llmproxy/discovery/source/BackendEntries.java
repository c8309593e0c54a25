package dev.llmproxy.discovery.source;

import dev.llmproxy.common.config.BackendConfig;
import dev.llmproxy.common.config.RoutingConfig;
import dev.llmproxy.common.model.Backend;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns what sources read into {@link Backend}s with the rules of {@code backends[]}: same fields, same defaults,
 * unset timeouts from {@code routing}. A source answer is all or nothing: one bad entry fails the read, so a
 * half-understood registry never replaces the last good list.
 */
public final class BackendEntries {

  private final RoutingConfig routing;

  public BackendEntries(RoutingConfig routing) {
    this.routing = routing;
  }

  public Backend of(BackendConfig config) {
    return of(config, true);
  }

  public Backend of(BackendConfig config, boolean healthy) {
    checkUrl(config.url());
    return Backend.of(config, routing, healthy);
  }

  /** A backend entry as JSON (a registry's answer, an etcd value); {@code defaultName} when it has no name. */
  public Backend fromJson(JsonObject json, String defaultName) {
    JsonObject entry = json.copy();
    if (defaultName != null && !entry.containsKey("name")) {
      entry.put("name", defaultName);
    }
    return of(BackendConfig.fromJson(entry));
  }

  /** A JSON list of backends, or an object with such a list under {@code backends}. */
  public List<Backend> list(Object json) {
    JsonArray array;
    if (json instanceof JsonArray a) {
      array = a;
    } else if (json instanceof JsonObject o && o.getValue("backends") instanceof JsonArray a) {
      array = a;
    } else {
      throw new IllegalArgumentException("expected a JSON list of backends or {\"backends\": [...]}");
    }
    List<Backend> out = new ArrayList<>(array.size());
    for (Object entry : array) {
      if (!(entry instanceof JsonObject object)) {
        throw new IllegalArgumentException("a backend entry is not a JSON object: " + entry);
      }
      out.add(fromJson(object, null));
    }
    return out;
  }

  /** @throws IllegalArgumentException unless an absolute http(s) URL with a host */
  static void checkUrl(String url) {
    try {
      URI uri = new URI(url);
      String scheme = uri.getScheme();
      if (uri.getHost() == null || scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
        throw new IllegalArgumentException("backend url is not an http(s) URL: '" + url + "'");
      }
    } catch (java.net.URISyntaxException e) {
      throw new IllegalArgumentException("backend url is not a URL: '" + url + "'");
    }
  }
}
