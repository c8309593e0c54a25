package dev.llmproxy.usage.journal;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.json.jackson.JacksonCodec;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.llmproxy.common.model.StreamedJson;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable usage journal: segment files {@code <first seq>.seg} of entries
 * {@code [int length][int crc32c][long seq][length bytes of JSON]}, the checksum covering seq and JSON, so that a
 * torn tail left by {@code kill -9} (or a power loss) is detected on open and cut off. Readers keep their own
 * cursors ({@code <name>.cursor}: the next seq they want); segments every cursor has passed are deleted.
 *
 * <p>Blocking file I/O. Two threads may use it at once, and no more: one <em>writer</em> ({@link #append}) and
 * one <em>reader</em> ({@link #read}, the cursors, {@link #compact}), so that appends never wait behind deliveries.
 * A reader sees only records whose fsync finished ({@link #nextSeq()}).
 */
public final class Journal implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Journal.class);
  private static final String SEGMENT_SUFFIX = ".seg";
  private static final String CURSOR_SUFFIX = ".cursor";
  static final int HEADER_BYTES = 16;
  /** Larger than any usage record; a length above it can only be garbage. */
  static final int MAX_ENTRY_BYTES = 16 * 1024 * 1024;
  /** Read positions remembered for the next read from a seq, one per reader in practice. */
  private static final int MAX_HINTS = 64;
  /** Mixed into a cursor slot's check value, so that zeros or garbage never pass for a cursor. */
  private static final long CURSOR_MAGIC = 0x4c4c4d50726f7879L;

  /** Where the entry of a seq starts: which segment (its first seq) and the byte position in it. */
  private record Hint(long segment, long position) {
  }

  private final Path dir;
  private final long segmentBytes;
  /** First seq of each segment to its file; the last one is being appended to. Shared by writer and reader. */
  private final ConcurrentSkipListMap<Long, Path> segments = new ConcurrentSkipListMap<>();
  // Reader side only:
  private final Map<Long, Hint> positionHints = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Long, Hint> eldest) {
      return size() > MAX_HINTS;
    }
  };
  private final Map<String, CursorFile> cursors = new HashMap<>();
  // Writer side only:
  private final GroupBuffer group = new GroupBuffer();
  private FileChannel lockChannel;
  private FileLock lock;
  private FileChannel active;
  private long activeSize;
  /** The seq the next append gets: every seq below it is durable. Written by the writer after each fsync. */
  private volatile long nextSeq;

  private Journal(Path dir, long segmentBytes) {
    this.dir = dir;
    this.segmentBytes = segmentBytes;
  }

  /**
   * Opens (or creates) the journal in {@code dir}, truncating a torn or corrupt tail of the last segment.
   *
   * @param segmentBytes a segment is closed and a new one started once it is this large
   * @throws IOException also when another process (or verticle) has the journal open
   */
  public static Journal open(Path dir, long segmentBytes) throws IOException {
    Files.createDirectories(dir);
    Journal journal = new Journal(dir, segmentBytes);
    journal.lock();
    try {
      journal.load();
    } catch (IOException | RuntimeException e) {
      journal.close();
      throw e;
    }
    return journal;
  }

  /** Two writers would interleave their records: a second process (or verticle) on the same folder is refused. */
  private void lock() throws IOException {
    lockChannel = FileChannel.open(dir.resolve("LOCK"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    try {
      lock = lockChannel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      lockChannel.close();
      throw new IOException("usage journal " + dir + " is in use by another gateway (or verticle)");
    }
  }

  /**
   * Every intact record of a journal folder, read without taking it over: nothing is locked or truncated, so it
   * may run beside the gateway that writes it (for tests and inspection).
   */
  public static List<JournalEntry> readAll(Path dir) throws IOException {
    List<JournalEntry> out = new ArrayList<>();
    for (Map.Entry<Long, Path> segment : listSegments(dir).entrySet()) {
      try (FileChannel channel = FileChannel.open(segment.getValue(), StandardOpenOption.READ)) {
        scan(channel, segment.getKey(), segment.getKey(), Long.MAX_VALUE, 0, Integer.MAX_VALUE, out);
      }
    }
    return out;
  }

  private static TreeMap<Long, Path> listSegments(Path dir) throws IOException {
    TreeMap<Long, Path> found = new TreeMap<>();
    try (Stream<Path> files = Files.list(dir)) {
      files.filter(p -> p.getFileName().toString().endsWith(SEGMENT_SUFFIX)).forEach(p -> {
        String name = p.getFileName().toString();
        found.put(Long.parseLong(name.substring(0, name.length() - SEGMENT_SUFFIX.length())), p);
      });
    }
    return found;
  }

  private void load() throws IOException {
    segments.putAll(listSegments(dir));
    if (segments.isEmpty()) {
      startSegment(1);
      return;
    }
    Map.Entry<Long, Path> last = segments.lastEntry();
    active = FileChannel.open(last.getValue(), StandardOpenOption.READ, StandardOpenOption.WRITE);
    long size = active.size();
    Scan scan = scan(active, last.getKey(), Long.MAX_VALUE, Long.MAX_VALUE, 0, Integer.MAX_VALUE, null);
    if (scan.endPosition < size) {
      LOG.warn("usage journal: cut a torn or corrupt tail of {} byte(s) off {} (after seq {})",
          size - scan.endPosition, last.getValue().getFileName(), scan.nextSeq - 1);
      active.truncate(scan.endPosition);
      active.force(true);
    }
    activeSize = scan.endPosition;
    active.position(activeSize);
    nextSeq = scan.nextSeq;
  }

  private void startSegment(long firstSeq) throws IOException {
    Path file = dir.resolve(String.format("%020d", firstSeq) + SEGMENT_SUFFIX);
    active = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    active.truncate(0);
    activeSize = 0;
    syncDirectory();
    segments.put(firstSeq, file);
    nextSeq = firstSeq;
  }

  /** Writer: appends records and fsyncs them. @return the seq of the first one */
  public long append(List<JsonObject> records) throws IOException {
    return appendWritten(records.size(), (index, out) -> JacksonCodec.encodeJson(records.get(index), out));
  }

  /** Writes the JSON of a group's {@code index}-th record through {@code out}. */
  @FunctionalInterface
  public interface EntryWriter {
    void write(int index, JsonGenerator out) throws IOException;
  }

  /**
   * Writer: appends {@code count} records, each written by {@code entries} straight into the group's buffer (kept
   * between groups: no array per record, none per group), in one write and one fsync. @return the first seq
   */
  public long appendWritten(int count, EntryWriter entries) throws IOException {
    if (activeSize >= segmentBytes) {
      active.close();
      startSegment(nextSeq);
    }
    long first = nextSeq;
    long seq = first;
    group.reset();
    try (JsonGenerator out = StreamedJson.generator(group)) {
      for (int i = 0; i < count; i++) {
        int start = group.size();
        group.skip(HEADER_BYTES);
        entries.write(i, out);
        out.flush();
        int length = group.size() - start - HEADER_BYTES;
        if (length > MAX_ENTRY_BYTES) {
          throw new IOException("usage record " + seq + " is " + length + " bytes, above " + MAX_ENTRY_BYTES);
        }
        group.header(start, length, checksum(seq, group.array(), start + HEADER_BYTES, length), seq);
        seq++;
      }
    }
    ByteBuffer buffer = ByteBuffer.wrap(group.array(), 0, group.size());
    while (buffer.hasRemaining()) {
      active.write(buffer);
    }
    active.force(false);
    activeSize += group.size();
    nextSeq = seq;
    group.release();
    return first;
  }

  /**
   * The writer's bytes of one group: entries are written after a header's room, which is filled in once the entry's
   * length is known. Grows as groups need; an unusually large group's array is let go after it.
   */
  private static final class GroupBuffer extends OutputStream {
    private static final int KEPT = 1 << 20;
    private byte[] bytes = new byte[64 * 1024];
    private int size;

    @Override
    public void write(int b) {
      room(1);
      bytes[size++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int offset, int length) {
      room(length);
      System.arraycopy(b, offset, bytes, size, length);
      size += length;
    }

    void skip(int count) {
      room(count);
      size += count;
    }

    void header(int at, int length, int crc, long seq) {
      ByteBuffer.wrap(bytes, at, HEADER_BYTES).putInt(length).putInt(crc).putLong(seq);
    }

    private void room(int more) {
      if (size + more > bytes.length) {
        bytes = Arrays.copyOf(bytes, Math.max(size + more, bytes.length * 2));
      }
    }

    void reset() {
      size = 0;
    }

    void release() {
      if (bytes.length > KEPT) {
        bytes = new byte[64 * 1024];
      }
    }

    int size() {
      return size;
    }

    byte[] array() {
      return bytes;
    }
  }

  /** The seq the next append gets; every seq below it is durable and may be read. */
  public long nextSeq() {
    return nextSeq;
  }

  /** The oldest seq still kept. */
  public long firstSeq() {
    return segments.firstKey();
  }

  /** Number of segment files, for tests and logs. */
  public int segmentCount() {
    return segments.size();
  }

  /**
   * Reader: up to {@code max} durable entries from {@code fromSeq} on (from the oldest kept when {@code fromSeq}
   * was deleted).
   */
  public List<JournalEntry> read(long fromSeq, int max) throws IOException {
    List<JournalEntry> out = new ArrayList<>();
    long durable = nextSeq;
    long from = Math.max(fromSeq, firstSeq());
    while (out.size() < max && from < durable) {
      Map.Entry<Long, Path> segment = segments.floorEntry(from);
      Long nextSegment = segments.higherKey(segment.getKey());
      Hint hint = positionHints.remove(from);
      long position = hint != null && hint.segment() == segment.getKey() ? hint.position() : 0;
      Scan scan;
      // A channel of its own: the writer may close the active segment's channel when it rolls over.
      try (FileChannel channel = FileChannel.open(segment.getValue(), StandardOpenOption.READ)) {
        scan = scan(channel, segment.getKey(), from, durable, position, max - out.size(), out);
      }
      if (scan.nextSeq > from) {
        from = scan.nextSeq;
        positionHints.put(from, new Hint(segment.getKey(), scan.endPosition));
      } else if (position > 0) {
        positionHints.put(from, new Hint(segment.getKey(), position));
      }
      if (out.size() < max) {
        // This segment is exhausted: go on with the next one, if any.
        if (nextSegment == null) {
          break;
        }
        from = Math.max(from, nextSegment);
      }
    }
    return out;
  }

  private record Scan(long nextSeq, long endPosition) {
  }

  /**
   * Walks a segment from {@code position} (an entry boundary whose seq is known to be at or below
   * {@code wantFrom}), collecting up to {@code max} entries with {@code wantFrom <= seq < below} into {@code out}
   * (null: collect nothing). Stops at the first entry at or past {@code below}, torn, failing its checksum or
   * breaking the seq sequence.
   *
   * @return the seq after the last good entry seen and the position after it
   */
  private static Scan scan(FileChannel channel, long segmentFirstSeq, long wantFrom, long below, long position,
      int max, List<JournalEntry> out) throws IOException {
    long size = channel.size();
    long pos = position;
    long expected = -1;
    ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
    int taken = 0;
    while (pos + HEADER_BYTES <= size && taken < max) {
      header.clear();
      readFully(channel, header, pos);
      header.flip();
      int length = header.getInt();
      int crc = header.getInt();
      long seq = header.getLong();
      if (length < 0 || length > MAX_ENTRY_BYTES || pos + HEADER_BYTES + length > size || seq >= below) {
        break;
      }
      if (expected < 0) {
        expected = pos == 0 ? segmentFirstSeq : seq;
      }
      if (seq != expected) {
        break;
      }
      ByteBuffer body = ByteBuffer.allocate(length);
      readFully(channel, body, pos + HEADER_BYTES);
      byte[] json = body.array();
      if (checksum(seq, json) != crc) {
        break;
      }
      if (out != null && seq >= wantFrom) {
        out.add(new JournalEntry(seq, new JsonObject(Buffer.buffer(json))));
        taken++;
      }
      pos += HEADER_BYTES + length;
      expected = seq + 1;
    }
    return new Scan(expected < 0 ? (pos == 0 ? segmentFirstSeq : wantFrom) : expected, pos);
  }

  private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
    long at = position;
    while (buffer.hasRemaining()) {
      int n = channel.read(buffer, at);
      if (n < 0) {
        throw new IOException("unexpected end of journal segment");
      }
      at += n;
    }
  }

  private static int checksum(long seq, byte[] json) {
    return checksum(seq, json, 0, json.length);
  }

  private static int checksum(long seq, byte[] bytes, int offset, int length) {
    CRC32C crc = new CRC32C();
    for (int shift = 56; shift >= 0; shift -= 8) {
      crc.update((int) (seq >>> shift)); // the seq's 8 bytes, big-endian, as ByteBuffer.putLong writes them
    }
    crc.update(bytes, offset, length);
    return (int) crc.getValue();
  }

  /**
   * Reader: deletes every segment whose entries all lie below {@code belowSeq} (the lowest cursor of the enabled
   * readers). The segment being appended to is never deleted. @return how many segments were deleted
   */
  public int compact(long belowSeq) throws IOException {
    int deleted = 0;
    while (segments.size() > 1) {
      Map.Entry<Long, Path> oldest = segments.firstEntry();
      long nextFirst = segments.higherKey(oldest.getKey());
      if (nextFirst > belowSeq) {
        break;
      }
      segments.remove(oldest.getKey());
      Files.deleteIfExists(oldest.getValue());
      positionHints.keySet().removeIf(seq -> seq < nextFirst);
      deleted++;
    }
    return deleted;
  }

  /** Reader: the saved cursor of a reader, the next seq it wants; the oldest seq kept when it has none yet. */
  public long readCursor(String reader) throws IOException {
    long saved = cursor(reader).read();
    return saved < 0 ? firstSeq() : Math.max(saved, firstSeq());
  }

  /**
   * Reader: saves a reader's cursor in place, without a rename (which costs a metadata update on every save).
   * Not fsynced: it survives a killed process (the page cache does); after a power loss a reader may repeat what
   * it delivered since the OS last wrote the page — at least once, never lost.
   */
  public void writeCursor(String reader, long nextSeq) throws IOException {
    cursor(reader).write(nextSeq);
  }

  private CursorFile cursor(String reader) throws IOException {
    CursorFile file = cursors.get(reader);
    if (file == null) {
      file = new CursorFile(cursorPath(dir, reader));
      cursors.put(reader, file);
    }
    return file;
  }

  private static Path cursorPath(Path dir, String reader) {
    return dir.resolve(reader.replaceAll("[^A-Za-z0-9_.-]", "_") + CURSOR_SUFFIX);
  }

  /**
   * A reader's saved cursor read straight from its file, without opening the journal (for tests and inspection,
   * beside a running gateway). @return -1 when there is none
   */
  public static long peekCursor(Path dir, String reader) throws IOException {
    Path path = cursorPath(dir, reader);
    if (!Files.exists(path)) {
      return -1;
    }
    CursorFile file = new CursorFile(path);
    try {
      return file.read();
    } finally {
      file.close();
    }
  }

  /**
   * A cursor in two 24-byte slots, {@code [long seq][long generation][long check]}, written in turn; the valid slot
   * with the higher generation wins. A write torn by a power loss spoils at most the slot being written, and the
   * other one still holds the previous value.
   */
  private static final class CursorFile {
    private static final int SLOT = 24;
    private final FileChannel channel;
    private int nextSlot;
    private long generation;

    CursorFile(Path path) throws IOException {
      channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      read(); // so that the first write goes to the slot not holding the current value
    }

    /** @return the saved value, or -1 when there is none */
    long read() throws IOException {
      long best = -1;
      long bestGeneration = -1;
      int bestSlot = 1;
      ByteBuffer slot = ByteBuffer.allocate(SLOT);
      for (int i = 0; i < 2; i++) {
        slot.clear();
        if (channel.read(slot, (long) i * SLOT) < SLOT) {
          continue;
        }
        long seq = slot.getLong(0);
        long gen = slot.getLong(8);
        if (slot.getLong(16) == (seq ^ Long.rotateLeft(gen, 32) ^ CURSOR_MAGIC) && gen > bestGeneration) {
          best = seq;
          bestGeneration = gen;
          bestSlot = i;
        }
      }
      nextSlot = 1 - bestSlot;
      generation = Math.max(0, bestGeneration);
      return best;
    }

    void write(long seq) throws IOException {
      generation++;
      ByteBuffer slot = ByteBuffer.allocate(SLOT).putLong(seq).putLong(generation)
          .putLong(seq ^ Long.rotateLeft(generation, 32) ^ CURSOR_MAGIC).flip();
      while (slot.hasRemaining()) {
        channel.write(slot, (long) nextSlot * SLOT + slot.position());
      }
      nextSlot = 1 - nextSlot;
    }

    void close() throws IOException {
      channel.close();
    }
  }

  private void syncDirectory() {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // Not every file system lets a directory be fsynced; the segment's own fsync still holds its data.
    }
  }

  /** Call when neither the writer nor the reader is using it any more. */
  @Override
  public void close() throws IOException {
    try {
      for (CursorFile cursor : cursors.values()) {
        cursor.close();
      }
      cursors.clear();
      if (active != null && active.isOpen()) {
        active.force(false);
        active.close();
      }
    } finally {
      if (lockChannel != null && lockChannel.isOpen()) {
        lockChannel.close(); // releases the lock
      }
    }
  }
}
