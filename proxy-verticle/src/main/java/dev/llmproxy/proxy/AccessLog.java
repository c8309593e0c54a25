package dev.llmproxy.proxy;

import dev.llmproxy.common.config.AccessLogConfig;
import dev.llmproxy.common.lua.LogFilter;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * {@code logging.access}: one line per HTTP request, like nginx's. {@code combined} is the Apache/nginx combined
 * format with the request time appended:
 * {@code 10.0.0.7 - team-a [22/Nov/2026:06:07:52 +0000] "POST /v1/chat/completions HTTP/1.1" 200 1843 "-" "curl/8.5" 0.412};
 * the user is the API key's name (else its id), never the key. {@code json} has the same fields plus
 * {@code request_id, model, backend, latency_ms}. The path is logged without its query string, which may carry
 * credentials.
 *
 * <p>Lines go to the {@value #LOGGER_NAME} logger only: the launcher puts a non-blocking asynchronous appender
 * behind it (stdout or a rolling file), so building the line is all the event loop pays.
 */
final class AccessLog {

  static final String LOGGER_NAME = "llmproxy.access";
  private static final Logger LINES = LoggerFactory.getLogger(LOGGER_NAME);
  private static final DateTimeFormatter CLF_TIME =
      DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ENGLISH).withZone(ZoneId.systemDefault());

  private final boolean json;
  /** Null unless {@code logging.access.script} is enabled. */
  private LogFilter filter;

  AccessLog(AccessLogConfig config) {
    this.json = "json".equals(config.format());
  }

  void filter(LogFilter filter) {
    this.filter = filter;
  }

  /** What one request looked like once answered; {@code user}, {@code model} and {@code backend} may be null. */
  record Entry(HttpServerRequest request, Instant received, String clientIp, String user, int status,
      long bytesSent, long latencyMs, String requestId, String model, String backend) {
  }

  void write(Entry entry) {
    Map<String, Object> fields = fields(entry);
    if (filter != null && !filter.keep(fields, requestView(entry))) {
      return;
    }
    LINES.info(json ? new JsonObject(fields).encode() : combinedLine(entry));
  }

  private static Map<String, Object> fields(Entry entry) {
    HttpServerRequest request = entry.request();
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("remote_addr", entry.clientIp());
    fields.put("user", entry.user());
    fields.put("time", entry.received().toString());
    fields.put("method", request.method().name());
    fields.put("path", request.path());
    fields.put("protocol", protocol(request.version()));
    fields.put("status", entry.status());
    fields.put("bytes_sent", entry.bytesSent());
    fields.put("referer", request.getHeader("Referer"));
    fields.put("user_agent", request.getHeader("User-Agent"));
    fields.put("request_time", entry.latencyMs() / 1000.0);
    fields.put("request_id", entry.requestId());
    fields.put("model", entry.model());
    fields.put("backend", entry.backend());
    fields.put("latency_ms", entry.latencyMs());
    return fields;
  }

  private static Map<String, Object> requestView(Entry entry) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put("method", entry.request().method().name());
    view.put("path", entry.request().path());
    view.put("client_ip", entry.clientIp());
    view.put("user_agent", entry.request().getHeader("User-Agent"));
    return view;
  }

  private static String combinedLine(Entry entry) {
    HttpServerRequest request = entry.request();
    StringBuilder line = new StringBuilder(160);
    line.append(orDash(entry.clientIp())).append(" - ").append(orDash(token(entry.user())))
        .append(" [").append(CLF_TIME.format(entry.received())).append("] \"")
        .append(request.method().name()).append(' ');
    quoted(line, request.path());
    line.append(' ').append(protocol(request.version())).append("\" ")
        .append(entry.status()).append(' ').append(entry.bytesSent()).append(" \"");
    quoted(line, orDash(request.getHeader("Referer")));
    line.append("\" \"");
    quoted(line, orDash(request.getHeader("User-Agent")));
    line.append("\" ").append(String.format(Locale.ROOT, "%.3f", entry.latencyMs() / 1000.0));
    return line.toString();
  }

  private static String protocol(HttpVersion version) {
    return switch (version) {
      case HTTP_1_0 -> "HTTP/1.0";
      case HTTP_2 -> "HTTP/2.0";
      default -> "HTTP/1.1";
    };
  }

  /** A field between quotes, escaped as nginx does: quotes, backslashes and control characters as {@code \xHH}. */
  private static void quoted(StringBuilder line, String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f) {
        line.append(String.format("\\x%02X", (int) c));
      } else {
        line.append(c);
      }
    }
  }

  /** The user field is not quoted: spaces would shift the columns a log parser expects. */
  private static String token(String value) {
    if (value == null) {
      return null;
    }
    StringBuilder out = new StringBuilder(value.length());
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      out.append(c <= ' ' || c == '"' || c == 0x7f ? '_' : c);
    }
    return out.toString();
  }

  private static String orDash(String value) {
    return value == null || value.isEmpty() ? "-" : value;
  }
}
