package dev.lockstep.replication;

/**
 * An error that one participant reported.
 *
 * @param participant the participant's name
 * @param message what went wrong
 */
public record ParticipantError(String participant, String message) {
}
