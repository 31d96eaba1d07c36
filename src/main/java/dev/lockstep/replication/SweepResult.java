package dev.lockstep.replication;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * The outcome of one error sweep across every participant.
 *
 * @param healthy whether no participant reported an error
 * @param errors every error, in participant order
 * @param checkedAt when the sweep started
 * @param complete whether every participant answered within its deadline
 */
public record SweepResult(boolean healthy, List<ParticipantError> errors, Instant checkedAt,
		@JsonIgnore boolean complete) {

	public SweepResult {
		errors = List.copyOf(errors);
	}

	/**
	 * Returns the error of the named participant, if it reported one.
	 */
	public Optional<String> errorOf(String participant) {
		return this.errors.stream()
			.filter((error) -> error.participant().equals(participant))
			.map(ParticipantError::message)
			.findFirst();
	}

}
