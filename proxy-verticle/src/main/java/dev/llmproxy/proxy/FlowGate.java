package dev.llmproxy.proxy;

import java.util.HashMap;
import java.util.Map;

/**
 * {@code routing.flow_control}'s one queue for the JVM, shared by every proxy instance (event loop) and every config
 * generation: {@code max_queue} counts all of them, and the fair order spans them, so that a tenant whose
 * connection landed on another event loop is not served after this loop's own flood. Its state is used under its
 * lock ({@code synchronized (gate)}), except the two counts the path of an unsaturated request reads: nothing waits,
 * nothing is on its way to a backend.
 *
 * <p>A request taken from the queue is routed on its own event loop, maybe after this thread has let the lock go;
 * until then it is {@linkplain #pending pending} for its model, and counts against the room the next look sees.
 */
final class FlowGate {

  final FlowQueue<FlowControlStep.Waiter> queue = new FlowQueue<>();
  /** The queue's size, for a look without the lock. */
  private volatile int waiting;
  /** Requests taken from the queue and not yet routed, by model; guarded by the lock. */
  private final Map<String, int[]> pendingByModel = new HashMap<>();
  private volatile int pending;

  /** Nothing waits and nothing is on its way: a request with room may go at once. */
  boolean idle() {
    return waiting == 0 && pending == 0;
  }

  boolean anyWaiting() {
    return waiting > 0;
  }

  /** Call under the lock after changing the queue. */
  void queueChanged() {
    waiting = queue.size();
  }

  /** Under the lock: requests for {@code model} taken from the queue and not routed yet. */
  int pending(String model) {
    int[] count = pendingByModel.get(model);
    return count == null ? 0 : count[0];
  }

  /** Under the lock: a request for {@code model} was taken from the queue. */
  void taken(String model) {
    pendingByModel.computeIfAbsent(model, m -> new int[1])[0]++;
    pending++;
  }

  /** A taken request was routed (or left): its backend's counts have it now. */
  synchronized void routed(String model) {
    int[] count = pendingByModel.get(model);
    if (count != null && --count[0] <= 0) {
      pendingByModel.remove(model);
    }
    pending--;
  }
}
