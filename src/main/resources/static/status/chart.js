// The latency of the last 100 checkpoints, drawn with uPlot (served from the jar as a WebJar).

import uPlot from '../webjars/uplot/dist/uPlot.esm.js';

const LIMIT = 100;

const SERIES = [
	{ label: 'Primary checkpoint', stroke: '#0b5cad', key: 'primary' },
	{ label: 'Secondary checkpoint', stroke: '#a8490b', key: 'secondary' },
	{ label: 'Pair pause', stroke: '#5b2a86', key: 'pause', dash: [6, 4] },
];

/**
 * Turns this node's succeeded checkpoints and, where the pair is configured, the pair's
 * into at most 100 points: {time, primary, secondary, pause} in milliseconds. A
 * node checkpoint that is part of a pair checkpoint is shown once, as the pair's.
 */
export function checkpointPoints(operations, pairReports) {
	const points = [];
	const inPair = new Set();
	for (const report of pairReports || []) {
		if (report.operation !== 'checkpoint' || report.outcome !== 'succeeded') {
			continue;
		}
		const sums = { self: null, peer: null };
		for (const step of report.steps || []) {
			if (step.nodeOperation) {
				inPair.add(step.nodeOperation);
			}
			if (step.action === 'checkpoint' && step.node in sums) {
				sums[step.node] = (sums[step.node] || 0) + step.durationMillis;
			}
		}
		const primary = report.primary === 'peer' ? 'peer' : 'self';
		const secondary = primary === 'self' ? 'peer' : 'self';
		points.push({
			time: Date.parse(report.startedAt) / 1000,
			primary: sums[primary],
			secondary: sums[secondary],
			pause: report.pausedMillis ?? null,
		});
	}
	for (const report of operations || []) {
		if (report.operation !== 'checkpoint' || report.outcome !== 'succeeded' || inPair.has(report.id)) {
			continue;
		}
		points.push({
			time: Date.parse(report.startedAt) / 1000,
			primary: report.mode === 'primary' ? report.durationMillis : null,
			secondary: report.mode === 'secondary' ? report.durationMillis : null,
			pause: report.pausedMillis ?? null,
		});
	}
	points.sort((a, b) => a.time - b.time);
	return points.slice(-LIMIT);
}

export class CheckpointChart {

	constructor(container) {
		this.container = container;
		this.plot = null;
		this.key = null;
		this.frame = 0;
		new ResizeObserver(() => {
			cancelAnimationFrame(this.frame);
			this.frame = requestAnimationFrame(() => this.resize());
		}).observe(container);
	}

	width() {
		return Math.max(200, this.container.clientWidth);
	}

	show(points) {
		const key = JSON.stringify(points);
		if (key === this.key) {
			return;
		}
		this.key = key;
		if (points.length === 0) {
			this.destroy();
			const empty = document.createElement('p');
			empty.className = 'empty';
			empty.textContent = 'No checkpoints yet.';
			this.container.replaceChildren(empty);
			return;
		}
		const data = [points.map((p) => p.time), ...SERIES.map((s) => points.map((p) => p[s.key]))];
		if (this.plot) {
			this.plot.setData(data);
			return;
		}
		this.container.replaceChildren();
		this.plot = new uPlot({
			width: this.width(),
			height: 240,
			scales: { x: { time: true } },
			axes: [{}, { label: 'ms', size: 60 }],
			series: [
				{ label: 'Time' },
				...SERIES.map((s) => ({
					label: s.label,
					stroke: s.stroke,
					width: 2,
					dash: s.dash,
					spanGaps: false,
					points: { show: true, size: 5, fill: s.stroke },
					value: (u, v) => (v == null ? '–' : `${v} ms`),
				})),
			],
		}, data, this.container);
	}

	resize() {
		if (this.plot && this.plot.width !== this.width()) {
			this.plot.setSize({ width: this.width(), height: 240 });
		}
	}

	destroy() {
		if (this.plot) {
			this.plot.destroy();
			this.plot = null;
		}
	}

}
