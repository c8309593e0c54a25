package dev.llmproxy.common.storage;

/** What differs between the SQL drivers for the statements we write: the parameter placeholder. */
public enum Dialect {
  POSTGRES, MYSQL, SQLITE;

  /** The placeholder of the {@code index}-th parameter, counted from 1: {@code $1} on PostgreSQL, else {@code ?}. */
  public String placeholder(int index) {
    return this == POSTGRES ? "$" + index : "?";
  }

  /**
   * Checks a table or column name from the config before it is written into a statement: identifiers cannot be
   * bound as parameters, so only plain names (optionally schema-qualified) are accepted.
   */
  public static String identifier(String name) {
    if (name == null || !name.matches("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?")) {
      throw new IllegalArgumentException("not a plain SQL identifier: '" + name + "'");
    }
    return name;
  }
}
