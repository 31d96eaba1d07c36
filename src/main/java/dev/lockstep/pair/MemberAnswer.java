package dev.lockstep.pair;

import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * What one node answered to one lifecycle call of a pair operation.
 *
 * @param succeeded whether the call succeeded on that node
 * @param steps the participant calls it made
 * @param operationId the id of the node's own report, if it made one
 * @param message why it failed, or {@code null}
 */
record MemberAnswer(boolean succeeded, List<PairStep> steps, @Nullable String operationId, @Nullable String message) {

	MemberAnswer {
		steps = List.copyOf(steps);
	}

	static MemberAnswer refused(String message) {
		return new MemberAnswer(false, List.of(), null, message);
	}

}
