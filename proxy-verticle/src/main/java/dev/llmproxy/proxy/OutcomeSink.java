package dev.llmproxy.proxy;

/** Something that learns how every API exchange ended: metrics, logs, the usage record. Runs on the event loop. */
interface OutcomeSink {

  void ended(ExchangeOutcome outcome);
}
