package dev.lockstep.pair;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

/**
 * The last pair reports, newest first: those of the pair operations this node ran and the
 * copies the peer sent of its own.
 */
final class PairReports {

	private final int capacity;

	private final Deque<PairReport> reports = new ArrayDeque<>();

	PairReports(int capacity) {
		this.capacity = capacity;
	}

	synchronized void add(PairReport report) {
		this.reports.removeIf((kept) -> kept.id().equals(report.id()));
		this.reports.addFirst(report);
		while (this.reports.size() > this.capacity) {
			this.reports.removeLast();
		}
	}

	synchronized Optional<PairReport> find(String id) {
		return this.reports.stream().filter((report) -> report.id().equals(id)).findFirst();
	}

	synchronized List<PairReport> newest(int limit) {
		return this.reports.stream().limit(limit).toList();
	}

}
