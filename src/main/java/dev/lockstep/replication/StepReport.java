package dev.lockstep.replication;

import org.jspecify.annotations.Nullable;

/**
 * One participant call within an operation.
 *
 * @param participant the participant's name
 * @param action the method called
 * @param outcome how the call ended
 * @param durationMillis how long the call took, or ran before it was given up
 * @param error the failure message, or {@code null} on success
 */
public record StepReport(String participant, StepAction action, StepOutcome outcome, long durationMillis,
		@Nullable String error) {
}
