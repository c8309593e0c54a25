package dev.llmproxy.proxy.limit;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The one Lua script Redis runs for {@code rate_limit.storage: redis}, atomically, with Redis's own clock
 * ({@code TIME}), so that the clocks of the gateway nodes do not matter.
 *
 * <p>Each scope (the gateway, a key's bucket, a route's counter for a key or client address) has five keys, passed as
 * {@code KEYS} in this order:
 * <ul>
 *   <li>{@code <base>:bucket}: the token bucket, a hash with {@code tokens} and {@code last_update} (ms), as the
 *       original LLMProxy kept it</li>
 *   <li>{@code <base>:rpm}, {@code <base>:tpm}: prefixes of per-minute counters {@code <prefix>:<minute>}
 *       (minute = unix ms / 60000), read as a sliding window of this minute and the last; they expire after two
 *       minutes</li>
 *   <li>{@code <base>:conc}: a sorted set of the concurrency slots held, scored by when each expires, so that
 *       the slots of a gateway that died come back; expired ones are dropped on every check</li>
 *   <li>{@code <base>:win}: the prefix of a route limit's counters {@code <prefix>:<window>} (window = unix ms /
 *       window length), read as a sliding window of this window and the last, expiring after two windows</li>
 * </ul>
 *
 * <p>{@code ARGV[1] = "admit"}: {@code ARGV[2]} scopes, {@code ARGV[3]} slot id, {@code ARGV[4]} slot lifetime
 * (ms), {@code ARGV[5]} tokens to reserve, then per scope: per second, burst, per minute, tokens per minute,
 * max concurrent, requests per window, window length (ms) (0 = none). Checks every limit of every scope, then counts
 * the request in all or none. Returns {@code {admitted, scope, limit (1 rps, 2 rpm, 3 tpm, 4 concurrent, 5 window),
 * retry ms, minute, ms into minute, then per scope: requests used (-1 without a per-minute limit), tokens used,
 * requests used in the window (-1 without one), ms until the window ends}}.
 *
 * <p>{@code ARGV[1] = "refresh"}: {@code ARGV[2]} scopes, {@code ARGV[3]} slot id, {@code ARGV[4]} slot lifetime
 * (ms): a holder that is still alive moves its slot's expiry on, so that a stream longer than the lifetime keeps it.
 *
 * <p>{@code ARGV[1] = "complete"}: {@code ARGV[2]} scopes, {@code ARGV[3]} slot id, {@code ARGV[4]} the minute
 * of the reservation, {@code ARGV[5]} the token correction, then per scope 1 when it counted tokens: frees the
 * slot and corrects the reservation if its minute is still kept.
 */
final class RedisLimitScript {

  static final String SOURCE = """
      local mode = ARGV[1]
      local scopes = tonumber(ARGV[2])
      if mode == 'complete' then
        local slot = ARGV[3]
        local minute = ARGV[4]
        local correction = tonumber(ARGV[5])
        for i = 0, scopes - 1 do
          redis.call('ZREM', KEYS[i * 5 + 4], slot)
          if correction ~= 0 and ARGV[6 + i] == '1' then
            local key = KEYS[i * 5 + 3] .. ':' .. minute
            if redis.call('EXISTS', key) == 1 then
              redis.call('INCRBY', key, correction)
            end
          end
        end
        return 1
      end
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      if mode == 'refresh' then
        local lifetime = tonumber(ARGV[4])
        for i = 0, scopes - 1 do
          local key = KEYS[i * 5 + 4]
          if redis.call('ZSCORE', key, ARGV[3]) then
            redis.call('ZADD', key, 'XX', now + lifetime, ARGV[3])
            redis.call('PEXPIRE', key, lifetime)
          end
        end
        return 1
      end
      local minute = math.floor(now / 60000)
      local into = now - minute * 60000
      local share = 1 - into / 60000
      local slot = ARGV[3]
      local slotTtl = tonumber(ARGV[4])
      local reserve = tonumber(ARGV[5])
      local buckets = {}
      local windows = {}
      local used = {}
      for i = 0, scopes - 1 do
        local a = 6 + i * 7
        local rps, burst, rpm, tpm, conc = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]),
            tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
        local win, winMs = tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
        local k = i * 5
        if rps > 0 then
          local capacity = burst > 0 and burst or 2 * rps
          local state = redis.call('HMGET', KEYS[k + 1], 'tokens', 'last_update')
          local tokens = tonumber(state[1]) or capacity
          local last = tonumber(state[2]) or now
          tokens = math.min(capacity, tokens + math.max(0, now - last) / 1000 * rps)
          if tokens < 1 then
            return {0, i, 1, math.ceil((1 - tokens) / rps * 1000), minute, into}
          end
          buckets[i] = tokens
        end
        local rpmUsed = -1
        if rpm > 0 then
          rpmUsed = (tonumber(redis.call('GET', KEYS[k + 2] .. ':' .. minute)) or 0)
              + (tonumber(redis.call('GET', KEYS[k + 2] .. ':' .. (minute - 1))) or 0) * share
          if rpmUsed + 1 > rpm then
            return {0, i, 2, 60000 - into, minute, into}
          end
        end
        local tpmUsed = 0
        if tpm > 0 then
          tpmUsed = math.max(0, (tonumber(redis.call('GET', KEYS[k + 3] .. ':' .. minute)) or 0)
              + (tonumber(redis.call('GET', KEYS[k + 3] .. ':' .. (minute - 1))) or 0) * share)
          if tpmUsed + reserve > tpm then
            return {0, i, 3, 60000 - into, minute, into, math.floor(tpmUsed)}
          end
        end
        if conc > 0 then
          redis.call('ZREMRANGEBYSCORE', KEYS[k + 4], '-inf', now)
          if redis.call('ZCARD', KEYS[k + 4]) >= conc then
            return {0, i, 4, 1000, minute, into}
          end
        end
        local winUsed = -1
        local winLeft = 0
        if win > 0 then
          local w = math.floor(now / winMs)
          local winInto = now - w * winMs
          local cur = tonumber(redis.call('GET', KEYS[k + 5] .. ':' .. w)) or 0
          local prev = tonumber(redis.call('GET', KEYS[k + 5] .. ':' .. (w - 1))) or 0
          winUsed = cur + prev * (1 - winInto / winMs)
          if winUsed + 1 > win then
            local wait
            if cur + 1 <= win and prev > 0 then
              wait = winMs * (cur + prev + 1 - win) / prev - winInto
            else
              local share = 0
              if cur > 0 then share = math.max(0, (cur + 1 - win) / cur) end
              wait = winMs - winInto + share * winMs
            end
            return {0, i, 5, math.max(0, math.ceil(wait)), minute, into}
          end
          windows[i] = w
          winLeft = winMs - winInto
        end
        used[i * 4 + 1] = math.ceil(rpmUsed + 1)
        used[i * 4 + 2] = math.ceil(tpmUsed + reserve)
        used[i * 4 + 3] = win > 0 and math.ceil(winUsed + 1) or -1
        used[i * 4 + 4] = winLeft
      end
      for i = 0, scopes - 1 do
        local a = 6 + i * 7
        local rps, burst, rpm, tpm, conc = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]),
            tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
        local win, winMs = tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
        local k = i * 5
        if rps > 0 then
          local capacity = burst > 0 and burst or 2 * rps
          redis.call('HSET', KEYS[k + 1], 'tokens', tostring(buckets[i] - 1), 'last_update', now)
          redis.call('PEXPIRE', KEYS[k + 1], math.ceil(capacity / rps * 1000) + 1000)
        end
        if rpm > 0 then
          local rpmKey = KEYS[k + 2] .. ':' .. minute
          redis.call('INCR', rpmKey)
          redis.call('PEXPIRE', rpmKey, 120000)
        end
        if tpm > 0 and reserve > 0 then
          local tpmKey = KEYS[k + 3] .. ':' .. minute
          redis.call('INCRBY', tpmKey, reserve)
          redis.call('PEXPIRE', tpmKey, 120000)
        end
        if conc > 0 then
          redis.call('ZADD', KEYS[k + 4], now + slotTtl, slot)
          redis.call('PEXPIRE', KEYS[k + 4], slotTtl)
        end
        if win > 0 then
          local winKey = KEYS[k + 5] .. ':' .. windows[i]
          redis.call('INCR', winKey)
          redis.call('PEXPIRE', winKey, 2 * winMs)
        end
      end
      local answer = {1, -1, 0, 0, minute, into}
      for i = 1, scopes * 4 do
        answer[6 + i] = used[i]
      end
      return answer
      """;

  static final String SHA = sha1(SOURCE);

  private RedisLimitScript() {
  }

  private static String sha1(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
