package dev.lockstep.block;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Reports a disk engine that could not start as Spring Boot's start-up failure report
 * (description and action) rather than as a stack trace.
 */
final class DiskEngineFailureAnalyzer extends AbstractFailureAnalyzer<DiskEngineException> {

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, DiskEngineException cause) {
		return new FailureAnalysis(cause.getMessage(), cause.action(), cause);
	}

}
