// One named result per client call: its value, or the error the client raised (message and status).
export function checker(results) {
  return async function check(name, fn) {
    try {
      results[name] = await fn();
    } catch (error) {
      results[name] = { error: String(error?.message ?? error), status: error?.status ?? null };
    }
  };
}
