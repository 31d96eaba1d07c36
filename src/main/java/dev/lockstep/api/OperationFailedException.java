package dev.lockstep.api;

import dev.lockstep.replication.OperationReport;

/**
 * Signals that an operation ran but a participant failed it; carries the report.
 */
final class OperationFailedException extends RuntimeException {

	private final transient OperationReport report;

	OperationFailedException(OperationReport report) {
		super(report.operation().value() + " failed");
		this.report = report;
	}

	OperationReport report() {
		return this.report;
	}

}
