package dev.llmproxy.common.util;

import java.net.BindException;

/** Why a server could not listen, as one line naming the config field and the address: never an exception's text. */
public final class ListenErrors {

  private ListenErrors() {
  }

  /** A failure for {@code field} ({@code server.listen}, {@code admin.listen}) that says why {@code address} is refused. */
  public static IllegalStateException of(String field, String address, Throwable failure) {
    return new IllegalStateException(field + ": cannot listen on " + address + " (" + reason(failure) + ")", failure);
  }

  private static String reason(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      String message = t.getMessage() == null ? "" : t.getMessage();
      if (message.contains("already in use")) {
        return "the port is already in use by another process";
      }
      if (message.contains("Permission denied") || message.contains("ermission")) {
        return "permission denied: ports below 1024 need privileges";
      }
      if (message.contains("Cannot assign requested address") || message.contains("assign")) {
        return "this machine has no such address";
      }
      if (t instanceof BindException) {
        return "the address cannot be bound";
      }
    }
    return "the address cannot be bound";
  }
}
