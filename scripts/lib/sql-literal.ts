/**
 * `wrangler d1 execute` takes SQL text, not bound parameters. This inlines the parameters of
 * the Worker's own statements (numbered `?N` placeholders) as escaped SQL literals, so the
 * scripts run exactly the statements the Worker runs.
 */

export type SqlValue = string | number | null;

export function sqlLiteral(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('cannot inline a non-finite number');
    return String(value);
  }
  return `'${value.replaceAll("'", "''")}'`;
}

/** Replaces each `?N` with the N-th parameter (1-based). Every placeholder must have a value. */
export function inlineSql(sql: string, params: readonly SqlValue[]): string {
  return sql.replace(/\?(\d+)/g, (_match, index: string) => {
    const position = Number(index) - 1;
    if (position < 0 || position >= params.length) throw new Error(`no parameter for ?${index}`);
    return sqlLiteral(params[position] as SqlValue);
  });
}
