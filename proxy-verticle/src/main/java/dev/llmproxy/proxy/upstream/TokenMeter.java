package dev.llmproxy.proxy.upstream;

/** Counts the tokens of an answer as they reach the client, against what the request may still use. */
public interface TokenMeter {

  /** Counts {@code tokens} just relayed; true when the request's allowance is now spent. */
  boolean spend(long tokens);
}
