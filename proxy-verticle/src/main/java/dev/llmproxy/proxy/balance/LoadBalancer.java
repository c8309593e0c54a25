package dev.llmproxy.proxy.balance;

import dev.llmproxy.common.model.Backend;

import java.util.List;

/** Picks one backend for a request. One instance per proxy verticle instance: no locking. */
public interface LoadBalancer {

  /** Called when a new snapshot arrives; {@code usable} holds only healthy backends with weight. */
  void update(List<Backend> usable);

  /** The backend for the next request, or null when there is none. */
  Backend choose();
}
