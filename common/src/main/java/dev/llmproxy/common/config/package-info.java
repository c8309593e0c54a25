/**
 * The configuration: one immutable record per section of the YAML reference (seed 000), loaded by
 * {@link dev.llmproxy.common.config.ConfigLoader}.
 *
 * <p>Loading runs in this order, each step in its own class: {@code ${VAR}} substitution
 * ({@code EnvSubstitution}), moving deprecated fields of older layouts ({@code DeprecatedFields}),
 * {@code LLMPROXY_*} overrides ({@code EnvOverrides}), reading with defaults and unknown-field
 * warnings ({@code ConfigReader} and each record's {@code read}), then whole-config checks
 * ({@code ConfigValidator}). Every problem carries its config path; any error means no config.
 *
 * <p>Each record's {@code toJson()} writes the canonical form (every field, snake_case, durations
 * as "30s"), which {@link dev.llmproxy.common.config.GatewayConfig#fromJson} reads back; that is the
 * form sent over the event bus.
 */
package dev.llmproxy.common.config;
