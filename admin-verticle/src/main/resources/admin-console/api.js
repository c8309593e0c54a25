// The documented admin API, with the token from sessionStorage (never a URL or a cookie).
const TOKEN = 'llmproxy.admin.token';
const BASE = new URL('../', document.baseURI).pathname; // /admin/ from /admin/ui/

export const token = {
  get: () => sessionStorage.getItem(TOKEN),
  set: (value) => sessionStorage.setItem(TOKEN, value),
  clear: () => sessionStorage.removeItem(TOKEN),
};

export class ApiError extends Error {
  constructor(status, text) {
    super(text);
    this.status = status;
  }
}

/** GET when body is undefined, else POST with the JSON body; resolves to the reply's data. */
export async function call(path, body) {
  const headers = { 'X-Admin-Token': token.get() || '' };
  const init = { headers, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    init.method = 'POST';
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch (e) {
    throw new ApiError(0, 'the gateway did not answer: ' + e.message);
  }
  let reply = null;
  try {
    reply = await response.json();
  } catch (e) {
    throw new ApiError(response.status, 'unexpected answer (HTTP ' + response.status + ')');
  }
  if (!response.ok || reply.success === false) {
    throw new ApiError(response.status, explain(response.status, reply));
  }
  return reply.data;
}

function explain(status, reply) {
  // the admin API's own errors: {success:false, error}; the main port's key check answers in OpenAI's shape
  if (typeof reply.error === 'string') {
    if (status === 403 && reply.error === 'invalid admin token') return 'Wrong admin token.';
    if (status === 401 && reply.error === 'missing X-Admin-Token') return 'Enter the admin token.';
    const errors = Array.isArray(reply.errors) ? ': ' + reply.errors.map(e => typeof e === 'string' ? e : JSON.stringify(e)).join('; ') : '';
    return reply.error + errors;
  }
  if (reply.error && typeof reply.error.message === 'string') {
    return 'This port asks for an API key before /admin/ (' + reply.error.message + '). Add "/admin/" to '
      + 'auth.skip_paths (the admin token still guards every call) or serve the admin API on admin.listen.';
  }
  return 'HTTP ' + status;
}
