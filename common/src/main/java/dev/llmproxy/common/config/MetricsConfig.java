package dev.llmproxy.common.config;
// TEMPORARY STUB
public record MetricsConfig(boolean enabled, String path, java.util.List<String> customLabels, java.util.List<Double> latencyBuckets) {}
