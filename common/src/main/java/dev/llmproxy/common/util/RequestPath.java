package dev.llmproxy.common.util;

/**
 * The one check of a request's path, made before anything reads it (auth's {@code skip_paths}, routing, the
 * forward). The gateway never rewrites a path: it refuses every spelling that a backend or a framework could read
 * as a different path than the gateway does, so that the raw path the gateway matches is the path the backend
 * serves. Refused: dot segments ({@code .}, {@code ..}), empty segments ({@code //}), {@code ;} path parameters
 * ({@code /..;/} is {@code /../} to some servers), backslashes, and percent-escapes of anything that has a plainer
 * spelling or structure ({@code %2e}, {@code %2f}, {@code %5c}, {@code %3b}, {@code %25} and so any double
 * encoding, letters, digits, controls). Escapes of other characters ({@code %20}, UTF-8 bytes) pass.
 * Validation uses the same check on {@code auth.skip_paths}: an entry it refuses could never match.
 */
public final class RequestPath {

  private RequestPath() {
  }

  /** Null when the path may be served as it is; else why not, for the client's 400. */
  public static String refusal(String path) {
    if (path == null || !path.startsWith("/")) {
      return "the path must start with '/'";
    }
    int segmentStart = 1;
    for (int i = 1; i <= path.length(); i++) {
      char c = i < path.length() ? path.charAt(i) : '/';
      if (c == '/') {
        String reason = segmentRefusal(path, segmentStart, i);
        if (reason != null) {
          return reason;
        }
        segmentStart = i + 1;
      } else if (c == ';') {
        return "the path must not contain ';' parameters";
      } else if (c == '\\') {
        return "the path must not contain '\\'";
      } else if (c == '%') {
        String reason = escapeRefusal(path, i);
        if (reason != null) {
          return reason;
        }
        i += 2;
      }
    }
    return null;
  }

  private static String segmentRefusal(String path, int start, int end) {
    int length = end - start;
    if (length == 0) {
      // One trailing '/' is a path of its own (/v1/models/); an empty segment inside is not.
      return end < path.length() ? "the path must not contain empty segments ('//')" : null;
    }
    if (path.charAt(start) == '.' && (length == 1 || length == 2 && path.charAt(start + 1) == '.')) {
      return "the path must not contain '.' or '..' segments";
    }
    return null;
  }

  private static String escapeRefusal(String path, int at) {
    int high = at + 2 < path.length() ? Character.digit(path.charAt(at + 1), 16) : -1;
    int low = high < 0 ? -1 : Character.digit(path.charAt(at + 2), 16);
    if (low < 0) {
      return "the path has a malformed percent-escape";
    }
    int decoded = high * 16 + low;
    if (decoded == '/' || decoded == '\\' || decoded == ';' || decoded == '%') {
      return "the path must not contain encoded '/', '\\', ';' or '%'";
    }
    if (decoded < 0x20 || decoded == 0x7f) {
      return "the path must not contain encoded control characters";
    }
    if (Character.isLetterOrDigit(decoded) && decoded < 0x80 || decoded == '.' || decoded == '-' || decoded == '_'
        || decoded == '~') {
      return "the path must not percent-encode letters, digits or '.', '-', '_', '~'";
    }
    return null;
  }
}
