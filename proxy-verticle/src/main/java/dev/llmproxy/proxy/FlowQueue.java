package dev.llmproxy.proxy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The requests waiting in one proxy instance: a queue per priority band, highest band first; inside a band one
 * FIFO per tenant, served round-robin, so that one tenant's thousand requests do not starve another's one.
 * Lives on one event loop.
 */
final class FlowQueue<W extends FlowQueue.Entry> {

  interface Entry {
    int band();

    String tenant();
  }

  /** Band to its tenants, in their round-robin order (the next tenant first). */
  private final TreeMap<Integer, LinkedHashMap<String, ArrayDeque<W>>> bands = new TreeMap<>();
  private int size;

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  void add(W entry) {
    bands.computeIfAbsent(entry.band(), b -> new LinkedHashMap<>())
        .computeIfAbsent(entry.tenant(), t -> new ArrayDeque<>()).addLast(entry);
    size++;
  }

  /** @return true when the entry was queued (and is not any more) */
  boolean remove(W entry) {
    LinkedHashMap<String, ArrayDeque<W>> tenants = bands.get(entry.band());
    ArrayDeque<W> queue = tenants == null ? null : tenants.get(entry.tenant());
    if (queue == null || !queue.remove(entry)) {
      return false;
    }
    dropIfEmpty(entry.band(), tenants, entry.tenant(), queue);
    size--;
    return true;
  }

  /**
   * Takes the next entry that may go: highest band first, tenants of a band in turn, each tenant's oldest first;
   * a tenant's head that may not go (its model has no free backend) lets the next tenant's try.
   */
  W next(Predicate<W> mayGo) {
    for (Map.Entry<Integer, LinkedHashMap<String, ArrayDeque<W>>> band : bands.descendingMap().entrySet()) {
      for (Map.Entry<String, ArrayDeque<W>> tenant : band.getValue().entrySet()) {
        W head = tenant.getValue().peekFirst();
        if (mayGo.test(head)) {
          ArrayDeque<W> queue = tenant.getValue();
          queue.pollFirst();
          String name = tenant.getKey();
          band.getValue().remove(name);
          if (!queue.isEmpty()) {
            band.getValue().put(name, queue); // to the back of the round
          } else if (band.getValue().isEmpty()) {
            bands.remove(band.getKey());
          }
          size--;
          return head;
        }
      }
    }
    return null;
  }

  /**
   * The entry to shed to make room for one of {@code band}: in the lowest band below it, the newest entry of the
   * tenant with the most waiting (the one that waited least, of the tenant that holds most). Null when no band is
   * lower.
   */
  W shedBelow(int band) {
    Map.Entry<Integer, LinkedHashMap<String, ArrayDeque<W>>> lowest = bands.firstEntry();
    if (lowest == null || lowest.getKey() >= band) {
      return null;
    }
    ArrayDeque<W> largest = null;
    for (ArrayDeque<W> queue : lowest.getValue().values()) {
      if (largest == null || queue.size() > largest.size()) {
        largest = queue;
      }
    }
    W victim = largest.peekLast();
    remove(victim);
    return victim;
  }

  /** Removes and returns the entries the predicate selects (those past their deadline). */
  List<W> removeIf(Predicate<W> expired) {
    List<W> removed = new ArrayList<>();
    for (Iterator<Map.Entry<Integer, LinkedHashMap<String, ArrayDeque<W>>>> b = bands.entrySet().iterator(); b.hasNext(); ) {
      LinkedHashMap<String, ArrayDeque<W>> tenants = b.next().getValue();
      for (Iterator<ArrayDeque<W>> t = tenants.values().iterator(); t.hasNext(); ) {
        ArrayDeque<W> queue = t.next();
        for (Iterator<W> e = queue.iterator(); e.hasNext(); ) {
          W entry = e.next();
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

  private void dropIfEmpty(int band, LinkedHashMap<String, ArrayDeque<W>> tenants, String tenant, ArrayDeque<W> queue) {
    if (queue.isEmpty()) {
      tenants.remove(tenant);
      if (tenants.isEmpty()) {
        bands.remove(band);
      }
    }
  }
}
