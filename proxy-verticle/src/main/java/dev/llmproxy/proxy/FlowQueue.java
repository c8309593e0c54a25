package dev.llmproxy.proxy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * The requests waiting in {@code routing.flow_control}: a queue per priority band, highest band first; inside a band
 * one FIFO per tenant, and the tenants served by start-time fair queueing, so that one tenant's thousand requests do
 * not starve another's one. Every request, queued or sent at once, takes a start tag: the larger of the tag last
 * sent ({@link #virtualTime}) and the tenant's previous tag + 1; a band sends the smallest tag first, the oldest on a
 * tie. A tenant arriving while another's flood waits thus goes before all of the flood that has not started, not
 * after the flood's next request as in a plain round (the bound the fairness tests hold: one service time).
 *
 * <p>Not thread-safe except {@link #sentDirectly}: the queue is used under its {@link FlowGate}'s lock.
 */
final class FlowQueue<W extends FlowQueue.Entry> {

  interface Entry {
    int band();

    String tenant();
  }

  /** Tenants' next tags are forgotten past this many, those that no longer matter first. */
  private static final int TENANTS_KEPT = 4096;

  /** A queued entry and its start tag. */
  private record Tagged<W>(W entry, long tag, long seq) {
  }

  /** Band to its tenants' FIFOs. */
  private final TreeMap<Integer, LinkedHashMap<String, ArrayDeque<Tagged<W>>>> bands = new TreeMap<>();
  /** Each recent tenant's next start tag (its last + 1); read and written without the lock by the direct path. */
  private final ConcurrentHashMap<String, Long> nextTag = new ConcurrentHashMap<>();
  /** The start tag of the request sent last: a tenant with no recent request starts here. */
  private final AtomicLong virtualTime = new AtomicLong();
  private long seq;
  private int size;

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** A request of {@code tenant} sent without waiting: it takes its tag all the same (thread-safe). */
  void sentDirectly(String tenant) {
    virtualTime.accumulateAndGet(startTag(tenant), Math::max);
  }

  private long startTag(String tenant) {
    if (nextTag.size() > TENANTS_KEPT) {
      forgetIdleTenants();
    }
    long now = virtualTime.get();
    return nextTag.merge(tenant, now + 1, (previous, fresh) -> Math.max(previous, fresh - 1) + 1) - 1;
  }

  /** A tenant whose next tag is at most one past the virtual time is nearly the same as one never seen. */
  private void forgetIdleTenants() {
    long now = virtualTime.get();
    nextTag.values().removeIf(next -> next <= now + 1);
    if (nextTag.size() > TENANTS_KEPT) {
      nextTag.clear(); // a burst of distinct tenants: forget them all rather than grow
    }
  }

  void add(W entry) {
    Tagged<W> tagged = new Tagged<>(entry, startTag(entry.tenant()), seq++);
    bands.computeIfAbsent(entry.band(), b -> new LinkedHashMap<>())
        .computeIfAbsent(entry.tenant(), t -> new ArrayDeque<>()).addLast(tagged);
    size++;
  }

  /** @return true when the entry was queued (and is not any more) */
  boolean remove(W entry) {
    LinkedHashMap<String, ArrayDeque<Tagged<W>>> tenants = bands.get(entry.band());
    ArrayDeque<Tagged<W>> queue = tenants == null ? null : tenants.get(entry.tenant());
    if (queue == null || !queue.removeIf(tagged -> tagged.entry == entry)) {
      return false;
    }
    if (queue.isEmpty()) {
      tenants.remove(entry.tenant());
      if (tenants.isEmpty()) {
        bands.remove(entry.band());
      }
    }
    size--;
    return true;
  }

  /**
   * Takes the next entry that may go: highest band first; in a band the tenant's head with the smallest tag (the
   * oldest on a tie); a head that may not go (its model has no room) lets the next smallest try.
   */
  W next(Predicate<W> mayGo) {
    for (Map.Entry<Integer, LinkedHashMap<String, ArrayDeque<Tagged<W>>>> band : bands.descendingMap().entrySet()) {
      ArrayDeque<Tagged<W>> best = null;
      for (ArrayDeque<Tagged<W>> queue : band.getValue().values()) {
        Tagged<W> head = queue.peekFirst();
        if ((best == null || before(head, best.peekFirst())) && mayGo.test(head.entry)) {
          best = queue;
        }
      }
      if (best != null) {
        Tagged<W> head = best.pollFirst();
        virtualTime.accumulateAndGet(head.tag, Math::max);
        if (best.isEmpty()) {
          band.getValue().remove(head.entry.tenant());
          if (band.getValue().isEmpty()) {
            bands.remove(band.getKey());
          }
        }
        size--;
        return head.entry;
      }
    }
    return null;
  }

  private static boolean before(Tagged<?> a, Tagged<?> b) {
    return a.tag < b.tag || a.tag == b.tag && a.seq < b.seq;
  }

  /**
   * The entry to shed to make room for one of {@code band}: in the lowest band below it, the newest entry of the
   * tenant with the most waiting (the one that waited least, of the tenant that holds most). Null when no band is
   * lower.
   */
  W shedBelow(int band) {
    Map.Entry<Integer, LinkedHashMap<String, ArrayDeque<Tagged<W>>>> lowest = bands.firstEntry();
    if (lowest == null || lowest.getKey() >= band) {
      return null;
    }
    ArrayDeque<Tagged<W>> largest = null;
    for (ArrayDeque<Tagged<W>> queue : lowest.getValue().values()) {
      if (largest == null || queue.size() > largest.size()) {
        largest = queue;
      }
    }
    W victim = largest.peekLast().entry;
    remove(victim);
    return victim;
  }

  /** Removes and returns the entries the predicate selects (those past their deadline). */
  List<W> removeIf(Predicate<W> expired) {
    List<W> removed = new ArrayList<>();
    for (Iterator<LinkedHashMap<String, ArrayDeque<Tagged<W>>>> b = bands.values().iterator(); b.hasNext(); ) {
      LinkedHashMap<String, ArrayDeque<Tagged<W>>> tenants = b.next();
      for (Iterator<ArrayDeque<Tagged<W>>> t = tenants.values().iterator(); t.hasNext(); ) {
        ArrayDeque<Tagged<W>> queue = t.next();
        for (Iterator<Tagged<W>> e = queue.iterator(); e.hasNext(); ) {
          W entry = e.next().entry;
          if (expired.test(entry)) {
            e.remove();
            removed.add(entry);
            size--;
          }
        }
        if (queue.isEmpty()) {
          t.remove();
        }
      }
      if (tenants.isEmpty()) {
        b.remove();
      }
    }
    return removed;
  }
}
