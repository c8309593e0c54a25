package dev.llmproxy.admin.api;

import dev.llmproxy.common.bus.AdminCall;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The admin console: a fixed set of static files from the jar under {@code /admin/ui/}, read once (they are a few
 * kilobytes) so that serving one never touches the disk. Only names of this set are served: a path is never turned
 * into a resource name. Every answer carries a strict Content-Security-Policy (scripts, styles and API calls from this
 * origin only, no inline script) and may not be framed.
 */
final class ConsoleFiles {

  static final Map<String, String> SECURITY_HEADERS = Map.of(
      "Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      "X-Frame-Options", "DENY",
      "X-Content-Type-Options", "nosniff",
      "Referrer-Policy", "no-referrer",
      "Cache-Control", "no-store");
  private static final String RESOURCE_DIR = "admin-console/";
  private static final Map<String, String> TYPES = Map.of(
      "index.html", "text/html; charset=utf-8",
      "console.css", "text/css; charset=utf-8",
      "console.js", "text/javascript; charset=utf-8",
      "api.js", "text/javascript; charset=utf-8",
      "views.js", "text/javascript; charset=utf-8",
      "dom.js", "text/javascript; charset=utf-8");

  private final Map<String, String> files = new LinkedHashMap<>();

  ConsoleFiles() {
    TYPES.keySet().forEach(name -> files.put(name, read(name)));
  }

  AdminCall.Response serve(String method, String path) {
    if (!method.equals("GET") && !method.equals("HEAD")) {
      return Replies.error(405, "method not allowed: use GET");
    }
    if (path.equals(AdminCall.CONSOLE_PATH)) {
      Map<String, String> headers = new LinkedHashMap<>(SECURITY_HEADERS);
      headers.put("Location", AdminCall.CONSOLE_PATH + "/");
      return new AdminCall.Response(301, "text/plain; charset=utf-8", "", headers);
    }
    String name = path.substring(AdminCall.CONSOLE_PATH.length() + 1);
    if (name.isEmpty()) {
      name = "index.html";
    }
    String body = files.get(name);
    if (body == null) {
      AdminCall.Response missing = Replies.error(404, "no console file " + name);
      return new AdminCall.Response(404, missing.contentType(), missing.body(), SECURITY_HEADERS);
    }
    return new AdminCall.Response(200, TYPES.get(name), method.equals("HEAD") ? "" : body, SECURITY_HEADERS);
  }

  private static String read(String name) {
    try (InputStream in = ConsoleFiles.class.getClassLoader().getResourceAsStream(RESOURCE_DIR + name)) {
      if (in == null) {
        throw new IllegalStateException("console file missing from the jar: " + RESOURCE_DIR + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
