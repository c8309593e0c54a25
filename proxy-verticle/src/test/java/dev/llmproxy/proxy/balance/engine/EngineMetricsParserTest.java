package dev.llmproxy.proxy.balance.engine;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EngineMetricsParserTest {

  private static final long NOW = 123_456_789L;

  private static EngineLoad parse(String text) {
    Optional<EngineLoad> load = EngineMetricsParser.parse(text, NOW);
    assertTrue(load.isPresent(), "no load in:\n" + text);
    assertEquals(NOW, load.get().scrapedAtNanos());
    return load.get();
  }

  @Test
  void vllmNewerNamesSummedOverTwoModels() {
    EngineLoad load = parse("""
        # HELP vllm:num_requests_running Number of requests in model execution batches.
        # TYPE vllm:num_requests_running gauge
        vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
        vllm:num_requests_running{engine="0",model_name="Qwen/Qwen3-0.6B"} 2.0
        # HELP vllm:num_requests_waiting Number of requests waiting to be processed.
        # TYPE vllm:num_requests_waiting gauge
        vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.0
        vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen3-0.6B"} 4.0
        # HELP vllm:num_requests_waiting_by_reason Number of requests waiting, by reason.
        vllm:num_requests_waiting_by_reason{engine="0",model_name="Qwen/Qwen3-0.6B",reason="capacity"} 99.0
        # HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
        # TYPE vllm:kv_cache_usage_perc gauge
        vllm:kv_cache_usage_perc{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.25
        vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen3-0.6B"} 0.5
        # HELP vllm:prompt_tokens_total Number of prefill tokens processed.
        # TYPE vllm:prompt_tokens_total counter
        vllm:prompt_tokens_total{engine="0",model_name="Qwen/Qwen3-0.6B"} 8.128902e+06
        vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="Qwen/Qwen3-0.6B"} 17.0
        """);
    assertEquals("vllm", load.engine());
    assertEquals(5.0, load.waiting());
    assertEquals(5.0, load.running());
    assertEquals(0.5, load.kvCacheUsage(), "the fullest cache, not the sum");
  }

  @Test
  void vllmOlderKvName() {
    EngineLoad load = parse("""
        # HELP vllm:num_requests_running Number of requests currently running on GPU.
        # TYPE vllm:num_requests_running gauge
        vllm:num_requests_running{model_name="/models/llama-2-7b"} 0.0
        # HELP vllm:num_requests_swapped Number of requests swapped to CPU.
        # TYPE vllm:num_requests_swapped gauge
        vllm:num_requests_swapped{model_name="/models/llama-2-7b"} 0.0
        # HELP vllm:num_requests_waiting Number of requests waiting to be processed.
        # TYPE vllm:num_requests_waiting gauge
        vllm:num_requests_waiting{model_name="/models/llama-2-7b"} 2.0
        # HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.
        # TYPE vllm:gpu_cache_usage_perc gauge
        vllm:gpu_cache_usage_perc{model_name="/models/llama-2-7b"} 0.9375
        # HELP vllm:cpu_cache_usage_perc CPU KV-cache usage. 1 means 100 percent usage.
        vllm:cpu_cache_usage_perc{model_name="/models/llama-2-7b"} 0.0
        """);
    assertEquals(new EngineLoad("vllm", 2, 0, 0.9375, NOW), load);
  }

  @Test
  void vllmNewerKvNameWinsOverOlder() {
    EngineLoad load = parse("""
        vllm:gpu_cache_usage_perc{model_name="m"} 0.9
        vllm:kv_cache_usage_perc{model_name="m"} 0.1
        """);
    assertEquals(0.1, load.kvCacheUsage());
    assertTrue(Double.isNaN(load.waiting()) && Double.isNaN(load.running()), "not reported: NaN");
  }

  @Test
  void sglang() {
    EngineLoad load = parse("""
        # HELP sglang:prompt_tokens_total Number of prefill tokens processed.
        # TYPE sglang:prompt_tokens_total counter
        sglang:prompt_tokens_total{model_name="meta-llama/Llama-3.1-8B-Instruct"} 8.128902e+06
        # HELP sglang:num_running_reqs The number of running requests.
        # TYPE sglang:num_running_reqs gauge
        sglang:num_running_reqs{engine_type="unified",model_name="meta-llama/Llama-3.1-8B-Instruct",pp_rank="0",tp_rank="0"} 28.0
        # HELP sglang:token_usage The token usage
        # TYPE sglang:token_usage gauge
        sglang:token_usage{engine_type="unified",model_name="meta-llama/Llama-3.1-8B-Instruct",pp_rank="0",tp_rank="0"} 0.28
        # HELP sglang:num_queue_reqs The number of requests in the waiting queue
        # TYPE sglang:num_queue_reqs gauge
        sglang:num_queue_reqs{engine_type="unified",model_name="meta-llama/Llama-3.1-8B-Instruct",pp_rank="0",tp_rank="0"} 1.5e+01
        # HELP sglang:cache_hit_rate The cache hit rate
        sglang:cache_hit_rate{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.007507552643049313
        """);
    assertEquals(new EngineLoad("sglang", 15, 28, 0.28, NOW), load);
  }

  @Test
  void tgi() {
    EngineLoad load = parse("""
        # TYPE tgi_request_count counter
        tgi_request_count 1234
        # TYPE tgi_queue_size gauge
        tgi_queue_size 7
        # TYPE tgi_batch_current_size gauge
        tgi_batch_current_size 32
        # TYPE tgi_batch_current_max_tokens gauge
        tgi_batch_current_max_tokens 16000
        # TYPE tgi_request_duration histogram
        tgi_request_duration_bucket{le="0.1"} 0
        """);
    assertEquals("tgi", load.engine());
    assertEquals(7, load.waiting());
    assertEquals(32, load.running());
    assertTrue(Double.isNaN(load.kvCacheUsage()));
  }

  @Test
  void llamaCppAsItsServerWritesIt() {
    EngineLoad load = parse("""
        # HELP llamacpp:prompt_tokens_total Number of prompt tokens processed, excluding cached tokens
        # TYPE llamacpp:prompt_tokens_total counter
        llamacpp:prompt_tokens_total 41
        # HELP llamacpp:n_decode_total Total number of llama_decode() calls
        # TYPE llamacpp:n_decode_total counter
        llamacpp:n_decode_total 5012
        # HELP llamacpp:predicted_tokens_seconds Average generation throughput in tokens/s
        # TYPE llamacpp:predicted_tokens_seconds gauge
        llamacpp:predicted_tokens_seconds 93.4512
        # HELP llamacpp:requests_processing Number of requests processing
        # TYPE llamacpp:requests_processing gauge
        llamacpp:requests_processing 2
        # HELP llamacpp:requests_deferred Number of requests deferred
        # TYPE llamacpp:requests_deferred gauge
        llamacpp:requests_deferred 1
        # HELP llamacpp:n_busy_slots_per_decode Average number of busy slots per llama_decode() call
        # TYPE llamacpp:n_busy_slots_per_decode gauge
        llamacpp:n_busy_slots_per_decode 1.98
        """);
    assertEquals("llamacpp", load.engine());
    assertEquals(1, load.waiting());
    assertEquals(2, load.running());
    assertTrue(Double.isNaN(load.kvCacheUsage()), "newer builds have no KV ratio");

    EngineLoad older = parse("llamacpp:kv_cache_usage_ratio 0.125\nllamacpp:requests_processing 0\n");
    assertEquals(0.125, older.kvCacheUsage());
    assertEquals(0, older.running());
  }

  @Test
  void garbageAndUnknownMetricsGiveNothing() {
    assertFalse(EngineMetricsParser.parse("", NOW).isPresent());
    assertFalse(EngineMetricsParser.parse("<html><body>Not Found</body></html>", NOW).isPresent());
    assertFalse(EngineMetricsParser.parse("""
        # HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
        process_cpu_seconds_total 12.5
        vllm:num_requests_waitingX 3
        vllm:num_requests_waiting
        vllm:num_requests_waiting{model_name="unterminated} 3
        vllm:num_requests_running{model_name="m"} twelve
        vllm:num_requests_running{model_name="m"} 1..2
        vllm:num_requests_running NaN
        # vllm:num_requests_running 4
        """, NOW).isPresent());
    assertFalse(EngineMetricsParser.parse("\u0000\u00ff\n\n\r\n{}}\"\"\\", NOW).isPresent());
  }

  @Test
  void trickyLabelsValuesAndTimestamps() {
    EngineLoad load = parse("""
        vllm:num_requests_waiting{model_name="a \\"quoted\\" name, with} braces and spaces",x="\\\\"} 1.5e+03 1712345678901
        vllm:num_requests_waiting{model_name="Ünïcode naïve"} -0.5e1
          vllm:num_requests_running{model_name="tabs\tand # hash"}\t+Inf
        vllm:kv_cache_usage_perc{} 1.2\r
        """);
    assertEquals(1495, load.waiting());
    assertEquals(Double.POSITIVE_INFINITY, load.running());
    assertEquals(1.0, load.kvCacheUsage(), "clamped to 0..1");
  }

  @Test
  void valuesParseExactly() {
    String[] values = {"0", "0.0", "1", "-2", "+3", "3.25", ".5", "5.", "1e3", "1E-3", "1.5e+03", "8.128902e+06",
        "0.007507552643049313", "2.3518979474117756e+06", "123456789012345678901234567890", "1e-30", "1e300"};
    for (String value : values) {
      assertEquals(Double.parseDouble(value), EngineMetricsParser.parseValue(value, 0, value.length()), value);
    }
    assertEquals(Double.NEGATIVE_INFINITY, EngineMetricsParser.parseValue("-Inf", 0, 4));
    assertTrue(Double.isNaN(EngineMetricsParser.parseValue("NaN", 0, 3)));
    for (String bad : new String[] {"", "-", "e3", "1e", "1x", "0x10", "1d", "Infinite", "+"}) {
      assertTrue(Double.isNaN(EngineMetricsParser.parseValue(bad, 0, bad.length())), bad);
    }
  }

  @Test
  void scoreWeighsWaitingThenRunningThenKv() {
    EngineLoad idle = new EngineLoad("vllm", 0, 0, 0, NOW);
    EngineLoad fullCache = new EngineLoad("vllm", 0, 0, 1, NOW);
    EngineLoad oneRunning = new EngineLoad("vllm", 0, 1, 0.1, NOW);
    EngineLoad oneWaiting = new EngineLoad("vllm", 1, 0, 0, NOW);
    EngineLoad threeRunningFull = new EngineLoad("vllm", 0, 3, 1, NOW);
    assertTrue(idle.score() < fullCache.score());
    assertTrue(fullCache.score() < oneRunning.score() + 0.2);
    assertTrue(oneRunning.score() < oneWaiting.score());
    assertTrue(threeRunningFull.score() == oneWaiting.score());
    assertEquals(2.0, new EngineLoad("tgi", 0, 2, Double.NaN, NOW).score(), "NaN counts as 0");
  }

  @Test
  void freshness() {
    EngineLoad load = new EngineLoad("tgi", 0, 0, Double.NaN, 1_000);
    assertTrue(load.freshAt(1_000, 0));
    assertTrue(load.freshAt(3_000, 2_000));
    assertFalse(load.freshAt(3_001, 2_000));
    assertTrue(new EngineLoad("tgi", 0, 0, 0, Long.MAX_VALUE - 5).freshAt(Long.MIN_VALUE + 5, 20), "nanoTime wraps");
  }
}
