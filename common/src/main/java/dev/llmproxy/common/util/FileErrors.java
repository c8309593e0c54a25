package dev.llmproxy.common.util;

import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** Why a file could not be read, in words a user acts on: never the exception's class name or stack. */
public final class FileErrors {

  private FileErrors() {
  }

  public static String describe(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof NoSuchFileException || t instanceof NotDirectoryException) {
        return "no such file";
      }
      if (t instanceof AccessDeniedException) {
        return "permission denied";
      }
      if (t instanceof FileSystemException fs && fs.getReason() != null && fs.getReason().contains("directory")) {
        return "is a directory";
      }
      if (t.getMessage() != null && t.getMessage().contains("Is a directory")) {
        return "is a directory";
      }
    }
    return "cannot be read";
  }
}
