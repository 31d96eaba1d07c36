// The status page: asks for the token, reads the node's state, keeps it current from the
// event stream (or, only when the stream cannot be used, by polling every 2 s), and runs
// the lifecycle actions behind a confirmation.

import { ApiError, forgetToken, getJson, postJson, setToken, token } from './api.js';
import { readEvents, StreamUnavailable } from './stream.js';
import { CheckpointChart, checkpointPoints } from './chart.js';
import { renderDisks, renderHealth, renderNode, renderOperations, renderParticipants, renderPeer } from './view.js';

const POLL_MILLIS = 2000;
/** What is not streamed (the peer's reachability, health, uptime) is re-read this often while streaming. */
const SLOW_REFRESH_MILLIS = 10000;
const RECONNECT_MILLIS = 1000;
/** Failed connections in a row after which the page polls instead, and how often it then tries the stream again. */
const STREAM_ATTEMPTS = 3;
const STREAM_RETRY_MILLIS = 30000;

const CONSEQUENCES = {
	'start-primary': 'Starting as primary makes this node\'s disks the source: the peer\'s secondary is synchronised from them and every write is forwarded to it from then on.',
	'start-secondary': 'Starting as secondary makes this node\'s disks follow the primary: whatever differs is overwritten with the primary\'s data, and the exports serve the primary\'s view.',
	checkpoint: 'A checkpoint waits for every forwarded write and makes the secondary\'s view equal to the primary\'s disks; it fails if forwarding has stopped.',
	stop: 'A planned stop drains and flushes the secondary, then serves this node\'s disks alone: the pair is no longer replicated.',
	failover: 'Failover commits this node\'s view as of the last checkpoint plus its own writes; the peer\'s later writes are discarded.',
};

const TITLES = { start: 'Start replication', checkpoint: 'Checkpoint', stop: 'Stop replication', failover: 'Failover' };

const state = {
	generation: 0,
	status: null,
	info: null,
	pair: null,
	pairConfigured: false,
	pairReports: [],
	disks: [],
	operations: [],
	health: [],
	liveSync: new Map(),
	lastEventId: null,
	mode: 'stopped',
	controller: null,
	timers: [],
};

let chart;

function $(id) {
	return document.getElementById(id);
}

function setConnection(text, kind) {
	const element = $('connection');
	element.textContent = text;
	element.className = `connection ${kind}`;
}

/** Shows a message; one about reading the node (kind 'read') goes away once a read succeeds again. */
function showAlert(text, kind = 'action') {
	$('alert-text').textContent = text;
	$('alert').dataset.kind = kind;
	$('alert').hidden = false;
	$('alert').scrollIntoView({ block: 'nearest' });
}

function hideAlert() {
	$('alert').hidden = true;
}

// ---- token ----------------------------------------------------------------

function askToken(message) {
	stopUpdates();
	$('main').hidden = true;
	setConnection('Not connected', 'down');
	const error = $('token-error');
	error.hidden = !message;
	error.textContent = message || '';
	const input = $('token-input');
	input.value = '';
	if (!$('token-dialog').open) {
		$('token-dialog').showModal();
	}
	input.focus();
}

function tokenRefused(error) {
	forgetToken();
	askToken(`The node refused this token (HTTP 401). ${error.problem && error.problem.detail ? error.problem.detail : 'Enter the API token of this node.'}`);
}

// ---- reading the node -------------------------------------------------------

async function readHealth() {
	const groups = [];
	for (const name of ['liveness', 'readiness']) {
		try {
			// 503 is how a probe sees a DOWN group: the body still says why.
			groups.push({ name, health: await getJson(`actuator/health/${name}`, { acceptStatus: [503] }) });
		}
		catch (error) {
			groups.push({ name, error: error.message });
		}
	}
	return groups;
}

async function readPair() {
	if (!state.pairConfigured) {
		return;
	}
	try {
		const [pair, reports] = await Promise.all([getJson('api/v1/pair'), getJson('api/v1/pair/operations?limit=100')]);
		state.pair = pair;
		state.pairReports = reports;
	}
	catch (error) {
		if (error instanceof ApiError && error.problem && String(error.problem.type).endsWith(':pair-not-configured')) {
			state.pairConfigured = false;
			state.pair = null;
			state.pairReports = [];
			return;
		}
		throw error;
	}
}

/** Reads /actuator/info: uptime, version, and whether a peer is configured. */
async function readInfo() {
	state.info = await getJson('actuator/info').catch(() => null);
	state.pairConfigured = Boolean(state.info && state.info.pair && state.info.pair.configured);
	if (!state.pairConfigured) {
		state.pair = null;
		state.pairReports = [];
	}
}

/** Reads everything the page shows. */
async function refreshAll() {
	await readInfo();
	const [status, disks, operations] = await Promise.all([
		getJson('api/v1/replication'),
		getJson('api/v1/disks'),
		getJson('api/v1/replication/operations?limit=100'),
		readPair(),
	]);
	state.status = status;
	state.disks = disks;
	state.operations = operations;
	state.liveSync.clear();
	state.health = await readHealth();
	render();
}

/** Reads what the event stream does not carry. */
async function refreshSlow() {
	await readInfo();
	await readPair();
	state.health = await readHealth();
	render();
}

function render() {
	if (!state.status) {
		return;
	}
	$('main').hidden = false;
	renderNode(state.status, state.info, state.pair);
	renderPeer(state.pair);
	renderParticipants(state.status);
	renderDisks(state.disks, state.status, state.liveSync);
	renderHealth(state.health);
	renderOperations(state.operations);
	chart.show(checkpointPoints(state.operations, state.pairReports));
}

/** Runs a refresh, routing a refused token to the prompt and anything else to the alert. */
async function guarded(refresh) {
	try {
		await refresh();
		if (!$('alert').hidden && $('alert').dataset.kind === 'read') {
			hideAlert();
		}
		return true;
	}
	catch (error) {
		if (error instanceof ApiError && error.status === 401) {
			tokenRefused(error);
		}
		else if (error.name !== 'AbortError') {
			showAlert(`Could not read the node: ${error.message}`, 'read');
		}
		return false;
	}
}

// ---- live updates: the event stream, or polling, never both -----------------

let pending = null;

/** Coalesces the refreshes that a burst of events asks for into one. */
function refreshSoon() {
	if (pending) {
		return;
	}
	const generation = state.generation;
	pending = setTimeout(async () => {
		pending = null;
		if (generation === state.generation) {
			await guarded(refreshAll);
		}
	}, 150);
}

function onEvent(event) {
	if (event.id != null) {
		state.lastEventId = event.id;
	}
	let data = null;
	try {
		data = JSON.parse(event.data);
	}
	catch {
		return;
	}
	if (event.type === 'sync' && data && data.disk) {
		state.liveSync.set(data.disk, data);
		render();
		return;
	}
	if (event.type === 'operation' && data && data.report) {
		const report = data.report;
		const index = state.operations.findIndex((o) => o.id === report.id);
		if (index >= 0) {
			state.operations[index] = report;
		}
		else {
			state.operations.unshift(report);
		}
		render();
	}
	// state, error, missed, and every operation's end: read the current documents.
	refreshSoon();
}

function stopUpdates() {
	state.generation++;
	if (state.controller) {
		state.controller.abort();
		state.controller = null;
	}
	for (const timer of state.timers) {
		clearTimeout(timer);
		clearInterval(timer);
	}
	state.timers = [];
	state.mode = 'stopped';
}

function later(generation, millis, task) {
	state.timers.push(setTimeout(() => {
		if (generation === state.generation) {
			task();
		}
	}, millis));
}

async function stream(generation, failures) {
	const controller = new AbortController();
	state.controller = controller;
	// The node sends the stream's headers with its first event: until then the stream
	// counts as live, and nothing polls.
	state.mode = 'streaming';
	setConnection('Live (event stream)', 'live');
	let opened = false;
	try {
		await readEvents({
			lastEventId: state.lastEventId,
			signal: controller.signal,
			onOpen: () => {
				opened = true;
				refreshSoon();
			},
			onEvent,
		});
	}
	catch (error) {
		if (generation !== state.generation) {
			return;
		}
		if (error instanceof ApiError && error.status === 401) {
			tokenRefused(error);
			return;
		}
		if (error instanceof StreamUnavailable) {
			poll(generation);
			return;
		}
	}
	if (generation !== state.generation) {
		return;
	}
	const count = opened ? 0 : failures + 1;
	if (count >= STREAM_ATTEMPTS) {
		poll(generation);
		return;
	}
	setConnection('Event stream interrupted: reconnecting…', 'down');
	later(generation, RECONNECT_MILLIS * (count + 1), () => stream(generation, count));
}

/** Polls every 2 s; every 30 s tries the stream again, and stops polling once it is back. */
function poll(generation) {
	state.mode = 'polling';
	state.controller = null;
	setConnection('Polling every 2 s (the event stream cannot be used)', 'polling');
	const started = Date.now();
	const tick = async () => {
		if (generation !== state.generation || state.mode !== 'polling') {
			return;
		}
		await guarded(refreshAll);
		if (generation !== state.generation) {
			return;
		}
		if (Date.now() - started >= STREAM_RETRY_MILLIS) {
			stream(generation, STREAM_ATTEMPTS - 1);
			return;
		}
		later(generation, POLL_MILLIS, tick);
	};
	tick();
}

async function connect() {
	stopUpdates();
	hideAlert();
	const generation = state.generation;
	setConnection('Connecting…', 'down');
	if (!(await guarded(refreshAll))) {
		// Not reachable yet (a refused token has already asked again): try again shortly.
		later(generation, POLL_MILLIS, connect);
		return;
	}
	stream(generation, 0);
	const slow = setInterval(() => {
		if (generation === state.generation && state.mode === 'streaming') {
			guarded(refreshSlow);
		}
	}, SLOW_REFRESH_MILLIS);
	state.timers.push(slow);
}

// ---- actions ------------------------------------------------------------------

let confirming = null;

function openConfirm(action, opener) {
	confirming = { action, opener };
	$('confirm-heading').textContent = TITLES[action];
	$('confirm-mode').hidden = action !== 'start';
	if (action === 'start' && state.status && state.pair && state.pair.primary === 'peer') {
		$('confirm-form').elements.mode.value = 'secondary';
	}
	updateConsequence();
	$('confirm-ok').textContent = TITLES[action];
	$('confirm-ok').className = action === 'failover' ? 'primary danger-fill' : 'primary';
	$('confirm-dialog').returnValue = '';
	$('confirm-dialog').showModal();
	$('confirm-cancel').focus();
}

function updateConsequence() {
	if (!confirming) {
		return;
	}
	const key = confirming.action === 'start' ? `start-${$('confirm-form').elements.mode.value}` : confirming.action;
	$('confirm-consequence').textContent = CONSEQUENCES[key];
}

async function runAction(action, mode) {
	const button = $(`action-${action}`);
	const buttons = document.querySelectorAll('.actions button');
	for (const b of buttons) {
		b.dataset.pending = 'true';
		b.disabled = true;
	}
	hideAlert();
	try {
		let report;
		if (action === 'start') {
			report = await postJson('api/v1/replication/start', { mode });
		}
		else if (action === 'checkpoint') {
			report = await postJson('api/v1/replication/checkpoint');
		}
		else {
			report = await postJson('api/v1/replication/stop', { failover: action === 'failover' });
		}
		if (report && report.outcome === 'failed') {
			showAlert(`${TITLES[action]} failed: ${failure(report)}`);
		}
	}
	catch (error) {
		if (error instanceof ApiError && error.status === 401) {
			tokenRefused(error);
			return;
		}
		showAlert(`${TITLES[action]} failed: ${error.message}`);
	}
	finally {
		for (const b of buttons) {
			delete b.dataset.pending;
		}
		await guarded(refreshAll);
		if (!button.disabled) {
			button.focus({ preventScroll: true });
		}
	}
}

function failure(report) {
	const step = (report.steps || []).find((s) => s.outcome === 'failed' || s.outcome === 'timed_out');
	return step ? `${step.participant}: ${step.error || step.outcome}` : report.outcome;
}

// ---- wiring ---------------------------------------------------------------------

function start() {
	chart = new CheckpointChart($('chart'));
	$('token-form').addEventListener('submit', (event) => {
		const value = $('token-input').value.trim();
		if (!value) {
			event.preventDefault();
			return;
		}
		setToken(value);
		connect();
	});
	$('token-dialog').addEventListener('cancel', (event) => {
		// Nothing works without a token: the prompt stays.
		event.preventDefault();
	});
	$('token-dialog').addEventListener('close', () => {
		if (!token()) {
			setTimeout(() => askToken(null), 0);
		}
	});
	$('forget-token').addEventListener('click', () => {
		forgetToken();
		askToken(null);
	});
	$('alert-close').addEventListener('click', hideAlert);
	for (const button of document.querySelectorAll('.actions button')) {
		button.addEventListener('click', () => openConfirm(button.dataset.action, button));
	}
	$('confirm-form').addEventListener('change', updateConsequence);
	$('confirm-dialog').addEventListener('close', () => {
		const current = confirming;
		confirming = null;
		if (!current) {
			return;
		}
		if ($('confirm-dialog').returnValue === 'confirm') {
			runAction(current.action, $('confirm-form').elements.mode.value);
		}
		else {
			current.opener.focus();
		}
	});
	if (token()) {
		connect();
	}
	else {
		askToken(null);
	}
}

start();
