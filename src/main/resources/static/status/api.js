// Calls to the node's API with the bearer token kept in sessionStorage.
// The token is sent in the Authorization header only: never in a URL, never logged.

const TOKEN_KEY = 'lockstep.apiToken';

export function token() {
	return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
	sessionStorage.setItem(TOKEN_KEY, value);
}

export function forgetToken() {
	sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer that was not 2xx, carrying the API's problem (title, detail) when there is one. */
export class ApiError extends Error {
	constructor(status, problem) {
		super(describeProblem(status, problem));
		this.status = status;
		this.problem = problem;
	}
}

export function describeProblem(status, problem) {
	if (problem && (problem.title || problem.detail)) {
		return [problem.title, problem.detail].filter(Boolean).join(': ');
	}
	return `The node answered HTTP ${status}`;
}

export function url(path) {
	return new URL(path, document.baseURI);
}

export function headers(extra = {}) {
	const result = { Accept: 'application/json', ...extra };
	const value = token();
	if (value) {
		result.Authorization = `Bearer ${value}`;
	}
	return result;
}

async function read(response) {
	const type = response.headers.get('Content-Type') || '';
	if (type.includes('json')) {
		try {
			return await response.json();
		}
		catch {
			return null;
		}
	}
	return null;
}

/**
 * GETs a JSON document. Health groups answer 503 with their JSON when DOWN, which is
 * data rather than a failure: pass acceptStatus for those.
 */
export async function getJson(path, { acceptStatus = [] } = {}) {
	const response = await fetch(url(path), { headers: headers(), cache: 'no-store' });
	const body = await read(response);
	if (response.ok || acceptStatus.includes(response.status)) {
		return body;
	}
	throw new ApiError(response.status, body);
}

/** POSTs a JSON body (or none); the answer is the operation report or a problem. */
export async function postJson(path, body) {
	const init = { method: 'POST', headers: headers(), cache: 'no-store' };
	if (body !== undefined) {
		init.headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(body);
	}
	const response = await fetch(url(path), init);
	const result = await read(response);
	if (response.ok) {
		return result;
	}
	throw new ApiError(response.status, result);
}
