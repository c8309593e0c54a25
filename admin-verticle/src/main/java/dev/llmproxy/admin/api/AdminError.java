package dev.llmproxy.admin.api;

/** A failure the caller should see with this status and message (bad input, missing key, conflict...). */
public final class AdminError extends RuntimeException {

  private final int status;

  public AdminError(int status, String message) {
    super(message, null, false, false);
    this.status = status;
  }

  public int status() {
    return status;
  }

  public static AdminError badRequest(String message) {
    return new AdminError(400, message);
  }

  public static AdminError notFound(String message) {
    return new AdminError(404, message);
  }

  public static AdminError conflict(String message) {
    return new AdminError(409, message);
  }
}
