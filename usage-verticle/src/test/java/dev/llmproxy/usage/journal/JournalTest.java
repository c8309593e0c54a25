package dev.llmproxy.usage.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The journal's files on a real disk: append, reopen, torn tails, segments, cursors, compaction. */
class JournalTest {

  private static List<JsonObject> records(int from, int count) {
    List<JsonObject> out = new ArrayList<>();
    for (int i = from; i < from + count; i++) {
      out.add(new JsonObject().put("request_id", "req-" + i).put("total_tokens", i));
    }
    return out;
  }

  private static List<String> ids(List<JournalEntry> entries) {
    return entries.stream().map(e -> e.record().getString("request_id")).toList();
  }

  @Test
  void appendedRecordsSurviveReopenInOrder(@TempDir Path dir) throws IOException {
    try (Journal journal = Journal.open(dir, 1 << 20)) {
      assertEquals(1, journal.append(records(0, 3)));
      assertEquals(4, journal.append(records(3, 2)));
      assertEquals(6, journal.nextSeq());
    }
    try (Journal journal = Journal.open(dir, 1 << 20)) {
      assertEquals(6, journal.nextSeq());
      List<JournalEntry> all = journal.read(1, 100);
      assertEquals(List.of("req-0", "req-1", "req-2", "req-3", "req-4"), ids(all));
      assertEquals(List.of(1L, 2L, 3L, 4L, 5L), all.stream().map(JournalEntry::seq).toList());
      assertEquals(List.of("req-2", "req-3"), ids(journal.read(3, 2)));
      assertEquals(6, journal.append(records(5, 1)));
      assertEquals(List.of("req-4", "req-5"), ids(journal.read(5, 10)));
    }
  }

  @Test
  void aTornTailIsCutOffAndTheNextAppendContinuesAfterTheLastGoodRecord(@TempDir Path dir) throws IOException {
    try (Journal journal = Journal.open(dir, 1 << 20)) {
      journal.append(records(0, 3));
    }
    Path segment = onlySegment(dir);
    long goodSize = Files.size(segment);
    // A write cut short by kill -9: a header announcing more bytes than the file holds.
    try (FileChannel channel = FileChannel.open(segment, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
      channel.write(ByteBuffer.allocate(20).putInt(500).putInt(1234).putLong(4).putInt(77).flip());
    }
    try (Journal journal = Journal.open(dir, 1 << 20)) {
      assertEquals(goodSize, Files.size(segment), "torn tail not truncated");
      assertEquals(4, journal.nextSeq());
      assertEquals(4, journal.append(records(3, 1)));
      assertEquals(List.of("req-0", "req-1", "req-2", "req-3"), ids(journal.read(1, 10)));
    }
  }

  @Test
  void aRecordWithABadChecksumEndsTheJournal(@TempDir Path dir) throws IOException {
    try (Journal journal = Journal.open(dir, 1 << 20)) {
      journal.append(records(0, 3));
    }
    Path segment = onlySegment(dir);
    long size = Files.size(segment);
    try (FileChannel channel = FileChannel.open(segment, StandardOpenOption.WRITE)) {
      channel.write(ByteBuffer.wrap(new byte[] {'X'}), size - 3); // a flipped byte inside the last record
    }
    try (Journal journal = Journal.open(dir, 1 << 20)) {
      assertEquals(3, journal.nextSeq());
      assertEquals(List.of("req-0", "req-1"), ids(journal.read(1, 10)));
      assertTrue(Files.size(segment) < size);
    }
  }

  @Test
  void segmentsRollAndAreDeletedOnceEveryCursorPassedThem(@TempDir Path dir) throws IOException {
    try (Journal journal = Journal.open(dir, 200)) {
      for (int i = 0; i < 10; i++) {
        journal.append(records(i * 3, 3));
      }
      assertTrue(journal.segmentCount() >= 5, "segments: " + journal.segmentCount());
      List<JournalEntry> all = journal.read(1, 1000);
      assertEquals(30, all.size());
      assertEquals(records(0, 30).stream().map(r -> r.getString("request_id")).toList(), ids(all));
      // Reading in small steps crosses segment boundaries without losing or repeating anything.
      List<JournalEntry> stepped = new ArrayList<>();
      long from = 1;
      while (from < journal.nextSeq()) {
        List<JournalEntry> batch = journal.read(from, 4);
        stepped.addAll(batch);
        from = batch.get(batch.size() - 1).seq() + 1;
      }
      assertEquals(ids(all), ids(stepped));

      journal.writeCursor("reporter-a", 14);
      journal.writeCursor("reporter-b", 20);
      assertEquals(14, journal.readCursor("reporter-a"));
      assertEquals(20, journal.readCursor("reporter-b"));
      int before = journal.segmentCount();
      assertTrue(journal.compact(14) > 0);
      assertTrue(journal.segmentCount() < before);
      assertTrue(journal.firstSeq() <= 14 && journal.firstSeq() > 1, "first kept: " + journal.firstSeq());
      assertEquals("req-13", journal.read(14, 1).get(0).record().getString("request_id"));
      // A reader behind what was deleted starts at the oldest record kept.
      assertEquals(journal.firstSeq(), journal.read(1, 1).get(0).seq());
      assertEquals(journal.firstSeq(), journal.readCursor("never-saved"));
      journal.compact(Long.MAX_VALUE);
      assertEquals(1, journal.segmentCount(), "the active segment is kept");
    }
    try (Journal journal = Journal.open(dir, 200)) {
      assertEquals(31, journal.nextSeq());
      // A saved cursor below what was deleted reads as the oldest record kept.
      assertEquals(journal.firstSeq(), journal.readCursor("reporter-b"));
      assertTrue(journal.firstSeq() > 20);
    }
  }

  @Test
  void aSecondWriterIsRefusedWhileReadersMayLookAtAnyTime(@TempDir Path dir) throws IOException {
    try (Journal journal = Journal.open(dir, 1 << 20)) {
      journal.append(records(0, 2));
      IOException refused = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
          () -> Journal.open(dir, 1 << 20));
      assertTrue(refused.getMessage().contains("in use"), refused.getMessage());
      assertEquals(List.of("req-0", "req-1"), ids(Journal.readAll(dir)));
    }
    try (Journal reopened = Journal.open(dir, 1 << 20)) {
      assertEquals(3, reopened.nextSeq());
    }
  }

  @Test
  void aCursorSpoiledInTheMiddleOfAWriteFallsBackToItsPreviousValue(@TempDir Path dir) throws IOException {
    try (Journal journal = Journal.open(dir, 1 << 20)) {
      journal.append(records(0, 20));
      journal.writeCursor("reporter-x", 5);
      journal.writeCursor("reporter-x", 9);
      assertEquals(9, journal.readCursor("reporter-x"));
    }
    Path cursor = dir.resolve("reporter-x.cursor");
    byte[] bytes = Files.readAllBytes(cursor);
    assertEquals(48, bytes.length);
    // 9 went to the second slot; tear it.
    bytes[30] ^= 0x5a;
    Files.write(cursor, bytes);
    assertEquals(5, Journal.peekCursor(dir, "reporter-x"));
    try (Journal journal = Journal.open(dir, 1 << 20)) {
      assertEquals(5, journal.readCursor("reporter-x"));
      journal.writeCursor("reporter-x", 12); // into the spoiled slot, keeping 5 until it is done
      assertEquals(12, journal.readCursor("reporter-x"));
    }
    assertEquals(12, Journal.peekCursor(dir, "reporter-x"));
    try (Journal journal = Journal.open(dir, 1 << 20)) {
      journal.writeCursor("reporter-x", 3); // moving a cursor back (an operator replaying) is honoured
    }
    assertEquals(3, Journal.peekCursor(dir, "reporter-x"));
    assertEquals(-1, Journal.peekCursor(dir, "nobody"));
  }

  private static Path onlySegment(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      List<Path> segments = files.filter(p -> p.toString().endsWith(".seg")).toList();
      assertEquals(1, segments.size());
      return segments.get(0);
    }
  }

  /**
   * Entries are now written into one buffer kept between groups, the checksum computed over it in place: a segment
   * an earlier gateway wrote (the checksum over a ByteBuffer's seq, then the JSON) must read back whole, not be cut
   * as a corrupt tail, and take new entries after its own.
   */
  @Test
  void aSegmentAnEarlierGatewayWroteIsKeptWholeAndAppendedTo(@TempDir Path dir) throws IOException {
    ByteBuffer segment = ByteBuffer.allocate(1024);
    for (long seq = 1; seq <= 2; seq++) {
      byte[] json = ("{\"request_id\":\"old-" + seq + "\"}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
      java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
      crc.update(ByteBuffer.allocate(8).putLong(0, seq));
      crc.update(json);
      segment.putInt(json.length).putInt((int) crc.getValue()).putLong(seq).put(json);
    }
    Files.write(dir.resolve(String.format("%020d", 1) + ".seg"),
        java.util.Arrays.copyOf(segment.array(), segment.position()));
    try (Journal journal = Journal.open(dir, 1 << 20)) {
      assertEquals(3, journal.nextSeq(), "nothing of the earlier segment was cut");
      assertEquals(3, journal.appendWritten(2, (index, out) -> {
        out.writeStartObject();
        out.writeStringField("request_id", "new-" + index);
        out.writeEndObject();
      }));
    }
    assertEquals(List.of("old-1", "old-2", "new-0", "new-1"), ids(Journal.readAll(dir)));
  }

  /** A group larger than the buffer's first size grows it; the next, small group still lands whole after it. */
  @Test
  void aGroupLargerThanTheBufferAndTheOneAfterItReadBackWhole(@TempDir Path dir) throws IOException {
    String filler = "x".repeat(1000);
    try (Journal journal = Journal.open(dir, 64L << 20)) {
      journal.appendWritten(300, (index, out) -> {
        out.writeStartObject();
        out.writeStringField("request_id", "big-" + index);
        out.writeStringField("filler", filler);
        out.writeEndObject();
      });
      journal.append(records(0, 2));
    }
    try (Journal journal = Journal.open(dir, 64L << 20)) {
      assertEquals(303, journal.nextSeq());
      List<JournalEntry> all = journal.read(1, 1000);
      assertEquals(302, all.size());
      assertEquals("big-299", all.get(299).record().getString("request_id"));
      assertEquals(filler, all.get(299).record().getString("filler"));
      assertEquals(List.of("req-0", "req-1"), ids(all.subList(300, 302)));
    }
  }
}
