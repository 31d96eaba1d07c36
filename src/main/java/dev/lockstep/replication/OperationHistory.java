package dev.lockstep.replication;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

import org.jspecify.annotations.Nullable;

/**
 * The reports of the last operations, newest first, as many as
 * {@code lockstep.coordinator.history} keeps. Thread-safe.
 */
final class OperationHistory {

	private final int capacity;

	private final Deque<OperationReport> reports = new ArrayDeque<>();

	OperationHistory(int capacity) {
		this.capacity = capacity;
	}

	synchronized void add(OperationReport report) {
		this.reports.addFirst(report);
		while (this.reports.size() > this.capacity) {
			this.reports.removeLast();
		}
	}

	synchronized @Nullable OperationReport newest() {
		return this.reports.peekFirst();
	}

	synchronized List<OperationReport> newest(int limit) {
		return this.reports.stream().limit(limit).toList();
	}

	synchronized Optional<OperationReport> find(String id) {
		return this.reports.stream().filter((report) -> report.id().equals(id)).findFirst();
	}

}
