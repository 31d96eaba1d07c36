package dev.lockstep.replication;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * What the coordinator logs of its operations, under the coordinator's own logger: start
 * and stop at INFO, successful checkpoints at DEBUG (they can be many a second), every
 * failure at WARN with each failed step, and each failover that consulted the peer.
 */
final class OperationLog {

	private static final Log logger = LogFactory.getLog(ReplicationCoordinator.class);

	private OperationLog() {
	}

	static void operation(OperationReport report) {
		boolean frequent = report.operation() == Operation.CHECKPOINT || report.operation() == Operation.PAUSE
				|| report.operation() == Operation.RESUME;
		if (frequent && report.outcome() != OperationOutcome.FAILED && !logger.isDebugEnabled()) {
			return;
		}
		String message = "Operation " + report.operation().value() + " " + report.id() + " by "
				+ caller(report.caller()) + ": " + report.outcome().value() + " in " + report.durationMillis()
				+ "ms, state " + report.state();
		if (report.outcome() == OperationOutcome.FAILED) {
			StringBuilder failures = new StringBuilder(message);
			report.steps()
				.stream()
				.filter((step) -> step.outcome().isFailure())
				.forEach((step) -> failures.append("; ")
					.append(step.participant())
					.append(' ')
					.append(step.action().value())
					.append(' ')
					.append(step.outcome().value())
					.append(": ")
					.append(step.error()));
			logger.warn(failures);
		}
		else if (frequent) {
			if (logger.isDebugEnabled()) {
				logger.debug(message);
			}
		}
		else {
			logger.info(message);
		}
	}

	static void failoverRefused(@Nullable String caller, FailoverCheck check) {
		logger.warn("Failover by " + caller(caller) + " refused: " + check.describe() + "; nothing was stopped");
	}

	static void failoverGoesAhead(@Nullable String caller, FailoverCheck check) {
		logger.info("Failover by " + caller(caller) + " goes ahead: " + check.describe());
	}

	private static String caller(@Nullable String caller) {
		return (caller != null) ? caller : "unknown caller";
	}

}
