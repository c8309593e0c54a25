package dev.llmproxy.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The rolled copies of one {@code logging.*.file}: {@code path.N} when rolled by size, {@code path.yyyy-MM-dd.N}
 * or {@code path.yyyy-MM-dd_HH.N} when rolled daily or hourly. {@link #prune} keeps the newest {@code maxBackups}
 * of them (0: any number) and deletes those last written more than {@code maxAge} ago (zero: any age).
 * Runs at start and after each roll, on Logback's writer thread, never on an event loop.
 */
final class RolledFiles {

  private static final Pattern ROLLED_SUFFIX =
      Pattern.compile("\\.(\\d+|\\d{4}-\\d{2}-\\d{2}(_\\d{2})?\\.\\d+)(\\.gz)?");

  private final Path active;
  private final int maxBackups;
  private final Duration maxAge;

  RolledFiles(Path active, int maxBackups, Duration maxAge) {
    this.active = active.toAbsolutePath();
    this.maxBackups = maxBackups;
    this.maxAge = maxAge;
  }

  /** Deletes what the limits no longer allow; a file that cannot be read or deleted is left for the next time. */
  void prune(Instant now) {
    List<Path> rolled = rolledNewestFirst();
    for (int i = 0; i < rolled.size(); i++) {
      Path file = rolled.get(i);
      boolean beyondCount = maxBackups > 0 && i >= maxBackups;
      if (beyondCount || tooOld(file, now)) {
        try {
          Files.deleteIfExists(file);
        } catch (IOException e) {
          // Tried again after the next roll.
        }
      }
    }
  }

  private boolean tooOld(Path file, Instant now) {
    return !maxAge.isZero() && modified(file).toInstant().isBefore(now.minus(maxAge));
  }

  private List<Path> rolledNewestFirst() {
    Path dir = active.getParent();
    String prefix = active.getFileName().toString();
    List<Path> rolled = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      files.filter(f -> {
        String name = f.getFileName().toString();
        return name.startsWith(prefix) && ROLLED_SUFFIX.matcher(name.substring(prefix.length())).matches();
      }).forEach(rolled::add);
    } catch (IOException e) {
      return List.of();
    }
    rolled.sort(Comparator.comparing(RolledFiles::modified).reversed());
    return rolled;
  }

  private static FileTime modified(Path file) {
    try {
      return Files.getLastModifiedTime(file);
    } catch (IOException e) {
      return FileTime.fromMillis(Long.MAX_VALUE);
    }
  }
}
