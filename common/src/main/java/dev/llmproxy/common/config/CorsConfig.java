package dev.llmproxy.common.config;
// TEMPORARY STUB
public record CorsConfig(boolean enabled, java.util.List<String> allowedOrigins, java.util.List<String> allowedMethods, java.util.List<String> allowedHeaders, java.util.List<String> exposeHeaders, boolean allowCredentials, int maxAge) {}
