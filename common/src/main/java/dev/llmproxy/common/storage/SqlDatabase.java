package dev.llmproxy.common.storage;

import io.vertx.sqlclient.Pool;

/** A named database of {@code storage.databases}: its pool and the dialect to write statements in. */
public record SqlDatabase(String name, Pool pool, Dialect dialect) {
}
