// GET /api/v1/events read with fetch() and parsed here: the browser's EventSource cannot
// send the Authorization header. Resumes with Last-Event-ID after a dropped connection.

import { ApiError, headers, url } from './api.js';

/** Thrown when the stream cannot be used at all (not there, not SSE, no streaming bodies). */
export class StreamUnavailable extends Error {
}

/**
 * Opens the stream once and reads it until it ends. Calls onOpen when the answer arrived,
 * onEvent for each event. Resolves when the server closes the stream; rejects with
 * ApiError (401 and other problems), StreamUnavailable, or a network error.
 */
export async function readEvents({ lastEventId, signal, onOpen, onEvent }) {
	const extra = { Accept: 'text/event-stream' };
	if (lastEventId != null) {
		extra['Last-Event-ID'] = String(lastEventId);
	}
	const response = await fetch(url('api/v1/events'), { headers: headers(extra), cache: 'no-store', signal });
	if (response.status === 401) {
		let problem = null;
		try {
			problem = await response.json();
		}
		catch {
			// no body: the status says enough
		}
		throw new ApiError(401, problem);
	}
	const type = response.headers.get('Content-Type') || '';
	if (!response.ok || !type.startsWith('text/event-stream') || !response.body) {
		throw new StreamUnavailable(`The event stream answered HTTP ${response.status} ${type}`);
	}
	onOpen();
	const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
	let buffer = '';
	let event = blankEvent();
	for (;;) {
		const { value, done } = await reader.read();
		if (done) {
			return;
		}
		buffer += value;
		let newline;
		while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
			if (buffer[newline] === '\r' && newline === buffer.length - 1) {
				break; // the \n of a \r\n may come with the next chunk
			}
			const line = buffer.slice(0, newline);
			buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
			if (line === '') {
				if (event.data.length > 0) {
					onEvent({ id: event.id, type: event.type || 'message', data: event.data.join('\n') });
				}
				event = blankEvent();
				continue;
			}
			if (line.startsWith(':')) {
				continue;
			}
			const colon = line.indexOf(':');
			const field = colon < 0 ? line : line.slice(0, colon);
			let text = colon < 0 ? '' : line.slice(colon + 1);
			if (text.startsWith(' ')) {
				text = text.slice(1);
			}
			if (field === 'data') {
				event.data.push(text);
			}
			else if (field === 'event') {
				event.type = text;
			}
			else if (field === 'id') {
				event.id = text;
			}
		}
	}
}

function blankEvent() {
	return { id: null, type: null, data: [] };
}
