package dev.llmproxy.admin.api;

import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * A whole number of an admin request body, range-checked before it is narrowed: {@code 4294967297} must never be
 * stored as {@code 1}. JSON gives Integer, Long, BigInteger (past a long) or Double/BigDecimal (with a fraction or
 * an exponent); each is compared exactly, so nothing wraps or rounds on the way to a column.
 */
final class WholeNumber {

  private WholeNumber() {
  }

  /** {@code value} when it is a whole number from {@code min} to {@code max}; else a 400 that names {@code field}. */
  static long of(Object value, String field, long min, long max) {
    BigDecimal exact = exact(value);
    if (exact == null || exact.stripTrailingZeros().scale() > 0) {
      throw outOfRange(field, min, max);
    }
    if (exact.compareTo(BigDecimal.valueOf(min)) < 0 || exact.compareTo(BigDecimal.valueOf(max)) > 0) {
      throw outOfRange(field, min, max);
    }
    return exact.longValueExact();
  }

  private static BigDecimal exact(Object value) {
    if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
      return BigDecimal.valueOf(((Number) value).longValue());
    }
    if (value instanceof BigInteger big) {
      return new BigDecimal(big);
    }
    if (value instanceof BigDecimal big) {
      return big;
    }
    if (value instanceof Double || value instanceof Float) {
      double d = ((Number) value).doubleValue();
      return Double.isFinite(d) ? new BigDecimal(d) : null;
    }
    return null;
  }

  private static AdminError outOfRange(String field, long min, long max) {
    return AdminError.badRequest(field + " must be a whole number from " + min + " to " + max);
  }
}
