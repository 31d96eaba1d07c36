// Renders the node's documents into the page. Each section is rebuilt only when its data
// changed, so that focus and opened operations stay where they were.

const rendered = new Map();

/** Replaces the children of the element with id when key differs from the last time. */
function update(id, key, build) {
	const serial = JSON.stringify(key);
	if (rendered.get(id) === serial) {
		return;
	}
	rendered.set(id, serial);
	const element = document.getElementById(id);
	element.replaceChildren(...build());
}

export function el(tag, attributes = {}, ...children) {
	const element = document.createElement(tag);
	for (const [name, value] of Object.entries(attributes)) {
		if (value == null || value === false) {
			continue;
		}
		if (name === 'class') {
			element.className = value;
		}
		else {
			element.setAttribute(name, value === true ? '' : value);
		}
	}
	for (const child of children.flat()) {
		if (child != null) {
			element.append(child instanceof Node ? child : String(child));
		}
	}
	return element;
}

function facts(entries) {
	return entries.filter(([, value]) => value != null).flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]);
}

function badge(text, kind) {
	return el('span', { class: `badge ${kind}` }, text);
}

function outcomeKind(outcome) {
	switch (String(outcome).toLowerCase()) {
		case 'succeeded':
		case 'up':
			return 'ok';
		case 'failed':
		case 'timed_out':
		case 'down':
			return 'fail';
		case 'running':
			return 'run';
		case 'skipped':
		case 'out_of_service':
			return 'warn';
		default:
			return 'none';
	}
}

export function bytes(value) {
	if (value == null) {
		return '–';
	}
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
	let size = Number(value);
	let unit = 0;
	while (Math.abs(size) >= 1024 && unit < units.length - 1) {
		size /= 1024;
		unit++;
	}
	return `${unit === 0 ? size : size.toFixed(size < 10 ? 2 : 1)} ${units[unit]}`;
}

export function duration(seconds) {
	if (seconds == null || !Number.isFinite(seconds)) {
		return '–';
	}
	const s = Math.max(0, Math.round(seconds));
	const d = Math.floor(s / 86400);
	const h = Math.floor((s % 86400) / 3600);
	const m = Math.floor((s % 3600) / 60);
	const rest = s % 60;
	if (d > 0) {
		return `${d} d ${h} h`;
	}
	if (h > 0) {
		return `${h} h ${m} min`;
	}
	if (m > 0) {
		return `${m} min ${rest} s`;
	}
	return `${rest} s`;
}

function millis(value) {
	return value < 1000 ? `${value} ms` : `${(value / 1000).toFixed(value < 10000 ? 2 : 1)} s`;
}

function time(iso) {
	const date = new Date(iso);
	return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** The node: its role, state, mode, running operation, uptime and version. */
export function renderNode(status, info, pair) {
	const running = status.runningOperation;
	let role = status.mode ? `${status.mode}` : 'none';
	if (pair && pair.primary) {
		role = pair.primary === 'self' ? 'primary of the pair' : 'secondary of the pair';
	}
	const uptime = info && info.uptime ? info.uptime.seconds : null;
	const version = info && info.build ? info.build.version : null;
	document.getElementById('node-title').textContent = `· ${location.host}`;
	update('node', [status.state, status.mode, role, running && running.id, Math.floor((uptime || 0) / 60), version], () => facts([
		['Role', role],
		['State', badge(status.state, status.state === 'RUNNING' ? 'ok' : 'none')],
		['Mode', status.mode || '–'],
		['Operation', running ? badge(`${running.operation} running`, 'run') : 'none'],
		['Uptime', uptime == null ? '–' : duration(uptime)],
		['Version', version || '–'],
	]));
	const busy = running != null;
	const idle = status.state === 'IDLE';
	setEnabled('action-start', !busy && idle);
	setEnabled('action-checkpoint', !busy && !idle);
	setEnabled('action-stop', !busy && !idle);
	setEnabled('action-failover', !busy && !idle);
}

function setEnabled(id, enabled) {
	const button = document.getElementById(id);
	if (button.dataset.pending !== 'true') {
		button.disabled = !enabled;
	}
}

/** The peer, when lockstep.pair.peer-api is set; the card stays hidden otherwise. */
export function renderPeer(pair) {
	const card = document.getElementById('peer-card');
	card.hidden = pair == null;
	if (pair == null) {
		return;
	}
	const peer = pair.peer;
	let role = '–';
	if (pair.primary) {
		role = pair.primary === 'peer' ? 'primary' : 'secondary';
	}
	else if (peer && peer.mode) {
		role = peer.mode;
	}
	update('peer', pair, () => facts([
		['API', pair.peerApi],
		['Reachable', pair.peerReachable ? badge('reachable', 'ok') : badge('unreachable', 'fail')],
		['Problem', pair.peerProblem ? el('span', { class: 'error' }, pair.peerProblem) : null],
		['Role', role],
		['State', peer ? peer.state : '–'],
		['Errors', peer && peer.errors.length ? el('span', { class: 'error' }, peer.errors.join('\n')) : null],
		['Pair in sync', pair.inSync ? badge('in sync', 'ok') : badge('not in sync', 'warn')],
	]));
}

/** Participants in the order the coordinator calls them, each with its current error. */
export function renderParticipants(status) {
	const participants = [...status.participants].sort((a, b) => a.order - b.order);
	update('participants', participants.map((p) => [p.name, p.order, p.kind, p.started, p.lastError]), () => {
		if (participants.length === 0) {
			return [el('li', { class: 'muted' }, 'No participants are registered.')];
		}
		return participants.map((p) => el('li', { 'data-participant': p.name },
			el('strong', {}, p.name), ' ',
			el('span', { class: 'muted' }, `order ${p.order} · ${p.kind} · ${p.started ? 'started' : 'not started'}`), ' ',
			p.lastError ? badge('error', 'fail') : badge('ok', 'ok'),
			p.lastError ? el('span', { class: 'error participant-error' }, p.lastError) : null));
	});
}

/** Replication details of each disk, from the participants' details, by disk name. */
export function replicationByDisk(status) {
	const result = new Map();
	for (const participant of status.participants) {
		const disks = participant.details && participant.details.disks;
		for (const disk of Array.isArray(disks) ? disks : []) {
			result.set(disk.disk, disk);
		}
	}
	return result;
}

function progress(label, done, total, rate) {
	const left = rate > 0 ? (total - done) / rate : null;
	const percent = total > 0 ? Math.floor((done / total) * 100) : 0;
	const id = `progress-${label.replace(/\W+/g, '-')}`;
	return el('div', { class: 'progress' },
		el('label', { for: id }, `${label}: ${percent} % of ${bytes(total)} · ${bytes(rate)}/s · ${left == null ? 'time left unknown' : `${duration(left)} left`}`),
		el('progress', { id, max: String(total || 1), value: String(done) }));
}

/** Disks: size, allocation, replication kind, in sync, dirty bytes and progress bars. */
export function renderDisks(disks, status, liveSync) {
	const replication = replicationByDisk(status);
	const model = disks.map((disk) => {
		const r = replication.get(disk.name) || null;
		const live = liveSync.get(disk.name);
		return { disk, r, sync: (live && live.sync) || (r && r.sync) || null, verify: (live && live.verify) || disk.verify || null };
	});
	update('disks', model, () => {
		if (model.length === 0) {
			return [el('p', { class: 'muted' }, 'No disks are configured.')];
		}
		return model.map(({ disk, r, sync, verify }) => {
			const syncing = sync && sync.running;
			// Only a primary knows whether its peer holds what it holds: it forwards every write.
			const inSync = r && r.role === 'primary' ? r.forwarding && r.dirtyBytes === 0 && !syncing : null;
			const parts = [
				el('h3', {}, disk.name, ' ', r && r.role ? el('span', { class: 'muted' }, `(${r.role})`) : null),
				el('dl', { class: 'facts' }, facts([
					['Size', bytes(disk.size)],
					['Allocated', bytes(disk.allocatedBytes)],
					['Replication', r ? r.replication : 'not replicated'],
					['In sync', inSync == null ? (r ? el('span', { class: 'muted' }, 'the primary knows') : '–') : (inSync ? badge('in sync', 'ok') : badge('not in sync', 'warn'))],
					['Dirty', r ? bytes(r.dirtyBytes) : '–'],
					['Error', r && r.error ? el('span', { class: 'error' }, r.error) : null],
				])),
			];
			if (syncing) {
				parts.push(progress(`${disk.name} synchronisation`, sync.comparedBytes, sync.totalBytes, sync.bytesPerSecond));
			}
			if (verify && verify.running) {
				parts.push(progress(`${disk.name} verify`, verify.comparedBytes, verify.totalBytes, verify.bytesPerSecond));
			}
			return el('article', { class: 'disk', 'data-disk': disk.name }, ...parts);
		});
	});
}

/** Health groups as the probes see them: status, and each component's status and errors. */
export function renderHealth(groups) {
	update('health', groups, () => groups.map(({ name, health, error }) => {
		if (error) {
			return el('div', {}, el('h3', {}, name, ' ', badge('unknown', 'none')), el('p', { class: 'error' }, error));
		}
		const components = Object.entries((health && health.components) || {});
		return el('div', { 'data-group': name },
			el('h3', {}, name, ' ', badge(health.status, outcomeKind(health.status))),
			el('ul', {}, components.map(([component, value]) => {
				const errors = value.details && Array.isArray(value.details.errors) ? value.details.errors : [];
				return el('li', {}, `${component}: `, badge(value.status, outcomeKind(value.status)),
					errors.map((e) => el('span', { class: 'error' }, ` ${e.participant}: ${e.message}`)));
			})));
	}));
}

const openOperations = new Set();

/** Recent operations, newest first, each expandable to its steps. */
export function renderOperations(operations) {
	const list = operations.slice(0, 20);
	update('operations', list, () => list.map((report) => {
		const details = el('details', { open: openOperations.has(report.id) },
			el('summary', {},
				el('time', { datetime: report.startedAt }, time(report.startedAt)),
				el('strong', {}, [report.operation, report.mode, report.failover ? 'failover' : null].filter(Boolean).join(' ')),
				badge(report.outcome, outcomeKind(report.outcome)),
				el('span', { class: 'muted' }, millis(report.durationMillis)),
				report.caller ? el('span', { class: 'muted small' }, report.caller) : null),
			el('div', { class: 'table-scroll' }, el('table', { class: 'steps' },
				el('thead', {}, el('tr', {}, ['Participant', 'Action', 'Outcome', 'Duration', 'Error'].map((h) => el('th', { scope: 'col' }, h)))),
				el('tbody', {}, report.steps.length === 0
					? el('tr', {}, el('td', { colspan: '5', class: 'muted' }, 'No participant was called.'))
					: report.steps.map((step) => el('tr', {},
						el('td', {}, step.participant),
						el('td', {}, step.action),
						el('td', {}, badge(step.outcome, outcomeKind(step.outcome))),
						el('td', {}, millis(step.durationMillis)),
						el('td', { class: step.error ? 'error' : '' }, step.error || '')))))));
		details.addEventListener('toggle', () => {
			if (details.open) {
				openOperations.add(report.id);
			}
			else {
				openOperations.delete(report.id);
			}
		});
		return el('li', { class: String(report.outcome).toLowerCase(), 'data-operation': report.id }, details);
	}));
}
