package dev.lockstep.replication;

import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One participant as status queries show it.
 *
 * @param name the participant's name
 * @param order its position in the lifecycle order
 * @param kind where it comes from
 * @param started whether it is replicating: started and not stopped since
 * @param lastError the error it reported in the most recent error sweep, or {@code null}
 * @param details the participant's own progress facts, possibly empty
 */
public record ParticipantStatus(String name, int order, ParticipantKind kind, boolean started,
		@Nullable String lastError, Map<String, Object> details) {
}
