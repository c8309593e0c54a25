package dev.llmproxy.proxy.limit;

/**
 * The limit of one request's route and whose counter it takes.
 *
 * @param bucket the counter's identity: the window, the route and the key (or client address), never the rate, so
 *               that a reload changing only the number keeps what was counted, and one changing the window or the
 *               route starts afresh
 * @param path   the route as configured (normalised), for the client's message
 * @param per    {@code second}, {@code minute}, {@code hour} or {@code day}
 * @param perKey counted for the request's key (else for its client address)
 */
public record RouteScope(String bucket, String path, String per, boolean perKey, Limits limits) {
}
